"""The dashboard's figures: one day's orders (count, amount, per hour, per status), held orders
by reason, the order backlog by status and the day's best-selling SKUs.

Reads only, each over an index: a day is a range on ``ordered_at`` (indexed), bucketed by the
merchant's hours in the database (a CASE over the 24 hour boundaries, computed here in UTC, so
the same SQL runs on SQLite and PostgreSQL and any zone works); held orders come from the
current holds (small, indexed by code); the backlog is the workbench's capped counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from lvyue.catalog.models import Sku
from lvyue.core.db import Money, table_of
from lvyue.core.uow import UnitOfWork
from lvyue.inventory.models import Warehouse
from lvyue.orders import queries as order_queries
from lvyue.orders.models import Order, OrderHold, OrderLine, Shop
from lvyue.orders.queries import Scope

ORDER = table_of(Order)
LINE = table_of(OrderLine)
HOLD = table_of(OrderHold)
SHOP = table_of(Shop)
WAREHOUSE = table_of(Warehouse)
SKU = table_of(Sku)

CANCELLED = "cancelled"
TOP_SKUS = 10


def hour_starts(day: date, zone: str) -> list[datetime]:
    """The start of each of the day's hours in ``zone``, and the next day's start (25 values,
    aware). Local wall-clock hours: a zone's daylight-saving change moves an hour, no more."""
    tz = ZoneInfo(zone)
    starts = [datetime.combine(day, time(h), tzinfo=tz) for h in range(24)]
    return [*starts, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)]


def today(zone: str, at: datetime) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


def _scoped(stmt: sa.Select[Any], scope: Scope) -> sa.Select[Any]:
    """Only orders of the person's shops and warehouses (an order not yet in a warehouse is
    seen by every warehouse user, as in the order list); by id, so indexes stay usable."""
    if scope.shops:
        stmt = stmt.where(
            ORDER.c.shop_id.in_(sa.select(SHOP.c.id).where(SHOP.c.code.in_(scope.shops)))
        )
    if scope.warehouses:
        stmt = stmt.where(
            sa.or_(
                ORDER.c.warehouse_id.is_(None),
                ORDER.c.warehouse_id.in_(
                    sa.select(WAREHOUSE.c.id).where(WAREHOUSE.c.code.in_(scope.warehouses))
                ),
            )
        )
    return stmt


@dataclass
class DayFigures:
    """One day's orders: all of them counted, amounts without the cancelled ones."""

    day: date
    orders: int = 0
    amount: Decimal = Decimal("0.00")
    cancelled: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    orders_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    amount_by_hour: list[Decimal] = field(default_factory=lambda: [Decimal("0.00")] * 24)


def day_figures(uow: UnitOfWork, *, day: date, zone: str, scope: Scope) -> DayFigures:
    bounds = hour_starts(day, zone)
    hour = sa.case(*[(ORDER.c.ordered_at < bounds[h + 1], h) for h in range(23)], else_=23).label(
        "hour"
    )
    inner = _scoped(
        sa.select(ORDER.c.status, hour, ORDER.c.total_amount).where(
            ORDER.c.ordered_at >= bounds[0], ORDER.c.ordered_at < bounds[24]
        ),
        scope,
    ).subquery()
    rows = uow.conn.execute(
        sa.select(
            inner.c.status,
            inner.c.hour,
            sa.func.count().label("n"),
            sa.func.sum(inner.c.total_amount).label("amount"),
        ).group_by(inner.c.status, inner.c.hour)
    )
    figures = DayFigures(day)
    for r in rows:
        n, h = int(r.n), int(r.hour)
        figures.orders += n
        figures.orders_by_hour[h] += n
        figures.by_status[r.status] = figures.by_status.get(r.status, 0) + n
        if r.status == CANCELLED:
            figures.cancelled += n
            continue
        amount = Decimal(r.amount or 0)
        figures.amount += amount
        figures.amount_by_hour[h] += amount
    return figures


def held_by_reason(uow: UnitOfWork, *, scope: Scope) -> dict[str, int]:
    """Held orders per current hold reason (an order held for two reasons counts in both)."""
    stmt = _scoped(
        sa.select(HOLD.c.code, sa.func.count().label("n"))
        .join(ORDER, ORDER.c.id == HOLD.c.order_id)
        .where(ORDER.c.status == "held"),
        scope,
    ).group_by(HOLD.c.code)
    rows = uow.conn.execute(stmt.order_by(sa.func.count().desc(), HOLD.c.code))
    return {r.code: int(r.n) for r in rows}


def top_skus(
    uow: UnitOfWork, *, day: date, zone: str, scope: Scope, limit: int = TOP_SKUS
) -> list[dict[str, Any]]:
    """The day's SKUs by units ordered (cancelled orders left out), with their amount."""
    bounds = hour_starts(day, zone)
    fen = sa.type_coerce(LINE.c.unit_price, sa.BigInteger)
    units = sa.func.sum(LINE.c.quantity)
    stmt = _scoped(
        sa.select(
            LINE.c.sku_code.label("sku"),
            sa.func.max(sa.func.coalesce(SKU.c.name, LINE.c.name)).label("name"),
            units.label("units"),
            sa.type_coerce(sa.func.sum(LINE.c.quantity * fen), Money).label("amount"),
        )
        .select_from(ORDER)
        .join(LINE, LINE.c.order_id == ORDER.c.id)
        .outerjoin(SKU, SKU.c.id == LINE.c.sku_id)
        .where(
            ORDER.c.ordered_at >= bounds[0],
            ORDER.c.ordered_at < bounds[24],
            ORDER.c.status != CANCELLED,
        ),
        scope,
    ).group_by(LINE.c.sku_code)
    rows = uow.conn.execute(stmt.order_by(units.desc(), LINE.c.sku_code).limit(limit))
    return [
        {"sku": r.sku, "name": r.name or "", "units": int(r.units), "amount": r.amount}
        for r in rows
    ]


@dataclass
class Dashboard:
    day: DayFigures
    held: dict[str, int]
    backlog: dict[str, int]
    top: list[dict[str, Any]]
    cap: int = order_queries.COUNT_CAP


def dashboard(
    uow: UnitOfWork, *, day: date, zone: str, scope: Scope, statuses: list[str]
) -> Dashboard:
    """Everything the dashboard shows, for ``day`` in the merchant's ``zone``."""
    return Dashboard(
        day=day_figures(uow, day=day, zone=zone, scope=scope),
        held=held_by_reason(uow, scope=scope),
        backlog=order_queries.workbench_counts(uow, statuses, scope=scope),
        top=top_skus(uow, day=day, zone=zone, scope=scope),
    )
