"""Everything review needs about a batch of orders, read once per batch.

The pipeline calls ``load_review_context`` once; per order it then asks the context for the
built-in checks that need other orders or customers, the facts merchant rules see, and the
distance from each warehouse to the receiver.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lvyue.catalog.models import BundleComponent, Sku
from lvyue.config import get_settings
from lvyue.core.db import in_clauses, table_of
from lvyue.core.uow import UnitOfWork
from lvyue.customers.models import Customer
from lvyue.fulfillment.allocation import WarehouseFacts
from lvyue.geo.coordinates import region_distance_km
from lvyue.inventory.models import Warehouse
from lvyue.logistics.queries import load_services
from lvyue.logistics.selection import Candidate, Selection, Shipment, select_service
from lvyue.orders.models import Order, Shop
from lvyue.orders.review import OrderFacts
from lvyue.orders.rules import FACTS, Rule
from lvyue.orders.rules_service import active_rules

ORDER = table_of(Order)
SHOP = table_of(Shop)
SKU = table_of(Sku)
BUNDLE = table_of(BundleComponent)
CUSTOMER = table_of(Customer)
WAREHOUSE = table_of(Warehouse)
BLACKLIST_TAGS = frozenset({"blacklist", "黑名单"})
CROSS_BORDER_TAGS = frozenset({"跨境", "cross_border"})


@dataclass
class ReviewContext:
    rules: list[Rule]
    warehouses: list[WarehouseFacts]
    warehouse_places: dict[int, tuple[str, str]]
    chain: tuple[str, ...]
    bundles: dict[int, dict[int, int]]
    skus: dict[int, Any]
    shops: dict[int, Any]
    customers: dict[int, Any]
    duplicates: dict[int, list[int]]
    buyer_message_review: bool
    services: list[Candidate]
    # Quotes depend on nothing but the services and the key: shared by every batch reviewed
    # with the same (revision-cached) services, see ``_quotes_for``.
    quotes: dict[tuple[Any, ...], Selection]
    # Merge signature -> {warehouse code: group id} of the parcels of orders already allocated,
    # not yet picked, the oldest first.
    waiting: dict[str, dict[str, int]] = field(default_factory=dict)
    distances: dict[tuple[int, str | None, str | None], float | None] = field(default_factory=dict)

    def sku_code(self, sku_id: int) -> str:
        row = self.skus.get(sku_id)
        return row.code if row is not None else f"#{sku_id}"

    def builtin_holds(self, o: Any) -> dict[str, str]:
        holds: dict[str, str] = {}
        customer = self.customers.get(o.customer_id) if o.customer_id else None
        if customer is not None and BLACKLIST_TAGS & set(customer.tags or ()):
            holds["blacklisted"] = "黑名单客户"
        if self.buyer_message_review and (o.buyer_message or "").strip():
            holds["buyer_message"] = f"买家留言: {o.buyer_message.strip()[:80]}"
        twins = self.duplicates.get(o.id)
        if twins:
            holds["duplicate_suspect"] = "疑似重复下单, 同买家同地址同商品: " + ", ".join(
                f"#{t}" for t in twins[:5]
            )
        return holds

    def rule_facts(self, o: Any, facts: OrderFacts, demand: dict[int, int]) -> RuleFacts:
        return RuleFacts(self, o, facts, demand)

    def waiting_parcels(self, o: Any) -> dict[str, int]:
        """The parcels of the same buyer and address waiting in warehouses, by warehouse code
        (the oldest first): an order going to one of these warehouses joins its parcel."""
        sig = merge_signature(o)
        return self.waiting.get(sig, {}) if sig else {}

    def carrier_for(
        self, o: Any, warehouse_id: int, facts: Mapping[str, Any], forced: str | None
    ) -> Selection | None:
        """The carrier service for a parcel from this warehouse to the receiver, or None when
        the merchant has set up no carriers (nothing to choose from, nothing to hold for)."""
        if not self.services:
            return None
        origin = self.warehouse_places[warehouse_id][0]
        key = (origin, o.addr_province, int(facts["weight_g"]), tuple(facts["sku_tags"]), forced)
        found = self.quotes.get(key)
        if found is not None:  # parcels alike: one quote
            return found
        shipment = Shipment(
            origin_province=origin,
            dest_province=o.addr_province or "",
            weight_g=int(facts["weight_g"]),
            tags=frozenset(facts["sku_tags"]),
            forced=forced,
        )
        if len(self.quotes) >= MAX_QUOTES:
            self.quotes.clear()
        found = self.quotes[key] = select_service(shipment, self.services)
        return found

    def cost_from(
        self, o: Any, facts: Mapping[str, Any]
    ) -> Callable[[WarehouseFacts], float | None]:
        def cost(w: WarehouseFacts) -> float | None:
            sel = self.carrier_for(o, w.id, facts, None)
            return float(sel.cost) if sel is not None and sel.cost is not None else None

        return cost

    def distance_to(self, o: Any) -> Callable[[WarehouseFacts], float | None]:
        def km(w: WarehouseFacts) -> float | None:
            key = (w.id, o.addr_province, o.addr_city)
            if key not in self.distances:
                wp, wc = self.warehouse_places[w.id]
                self.distances[key] = (
                    region_distance_km(wp, wc, o.addr_province, o.addr_city)
                    if o.addr_province
                    else None
                )
            return self.distances[key]

        return km


def load_review_context(
    uow: UnitOfWork,
    orders: Sequence[Any],
    facts: dict[int, OrderFacts],
    unsaved: Sequence[Any] = (),
) -> ReviewContext:
    """``unsaved``: orders of the batch not written yet (review on import, ADR 0009), each
    with ``id``, ``status``, ``dup_key`` and ``ordered_at``, seen as if they were."""
    conn = uow.conn
    settings = get_settings()
    sku_ids = {ln.sku_id for f in facts.values() for ln in f.lines if ln.sku_id is not None}
    bundles: dict[int, dict[int, int]] = defaultdict(dict)
    for cond in in_clauses(conn, BUNDLE.c.bundle_sku_id, sorted(sku_ids)):
        for b in conn.execute(sa.select(BUNDLE).where(cond)).all():
            bundles[b.bundle_sku_id][b.component_sku_id] = b.quantity
    all_skus = sku_ids | {c for parts in bundles.values() for c in parts}
    skus: dict[int, Any] = {}
    for cond in in_clauses(conn, SKU.c.id, sorted(all_skus)):
        for row in conn.execute(
            sa.select(SKU.c.id, SKU.c.code, SKU.c.category, SKU.c.weight_g, SKU.c.tags).where(cond)
        ).all():
            skus[row.id] = row
    shops = {
        r.id: r for r in conn.execute(sa.select(SHOP.c.id, SHOP.c.code, SHOP.c.platform)).all()
    }
    customers: dict[int, Any] = {}
    buyers = sorted({o.customer_id for o in orders if o.customer_id})
    for cond in in_clauses(conn, CUSTOMER.c.id, buyers):
        for cust in conn.execute(
            sa.select(CUSTOMER.c.id, CUSTOMER.c.tags, CUSTOMER.c.order_count).where(cond)
        ).all():
            customers[cust.id] = cust
    services = load_services(uow)
    wh_rows = conn.execute(
        sa.select(WAREHOUSE)
        .where(WAREHOUSE.c.active.is_(True))
        .order_by(WAREHOUSE.c.priority, WAREHOUSE.c.id)
    ).all()
    return ReviewContext(
        rules=active_rules(uow),
        warehouses=[WarehouseFacts(w.id, w.code, w.name, w.priority) for w in wh_rows],
        warehouse_places={w.id: (w.province, w.city) for w in wh_rows},
        chain=tuple(s.strip() for s in settings.allocation_chain.split(",") if s.strip()),
        bundles=dict(bundles),
        skus=skus,
        shops=shops,
        customers=customers,
        duplicates=_duplicates(
            uow, orders, timedelta(hours=settings.duplicate_window_hours), unsaved
        ),
        buyer_message_review=settings.buyer_message_review == "manual",
        services=services,
        quotes=_quotes_for(services),
        waiting=_waiting(uow, orders, {w.id: w.code for w in wh_rows}),
    )


MAX_QUOTES = 5_000  # about 1.2 KB each with the demo's 7 services (quotes and reasons)
# The quotes made with one list of services; a reload (rates or services changed) starts anew.
_QUOTES: list[tuple[list[Candidate], dict[tuple[Any, ...], Selection]]] = []


def _quotes_for(services: list[Candidate]) -> dict[tuple[Any, ...], Selection]:
    if _QUOTES and _QUOTES[0][0] is services:
        return _QUOTES[0][1]
    quotes: dict[tuple[Any, ...], Selection] = {}
    _QUOTES[:] = [(services, quotes)]
    return quotes


def _duplicates(
    uow: UnitOfWork, orders: Sequence[Any], window: timedelta, unsaved: Sequence[Any]
) -> dict[int, list[int]]:
    keys = sorted({o.dup_key for o in orders if o.dup_key})
    others: dict[str, list[Any]] = defaultdict(list)
    for cond in in_clauses(uow.conn, ORDER.c.dup_key, keys):
        for row in uow.conn.execute(
            sa.select(ORDER.c.id, ORDER.c.dup_key, ORDER.c.ordered_at).where(
                cond, ORDER.c.status != "cancelled"
            )
        ).all():
            others[row.dup_key].append(row)
    wanted = set(keys)
    for o in unsaved:  # as the query would have found them
        if o.dup_key in wanted and o.status != "cancelled":
            others[o.dup_key].append(o)
    found: dict[int, list[int]] = {}
    for o in orders:
        # Only the later order is suspect: the first one is the purchase.
        twins = [
            r.id
            for r in others.get(o.dup_key or "", ())
            if r.id < o.id and abs(r.ordered_at - o.ordered_at) <= window
        ]
        if twins:
            found[o.id] = sorted(twins)
    return found


NO_MERGE_TAGS = frozenset({"不合单", "do_not_merge"})


def merge_signature(o: Any) -> str | None:
    """Same shop, same buyer, same receiver and address: orders that may share one parcel."""
    who = o.customer_id or o.phone_number
    if not who or not o.addr_province or NO_MERGE_TAGS & set(o.tags or ()):
        return None
    # One f-string (two or three per order): a join over a generator cost a call per part.
    return (
        f"{o.shop_id or ''}|{who}|{o.receiver_name or ''}|{o.addr_province}|"
        f"{o.addr_city or ''}|{o.addr_district or ''}|{o.addr_detail or ''}"
    )


def merge_groups(orders: Sequence[Any], ctx: ReviewContext) -> list[list[Any]]:
    """Orders of a batch grouped for one parcel each (by merge group set by an operator, else
    by signature); singles are groups of one. In order of their first order id."""
    groups: dict[str, list[Any]] = {}
    for o in orders:
        key = f"g{o.merge_group}" if o.merge_group else merge_signature(o) or f"o{o.id}"
        groups.setdefault(key, []).append(o)
    return sorted(groups.values(), key=lambda g: g[0].id)


def _waiting(
    uow: UnitOfWork, orders: Sequence[Any], codes: dict[int, str]
) -> dict[str, dict[str, int]]:
    customers = sorted({o.customer_id for o in orders if o.customer_id})
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for cond in in_clauses(uow.conn, ORDER.c.customer_id, customers):
        for row in uow.conn.execute(
            sa.select(
                ORDER.c.id,
                ORDER.c.shop_id,
                ORDER.c.customer_id,
                ORDER.c.phone_number,
                ORDER.c.receiver_name,
                ORDER.c.addr_province,
                ORDER.c.addr_city,
                ORDER.c.addr_district,
                ORDER.c.addr_detail,
                ORDER.c.tags,
                ORDER.c.warehouse_id,
                ORDER.c.merge_group,
            )
            .where(cond, ORDER.c.status == "allocated")
            .order_by(ORDER.c.id)
        ).all():
            sig = merge_signature(row)
            if sig and row.warehouse_id in codes:
                found[sig].setdefault(codes[row.warehouse_id], row.merge_group or row.id)
    return dict(found)


class RuleFacts(Mapping[str, Any]):
    """The facts merchant rules see about one order (``rules.FACTS``), each worked out the
    first time it is read: a rule set reads a few of the twenty-two, and placement reads the
    weight and the handling tags. Reads like a dict of all of them."""

    __slots__ = ("_ctx", "_demand", "_facts", "_known", "_o", "_skus")

    def __init__(
        self, ctx: ReviewContext, o: Any, facts: OrderFacts, demand: dict[int, int]
    ) -> None:
        self._ctx, self._o, self._facts, self._demand = ctx, o, facts, demand
        self._known: dict[str, Any] = {}
        self._skus: list[Any] | None = None

    def __getitem__(self, name: str) -> Any:
        column = _ORDER_COLUMN.get(name)
        if column is not None:
            return getattr(self._o, column)
        known = self._known
        if name not in known:
            known[name] = _WORKED_OUT[name](self)  # KeyError: no such fact
        return known[name]

    def __iter__(self) -> Iterator[str]:
        return iter(FACTS)

    def __len__(self) -> int:
        return len(FACTS)

    def __repr__(self) -> str:
        return f"RuleFacts({dict(self)!r})"

    def sold_skus(self) -> list[Any]:
        """The SKU rows of the lines as sold (a bundle, not its components)."""
        if self._skus is None:
            skus = self._ctx.skus
            self._skus = [skus[ln.sku_id] for ln in self._facts.lines if ln.sku_id in skus]
        return self._skus

    def customer(self) -> Any:
        cid = self._o.customer_id
        return self._ctx.customers.get(cid) if cid else None


# Facts that are a column of the order row, by fact name.
_ORDER_COLUMN = {
    "order_type": "order_type",
    "total_amount": "total_amount",
    "item_count": "item_count",
    "receiver_province": "addr_province",
    "receiver_city": "addr_city",
    "region": "region",
    "buyer_id_number": "buyer_id_number",
    "buyer_message": "buyer_message",
    "seller_memo": "seller_memo",
}


def _weight(f: RuleFacts) -> int:
    skus = f._ctx.skus
    return sum(skus[s].weight_g * q for s, q in f._demand.items() if s in skus)


def _sku_tags(f: RuleFacts) -> list[str]:
    # The items as sold and as shipped: a bundle's own tags and its components'.
    skus = f._ctx.skus
    shipped = [skus[s] for s in f._demand if s in skus]
    return sorted({t for s in [*f.sold_skus(), *shipped] for t in (s.tags or ())})


def _distance(f: RuleFacts) -> Decimal | None:
    km = f._ctx.distance_to(f._o)
    distances = [d for w in f._ctx.warehouses if (d := km(w)) is not None]
    return Decimal(str(round(min(distances), 1))) if distances else None


def _customer_tags(f: RuleFacts) -> list[str]:
    customer = f.customer()
    return list(customer.tags or []) if customer is not None else []


def _customer_order_count(f: RuleFacts) -> Any:
    customer = f.customer()
    return customer.order_count if customer is not None else 1


def _tags(f: RuleFacts) -> list[str]:
    return list(f._o.tags or [])


# The other facts, worked out from the order, its lines and the batch's reference data.
_WORKED_OUT: dict[str, Callable[[RuleFacts], Any]] = {
    "shop": lambda f: f._ctx.shops[f._o.shop_id].code,
    "platform": lambda f: f._ctx.shops[f._o.shop_id].platform,
    "line_count": lambda f: len(f._facts.lines),
    "weight_g": _weight,
    "skus": lambda f: [s.code for s in f.sold_skus()],
    "categories": lambda f: sorted({s.category for s in f.sold_skus() if s.category}),
    "sku_tags": _sku_tags,
    "tags": _tags,
    "distance_km": _distance,
    "customer_tags": _customer_tags,
    "customer_order_count": _customer_order_count,
    "cross_border": lambda f: bool(CROSS_BORDER_TAGS & set(f["tags"])),
    "customs_data": lambda f: bool(f._o.customs_data),
}
