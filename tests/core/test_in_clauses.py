"""``core.db.in_clauses``: one array parameter on PostgreSQL, bounded IN lists on SQLite."""

from __future__ import annotations

import sqlalchemy as sa

from lvyue.core.db import IN_CHUNK, in_clauses

T = sa.Table(
    "test_in_clauses",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(16)),
)


def test_finds_exactly_the_rows_of_the_values_in_any_number(engine, is_postgres):
    T.create(engine, checkfirst=True)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(T), [{"id": i, "code": f"C{i}"} for i in range(2500)])
            codes = [f"C{i}" for i in range(0, 2500, 2)] + ["nope", "C1'; --"]  # 1,252 values
            by_code = in_clauses(conn, T.c.code, codes)
            by_id = in_clauses(conn, T.c.id, range(1, 2500, 2))
            # One statement on PostgreSQL with one parameter whatever the count; SQLite stays
            # under its bound-parameter limit.
            assert len(by_code) == (1 if is_postgres else -(-len(codes) // IN_CHUNK))
            found = [r[0] for c in by_code for r in conn.execute(sa.select(T.c.code).where(c))]
            ids = [r[0] for c in by_id for r in conn.execute(sa.select(T.c.id).where(c))]
            compiled = sa.select(T.c.id).where(by_code[0]).compile(dialect=conn.dialect)
            assert in_clauses(conn, T.c.code, []) == []
    finally:
        T.drop(engine)
    assert sorted(found) == sorted(f"C{i}" for i in range(0, 2500, 2))
    assert sorted(ids) == list(range(1, 2500, 2))
    if is_postgres:
        assert "ANY" in str(compiled) and len(compiled.params) == 1
