"""Order use cases: shops, idempotent import, the minimal pipeline, cancellation.

Bulk paths work on batches with Core statements: one query per table per batch, never one
ORM object at a time. Each public function is one transaction (the caller's unit of work).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError as PydanticError

from lvyue.catalog.models import BundleComponent, Sku
from lvyue.config import get_settings
from lvyue.core.clock import now
from lvyue.core.db import Money, table_of
from lvyue.core.errors import InvalidTransition, NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.customers.identity import BuyerFacts
from lvyue.customers.service import link_customers
from lvyue.fulfillment.allocation import allocate, shortages
from lvyue.inventory import service as inventory
from lvyue.inventory.models import Warehouse
from lvyue.logistics.selection import Quote
from lvyue.orders.canonical import CanonicalLine, CanonicalOrder
from lvyue.orders.context import load_review_context, merge_groups
from lvyue.orders.events import OrderShipped
from lvyue.orders.holds import ADDRESS_HOLDS, AUTO_RECHECK, OVERRIDABLE
from lvyue.orders.lifecycle import HOLDS_STOCK, ORDER_LIFECYCLE, OrderStatus, initial_status
from lvyue.orders.models import Order, OrderHistory, OrderHold, OrderLine, Shop, SkuMapping
from lvyue.orders.normalise import fixed_receiver, normalise_receiver
from lvyue.orders.review import LineFacts, OrderFacts, expand_demand, review
from lvyue.orders.rules import Rule, evaluate
from lvyue.orders.skus import LineRef, resolve_lines

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
IN_CHUNK = 900  # stays under SQLite's bound-parameter limit


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


def _transition(uow: UnitOfWork, changes: Sequence[Change], ts: datetime, **values: Any) -> None:
    """Apply status changes in bulk: check each against the lifecycle, update conditionally on
    the old status (a concurrent change makes the batch fail rather than be overwritten) and
    write one history row each."""
    if not changes:
        return
    for c in changes:
        for old, new, _ in c.hops():
            if old is not None:
                ORDER_LIFECYCLE.check(old, new)
    updates = [c for c in changes if c.old is not None]
    if updates:
        stmt = (
            sa.update(ORDER)
            .where(ORDER.c.id == sa.bindparam("oid"), ORDER.c.status == sa.bindparam("old"))
            .values(status=sa.bindparam("new"), updated_at=ts, **values)
        )
        res = uow.conn.execute(
            stmt, [{"oid": c.order_id, "old": c.old, "new": c.new.value} for c in updates]
        )
        if res.rowcount != len(updates):
            raise ConcurrentChange(f"{len(updates) - res.rowcount} order(s) changed concurrently")
    uow.conn.execute(
        sa.insert(HISTORY),
        [
            {
                "order_id": c.order_id,
                "from_status": old.value if old else None,
                "to_status": new.value,
                "actor": uow.actor,
                "reason": reason[:300],
                "created_at": ts,
            }
            for c in changes
            for old, new, reason in c.hops()
        ],
    )


class ConcurrentChange(ValidationError):
    code = "concurrent_change"

    def __init__(self, message: str) -> None:
        super().__init__("status", message)


# --------------------------------------------------------------------------- import


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def add(self, other: ImportReport) -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)

    def summary(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
        )


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


def content_hash(order: CanonicalOrder) -> str:
    blob = json.dumps(order.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.md5(blob.encode("utf-8")).hexdigest()


def _order_values(o: CanonicalOrder, digest: str, ts: datetime) -> dict[str, Any]:
    r = o.receiver
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
        "goods_amount": o.goods_amount,
        "shipping_fee": o.shipping_fee,
        "discount": o.discount,
        "total_amount": o.total_amount,
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
    uow: UnitOfWork, shop_code: str, items: Iterable[tuple[int, str]]
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
    report = import_canonical(uow, shop_code, parsed)
    report.rejected = sorted(rejected + report.rejected)
    return report


def import_canonical(
    uow: UnitOfWork, shop_code: str, items: Iterable[tuple[int, CanonicalOrder]]
) -> ImportReport:
    """Import parsed canonical orders. Idempotent per (shop, external_id): the same content
    again is 'unchanged'; changed content updates the order as far as its state allows (see
    ``_apply_update``). New orders are linked to a customer profile."""
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
    ext_ids = list(latest)
    for i in range(0, len(ext_ids), IN_CHUNK):
        rows = uow.conn.execute(
            sa.select(ORDER).where(
                ORDER.c.shop_id == sid, ORDER.c.external_id.in_(ext_ids[i : i + IN_CHUNK])
            )
        )
        existing.update({r.external_id: r for r in rows})
    skus = resolve_lines(uow, sid, (_ref(ln) for _, o, _ in latest.values() for ln in o.lines))
    ts = now()

    new = [(o, d) for ext, (_, o, d) in latest.items() if ext not in existing]
    if new:
        customer_ids = link_customers(
            uow,
            [
                BuyerFacts(
                    shop.platform,
                    o.buyer.id,
                    o.buyer.nick,
                    o.receiver.phone,
                    o.created_at,
                    o.total_amount,
                )
                for o, _ in new
            ],
        )
        new_rows = [
            {
                "shop_id": sid,
                "external_id": o.external_id,
                "status": initial_status(o.status).value,
                "created_at": ts,
                "customer_id": cid,
                **_order_values(o, d, ts),
                "order_type": o.order_type if o.order_type != "online" else shop.order_type,
            }
            for (o, d), cid in zip(new, customer_ids, strict=True)
        ]
        ids = (
            uow.conn.execute(
                sa.insert(ORDER).returning(ORDER.c.id, sort_by_parameter_order=True), new_rows
            )
            .scalars()
            .all()
        )
        lines = [
            row for oid, (o, _) in zip(ids, new, strict=True) for row in _line_rows(oid, o, skus)
        ]
        uow.conn.execute(sa.insert(LINE), lines)
        _transition(
            uow,
            [
                Change(oid, None, initial_status(o.status), "imported")
                for oid, (o, _) in zip(ids, new, strict=True)
            ],
            ts,
        )
        report.imported += len(new)

    for ext, (_, order, digest) in latest.items():
        row = existing.get(ext)
        if row is None:
            continue
        if row.content_hash == digest:
            report.unchanged += 1
        else:
            _apply_update(uow, row, order, digest, skus, ts)
            report.updated += 1
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


def _set_holds(uow: UnitOfWork, holds: dict[int, dict[str, str]], ts: datetime) -> None:
    """Replace the current hold reasons of each order."""
    ids = list(holds)
    for i in range(0, len(ids), IN_CHUNK):
        uow.conn.execute(sa.delete(HOLD).where(HOLD.c.order_id.in_(ids[i : i + IN_CHUNK])))
    rows = [
        {"order_id": oid, "code": code, "detail": detail[:300], "created_at": ts}
        for oid, reasons in holds.items()
        for code, detail in reasons.items()
    ]
    if rows:
        uow.conn.execute(sa.insert(HOLD), rows)


def _release(uow: UnitOfWork, order_ids: Sequence[int], reason: str, ts: datetime) -> None:
    inventory.release(uow, DOC, order_ids, reason=reason)
    for i in range(0, len(order_ids), IN_CHUNK):
        uow.conn.execute(
            sa.update(LINE)
            .where(LINE.c.order_id.in_(order_ids[i : i + IN_CHUNK]))
            .values(reserved=0)
        )


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


# --------------------------------------------------------------------------- pipeline


@dataclass
class ProcessReport:
    examined: int = 0
    approved: int = 0
    allocated: int = 0
    held: int = 0
    still_held: int = 0
    requeued: int = 0  # sent back to review by the oversell policy (split or cut down)
    last_id: int = 0
    hold_counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: ProcessReport) -> None:
        self.examined += other.examined
        self.approved += other.approved
        self.allocated += other.allocated
        self.held += other.held
        self.still_held += other.still_held
        self.requeued += other.requeued
        self.last_id = max(self.last_id, other.last_id)
        for k, v in other.hold_counts.items():
            self.hold_counts[k] += v


# What review, rules, allocation and merging read of an order: fewer columns, less decoding.
REVIEW_COLUMNS = (
    "id",
    "status",
    "shop_id",
    "customer_id",
    "order_type",
    "channel_status",
    "ordered_at",
    "total_amount",
    "item_count",
    "tags",
    "buyer_message",
    "seller_memo",
    "buyer_id_number",
    "customs_data",
    "receiver_name",
    "receiver_address",
    "phone_number",
    "addr_province",
    "addr_city",
    "addr_district",
    "addr_detail",
    "region",
    "address_issues",
    "approved_rules",
    "oversell_policy",
    "merge_group",
    "dup_key",
)


def _candidates(uow: UnitOfWork, after_id: int, limit: int) -> list[Any]:
    """Orders the pipeline may move: waiting for review, or held only for reasons the system
    re-checks itself. On PostgreSQL rows are claimed with SKIP LOCKED so that parallel workers
    share the work instead of queueing on it."""
    manual = sa.select(HOLD.c.order_id).where(
        HOLD.c.order_id == ORDER.c.id, HOLD.c.code.not_in(sorted(AUTO_RECHECK))
    )
    stmt = (
        sa.select(*(ORDER.c[name] for name in REVIEW_COLUMNS))
        .where(
            ORDER.c.id > after_id,
            ORDER.c.status.in_([S.PENDING_REVIEW.value, S.HELD.value]),
            ~sa.exists(manual),
        )
        .order_by(ORDER.c.id)
        .limit(limit)
    )
    if uow.is_postgres:
        stmt = stmt.with_for_update(of=ORDER, skip_locked=True)
    return list(uow.conn.execute(stmt))


def _resolve_unknown_lines(
    uow: UnitOfWork, orders: Sequence[Any], lines_by_order: dict[int, list[Any]]
) -> dict[int, int]:
    """SKU id per order-line id for lines that had none, writing what was found."""
    by_shop: dict[int, list[Any]] = defaultdict(list)
    for o in orders:
        by_shop[o.shop_id].extend(ln for ln in lines_by_order[o.id] if ln.sku_id is None)
    found: dict[int, int] = {}
    for shop, lines in by_shop.items():
        refs = {ln.id: LineRef(ln.sku_code, ln.channel_sku_id, ln.name, ln.spec) for ln in lines}
        resolved = resolve_lines(uow, shop, refs.values()) if refs else {}
        found.update({lid: resolved[r] for lid, r in refs.items() if r in resolved})
    if found:
        uow.conn.execute(
            sa.update(LINE)
            .where(LINE.c.id == sa.bindparam("lid"))
            .values(sku_id=sa.bindparam("sid")),
            [{"lid": lid, "sid": sid} for lid, sid in found.items()],
        )
    return found


def process_orders(uow: UnitOfWork, *, after_id: int = 0, limit: int = 500) -> ProcessReport:
    """Run one batch of the pipeline: built-in checks, merchant rules, warehouse choice and
    reservation, each decision written to the order's review log.

    Reads everything the batch needs in a handful of queries, decides in pure code
    (``orders.review``, ``orders.rules``, ``fulfillment.allocation``) and writes in bulk.
    """
    report = ProcessReport(last_id=after_id)
    orders = _candidates(uow, after_id, limit)
    if not orders:
        return report
    report.examined = len(orders)
    report.last_id = orders[-1].id
    ids = [o.id for o in orders]
    conn = uow.conn
    ts = now()

    lines_by_order = _lines_of(uow, ids)
    # SKUs created or mapped since import are picked up here, which releases unknown_sku holds.
    found = _resolve_unknown_lines(uow, orders, lines_by_order)
    facts = {
        o.id: OrderFacts(
            o.id,
            [
                LineFacts(
                    ln.sku_code,
                    ln.sku_id if ln.sku_id is not None else found.get(ln.id),
                    ln.quantity,
                    refunding=ln.refund_status == "refunding",
                )
                for ln in lines_by_order[o.id]
            ],
            address_issues=tuple(o.address_issues or ()),
            paid=o.channel_status != "unpaid",
        )
        for o in orders
    }
    ctx = load_review_context(uow, orders, facts)
    demand = {oid: expand_demand(f.lines, ctx.bundles) for oid, f in facts.items()}
    available = inventory.lock_available(uow, (s for d in demand.values() for s in d))

    holds: dict[int, dict[str, str]] = {}
    logs: dict[int, list[dict[str, str]]] = {}
    steps: dict[int, list[str]] = {}
    extra_tags: dict[int, list[str]] = {}
    plans: list[inventory.Reservation] = []
    why: dict[int, str] = {}
    carriers: dict[int, Quote] = {}
    passed: list[Any] = []
    rule_facts: dict[int, dict[str, Any]] = {}
    outcomes: dict[int, Any] = {}
    for o in orders:
        verdict = review(facts[o.id])
        log = [
            {"source": f"check:{code}", "outcome": "hold", "detail": d}
            for code, d in verdict.holds.items()
        ]
        approved = frozenset(o.approved_rules or ())
        for code, detail in ctx.builtin_holds(o).items():
            if code in approved:
                log.append(
                    {"source": f"check:{code}", "outcome": "approved", "detail": "人工已确认"}
                )
            else:
                verdict.holds[code] = detail
                log.append({"source": f"check:{code}", "outcome": "hold", "detail": detail})
        rule_facts[o.id] = ctx.rule_facts(o, facts[o.id], demand[o.id])
        outcome = outcomes[o.id] = evaluate(ctx.rules, rule_facts[o.id], skip=approved)
        log.extend(outcome.log)
        for code, detail in outcome.holds.items():
            verdict.holds.setdefault(code, detail)
        steps[o.id] = list(outcome.review_steps)
        extra_tags[o.id] = outcome.tags
        holds[o.id] = verdict.holds
        logs[o.id] = log
        if verdict.passed:
            passed.append(o)

    merged: dict[int, int] = {}
    siblings: set[int] = set()
    for group in merge_groups(passed, ctx):
        lead = group[0]
        # An order of the same buyer and address already waiting in a warehouse: join it.
        target = ctx.merge_target(lead)
        together = (len(group) > 1 or target is not None) and _place(
            group, demand, available, ctx, rule_facts, outcomes, plans, why, carriers, holds, logs
        )
        if together:
            gid = target[1] if target else lead.merge_group or lead.id
            merged.update({o.id: gid for o in group})
            if target:
                siblings.add(gid)
            continue
        for o in group:  # one by one: alone, or when the group fits no single warehouse
            _place(
                [o], demand, available, ctx, rule_facts, outcomes, plans, why, carriers, holds, logs
            )

    results = inventory.reserve(uow, plans, reason="order allocated")
    allocated = {p.doc_id: p.warehouse_id for p, ok in zip(plans, results, strict=True) if ok}
    lost = [p.doc_id for p, ok in zip(plans, results, strict=True) if not ok]
    for oid in lost:  # cannot happen with locked levels; kept as a safe fallback
        holds[oid]["out_of_stock"] = "库存不足"

    status_of = {o.id: S(o.status) for o in orders}
    for wh in set(allocated.values()):
        batch = [oid for oid, w in allocated.items() if w == wh]
        _transition(
            uow,
            [
                Change(
                    oid,
                    status_of[oid],
                    S.ALLOCATED,
                    f"分仓并锁定库存: {why[oid]}",
                    via=(S.APPROVED, "自动审核通过"),
                )
                for oid in batch
            ],
            ts,
            warehouse_id=wh,
        )
    if allocated:
        conn.execute(
            sa.update(LINE)
            .where(
                LINE.c.order_id == sa.bindparam("oid"),
                LINE.c.sku_id.is_not(None),
                LINE.c.refund_status != "refunded",
            )
            .values(reserved=LINE.c.quantity),
            [{"oid": oid} for oid in allocated],
        )
    chosen = [
        {"oid": oid, "carrier": q.carrier_code, "service": q.service_code, "cost": q.cost}
        for oid, q in carriers.items()
        if oid in allocated
    ]
    if chosen:
        conn.execute(
            sa.update(ORDER)
            .where(ORDER.c.id == sa.bindparam("oid"))
            .values(
                carrier_code=sa.bindparam("carrier"),
                service_code=sa.bindparam("service"),
                shipping_cost=sa.bindparam("cost", type_=Money()),
            ),
            chosen,
        )
    if siblings:  # the order joined keeps the group id it gave
        conn.execute(
            sa.update(ORDER)
            .where(ORDER.c.id.in_(sorted(siblings)), ORDER.c.merge_group.is_(None))
            .values(merge_group=ORDER.c.id)
        )
    tags_of = {o.id: list(o.tags or []) for o in orders}
    conn.execute(
        sa.update(ORDER)
        .where(ORDER.c.id == sa.bindparam("oid"))
        .values(
            review_log=sa.bindparam("log", type_=sa.JSON()),
            review_steps=sa.bindparam("steps", type_=sa.JSON()),
            tags=sa.bindparam("tags", type_=sa.JSON()),
            merge_group=sa.bindparam("mg"),
        ),
        [
            {
                "oid": oid,
                "log": logs[oid],
                "steps": [] if oid in allocated else steps[oid],
                "tags": tags_of[oid] + [t for t in extra_tags[oid] if t not in tags_of[oid]],
                "mg": merged.get(oid) if oid in allocated else None,
            }
            for oid in ids
        ],
    )
    report.approved = report.allocated = len(allocated)

    newly_held = [oid for oid in ids if holds[oid] and status_of[oid] is not S.HELD]
    _set_holds(uow, {oid: ({} if oid in allocated else h) for oid, h in holds.items()}, ts)
    _transition(
        uow,
        [
            Change(oid, status_of[oid], S.HELD, "挂起: " + ", ".join(holds[oid]))
            for oid in newly_held
        ],
        ts,
    )
    report.held = len(newly_held)
    report.still_held = sum(1 for oid in ids if holds[oid] and status_of[oid] is S.HELD)
    settings = get_settings()
    for o in orders:
        if set(holds[o.id]) == {"out_of_stock"} and settings.allow_split:
            moves = _cross_warehouse_split(o, lines_by_order[o.id], demand[o.id], available, ctx)
            if moves:
                split_order(uow, o.id, moves, reason="跨仓拆单: 没有一个仓库能发全部商品")
                report.requeued += 1
                continue
        policy = o.oversell_policy or settings.oversell_policy
        if set(holds[o.id]) == {"out_of_stock"} and policy in ("partial", "cancel_short"):
            try:
                resolve_shortage(uow, o.id, policy=policy)
            except ValidationError:
                continue  # nothing in stock at all: it waits like any other
            report.requeued += 1
    for oid in ids:
        for code in holds[oid]:
            report.hold_counts[code] += 1
    return report


def _place(
    group: list[Any],
    demand: dict[int, dict[int, int]],
    available: dict[tuple[int, int], int],
    ctx: Any,
    rule_facts: dict[int, dict[str, Any]],
    outcomes: dict[int, Any],
    plans: list[inventory.Reservation],
    why: dict[int, str],
    carriers: dict[int, Quote],
    holds: dict[int, dict[str, str]],
    logs: dict[int, list[dict[str, str]]],
) -> bool:
    """Choose one warehouse and one carrier service for ``group`` (one parcel) and plan its
    reservations, deducting from ``available``. A single order that cannot be placed is held
    with the reason; a group that cannot returns False and changes nothing."""
    lead = group[0]
    total: dict[int, int] = defaultdict(int)
    for o in group:
        for sku, qty in demand[o.id].items():
            total[sku] += qty
    specified = next((outcomes[o.id].warehouse for o in group if outcomes[o.id].warehouse), None)
    choice = allocate(
        total,
        available,
        ctx.warehouses,
        chain=ctx.chain,
        specified=specified or (ctx.merge_target(lead) or (None, 0))[0],
        distance_km=ctx.distance_to(lead),
        cost=ctx.cost_from(lead, rule_facts[lead.id]),
    )
    alone = len(group) == 1
    if choice.warehouse_id is None:
        if alone:
            short = shortages(total, available, [w.id for w in ctx.warehouses])
            holds[lead.id]["out_of_stock"] = "库存不足: " + ", ".join(
                f"{ctx.sku_code(s)}×{q}" for s, q in short.items()
            )
            logs[lead.id].append(
                {"source": "check:stock", "outcome": "hold:out_of_stock", "detail": choice.why}
            )
        return False
    wh = choice.warehouse_id
    parcel = {
        "weight_g": sum(rule_facts[o.id]["weight_g"] for o in group),
        "sku_tags": sorted({t for o in group for t in rule_facts[o.id]["sku_tags"]}),
    }
    forced = next((outcomes[o.id].carrier for o in group if outcomes[o.id].carrier), None)
    sel = ctx.carrier_for(lead, wh, parcel, forced)
    if sel is not None and sel.chosen is None:
        if alone:
            holds[lead.id]["no_carrier"] = "; ".join(sel.reasons)[:300]
            logs[lead.id].append(
                {"source": "carrier", "outcome": "hold:no_carrier", "detail": sel.summary()}
            )
        return False
    reason = choice.why if alone else f"{choice.why}; 合单发货 ({len(group)} 单)"
    code = next(w.code for w in ctx.warehouses if w.id == wh)
    for o in group:
        for sku, qty in demand[o.id].items():
            available[(sku, wh)] -= qty
        plans.append(inventory.Reservation(DOC, o.id, wh, demand[o.id]))
        why[o.id] = reason
        logs[o.id].append(
            {"source": "allocation", "outcome": f"warehouse:{code}", "detail": reason}
        )
        if sel is not None and sel.chosen is not None:
            carriers[o.id] = sel.chosen
            logs[o.id].append(
                {
                    "source": "carrier",
                    "outcome": f"carrier:{sel.chosen.service_code}",
                    "detail": sel.summary(),
                }
            )
    return True


def _cross_warehouse_split(
    o: Any,
    lines: list[Any],
    demand: dict[int, int],
    available: dict[tuple[int, int], int],
    ctx: Any,
) -> dict[int, int]:
    """Line units to move out so that the order ships from several warehouses: the
    warehouse that can send the most keeps its part, the rest becomes its own order (and may
    split again). Empty when splitting cannot fill the order or a bundle is involved."""
    if any(ln.sku_id in ctx.bundles or ln.sku_id is None for ln in lines):
        return {}
    plan = allocate(
        demand,
        available,
        ctx.warehouses,
        chain=(),
        allow_split=True,
        distance_km=ctx.distance_to(o),
    )
    if len(plan.parts) < 2:
        return {}
    keep = max(plan.parts.values(), key=lambda part: sum(part.values()))
    left = dict(keep)
    moves: dict[int, int] = {}
    for ln in lines:
        stay = min(ln.quantity, left.get(ln.sku_id, 0))
        left[ln.sku_id] = left.get(ln.sku_id, 0) - stay
        if ln.quantity - stay:
            moves[ln.line_no] = ln.quantity - stay
    return moves


def _lines_of(uow: UnitOfWork, ids: list[int]) -> dict[int, list[Any]]:
    lines_by_order: dict[int, list[Any]] = defaultdict(list)
    for i in range(0, len(ids), IN_CHUNK):
        for ln in uow.conn.execute(
            sa.select(
                LINE.c.id,
                LINE.c.order_id,
                LINE.c.line_no,
                LINE.c.sku_code,
                LINE.c.sku_id,
                LINE.c.quantity,
                LINE.c.channel_sku_id,
                LINE.c.name,
                LINE.c.spec,
                LINE.c.refund_status,
            )
            .where(LINE.c.order_id.in_(ids[i : i + IN_CHUNK]), LINE.c.refund_status != "refunded")
            .order_by(LINE.c.order_id, LINE.c.line_no)
        ):
            lines_by_order[ln.order_id].append(ln)
    return lines_by_order


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
        uow.conn.execute(
            sa.insert(HISTORY).values(
                order_id=order_id,
                from_status=status.value,
                to_status=status.value,
                actor=uow.actor,
                reason=(
                    "地址已修正"
                    + (
                        f", 仍有问题: {', '.join(fixed['address_issues'])}"
                        if fixed["address_issues"]
                        else ""
                    )
                )[:300],
                created_at=ts,
            )
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
            uow.conn.execute(
                sa.insert(HISTORY).values(
                    order_id=order_id,
                    from_status=status.value,
                    to_status=status.value,
                    actor=uow.actor,
                    reason=f"{done} 已审核, 待 {steps[0]} 审核" + (f": {note}" if note else ""),
                    created_at=ts,
                )
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
    uow.conn.execute(
        sa.insert(HISTORY).values(
            order_id=order_id,
            from_status=status.value,
            to_status=status.value,
            actor=uow.actor,
            reason=reason[:300],
            created_at=ts,
        )
    )
    return status.value


def reject_order(uow: UnitOfWork, order_id: int, *, reason: str) -> None:
    """Reject at review: the order is cancelled with the reason and its stock released."""
    cancel_order(uow, order_id, reason=f"审核拒绝: {reason}" if reason.strip() else "")


# --------------------------------------------------------------------------- rule dry run


@dataclass
class DryRunChange:
    order_id: int
    external_id: str
    status: str
    before: str
    after: str


def _decision(outcome: Any) -> str:
    parts = []
    if outcome.approved_by:
        parts.append(f"approve({outcome.approved_by})")
    parts += [f"hold:{c}" for c in sorted(outcome.holds)]
    if outcome.warehouse:
        parts.append(f"warehouse:{outcome.warehouse}")
    if outcome.carrier:
        parts.append(f"carrier:{outcome.carrier}")
    parts += [f"tag:{t}" for t in outcome.tags]
    return ", ".join(parts) or "-"


def dry_run_rules(
    uow: UnitOfWork, rules: list[Rule], *, limit: int = 5000
) -> tuple[int, list[DryRunChange]]:
    """What ``rules`` would decide for the orders not yet in the warehouse, compared with the
    active rule book; nothing is written. Returns (orders examined, orders that would change)."""
    orders = list(
        uow.conn.execute(
            sa.select(ORDER)
            .where(
                ORDER.c.status.in_(
                    [S.PENDING_REVIEW.value, S.HELD.value, S.APPROVED.value, S.ALLOCATED.value]
                )
            )
            .order_by(ORDER.c.id)
            .limit(limit)
        )
    )
    if not orders:
        return 0, []
    lines = _lines_of(uow, [o.id for o in orders])
    facts = {
        o.id: OrderFacts(
            o.id, [LineFacts(ln.sku_code, ln.sku_id, ln.quantity) for ln in lines[o.id]]
        )
        for o in orders
    }
    ctx = load_review_context(uow, orders, facts)
    changes = []
    for o in orders:
        demand = expand_demand(facts[o.id].lines, ctx.bundles)
        order_facts = ctx.rule_facts(o, facts[o.id], demand)
        skip = frozenset(o.approved_rules or ())
        before = _decision(evaluate(ctx.rules, order_facts, skip=skip))
        after = _decision(evaluate(rules, order_facts, skip=skip))
        if before != after:
            changes.append(DryRunChange(o.id, o.external_id, o.status, before, after))
    return len(orders), changes


# --------------------------------------------------------------------------- split and shortage

SPLITTABLE = (S.PENDING_PAYMENT, S.PENDING_REVIEW, S.HELD, S.APPROVED, S.ALLOCATED)


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
        uow.conn.execute(
            sa.insert(HISTORY).values(
                order_id=row.id,
                from_status=status.value,
                to_status=status.value,
                actor=uow.actor,
                reason=reason[:300],
                created_at=ts,
            )
        )


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
    uow.conn.execute(
        sa.insert(HISTORY).values(
            order_id=order_id,
            from_status=S.PENDING_REVIEW.value,
            to_status=S.PENDING_REVIEW.value,
            actor=uow.actor,
            reason=f"拆出订单 #{child_id}: {moved}"[:300],
            created_at=ts,
        )
    )
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
        uow.conn.execute(
            sa.insert(HISTORY).values(
                order_id=order_id,
                from_status="held",
                to_status="held",
                actor=uow.actor,
                reason="缺货处理: 等待到货",
                created_at=ts,
            )
        )
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
        uow.conn.execute(
            sa.insert(HISTORY).values(
                order_id=order_id,
                from_status="held",
                to_status="held",
                actor=uow.actor,
                reason=f"人工挂起: {note}"[:300],
                created_at=ts,
            )
        )
    else:
        _transition(
            uow, [Change(order_id, status, S.HELD, f"人工挂起: {note}")], ts, warehouse_id=None
        )
