"""Money and time binds remember recent conversions (``core.db``): a remembered value must
never stand in for a different one. Written and read back through the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lvyue.core.db import Money, UTCDateTime

T = sa.Table(
    "test_bind_memo",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("amount", Money),
    sa.Column("at", UTCDateTime),
)
CST = timezone(timedelta(hours=8))


def _roundtrip(engine: sa.Engine, rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    T.create(engine, checkfirst=True)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(T), rows)
            return [tuple(r) for r in conn.execute(sa.select(T).order_by(T.c.id))]
    finally:
        T.drop(engine)


def test_equal_instants_share_a_conversion_and_equal_wall_times_do_not(engine):
    midnight_cst = datetime(2026, 11, 11, 0, 0, 7, tzinfo=CST)
    same_in_utc = datetime(2026, 11, 10, 16, 0, 7, tzinfo=UTC)
    same_wall_time_in_utc = datetime(2026, 11, 11, 0, 0, 7, tzinfo=UTC)  # 8 hours later
    rows = [
        {"id": 1, "amount": Decimal("1.005"), "at": midnight_cst},
        {"id": 2, "amount": Decimal("1.00500"), "at": same_in_utc},
        {"id": 3, "amount": Decimal("1.004"), "at": same_wall_time_in_utc},
        {"id": 4, "amount": 2, "at": midnight_cst},
        {"id": 5, "amount": Decimal("2"), "at": midnight_cst + timedelta(microseconds=1)},
        {"id": 6, "amount": "2.5", "at": None},
        {"id": 7, "amount": None, "at": midnight_cst},
    ]
    got = _roundtrip(engine, rows)
    assert got == [
        (1, Decimal("1.01"), same_in_utc),
        (2, Decimal("1.01"), same_in_utc),
        (3, Decimal("1.00"), same_wall_time_in_utc),
        (4, Decimal("2.00"), same_in_utc),
        (5, Decimal("2.00"), same_in_utc + timedelta(microseconds=1)),
        (6, Decimal("2.50"), None),
        (7, None, same_in_utc),
    ]
    assert all(r[2] is None or r[2].tzinfo is UTC for r in got)


def test_a_naive_time_is_refused_every_time(engine):
    naive = datetime(2026, 11, 11, 0, 0, 7)
    for _ in range(2):  # a failed conversion is not remembered
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            _roundtrip(engine, [{"id": 1, "amount": Decimal("1"), "at": naive}])
