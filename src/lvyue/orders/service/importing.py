"""Order import: canonical orders in, idempotent per (shop, external id); later versions
from the channel applied as far as the order's state allows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError as PydanticError

from lvyue.config import get_settings
from lvyue.core.bulk import allocate_ids, insert_many
from lvyue.core.clock import now
from lvyue.core.db import in_clauses
from lvyue.core.uow import UnitOfWork
from lvyue.customers.identity import BuyerFacts
from lvyue.customers.service import link_customers
from lvyue.orders.canonical import CanonicalLine, CanonicalOrder
from lvyue.orders.events import OrderRef
from lvyue.orders.lifecycle import HOLDS_STOCK, initial_status
from lvyue.orders.normalise import normalise_receiver
from lvyue.orders.service._base import (
    LINE,
    ORDER,
    Change,
    S,
    _cancel,
    _release,
    _set_holds,
    _shop,
    _transition,
)
from lvyue.orders.service.intake import record_review, review_new
from lvyue.orders.service.pipeline import ProcessReport, process_orders
from lvyue.orders.skus import LineRef, resolve_lines

# --------------------------------------------------------------------------- import


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # What review on import decided for the new orders (ADR 0009); empty without it.
    review: ProcessReport = field(default_factory=ProcessReport)

    def add(self, other: ImportReport) -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)
        self.review.add(other.review)

    def summary(self) -> str:
        text = (
            f"imported {self.imported}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
        )
        if self.review.examined:
            text += (
                f"; reviewed {self.review.examined}: allocated {self.review.allocated}, "
                f"held {self.review.held}"
            )
        return text


def _pydantic_reason(exc: PydanticError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "order"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_canonical(text: str) -> CanonicalOrder:
    """Parse one JSON line; raise ValueError whose message names the field and the problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ValueError("order: expected a JSON object")
    try:
        return CanonicalOrder.model_validate(data)
    except PydanticError as exc:
        raise ValueError(_pydantic_reason(exc)) from None


_SERIALIZER = CanonicalOrder.__pydantic_serializer__


def content_hash(order: CanonicalOrder) -> str:
    # pydantic-core serialises in field order, which is fixed: stable without sorting keys.
    # The serializer's own UTF-8 bytes: ``model_dump_json`` would decode them to be encoded.
    return hashlib.md5(_SERIALIZER.to_json(order)).hexdigest()


def _order_values(o: CanonicalOrder, digest: str, ts: datetime) -> dict[str, Any]:
    r = o.receiver
    goods, total = o.amounts()
    return {
        "order_type": o.order_type,
        "channel_status": o.status,
        "content_hash": digest,
        "ordered_at": o.created_at,
        "paid_at": o.paid_at,
        "channel_updated_at": o.updated_at,
        "updated_at": ts,
        "buyer_id": o.buyer.id,
        "buyer_nick": o.buyer.nick,
        "receiver_name": r.name,
        "receiver_phone": r.phone,
        "receiver_province": r.province,
        "receiver_city": r.city,
        "receiver_district": r.district,
        "receiver_address": r.address,
        "receiver_zip": r.zip,
        "currency": o.currency,
        "goods_amount": goods,
        "shipping_fee": o.shipping_fee,
        "discount": o.discount,
        "total_amount": total,
        "item_count": sum(ln.quantity for ln in o.lines),
        "buyer_message": o.buyer_message,
        "seller_memo": o.seller_memo,
        "tags": o.tags if r.country in ("CN", "") or "跨境" in o.tags else [*o.tags, "跨境"],
        **normalise_receiver(o.receiver),
        "dup_key": duplicate_key(o),
        "lines_hash": lines_hash(o),
        "buyer_id_number": o.buyer.id_number,
        "customs_data": o.customs,
    }


def duplicate_key(o: CanonicalOrder) -> str:
    """Same buyer (id or phone), same address, same items: a second such order within a day
    is more often a double click than a second purchase."""
    r = o.receiver
    who = o.buyer.id or r.phone or ""
    items = ",".join(f"{ln.sku}*{ln.quantity}" for ln in sorted(o.lines, key=lambda x: x.sku))
    blob = "|".join([who, r.province or "", r.city or "", r.district or "", r.address, items])
    return hashlib.md5(blob.encode("utf-8")).hexdigest()


