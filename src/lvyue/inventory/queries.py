"""Stock reads: levels for pages and the CLI, and the ledger check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lvyue.catalog.models import Sku
from lvyue.core.db import table_of
from lvyue.core.errors import NotFound, ValidationError
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


# --------------------------------------------------------------------------- stock pages

PAGE_SIZE = 50


def _threshold(default: int | None) -> sa.ColumnElement[Any]:
    """The level's own low-stock threshold, else the merchant's default (may be NULL)."""
    if default is None:
        return LEVEL.c.low_stock_threshold
    return sa.func.coalesce(LEVEL.c.low_stock_threshold, default)


def _level_select(default_threshold: int | None) -> sa.Select[Any]:
    threshold = _threshold(default_threshold)
    available = LEVEL.c.on_hand - LEVEL.c.reserved
    return (
        sa.select(
            SKU.c.code.label("sku"),
            SKU.c.name.label("sku_name"),
            SKU.c.spec_text,
            LEVEL.c.warehouse_id,
            WAREHOUSE.c.code.label("warehouse"),
            WAREHOUSE.c.name.label("warehouse_name"),
            LEVEL.c.on_hand,
            LEVEL.c.reserved,
            available.label("available"),
            LEVEL.c.low_stock_threshold.label("own_threshold"),
            threshold.label("threshold"),
            sa.case((available <= threshold, True), else_=False).label("low"),
            LEVEL.c.updated_at,
        )
        .select_from(LEVEL)
        .join(SKU, SKU.c.id == LEVEL.c.sku_id)
        .join(WAREHOUSE, WAREHOUSE.c.id == LEVEL.c.warehouse_id)
    )


def _in_warehouses(codes: Sequence[str]) -> sa.ColumnElement[bool]:
    # By id (a subquery on the unique codes): the level's own index is walked.
    return LEVEL.c.warehouse_id.in_(sa.select(WAREHOUSE.c.id).where(WAREHOUSE.c.code.in_(codes)))


def _level_row(r: Any) -> dict[str, Any]:
    row = dict(r._mapping)
    row["low"] = bool(row["low"]) if row["threshold"] is not None else False
    return row


def level_cursor(row: Mapping[str, Any]) -> str:
    """Where a page of levels starts or ends: ``<warehouse id>:<sku code>``."""
    return f"{row['warehouse_id']}:{row['sku']}"


def _parse_level_cursor(text: str) -> tuple[str, int]:
    wid, sep, code = text.partition(":")
    if not sep or not wid.isdigit() or not code:
        raise ValidationError("cursor", "not a position in this list")
    return code, int(wid)


def level_page(
    uow: UnitOfWork,
    *,
    search: str = "",
    warehouse: str | None = None,
    scope: Sequence[str] = (),
    low_only: bool = False,
    default_threshold: int | None = None,
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
) -> dict[str, Any]:
    """One page of stock levels (SKU × warehouse) ordered by SKU code, then warehouse,
    paged by keyset on (SKU code, warehouse id) so each page is a walk of the SKU code
    index and the level's (sku, warehouse) key however many SKUs there are; never counted.

    ``search`` matches the start of the SKU code or any part of its name; ``scope`` (a
    user's warehouses; empty: all) and ``warehouse`` narrow; ``low_only`` keeps levels whose
    available stock is at or below their threshold. Returns {"items", "next", "prev"}:
    cursors for the pages after and before, or None at either end."""
    stmt = _level_select(default_threshold)
    if scope:
        stmt = stmt.where(_in_warehouses(scope))
    if warehouse:
        stmt = stmt.where(_in_warehouses([warehouse]))
    text = search.strip()
    if text:
        stmt = stmt.where(
            sa.or_(
                SKU.c.code.istartswith(text, autoescape=True),
                SKU.c.name.icontains(text, autoescape=True),
            )
        )
    if low_only:
        threshold = _threshold(default_threshold)
        stmt = stmt.where(threshold.is_not(None), LEVEL.c.on_hand - LEVEL.c.reserved <= threshold)
    backwards = bool(before) and not after
    cursor = after or before
    if cursor:
        code, wid = _parse_level_cursor(cursor)
        if backwards:
            stmt = stmt.where(
                SKU.c.code <= code,  # redundant, but lets the planner range-scan the code index
                sa.or_(SKU.c.code < code, sa.and_(SKU.c.code == code, LEVEL.c.warehouse_id < wid)),
            )
        else:
            stmt = stmt.where(
                SKU.c.code >= code,
                sa.or_(SKU.c.code > code, sa.and_(SKU.c.code == code, LEVEL.c.warehouse_id > wid)),
            )
    order = (
        (SKU.c.code.desc(), LEVEL.c.warehouse_id.desc())
        if backwards
        else (SKU.c.code, LEVEL.c.warehouse_id)
    )
    rows = [_level_row(r) for r in uow.conn.execute(stmt.order_by(*order).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next = (more and not backwards) or (backwards and bool(rows))
    has_prev = (more and backwards) or (bool(after) and bool(rows))
    return {
        "items": rows,
        "next": level_cursor(rows[-1]) if rows and has_next else None,
        "prev": level_cursor(rows[0]) if rows and has_prev else None,
    }


def sku_card(uow: UnitOfWork, sku_code: str) -> dict[str, Any]:
    """The SKU a stock page is about: code, name, spec."""
    row = uow.conn.execute(
        sa.select(SKU.c.id, SKU.c.code, SKU.c.name, SKU.c.spec_text, SKU.c.active).where(
            SKU.c.code == sku_code
        )
    ).first()
    if row is None:
        raise NotFound(f"SKU {sku_code} does not exist", code="unknown_sku")
    return dict(row._mapping)


def sku_levels(
    uow: UnitOfWork,
    sku_code: str,
    *,
    scope: Sequence[str] = (),
    default_threshold: int | None = None,
) -> list[dict[str, Any]]:
    """The SKU's level in each warehouse it has one in (within ``scope``), by warehouse."""
    stmt = _level_select(default_threshold).where(SKU.c.code == sku_code)
    if scope:
        stmt = stmt.where(_in_warehouses(scope))
    order = stmt.order_by(WAREHOUSE.c.priority, WAREHOUSE.c.id)
    return [_level_row(r) for r in uow.conn.execute(order)]
