"""``core.bulk``: the hot paths' writer stores exactly what ``conn.execute(stmt, rows)`` would:
the columns' types (money in fen, UTC datetimes, JSON, encrypted text), their Python-side
defaults (functions called per row, scalars) and the statement's own values."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from lvyue.core.bulk import allocate_ids, execute_many, insert_many
from lvyue.core.db import Money, UTCDateTime
from lvyue.core.pii import EncryptedText

_seq = itertools.count(1)
T = sa.Table(
    "test_bulk",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("amount", Money),
    sa.Column("at", UTCDateTime),
    sa.Column("doc", sa.JSON),
    sa.Column("secret", EncryptedText()),
    sa.Column("serial", sa.Integer, default=lambda: next(_seq)),  # called per row
    sa.Column("made", UTCDateTime, default=lambda: datetime(2026, 1, 2, tzinfo=UTC)),
    sa.Column("kind", sa.String(8), default="plain"),  # a scalar default
    sa.Column("note", sa.String(16)),
    sa.Column("opt", sa.JSON(none_as_null=True)),  # None is SQL NULL here, JSON null in "doc"
    sa.Column("naive", sa.DateTime),
)
ROWS = [
    {
        "id": i,
        "amount": Decimal("12.34") * i,
        "at": datetime(2026, 11, 11, 0, 0, i, 1000 * i, tzinfo=UTC) + timedelta(hours=8),
        # COPY's text escapes: tab, newline, backslash (and JSON's own quotes) inside a value.
        "doc": {"n": i, "tags": ["赠品", None], "memo": 'a\tb\nc\\d"e'} if i % 3 else None,
        "secret": f"张三{i}" if i % 2 else None,
        "note": None,
        "opt": [i] if i % 2 else None,
        "naive": datetime(2026, 11, 11, 8, i, 0, 5) if i != 4 else None,
    }
    for i in range(1, 8)
]


def _read(conn):
    nulls = (T.c.doc.is_(sa.null()), T.c.opt.is_(sa.null()))  # SQL NULL, not JSON null
    return [tuple(r) for r in conn.execute(sa.select(T, *nulls).order_by(T.c.id))]


def test_bulk_writes_what_sqlalchemy_writes(engine):
    T.create(engine, checkfirst=True)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(T), ROWS)
            expected = _read(conn)
            conn.execute(T.delete())
            insert_many(conn, T, ROWS)  # COPY on PostgreSQL, executemany on SQLite
            got = _read(conn)
            # The default function ran once per row, with the fresh values after SQLAlchemy's.
            serials = [r.serial for r in conn.execute(sa.select(T.c.serial).order_by(T.c.id))]
            conn.execute(T.delete())
            bare = [{k: v for k, v in r.items() if k != "note"} for r in ROWS[:3]]
            execute_many(conn, sa.insert(T).values(note="fixed"), bare)
            fixed = conn.execute(sa.select(T.c.note, T.c.kind).order_by(T.c.id)).all()
            changed = execute_many(
                conn,
                sa.update(T)
                .where(T.c.id == sa.bindparam("rid"))
                .values(amount=sa.bindparam("amt", type_=Money())),
                [{"rid": 2, "amt": Decimal("0.10")}, {"rid": 99, "amt": Decimal("1")}],
            )
            amounts = dict(conn.execute(sa.select(T.c.id, T.c.amount)).all())
    finally:
        T.drop(engine)
    strip = [r[:5] + r[6:] for r in expected]  # every column but the per-row serial
    assert [r[:5] + r[6:] for r in got] == strip
    assert got[0][1] == Decimal("12.34") and got[0][2].tzinfo is UTC and got[0][4] == "张三1"
    assert got[0][7] == "plain" and got[0][6] == datetime(2026, 1, 2, tzinfo=UTC)
    assert got[0][3]["memo"] == 'a\tb\nc\\d"e' and got[0][10] == datetime(2026, 11, 11, 8, 1, 0, 5)
    assert [r[-2:] for r in got[:3]] == [(False, False), (False, True), (False, False)]
    assert serials == list(range(serials[0], serials[0] + len(ROWS)))
    assert fixed == [("fixed", "plain")] * 3
    assert changed == 1 and amounts == {
        1: Decimal("12.34"),
        2: Decimal("0.10"),
        3: Decimal("37.02"),
    }


def test_allocated_ids_are_fresh_and_distinct(engine, db):
    from lvyue.customers.models import Customer

    table = Customer.__table__
    with engine.begin() as conn:
        first = allocate_ids(conn, table, 3)
        assert allocate_ids(conn, table, 0) == []
        if conn.dialect.name == "postgresql":  # a sequence: never handed out twice
            assert set(first).isdisjoint(allocate_ids(conn, table, 3))
    assert len(set(first)) == 3 and all(isinstance(i, int) for i in first)


ODD = sa.Table(
    "test_bulk_odd",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column('it\'s"odd"', sa.String(16)),  # the row builders are written as code
    sa.Column("amount", Money),
)


def test_row_builders_take_any_column_name_and_refuse_rows_missing_a_key(engine):
    ODD.create(engine, checkfirst=True)
    try:
        with engine.begin() as conn:
            rows = [{"id": 1, 'it\'s"odd"': "a\\b'\n", "amount": Decimal("1.5")}]
            insert_many(conn, ODD, rows)
            insert_many(conn, ODD, [{"amount": Decimal("2"), "id": 2, 'it\'s"odd"': "x"}])
            got = conn.execute(sa.select(ODD).order_by(ODD.c.id)).all()
        with engine.begin() as conn:
            short = [{"id": 3, 'it\'s"odd"': "y", "amount": Decimal("1")}, {"id": 4}]
            try:
                insert_many(conn, ODD, short)
            except KeyError as exc:
                refused = exc.args[0]
            else:
                refused = ""
        with engine.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(ODD)).scalar()
    finally:
        ODD.drop(engine)
    assert got == [(1, "a\\b'\n", Decimal("1.5")), (2, "x", Decimal("2"))]
    assert refused == 'it\'s"odd"' and left == 2  # the short row is not written as NULLs
