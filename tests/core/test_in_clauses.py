"""``core.db.in_clauses``: one array parameter on PostgreSQL, one JSON array on SQLite for
integer and text columns, bounded IN lists otherwise."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from lvyue.core.db import IN_CHUNK, Int8Array, Money, array_literal, in_clauses

T = sa.Table(
    "test_in_clauses",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(16)),
    sa.Column("amount", Money),
)


def test_finds_exactly_the_rows_of_the_values_in_any_number(engine, is_postgres):
    T.create(engine, checkfirst=True)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(T),
                [{"id": i, "code": f"C{i}", "amount": Decimal(i) / 4} for i in range(2500)],
            )
            codes = [f"C{i}" for i in range(0, 2500, 2)] + ["nope", "C1'; --", 'C"3']
            by_code = in_clauses(conn, T.c.code, codes)  # 1,253 values
            by_id = in_clauses(conn, T.c.id, range(1, 2500, 2))
            amounts = [Decimal(i) / 4 for i in range(0, 2500, 5)]
            by_amount = in_clauses(conn, T.c.amount, amounts)  # a processed type: IN lists

            def run(conds: list[sa.ColumnElement[bool]], col: sa.Column) -> list:
                return [r[0] for c in conds for r in conn.execute(sa.select(col).where(c))]

            found, ids = run(by_code, T.c.code), run(by_id, T.c.id)
            # SQLite: integer ids given as text match as an IN list's would (the column's
            # affinity); PostgreSQL's typed array refuses them.
            text_ids = [] if is_postgres else run(in_clauses(conn, T.c.id, ["7", 9, "x"]), T.c.id)
            found_amounts = run(by_amount, T.c.amount)
            compiled = sa.select(T.c.id).where(by_code[0]).compile(dialect=conn.dialect)
            assert in_clauses(conn, T.c.code, []) == []
    finally:
        T.drop(engine)
    expected = sorted(f"C{i}" for i in range(0, 2500, 2))
    assert sorted(found) == expected
    assert sorted(ids) == list(range(1, 2500, 2))
    assert sorted(found_amounts) == amounts
    # One statement with one parameter whatever the count, on both databases.
    assert len(by_code) == len(by_id) == 1
    assert len(compiled.params) == 1
    assert len(by_amount) == (1 if is_postgres else -(-len(amounts) // IN_CHUNK))
    if is_postgres:
        assert "ANY" in str(compiled)
    else:
        assert "json_each" in str(compiled)
        assert sorted(text_ids) == [7, 9]


def test_text_and_integer_arrays_keep_every_value_as_it_is(engine, is_postgres):
    """The array literal written for PostgreSQL (``array_literal``) reads back as the values
    given, whatever characters they hold; SQLite's JSON array likewise."""
    awkward = ['a"b', "c\\d", "e,f", "{g}", " h ", "NULL", "", "中文", "i'j", "\\", '"', "k\nl"]
    T.create(engine, checkfirst=True)
    try:
        with engine.begin() as conn:
            rows = [{"id": i, "code": c} for i, c in enumerate(awkward, start=1)]
            conn.execute(sa.insert(T), [*rows, {"id": 100, "code": "other"}])
            found = [
                r[0]
                for c in in_clauses(conn, T.c.code, awkward)
                for r in conn.execute(sa.select(T.c.code).where(c))
            ]
            ids = [
                r[0]
                for c in in_clauses(conn, T.c.id, [-1, 1, 2, 100, 2**40])
                for r in conn.execute(sa.select(T.c.id).where(c))
            ]
    finally:
        T.drop(engine)
    assert sorted(found) == sorted(awkward)
    assert sorted(ids) == [1, 2, 100]
    assert array_literal([1, -2, 3]) == "{1,-2,3}" and isinstance(array_literal([1]), Int8Array)
    assert array_literal([True, 2]) is None and array_literal(["a", 1]) is None
    assert array_literal([Decimal(1)]) is None and array_literal([2**63]) is None
