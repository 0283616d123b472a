"""Operator and warehouse actions on single orders: SKU mapping, address fixes, manual
review, holds, merging, shipping."""

from __future__ import annotations

import sqlalchemy as sa

from lvyue.core.clock import now
from lvyue.core.errors import InvalidTransition, NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import service as inventory
from lvyue.orders.events import OrderShipped
from lvyue.orders.holds import ADDRESS_HOLDS, OVERRIDABLE
from lvyue.orders.lifecycle import HOLDS_STOCK, ORDER_LIFECYCLE
from lvyue.orders.normalise import fixed_receiver
from lvyue.orders.service._base import (
    DOC,
    HISTORY,
    HOLD,
    LINE,
    MAPPING,
    ORDER,
    SKU,
    Change,
    S,
    _back_to_review,
    _note,
    _release,
    _set_holds,
    _shop,
    _transition,
    cancel_order,
)

# --------------------------------------------------------------------------- SKU mapping


def map_sku(
    uow: UnitOfWork,
    *,
    shop_code: str,
    channel_sku: str,
    sku_code: str,
    channel_item: str | None = None,
) -> int:
    """Map a channel's SKU code to ours for one shop, and attach it to the waiting lines of
    that shop's orders; returns how many lines were attached. The unknown_sku holds clear on
    the next pipeline run."""
    channel_sku = channel_sku.strip()
    if not channel_sku:
        raise ValidationError("CHANNEL_SKU", "must not be empty")
    shop = _shop(uow, shop_code)
    row = uow.conn.execute(sa.select(SKU.c.id).where(SKU.c.code == sku_code)).first()
    if row is None:
        raise NotFound(f"SKU {sku_code} does not exist", code="unknown_sku")
    key = {"shop_id": shop.id, "channel_sku": channel_sku}
    cond = (MAPPING.c.shop_id == shop.id) & (MAPPING.c.channel_sku == channel_sku)
    if uow.conn.execute(sa.select(MAPPING.c.sku_id).where(cond)).first():
        uow.conn.execute(
            sa.update(MAPPING)
            .where(cond)
            .values(sku_id=row.id, channel_item=channel_item, created_by=uow.actor)
        )
    else:
        uow.conn.execute(
            sa.insert(MAPPING).values(
                **key,
                sku_id=row.id,
                channel_item=channel_item,
                created_at=now(),
                created_by=uow.actor,
            )
        )
    waiting = sa.select(ORDER.c.id).where(
        ORDER.c.shop_id == shop.id,
        ORDER.c.status.in_([S.PENDING_PAYMENT.value, S.PENDING_REVIEW.value, S.HELD.value]),
    )
    res = uow.conn.execute(
        sa.update(LINE)
        .where(
            LINE.c.order_id.in_(waiting),
            LINE.c.sku_id.is_(None),
            (LINE.c.sku_code == channel_sku) | (LINE.c.channel_sku_id == channel_sku),
        )
        .values(sku_id=row.id)
    )
    return int(res.rowcount)


# --------------------------------------------------------------------------- address fixes


