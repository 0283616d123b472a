"""Stock reads: levels for pages and the CLI, and the ledger check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lvyue.catalog.models import Sku
from lvyue.core.db import table_of
from lvyue.core.uow import UnitOfWork
from lvyue.inventory.models import AVAILABILITY_UP, StockLevel, StockMove, Warehouse

LEVEL = table_of(StockLevel)
MOVE = table_of(StockMove)
WAREHOUSE = table_of(Warehouse)
SKU = table_of(Sku)


def stock_levels(uow: UnitOfWork, sku_code: str | None = None) -> list[dict[str, Any]]:
    stmt = (
        sa.select(
            SKU.c.code.label("sku"),
            WAREHOUSE.c.code.label("warehouse"),
            LEVEL.c.on_hand,
            LEVEL.c.reserved,
        )
        .join(SKU, SKU.c.id == LEVEL.c.sku_id)
        .join(WAREHOUSE, WAREHOUSE.c.id == LEVEL.c.warehouse_id)
        .order_by(SKU.c.code, WAREHOUSE.c.code)
    )
    if sku_code:
        stmt = stmt.where(SKU.c.code == sku_code)
    return [
        {
            "sku": r.sku,
            "warehouse": r.warehouse,
            "on_hand": r.on_hand,
            "reserved": r.reserved,
            "available": r.on_hand - r.reserved,
        }
        for r in uow.conn.execute(stmt)
    ]


def list_warehouses(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = uow.conn.execute(sa.select(WAREHOUSE).order_by(WAREHOUSE.c.priority, WAREHOUSE.c.id))
    return [dict(r._mapping) for r in rows]


@dataclass(frozen=True)
class LevelDifference:
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int


def verify_levels(uow: UnitOfWork) -> list[LevelDifference]:
    """Recompute every level from the ledger and return the rows that differ (also levels
    that break 0 <= reserved <= on_hand, and ledger sums with no level row)."""
    sums = (
        sa.select(
            MOVE.c.sku_id,
            MOVE.c.warehouse_id,
            sa.func.sum(MOVE.c.on_hand_delta).label("on_hand"),
            sa.func.sum(MOVE.c.reserved_delta).label("reserved"),
        )
        .group_by(MOVE.c.sku_id, MOVE.c.warehouse_id)
        .subquery()
    )
    ledger = {
        (r.sku_id, r.warehouse_id): (int(r.on_hand), int(r.reserved))
        for r in uow.conn.execute(sa.select(sums))
    }
    names_sku = dict(uow.conn.execute(sa.select(SKU.c.id, SKU.c.code)).all())
    names_wh = dict(uow.conn.execute(sa.select(WAREHOUSE.c.id, WAREHOUSE.c.code)).all())
    diffs: list[LevelDifference] = []
    seen: set[tuple[int, int]] = set()
    for r in uow.conn.execute(
        sa.select(LEVEL.c.sku_id, LEVEL.c.warehouse_id, LEVEL.c.on_hand, LEVEL.c.reserved)
    ):
        key = (r.sku_id, r.warehouse_id)
        seen.add(key)
        lo, lr = ledger.get(key, (0, 0))
        if (r.on_hand, r.reserved) != (lo, lr) or not 0 <= r.reserved <= r.on_hand:
            diffs.append(
                LevelDifference(
                    names_sku.get(r.sku_id, str(r.sku_id)),
                    names_wh.get(r.warehouse_id, str(r.warehouse_id)),
                    r.on_hand,
                    r.reserved,
                    lo,
                    lr,
                )
            )
    for key, (lo, lr) in ledger.items():
        if key not in seen and (lo, lr) != (0, 0):
            diffs.append(
                LevelDifference(
                    names_sku.get(key[0], str(key[0])),
                    names_wh.get(key[1], str(key[1])),
                    0,
                    0,
                    lo,
                    lr,
                )
            )
    return diffs


def available_by_warehouse(uow: UnitOfWork, sku_ids: list[int]) -> dict[int, dict[str, int]]:
    """Available units per SKU per active warehouse code."""
    found: dict[int, dict[str, int]] = {}
    for i in range(0, len(sku_ids), 900):
        rows = uow.conn.execute(
            sa.select(LEVEL.c.sku_id, WAREHOUSE.c.code, LEVEL.c.on_hand - LEVEL.c.reserved)
            .join(WAREHOUSE, WAREHOUSE.c.id == LEVEL.c.warehouse_id)
            .where(LEVEL.c.sku_id.in_(sku_ids[i : i + 900]), WAREHOUSE.c.active.is_(True))
        )
        for sku, wh, qty in rows:
            found.setdefault(int(sku), {})[wh] = int(qty)
    return found


def stock_ledger(
    uow: UnitOfWork,
    *,
    sku: str | None = None,
    warehouse: str | None = None,
    warehouses: list[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Ledger rows, newest first, with the total for the same filters. ``warehouses``
    (a user's scope) restricts to those; empty means all."""
    stmt = (
        sa.select(
            MOVE.c.id,
            MOVE.c.created_at.label("at"),
            SKU.c.code.label("sku"),
            WAREHOUSE.c.code.label("warehouse"),
            MOVE.c.kind,
            MOVE.c.on_hand_delta,
            MOVE.c.reserved_delta,
            MOVE.c.doc_type,
            MOVE.c.doc_id,
            MOVE.c.reason,
            MOVE.c.actor,
        )
        .join(SKU, SKU.c.id == MOVE.c.sku_id)
        .join(WAREHOUSE, WAREHOUSE.c.id == MOVE.c.warehouse_id)
    )
    if sku:
        stmt = stmt.where(SKU.c.code == sku)
    if warehouse:
        stmt = stmt.where(WAREHOUSE.c.code == warehouse)
    if warehouses:
        stmt = stmt.where(WAREHOUSE.c.code.in_(warehouses))
    total = uow.conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = uow.conn.execute(stmt.order_by(MOVE.c.id.desc()).limit(limit).offset(offset))
    return {"items": [dict(r._mapping) for r in rows], "total": int(total)}


def last_availability_increase(uow: UnitOfWork) -> datetime | None:
    """When stock last became available anywhere (a receipt, a release, an upward count): one
    look-up in a partial index, however long the ledger."""
    latest: datetime | None = uow.conn.execute(
        sa.select(sa.func.max(MOVE.c.created_at)).where(sa.text(AVAILABILITY_UP))
    ).scalar()
    return latest
