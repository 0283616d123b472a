"""Reactions to order and stock facts: turn them into notices, set-based (one read of the
orders involved per event, however many orders a batch changed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from lvyue.catalog.models import Sku
from lvyue.core.clock import now
from lvyue.core.db import in_clauses, table_of
from lvyue.core.events import subscribe
from lvyue.core.uow import UnitOfWork
from lvyue.inventory.events import StockLow
from lvyue.inventory.models import Warehouse
from lvyue.orders.events import OrderShipped, OrderStatusChanged, StatusChange
from lvyue.orders.lifecycle import OrderStatus
from lvyue.orders.models import Order, OrderHold, Shop
from lvyue.webhooks import service
from lvyue.webhooks.notices import (
    ORDER_HELD,
    ORDER_SHIPPED,
    ORDER_STATUS_CHANGED,
    STOCK_LOW,
    Notice,
    new_id,
)

ORDER = table_of(Order)
SHOP = table_of(Shop)
HOLD = table_of(OrderHold)
WAREHOUSE = table_of(Warehouse)
SKU = table_of(Sku)


def _orders(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Order reference (id, external id, shop and warehouse codes) per order id."""
    found: dict[int, dict[str, Any]] = {}
    for cond in in_clauses(uow.conn, ORDER.c.id, ids):
        rows = uow.conn.execute(
            sa.select(
                ORDER.c.id,
                ORDER.c.external_id,
                SHOP.c.code.label("shop"),
                WAREHOUSE.c.code.label("warehouse"),
            )
            .select_from(
                ORDER.join(SHOP, SHOP.c.id == ORDER.c.shop_id).outerjoin(
                    WAREHOUSE, WAREHOUSE.c.id == ORDER.c.warehouse_id
                )
            )
            .where(cond)
        ).all()
        found.update(
            {
                r.id: {
                    "order_id": r.id,
                    "external_id": r.external_id,
                    "shop": r.shop,
                    "warehouse": r.warehouse,
                }
                for r in rows
            }
        )
    return found


def _holds(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, list[dict[str, str]]]:
    found: dict[int, list[dict[str, str]]] = {}
    for cond in in_clauses(uow.conn, HOLD.c.order_id, ids):
        rows = uow.conn.execute(
            sa.select(HOLD.c.order_id, HOLD.c.code, HOLD.c.detail)
            .where(cond)
            .order_by(HOLD.c.order_id, HOLD.c.code)
        ).all()
        for r in rows:
            found.setdefault(r.order_id, []).append({"code": r.code, "detail": r.detail})
    return found


def _order_notice(type_: str, ref: dict[str, Any], at: Any, **data: Any) -> Notice:
    return Notice(
        new_id(),
        type_,
        at,
        {**ref, **data},
        shop=ref["shop"],
        warehouse=ref["warehouse"],
        order_id=ref["order_id"],
    )


def _refs(uow: UnitOfWork, changes: Sequence[StatusChange]) -> dict[int, dict[str, Any]]:
    """Order references for notices: from the event where the publisher carried them (the
    bulk paths: no read of the batch's orders), else read."""
    carried = {c.order_id: c.ref for c in changes if c.ref is not None}
    found = _orders(uow, sorted({c.order_id for c in changes} - set(carried)))
    if carried:
        refs = carried.values()
        shops = _codes(uow, SHOP, {r.shop_id for r in refs})
        whs = _codes(uow, WAREHOUSE, {r.warehouse_id for r in refs if r.warehouse_id is not None})
        for oid, r in carried.items():
            found[oid] = {
                "order_id": oid,
                "external_id": r.external_id,
                "shop": shops[r.shop_id],
                "warehouse": whs[r.warehouse_id] if r.warehouse_id is not None else None,
            }
    return found


def on_status_changed(uow: UnitOfWork, event: OrderStatusChanged) -> None:
    refs = _refs(uow, event.changes)
    held = sorted({c.order_id for c in event.changes if c.new == OrderStatus.HELD})
    holds = _holds(uow, held) if held else {}
    notices = []
    for c in event.changes:
        ref = refs[c.order_id]
        notices.append(
            _order_notice(
                ORDER_STATUS_CHANGED, ref, event.at, **{"from": c.old, "to": c.new}, reason=c.reason
            )
        )
        if c.new == OrderStatus.HELD:
            notices.append(
                _order_notice(
                    ORDER_HELD, ref, event.at, reason=c.reason, holds=holds.get(c.order_id, [])
                )
            )
    service.publish(uow, notices)


def on_order_shipped(uow: UnitOfWork, event: OrderShipped) -> None:
    ref = _orders(uow, [event.order_id])[event.order_id]
    notice = _order_notice(
        ORDER_SHIPPED,
        ref,
        now(),
        carrier_code=event.carrier_code,
        tracking_no=event.tracking_no,
    )
    service.publish(uow, [notice])


def _codes(uow: UnitOfWork, table: sa.Table, ids: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for cond in in_clauses(uow.conn, table.c.id, sorted(ids)):
        found.update(uow.conn.execute(sa.select(table.c.id, table.c.code).where(cond)).all())
    return found


def on_stock_low(uow: UnitOfWork, event: StockLow) -> None:
    skus = _codes(uow, SKU, {lv.sku_id for lv in event.levels})
    warehouses = _codes(uow, WAREHOUSE, {lv.warehouse_id for lv in event.levels})
    notices = [
        Notice(
            new_id(),
            STOCK_LOW,
            event.at,
            {
                "sku": skus[lv.sku_id],
                "warehouse": warehouses[lv.warehouse_id],
                "available": lv.available,
                "threshold": lv.threshold,
            },
            warehouse=warehouses[lv.warehouse_id],
            sku=skus[lv.sku_id],
        )
        for lv in event.levels
    ]
    service.publish(uow, notices)


def register() -> None:
    subscribe(OrderStatusChanged, on_status_changed)
    subscribe(OrderShipped, on_order_shipped)
    subscribe(StockLow, on_stock_low)