def _ref(ln: CanonicalLine) -> LineRef:
    return LineRef(ln.sku, ln.channel_sku_id, ln.name, ln.spec)


def _line_rows(order_id: int, o: CanonicalOrder, skus: dict[LineRef, int]) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order_id,
            "line_no": i,
            "sku_code": ln.sku,
            "sku_id": skus.get(_ref(ln)),
            "name": ln.name,
            "spec": ln.spec,
            "quantity": ln.quantity,
            "unit_price": ln.unit_price,
            "reserved": 0,
            "channel_line_id": ln.channel_line_id,
            "channel_sku_id": ln.channel_sku_id,
            "refund_status": ln.refund_status,
        }
        for i, ln in enumerate(o.lines, start=1)
    ]


def _receiver_key(o: CanonicalOrder) -> tuple[Any, ...]:
    r = o.receiver
    return (r.name, r.phone, r.province, r.city, r.district, r.address, r.zip)


def lines_hash(o: CanonicalOrder) -> str:
    """The channel's item list, to tell an item change from a memo change later on."""
    items = sorted((ln.sku, ln.quantity) for ln in o.lines)
    return hashlib.md5(repr(items).encode("utf-8")).hexdigest()


def import_orders(
    uow: UnitOfWork,
    shop_code: str,
    items: Iterable[tuple[int, str]],
    *,
    review: bool | None = None,
) -> ImportReport:
    """Import canonical orders given as (line number, JSON text); bad lines are reported by
    number with the field and the problem, good lines kept (see ``import_canonical``)."""
    parsed: list[tuple[int, CanonicalOrder]] = []
    rejected: list[tuple[int, str]] = []
    for line_no, text in items:
        if not text.strip():
            continue
        try:
            parsed.append((line_no, parse_canonical(text)))
        except ValueError as exc:
            rejected.append((line_no, str(exc)))
    report = import_canonical(uow, shop_code, parsed, review=review)
    report.rejected = sorted(rejected + report.rejected)
    return report