def fix_address(
    uow: UnitOfWork,
    order_id: int,
    *,
    text: str | None = None,
    province: str | None = None,
    city: str | None = None,
    district: str | None = None,
    phone: str | None = None,
) -> list[str]:
    """An operator's correction of the receiver: parsed and checked like an import (the
    buyer's original stays untouched). Address holds are replaced by what the new address
    still lacks; with none left the order goes back to review. Returns the remaining issues."""
    if not any((text, province, city, district, phone)):
        raise ValidationError("address", "give the corrected address text, region fields or phone")
    row = uow.conn.execute(sa.select(ORDER).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    status = S(row.status)
    if status not in (S.PENDING_PAYMENT, S.PENDING_REVIEW, S.HELD):
        raise InvalidTransition(
            f"order {order_id} is {status.value}: the address can only be fixed before approval",
            current=status.value,
        )
    if text is None and not any((province, city, district)):  # phone only: keep the address
        text, province, city, district = (
            row.addr_detail,
            row.addr_province,
            row.addr_city,
            row.addr_district,
        )
        if row.addr_street and text and not text.startswith(row.addr_street):
            text = row.addr_street + text
    fixed = fixed_receiver(
        text,
        province=province,
        city=city,
        district=district,
        phone=phone or row.phone_number or row.receiver_phone,
    )
    ts = now()
    uow.conn.execute(sa.update(ORDER).where(ORDER.c.id == order_id).values(**fixed, updated_at=ts))
    holds = {
        h.code: h.detail
        for h in uow.conn.execute(sa.select(HOLD).where(HOLD.c.order_id == order_id))
        if h.code not in ADDRESS_HOLDS
    }
    holds.update({code: "修正后仍有问题" for code in fixed["address_issues"]})
    _set_holds(uow, {order_id: holds}, ts)
    if status is S.HELD and not holds:
        _transition(uow, [Change(order_id, status, S.PENDING_REVIEW, "地址已修正, 重新审核")], ts)
    else:
        issues = fixed["address_issues"]
        _note(
            uow,
            order_id,
            status.value,
            "地址已修正" + (f", 仍有问题: {', '.join(issues)}" if issues else ""),
            ts,
        )
    return list(fixed["address_issues"])


# --------------------------------------------------------------------------- manual review


def approve_order(uow: UnitOfWork, order_id: int, *, role: str = "admin", note: str = "") -> str:
    """A person approves a held order: manual-review steps advance one role at a time (e.g.
    customer service, then finance); holds a person may wave through (blacklist, buyer
    message, suspected duplicate) are cleared and remembered so review does not raise them
    again. Holds with a cause to fix (address, stock, SKU) stay. Returns the new status."""
    row = uow.conn.execute(sa.select(ORDER).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    status = S(row.status)
    if status not in (S.HELD, S.PENDING_REVIEW):
        raise InvalidTransition(
            f"order {order_id} is {status.value}: nothing to approve", current=status.value
        )
    holds = {
        h.code: h.detail
        for h in uow.conn.execute(sa.select(HOLD).where(HOLD.c.order_id == order_id))
    }
    steps = list(row.review_steps or [])
    ts = now()
    if "manual_review" in holds and steps:
        if role not in (steps[0], "admin"):
            raise ValidationError("role", f"this review step belongs to {steps[0]}, not {role}")
        done = steps.pop(0)
        if steps:
            uow.conn.execute(
                sa.update(ORDER).where(ORDER.c.id == order_id).values(review_steps=steps)
            )
            _note(
                uow,
                order_id,
                status.value,
                f"{done} 已审核, 待 {steps[0]} 审核" + (f": {note}" if note else ""),
                ts,
            )
            return status.value
    waived = [c for c in holds if c in OVERRIDABLE]
    rest = {c: d for c, d in holds.items() if c not in OVERRIDABLE}
    if not waived and status is S.HELD:
        raise ValidationError(
            "holds", f"nothing a person can approve: fix {', '.join(rest) or 'the order'} first"
        )
    rule_names = [
        e["source"].split(":", 1)[1].rsplit("@", 1)[0]
        for e in (row.review_log or [])
        if e.get("outcome") == "manual_review"
    ]
    approved = sorted({*(row.approved_rules or []), *waived, *rule_names})
    uow.conn.execute(
        sa.update(ORDER)
        .where(ORDER.c.id == order_id)
        .values(approved_rules=approved, review_steps=[])
    )
    _set_holds(uow, {order_id: rest}, ts)
    reason = "人工审核通过: " + ", ".join(waived) + (f" ({note})" if note else "")
    if status is S.HELD and not rest:
        _transition(uow, [Change(order_id, status, S.PENDING_REVIEW, reason)], ts)
        return S.PENDING_REVIEW.value
    _note(uow, order_id, status.value, reason, ts)
    return status.value


def reject_order(uow: UnitOfWork, order_id: int, *, reason: str) -> None:
    """Reject at review: the order is cancelled with the reason and its stock released."""
    cancel_order(uow, order_id, reason=f"审核拒绝: {reason}" if reason.strip() else "")


def merge_orders(uow: UnitOfWork, order_ids: list[int]) -> int:
    """Ship orders of one shop and one receiver as one parcel (合单). Orders already in
    different warehouses go back to review so that the next run places them together.
    Returns the merge group id."""
    ids = sorted(set(order_ids))
    if len(ids) < 2:
        raise ValidationError("ID", "name at least two orders to merge")
    rows = list(uow.conn.execute(sa.select(ORDER).where(ORDER.c.id.in_(ids))))
    missing = set(ids) - {r.id for r in rows}
    if missing:
        raise NotFound(
            f"order(s) {', '.join(map(str, sorted(missing)))} do not exist", code="unknown_order"
        )
    late = [
        r.id for r in rows if S(r.status) not in (S.PENDING_REVIEW, S.HELD, S.APPROVED, S.ALLOCATED)
    ]
    if late:
        raise InvalidTransition(
            f"order(s) {', '.join(map(str, late))} cannot be merged in their state"
        )
    if len({r.shop_id for r in rows}) > 1:
        raise ValidationError("ID", "orders of different shops cannot be merged")
    receivers = {
        (r.receiver_name, r.addr_province, r.addr_city, r.addr_district, r.addr_detail)
        for r in rows
    }
    if len(receivers) > 1:
        raise ValidationError("ID", "the orders go to different receivers or addresses")
    group = ids[0]
    ts = now()
    warehouses = {r.warehouse_id for r in rows if r.warehouse_id is not None}
    for r in rows:
        if len(warehouses) > 1 and S(r.status) in (S.APPROVED, S.ALLOCATED):
            _back_to_review(uow, r, f"合单 #{group}: 重新分仓", ts)
    uow.conn.execute(
        sa.update(ORDER).where(ORDER.c.id.in_(ids)).values(merge_group=group, updated_at=ts)
    )
    uow.conn.execute(
        sa.insert(HISTORY),
        [
            {
                "order_id": r.id,
                "from_status": r.status,
                "to_status": r.status,
                "actor": uow.actor,
                "reason": f"合单 #{group}: " + ", ".join(f"#{i}" for i in ids),
                "created_at": ts,
            }
            for r in rows
        ],
    )
    return group


def hold_order(uow: UnitOfWork, order_id: int, *, note: str) -> None:
    """An operator stops an order before the warehouse (to call the buyer, check a detail);
    its stock is released and it waits until approved."""
    if not note.strip():
        raise ValidationError("reason", "say why the order is held")
    row = uow.conn.execute(sa.select(ORDER).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    status = S(row.status)
    if status is not S.HELD:
        ORDER_LIFECYCLE.check(status, S.HELD)
    ts = now()
    if status in HOLDS_STOCK:
        _release(uow, [order_id], f"人工挂起: {note}", ts)
    holds = {
        h.code: h.detail
        for h in uow.conn.execute(sa.select(HOLD).where(HOLD.c.order_id == order_id))
    }
    holds["operator_hold"] = note[:300]
    _set_holds(uow, {order_id: holds}, ts)
    approved = [c for c in (row.approved_rules or []) if c != "operator_hold"]
    uow.conn.execute(sa.update(ORDER).where(ORDER.c.id == order_id).values(approved_rules=approved))
    if status is S.HELD:
        _note(uow, order_id, "held", f"人工挂起: {note}", ts)
    else:
        _transition(
            uow, [Change(order_id, status, S.HELD, f"人工挂起: {note}")], ts, warehouse_id=None
        )


# --------------------------------------------------------------------------- shipping


def ship_order(uow: UnitOfWork, order_id: int, *, carrier_code: str, tracking_no: str) -> None:
    """Record that the parcel left: consume the reserved stock, mark the lines shipped and
    publish ``OrderShipped`` so the channel is told (through the outbox)."""
    carrier_code, tracking_no = carrier_code.strip().upper(), tracking_no.strip()
    if not carrier_code:
        raise ValidationError("carrier", "is required, e.g. SF, ZTO, YTO")
    if not tracking_no or len(tracking_no) > 40:
        raise ValidationError("tracking", "is required (at most 40 characters)")
    row = uow.conn.execute(sa.select(ORDER).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    status = S(row.status)
    ORDER_LIFECYCLE.check(S.IN_FULFILLMENT if status is S.ALLOCATED else status, S.SHIPPED)
    ts = now()
    inventory.ship(uow, DOC, [order_id], reason=f"发货 {carrier_code} {tracking_no}")
    uow.conn.execute(
        sa.update(LINE)
        .where(LINE.c.order_id == order_id, LINE.c.reserved > 0)
        .values(shipped=LINE.c.reserved, reserved=0)
    )
    steps = (
        [Change(order_id, S.ALLOCATED, S.IN_FULFILLMENT, "出库")] if status is S.ALLOCATED else []
    )
    steps.append(
        Change(order_id, S.IN_FULFILLMENT, S.SHIPPED, f"已发货 {carrier_code} {tracking_no}")
    )
    for step in steps:
        _transition(uow, [step], ts)
    uow.conn.execute(
        sa.update(ORDER)
        .where(ORDER.c.id == order_id)
        .values(carrier_code=carrier_code, tracking_no=tracking_no, shipped_at=ts)
    )
    # The whole order ships as one parcel here; split parcels come with the warehouse flow.
    uow.publish(OrderShipped(order_id, row.shop_id, row.external_id, carrier_code, tracking_no))
