"""Shared pieces of the order use cases: tables, shops, status changes with history,
holds, stock release and cancellation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from lvyue.catalog.models import BundleComponent, Sku
from lvyue.core.bulk import execute_many, insert_many
from lvyue.core.clock import now
from lvyue.core.db import in_clauses, table_of
from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import service as inventory
from lvyue.inventory.models import Warehouse
from lvyue.orders.events import OrderRef, OrderStatusChanged, StatusChange
from lvyue.orders.lifecycle import ORDER_LIFECYCLE, OrderStatus
from lvyue.orders.models import Order, OrderHistory, OrderHold, OrderLine, Shop, SkuMapping

S = OrderStatus
ORDER = table_of(Order)
LINE = table_of(OrderLine)
HOLD = table_of(OrderHold)
HISTORY = table_of(OrderHistory)
SHOP = table_of(Shop)
SKU = table_of(Sku)
BUNDLE = table_of(BundleComponent)
WAREHOUSE = table_of(Warehouse)
MAPPING = table_of(SkuMapping)

PLATFORMS = (
    "manual",
    "shopify",
    "woocommerce",
    "taobao",
    "tmall",
    "pinduoduo",
    "jd",
    "douyin",
    "kuaishou",
    "livestream",
    "offline",
    "wholesale",
)
DOC = "order"


# --------------------------------------------------------------------------- shops


def add_shop(
    uow: UnitOfWork, *, code: str, platform: str, name: str, order_type: str = "online"
) -> int:
    code = code.strip()
    if not code:
        raise ValidationError("code", "must not be empty")
    if platform not in PLATFORMS:
        raise ValidationError("platform", f"{platform!r} is not one of {', '.join(PLATFORMS)}")
    if uow.conn.execute(sa.select(SHOP.c.id).where(SHOP.c.code == code)).first():
        raise ValidationError("code", f"shop {code} already exists")
    res = uow.conn.execute(
        sa.insert(SHOP).values(
            code=code,
            platform=platform,
            name=name,
            order_type=order_type,
            active=True,
            created_at=now(),
        )
    )
    assert res.inserted_primary_key is not None
    return int(res.inserted_primary_key[0])


def _shop(uow: UnitOfWork, code: str) -> Any:
    row = uow.conn.execute(sa.select(SHOP).where(SHOP.c.code == code)).first()
    if row is None:
        raise NotFound(f"shop {code} does not exist", code="unknown_shop")
    return row


def shop_id(uow: UnitOfWork, code: str) -> int:
    return int(_shop(uow, code).id)


# --------------------------------------------------------------------------- history


@dataclass(frozen=True)
class Change:
    order_id: int
    old: OrderStatus | None
    new: OrderStatus
    reason: str
    # An intermediate status passed on the way (e.g. approved on the way to allocated):
    # checked and written to the history, but the row is updated once.
    via: tuple[OrderStatus, str] | None = None

    def hops(self) -> list[tuple[OrderStatus | None, OrderStatus, str]]:
        if self.via is None:
            return [(self.old, self.new, self.reason)]
        mid, why = self.via
        return [(self.old, mid, why), (mid, self.new, self.reason)]


def _transition(
    uow: UnitOfWork,
    changes: Sequence[Change],
    ts: datetime,
    refs: dict[int, OrderRef] | None = None,
    **values: Any,
) -> None:
    """Apply status changes in bulk: check each against the lifecycle, update conditionally on
    the old status (a concurrent change makes the batch fail rather than be overwritten),
    write one history row each and publish one ``OrderStatusChanged`` for the batch (with the
    orders' ``refs`` where the caller has them)."""
    if not changes:
        return
    for c in changes:
        for old, new, _ in c.hops():
            if old is not None:
                ORDER_LIFECYCLE.check(old, new)
    updates = [c for c in changes if c.old is not None]
    if updates:
        extra = tuple(sorted(values))
        rows = [
            {"oid": c.order_id, "old": c.old.value, "new": c.new.value, "ts": ts, **values}
            for c in updates
            if c.old is not None
        ]
        _update_orders(uow, _status_update(extra), rows)
    hops = [(c.order_id, old, new, why) for c in changes for old, new, why in c.hops()]
    _history(uow, hops, ts)
    _announce(uow, [(c.order_id, c.old, c.new, c.reason) for c in changes], ts, refs)


@cache
def _status_update(extra: tuple[str, ...]) -> sa.Update:
    """UPDATE of status (conditional on the old one), updated_at and ``extra`` columns, built
    once per column set so the bulk writer's compiled plan is reused."""
    return (
        sa.update(ORDER)
        .where(ORDER.c.id == sa.bindparam("oid"), ORDER.c.status == sa.bindparam("old"))
        .values(
            status=sa.bindparam("new"),
            updated_at=sa.bindparam("ts", type_=ORDER.c.updated_at.type),
            **{k: sa.bindparam(k, type_=ORDER.c[k].type) for k in extra},
        )
    )


def _update_orders(uow: UnitOfWork, stmt: sa.Update, rows: list[dict[str, Any]]) -> None:
    """Run a conditional order update; a row that no longer matches means someone else
    changed the order meanwhile, and the whole unit of work rolls back."""
    done = execute_many(uow.conn, stmt, rows)
    if done != len(rows):
        raise ConcurrentChange(f"{len(rows) - done} order(s) changed concurrently")


def _history(
    uow: UnitOfWork,
    hops: Sequence[tuple[int, OrderStatus | None, OrderStatus, str]],
    ts: datetime,
) -> None:
    insert_many(
        uow.conn,
        HISTORY,
        [
            {
                "order_id": oid,
                # ``_value_``: the plain str, without Enum.value's two Python-level calls
                "from_status": old._value_ if old else None,
                "to_status": new._value_,
                "actor": uow.actor,
                "reason": reason[:300],
                "created_at": ts,
            }
            for oid, old, new, reason in hops
        ],
    )


def _announce(
    uow: UnitOfWork,
    changes: Sequence[tuple[int, OrderStatus | None, OrderStatus, str]],
    ts: datetime,
    refs: dict[int, OrderRef] | None = None,
) -> None:
    """One ``OrderStatusChanged`` for a batch of changes (first status to last)."""
    if changes:
        known = refs or {}
        uow.publish(
            OrderStatusChanged(
                tuple(
                    StatusChange(
                        oid, old._value_ if old else None, new._value_, reason, known.get(oid)
                    )
                    for oid, old, new, reason in changes
                ),
                ts,
            )
        )


class ConcurrentChange(ValidationError):
    code = "concurrent_change"

    def __init__(self, message: str) -> None:
        super().__init__("status", message)


def _set_holds(uow: UnitOfWork, holds: dict[int, dict[str, str]], ts: datetime) -> None:
    """Replace the current hold reasons of each order."""
    for cond in in_clauses(uow.conn, HOLD.c.order_id, holds):
        uow.conn.execute(sa.delete(HOLD).where(cond))
    rows = [
        {"order_id": oid, "code": code, "detail": detail[:300], "created_at": ts}
        for oid, reasons in holds.items()
        for code, detail in reasons.items()
    ]
    insert_many(uow.conn, HOLD, rows)


def _release(uow: UnitOfWork, order_ids: Sequence[int], reason: str, ts: datetime) -> None:
    inventory.release(uow, DOC, order_ids, reason=reason)
    for cond in in_clauses(uow.conn, LINE.c.order_id, order_ids):
        uow.conn.execute(sa.update(LINE).where(cond).values(reserved=0))


def _cancel(
    uow: UnitOfWork, orders: Sequence[tuple[int, OrderStatus]], reason: str, ts: datetime
) -> None:
    for _, status in orders:
        ORDER_LIFECYCLE.check(status, S.CANCELLED)
    _release(uow, [oid for oid, _ in orders], reason, ts)
    _set_holds(uow, {oid: {} for oid, _ in orders}, ts)
    _transition(uow, [Change(oid, st, S.CANCELLED, reason) for oid, st in orders], ts)


# --------------------------------------------------------------------------- operator actions


def cancel_order(uow: UnitOfWork, order_id: int, *, reason: str) -> None:
    if not reason.strip():
        raise ValidationError("reason", "a reason is required to cancel an order")
    row = uow.conn.execute(sa.select(ORDER.c.status).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    _cancel(uow, [(order_id, S(row.status))], reason, now())


def _note(uow: UnitOfWork, order_id: int, status: str, reason: str, ts: datetime) -> None:
    """A history row for something that happened to an order without a status change."""
    uow.conn.execute(
        sa.insert(HISTORY).values(
            order_id=order_id,
            from_status=status,
            to_status=status,
            actor=uow.actor,
            reason=reason[:300],
            created_at=ts,
        )
    )


def _back_to_review(uow: UnitOfWork, row: Any, reason: str, ts: datetime) -> None:
    """Release what the order holds and send it back to review after an operator change."""
    status = S(row.status)
    if status in (S.APPROVED, S.ALLOCATED):
        _release(uow, [row.id], reason, ts)
        _transition(uow, [Change(row.id, status, S.PENDING_REVIEW, reason)], ts, warehouse_id=None)
    elif status is S.HELD:
        _set_holds(uow, {row.id: {}}, ts)
        _transition(uow, [Change(row.id, status, S.PENDING_REVIEW, reason)], ts)
    else:
        _note(uow, row.id, status.value, reason, ts)