def import_canonical(
    uow: UnitOfWork,
    shop_code: str,
    items: Iterable[tuple[int, CanonicalOrder]],
    *,
    review: bool | None = None,
) -> ImportReport:
    """Import parsed canonical orders. Idempotent per (shop, external_id): the same content
    again is 'unchanged'; changed content updates the order as far as its state allows (see
    ``_apply_update``). New orders are linked to a customer profile. With ``review`` the new
    orders waiting for review are reviewed, allocated and reserved in the same transaction and
    inserted with their outcome (ADR 0009), and changed orders that now wait for review (paid
    since, or changed while held) go through a pipeline batch in it. ``review`` defaults to
    the ``review_on_import`` setting."""
    if review is None:
        review = get_settings().review_on_import
    report = ImportReport()
    shop = _shop(uow, shop_code)
    sid = shop.id
    latest: dict[str, tuple[int, CanonicalOrder, str]] = {}
    for line_no, order in items:
        digest = content_hash(order)
        prev = latest.get(order.external_id)
        if prev is not None:
            # The same order twice in one batch: the later line wins, the earlier one counts.
            if prev[2] == digest:
                report.unchanged += 1
                continue
            report.updated += 1
        latest[order.external_id] = (line_no, order, digest)
    if not latest:
        return report

    existing: dict[str, Any] = {}
    for cond in in_clauses(uow.conn, ORDER.c.external_id, latest):
        rows = uow.conn.execute(sa.select(ORDER).where(ORDER.c.shop_id == sid, cond)).all()
        existing.update({r.external_id: r for r in rows})
    skus = resolve_lines(uow, sid, (_ref(ln) for _, o, _ in latest.values() for ln in o.lines))
    ts = now()

    # Changed orders first: reviewed on import, they come before the new ones (lower ids), as
    # the pipeline would take them.
    changed = []
    for ext, (_, order, digest) in latest.items():
        row = existing.get(ext)
        if row is None:
            continue
        if row.content_hash == digest:
            report.unchanged += 1
        else:
            _apply_update(uow, row, order, digest, skus, ts)
            report.updated += 1
            changed.append(row.id)
    if review and changed:  # e.g. paid now: to review, through the pipeline's own batch
        report.review.add(process_orders(uow, limit=len(changed), only=changed))

    new = [(o, d) for ext, (_, o, d) in latest.items() if ext not in existing]
    if new:
        values = [_order_values(o, d, ts) for o, d in new]
        # Ids first: on PostgreSQL the customer link's last COPY then runs on the server while
        # the rows below are built, instead of under this query (core.pgcopy).
        ids = allocate_ids(uow.conn, ORDER, len(new))
        customer_ids = link_customers(
            uow,
            [
                BuyerFacts(
                    shop.platform,
                    o.buyer.id,
                    o.buyer.nick,
                    o.receiver.phone,
                    o.created_at,
                    v["total_amount"],
                )
                for (o, _), v in zip(new, values, strict=True)
            ],
        )
        new_rows = [
            {
                "shop_id": sid,
                "external_id": o.external_id,
                "status": initial_status(o.status)._value_,
                "created_at": ts,
                "customer_id": cid,
                **v,
                "order_type": o.order_type if o.order_type != "online" else shop.order_type,
            }
            for (o, _), v, cid in zip(new, values, customer_ids, strict=True)
        ]
        for oid, row in zip(ids, new_rows, strict=True):
            row["id"] = oid
        lines = [
            row for oid, (o, _) in zip(ids, new, strict=True) for row in _line_rows(oid, o, skus)
        ]
        reviewed = review_new(uow, new_rows, lines, ts) if review else None
        insert_many(uow.conn, ORDER, new_rows)
        insert_many(uow.conn, LINE, lines)
        arrivals = []
        refs = {}
        for oid, (o, _) in zip(ids, new, strict=True):
            arrivals.append(Change(oid, None, initial_status(o.status), "导入"))
            refs[oid] = OrderRef(sid, o.external_id, None)
        report.imported += len(new)
        if reviewed is None:
            _transition(uow, arrivals, ts, refs)
        else:
            report.review.add(record_review(uow, reviewed, ts, arrivals, refs))
    return report


