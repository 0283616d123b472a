"""Splitting orders, and the answers to short stock: wait, ship part, drop the rest."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lvyue.core.clock import now
from lvyue.core.errors import InvalidTransition, NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import service as inventory
from lvyue.orders.service._base import (
    BUNDLE,
    HOLD,
    LINE,
    ORDER,
    WAREHOUSE,
    Change,
    S,
    _back_to_review,
    _note,
    _transition,
)

# --------------------------------------------------------------------------- split and shortage

SPLITTABLE = (S.PENDING_PAYMENT, S.PENDING_REVIEW, S.HELD, S.APPROVED, S.ALLOCATED)


def split_order(uow: UnitOfWork, order_id: int, parts: dict[int, int], *, reason: str = "") -> int:
    """Move ``parts`` (line number -> units) of an order not yet in the warehouse into a new
    order of the same shop and buyer, which ships on its own. Both are reviewed again; what
    was reserved is released first. Returns the new order's id."""
    row = uow.conn.execute(sa.select(ORDER).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    if S(row.status) not in SPLITTABLE:
        raise InvalidTransition(
            f"order {order_id} is {row.status}: too late to split", current=row.status
        )
    lines = {
        ln.line_no: ln
        for ln in uow.conn.execute(sa.select(LINE).where(LINE.c.order_id == order_id))
    }
    if not parts:
        raise ValidationError("parts", "name at least one line and quantity to move, e.g. 1:2")
    for no, qty in parts.items():
        if no not in lines:
            raise ValidationError("parts", f"order {order_id} has no line {no}")
        if not 0 < qty <= lines[no].quantity:
            raise ValidationError(
                "parts", f"line {no}: move 1 to {lines[no].quantity} units, not {qty}"
            )
    if sum(parts.values()) == sum(ln.quantity for ln in lines.values()):
        raise ValidationError("parts", "that moves every unit: nothing would stay in the order")
    ts = now()
    _back_to_review(uow, row, reason or "拆单", ts)
    row = uow.conn.execute(sa.select(ORDER).where(ORDER.c.id == order_id)).one()
    siblings = uow.conn.execute(
        sa.select(sa.func.count()).select_from(ORDER).where(ORDER.c.parent_id == order_id)
    ).scalar_one()
    moved_goods = sum((lines[no].unit_price * q for no, q in parts.items()), Decimal("0.00"))
    child = {k: v for k, v in row._mapping.items() if k != "id"}
    child.update(
        external_id=f"{row.external_id[:58]}-S{siblings + 1}",
        parent_id=order_id,
        status=S.PENDING_REVIEW.value,
        warehouse_id=None,
        goods_amount=moved_goods,
        shipping_fee=Decimal("0.00"),
        discount=Decimal("0.00"),
        total_amount=moved_goods,
        item_count=sum(parts.values()),
        review_log=[],
        review_steps=[],
        created_at=ts,
        updated_at=ts,
        dup_key=None,
    )
    res = uow.conn.execute(sa.insert(ORDER).values(**child))
    assert res.inserted_primary_key is not None
    child_id = int(res.inserted_primary_key[0])
    for i, (no, qty) in enumerate(sorted(parts.items()), start=1):
        ln = lines[no]
        values = {
            k: v
            for k, v in ln._mapping.items()
            if k
            not in ("id", "order_id", "line_no", "quantity", "reserved", "shipped", "cancelled")
        }
        uow.conn.execute(
            sa.insert(LINE).values(
                **values,
                order_id=child_id,
                line_no=i,
                quantity=qty,
                reserved=0,
                shipped=0,
                cancelled=0,
            )
        )
    _take_units(uow, row, lines, parts, ts)
    moved = ", ".join(f"{lines[no].sku_code}×{q}" for no, q in sorted(parts.items()))
    _transition(
        uow, [Change(child_id, None, S.PENDING_REVIEW, f"拆分自订单 #{order_id}: {moved}")], ts
    )
    _note(uow, order_id, S.PENDING_REVIEW.value, f"拆出订单 #{child_id}: {moved}", ts)
    return child_id


def _take_units(
    uow: UnitOfWork,
    row: Any,
    lines: dict[int, Any],
    parts: dict[int, int],
    ts: datetime,
    *,
    cancelled: bool = False,
) -> None:
    """Take units off an order's lines (line number -> units) and its amounts: moved to a
    split-off order, or dropped (``cancelled`` remembers how many on the line)."""
    for no, qty in parts.items():
        ln = lines[no]
        if qty == ln.quantity:
            uow.conn.execute(sa.delete(LINE).where(LINE.c.id == ln.id))
        else:
            extra = {"cancelled": ln.cancelled + qty} if cancelled else {}
            uow.conn.execute(
                sa.update(LINE)
                .where(LINE.c.id == ln.id)
                .values(quantity=ln.quantity - qty, **extra)
            )
    goods = sum((lines[no].unit_price * q for no, q in parts.items()), Decimal("0.00"))
    uow.conn.execute(
        sa.update(ORDER)
        .where(ORDER.c.id == row.id)
        .values(
            goods_amount=row.goods_amount - goods,
            total_amount=row.total_amount - goods,
            item_count=row.item_count - sum(parts.values()),
            updated_at=ts,
        )
    )


def _fillable(uow: UnitOfWork, row: Any) -> tuple[dict[int, int], str]:
    """Per line number, how many units the best single warehouse can ship now (bundles by
    their components), and that warehouse's code."""
    lines = list(
        uow.conn.execute(
            sa.select(LINE)
            .where(LINE.c.order_id == row.id, LINE.c.sku_id.is_not(None))
            .order_by(LINE.c.line_no)
        )
    )
    bundles: dict[int, dict[int, int]] = defaultdict(dict)
    for b in uow.conn.execute(
        sa.select(BUNDLE).where(BUNDLE.c.bundle_sku_id.in_([ln.sku_id for ln in lines]))
    ):
        bundles[b.bundle_sku_id][b.component_sku_id] = b.quantity
    parts_of = {ln.line_no: bundles.get(ln.sku_id) or {ln.sku_id: 1} for ln in lines}
    available = inventory.lock_available(uow, {s for p in parts_of.values() for s in p})
    best: tuple[int, dict[int, int], str] = (0, {}, "")
    for wh in uow.conn.execute(
        sa.select(WAREHOUSE.c.id, WAREHOUSE.c.code).where(WAREHOUSE.c.active.is_(True))
    ):
        left = {sku: qty for (sku, w), qty in available.items() if w == wh.id}
        fill: dict[int, int] = {}
        for ln in lines:  # in line order: the first lines are served first
            n = min(
                [ln.quantity] + [left.get(s, 0) // per for s, per in parts_of[ln.line_no].items()]
            )
            fill[ln.line_no] = n
            for s, per in parts_of[ln.line_no].items():
                left[s] = left.get(s, 0) - n * per
        total = sum(fill.values())
        if total > best[0]:
            best = (total, fill, wh.code)
    return best[1], best[2]


def resolve_shortage(uow: UnitOfWork, order_id: int, *, policy: str) -> str:
    """An operator's (or the merchant default's) choice for an order short of stock:
    ``wait`` keeps it held and re-checked as stock arrives; ``partial`` splits off the short
    units into their own order so the rest ships now; ``cancel_short`` drops the short units.
    The choice is written to the order's history."""
    if policy not in ("wait", "partial", "cancel_short"):
        raise ValidationError("policy", "choose wait, partial or cancel_short")
    row = uow.conn.execute(sa.select(ORDER).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    holds = {
        h.code for h in uow.conn.execute(sa.select(HOLD.c.code).where(HOLD.c.order_id == order_id))
    }
    if S(row.status) is not S.HELD or "out_of_stock" not in holds:
        raise InvalidTransition(f"order {order_id} is not held for short stock", current=row.status)
    ts = now()
    uow.conn.execute(sa.update(ORDER).where(ORDER.c.id == order_id).values(oversell_policy=policy))
    if policy == "wait":
        _note(uow, order_id, "held", "缺货处理: 等待到货", ts)
        return "waiting for stock"
    fill, wh = _fillable(uow, row)
    lines = {
        ln.line_no: ln
        for ln in uow.conn.execute(sa.select(LINE).where(LINE.c.order_id == order_id))
    }
    short = {
        no: ln.quantity - fill.get(no, 0)
        for no, ln in lines.items()
        if ln.quantity > fill.get(no, 0)
    }
    if not any(fill.values()):
        raise ValidationError(
            "policy", "nothing of this order is in stock anywhere: only wait or cancel"
        )
    if policy == "partial":
        child = split_order(
            uow, order_id, short, reason=f"缺货处理: 部分发货 ({wh}), 缺货部分另成订单"
        )
        # The split-off rest waits for stock; splitting it again would let it overtake its
        # own older part for the same units.
        uow.conn.execute(sa.update(ORDER).where(ORDER.c.id == child).values(oversell_policy="wait"))
        return f"the rest waits as order #{child}"
    _take_units(uow, row, lines, short, ts, cancelled=True)
    dropped = [f"{lines[no].sku_code}×{q}" for no, q in sorted(short.items())]
    _back_to_review(uow, row, "缺货处理: 取消缺货部分 " + ", ".join(dropped), ts)
    return "cancelled " + ", ".join(dropped)