def _apply_update(
    uow: UnitOfWork,
    row: Any,
    o: CanonicalOrder,
    digest: str,
    skus: dict[LineRef, int],
    ts: datetime,
) -> None:
    """A later version of an order from the channel, applied as far as its state allows:
    before the warehouse it is replaced and reviewed again; once stock is reserved a changed
    address or item list releases the stock and holds the order for an operator; once the
    warehouse has it, a cancellation holds it so the warehouse intercepts the parcel."""
    conn = uow.conn
    status = S(row.status)
    old_lines = conn.execute(
        sa.select(LINE.c.line_no, LINE.c.sku_code, LINE.c.quantity, LINE.c.refund_status)
        .where(LINE.c.order_id == row.id)
        .order_by(LINE.c.line_no)
    ).all()
    lines_changed = row.lines_hash != lines_hash(o)
    # Split off or cut down by an operator: the channel's item list no longer maps onto the
    # order's lines, so an item change goes to a person instead of being laid over them.
    reshaped = row.oversell_policy in ("partial", "cancel_short") or bool(
        conn.execute(sa.select(ORDER.c.id).where(ORDER.c.parent_id == row.id).limit(1)).first()
    )
    # A line the buyer asks money back for must not ship while the refund is open.
    new_refund = not lines_changed and any(
        new.refund_status != "none" and old.refund_status == "none"
        for old, new in zip(old_lines, o.lines, strict=False)
    )
    old_receiver = (
        row.receiver_name,
        row.receiver_phone,
        row.receiver_province,
        row.receiver_city,
        row.receiver_district,
        row.receiver_address,
        row.receiver_zip,
    )
    receiver_changed = old_receiver != _receiver_key(o)
    values = _order_values(o, digest, ts)

    if status in (S.SHIPPED, S.COMPLETED, S.CANCELLED):
        # Too late to change the order: keep what the channel says for after-sales to see.
        conn.execute(
            sa.update(ORDER)
            .where(ORDER.c.id == row.id)
            .values(
                channel_status=o.status,
                content_hash=digest,
                channel_updated_at=o.updated_at,
                updated_at=ts,
            )
        )
        return
    if status is S.IN_FULFILLMENT:
        conn.execute(
            sa.update(ORDER)
            .where(ORDER.c.id == row.id)
            .values(
                channel_status=o.status,
                content_hash=digest,
                channel_updated_at=o.updated_at,
                buyer_message=o.buyer_message,
                seller_memo=o.seller_memo,
                updated_at=ts,
            )
        )
        intercept = {}
        if o.status == "cancelled":
            intercept["channel_cancelled"] = "平台已取消, 请拦截包裹"
        if receiver_changed:
            intercept["address_changed"] = "发货中地址变更, 请拦截"
        if lines_changed:
            intercept["lines_changed"] = "发货中商品变更, 请拦截"
        if new_refund:
            intercept["channel_refund"] = "发货中买家申请退款, 请拦截"
        if intercept:
            _set_holds(uow, {row.id: intercept}, ts)
            _transition(uow, [Change(row.id, status, S.HELD, "拦截: " + ", ".join(intercept))], ts)
        return

    if reshaped:
        kept = (
            "goods_amount",
            "total_amount",
            "item_count",
            "shipping_fee",
            "discount",
            "lines_hash",
        )
        conn.execute(
            sa.update(ORDER)
            .where(ORDER.c.id == row.id)
            .values(**{k: v for k, v in values.items() if k not in kept})
        )
        if o.status == "cancelled":
            _cancel(uow, [(row.id, status)], "平台已取消 / cancelled on the channel", ts)
        elif lines_changed and status is not S.HELD:
            _release(uow, [row.id], "items changed on the channel after a split", ts)
            _set_holds(uow, {row.id: {"lines_changed": "拆单后平台商品变更, 请人工处理"}}, ts)
            _transition(
                uow,
                [Change(row.id, status, S.HELD, "平台修改: lines_changed")],
                ts,
                warehouse_id=None,
            )
        return

    # Before the warehouse: replace the order's content.
    conn.execute(sa.update(ORDER).where(ORDER.c.id == row.id).values(**values))
    if lines_changed:
        conn.execute(sa.delete(LINE).where(LINE.c.order_id == row.id))
        conn.execute(sa.insert(LINE), _line_rows(row.id, o, skus))
    else:
        conn.execute(
            sa.update(LINE)
            .where(LINE.c.order_id == row.id, LINE.c.line_no == sa.bindparam("no"))
            .values(refund_status=sa.bindparam("rs")),
            [{"no": i, "rs": ln.refund_status} for i, ln in enumerate(o.lines, start=1)],
        )
    if o.status == "cancelled":
        _cancel(uow, [(row.id, status)], "平台已取消 / cancelled on the channel", ts)
        return
    target = initial_status(o.status)
    if status in HOLDS_STOCK or status is S.APPROVED:
        if not (receiver_changed or lines_changed or new_refund):
            return  # memo or message only: nothing to re-check
        reasons = {}
        if new_refund:
            reasons["channel_refund"] = "买家申请退款, 请处理后再审"
        if receiver_changed:
            reasons["address_changed"] = "审核后地址变更, 请确认"
        if lines_changed:
            reasons["lines_changed"] = "审核后商品变更, 请确认"
        _release(uow, [row.id], "order changed on the channel", ts)
        _set_holds(uow, {row.id: reasons}, ts)
        _transition(
            uow,
            [Change(row.id, status, S.HELD, "平台修改: " + ", ".join(reasons))],
            ts,
            warehouse_id=None,
        )
        return
    if status is S.HELD and target is S.PENDING_REVIEW:
        _set_holds(uow, {row.id: {}}, ts)
        _transition(uow, [Change(row.id, status, S.PENDING_REVIEW, "订单已变更, 重新审核")], ts)
    elif status is S.PENDING_PAYMENT and target is S.PENDING_REVIEW:
        _transition(uow, [Change(row.id, status, S.PENDING_REVIEW, "已付款")], ts)
