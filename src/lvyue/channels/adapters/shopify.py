"""Shopify Admin REST adapter (CHANNELS.md §1).

Protocol summary: token header auth, ``GET /orders.json`` with ``updated_at_min/max`` (both
inclusive, no window limit) and cursor paging through the ``Link`` header, fulfillment-order
based ship-back, absolute stock via ``inventory_levels/set``, base64 HMAC-SHA256 webhooks.

Credentials: ``base_url`` is the shop root (``https://{shop}.myshopify.com``), ``token`` the
Admin API access token, ``app_secret`` the app's client secret (webhook key). ``extra`` may hold
``api_version`` (default 2024-10), ``location_id`` (where stock is pushed; needed when the
shop has more than one active location) and ``notify_customer`` ("true" to let Shopify mail
the buyer on ship-back).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal, Unpack

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from lvyue.channels.adapters.base import (
    ChannelError,
    PayloadError,
    RawOrder,
    Shipment,
    ShopCredentials,
    StockQuantity,
)
from lvyue.channels.adapters.carriers import carrier
from lvyue.channels.adapters.common import check_page_size, within
from lvyue.channels.adapters.fields import payload_errors
from lvyue.channels.adapters.transport import HttpAdapter, Injected, http_error, response_json
from lvyue.channels.adapters.webhooks import (
    base64_hmac_sha256,
    header,
    verify_base64_hmac_sha256,
)
from lvyue.core.clock import as_utc
from lvyue.orders.canonical import CanonicalOrder, ChannelStatus

DEFAULT_API_VERSION = "2024-10"
MAX_PAGE_SIZE = 250

# Shopify links only the carriers on its list, so a Kuaidi100 link always goes along.
KUAIDI100_TRACKING_URL = "https://www.kuaidi100.com/chaxun?com={com}&nu={number}"

# Fulfillment orders that can still take a fulfillment (REST spells the enum in lower case).
_FULFILLABLE = frozenset({"open", "in_progress"})


def shopify_webhook_signature(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify sends for ``body``."""
    return base64_hmac_sha256(secret, body)


def tracking_info(carrier_code: str, tracking_no: str) -> dict[str, str]:
    """``tracking_info`` for a fulfillment; unknown carriers are passed through by name."""
    known = carrier(carrier_code)
    if known is None:
        return {"number": tracking_no, "company": carrier_code}
    url = KUAIDI100_TRACKING_URL.format(com=known.kuaidi100, number=tracking_no)
    return {"number": tracking_no, "company": known.shopify, "url": url}


# --- payload model: only the fields we map; pydantic names the field when one is bad --------


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Address(_In):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    province: str | None = None
    city: str | None = None
    address1: str | None = None
    address2: str | None = None
    zip: str | None = None
    country_code: str | None = None


class _Customer(_In):
    id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class _Allocation(_In):
    amount: Decimal


class _LineItem(_In):
    id: int
    variant_id: int | None = None
    sku: str | None = None
    title: str | None = None
    variant_title: str | None = None
    quantity: int = Field(gt=0)
    price: Decimal
    discount_allocations: list[_Allocation] | None = None


class _ShippingLine(_In):
    price: Decimal
    discounted_price: Decimal | None = None


class _RefundLineItem(_In):
    line_item_id: int
    quantity: int


class _Refund(_In):
    refund_line_items: list[_RefundLineItem] = Field(default_factory=list)


FinancialStatus = Literal[
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
    "expired",
]


class _Order(_In):
    id: int
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    processed_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    financial_status: FinancialStatus
    currency: str
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    tags: str | None = None
    customer: _Customer | None = None
    shipping_address: _Address | None = None
    line_items: list[_LineItem] = Field(min_length=1)
    shipping_lines: list[_ShippingLine] = Field(default_factory=list)
    refunds: list[_Refund] = Field(default_factory=list)
    total_discounts: Decimal = Decimal("0")
    payment_gateway_names: list[str] = Field(default_factory=list)


def _join(*parts: str | None, sep: str = " ") -> str:
    return sep.join(p.strip() for p in parts if p and p.strip())


def map_status(financial_status: str, cancelled: bool, cash_on_delivery: bool) -> ChannelStatus:
    """Shopify's financial status (plus cancellation) -> our channel status.

    ``authorized`` counts as paid: the payment is guaranteed and captured on fulfilment.
    ``pending`` is unpaid unless the gateway is cash on delivery, whose orders stay pending
    until the courier collects. ``partially_paid`` (a deposit) is unpaid: nothing ships
    before the rest is paid. Refunds are per line (see ``parse``), not an order status.
    """
    if cancelled or financial_status in ("voided", "expired"):
        return "cancelled"
    if financial_status == "partially_paid":
        return "unpaid"
    if financial_status == "pending":
        return "paid" if cash_on_delivery else "unpaid"
    return "paid"


def _is_cod(gateways: list[str]) -> bool:
    return any("cash on delivery" in g.lower() or g.lower() == "cod" for g in gateways)


def parse_order(payload: Mapping[str, Any]) -> CanonicalOrder:
    """Map one Shopify REST order object to the canonical order (PayloadError names the
    field). Money stays in the shop currency, which is kept in ``currency``."""
    with payload_errors():
        o = _Order.model_validate(payload)
    fully_refunded = o.financial_status == "refunded"
    refunded: Counter[int] = Counter()
    for refund in o.refunds:
        for rli in refund.refund_line_items:
            refunded[rli.line_item_id] += rli.quantity
    lines: list[dict[str, Any]] = []
    for i, li in enumerate(o.line_items):
        # A product without a SKU code still has its variant id, which the shop's SKU mapping
        # can match; only a custom line with neither cannot be mapped.
        sku = (li.sku or "").strip() or (str(li.variant_id) if li.variant_id else "")
        if not sku:
            raise PayloadError(f"line_items.{i}.sku: empty and the line has no variant_id")
        qty_refunded = refunded[li.id]
        line: dict[str, Any] = {
            "sku": sku,
            "quantity": li.quantity,
            "unit_price": li.price,
            "name": li.title,
            "spec": li.variant_title if li.variant_title not in ("", "Default Title") else None,
            "channel_sku_id": str(li.variant_id) if li.variant_id else None,
            "channel_line_id": str(li.id),
            "refund_status": "refunded"
            if fully_refunded or qty_refunded >= li.quantity
            else "none",
        }
        if 0 < qty_refunded < li.quantity:
            # The canonical line has no partial-refund state; keep the count for the service.
            line["refunded_quantity"] = qty_refunded
        lines.append(line)
    # Line discounts live in discount_allocations; older payloads only have the order total.
    if any(li.discount_allocations is not None for li in o.line_items):
        discount = sum(
            (a.amount for li in o.line_items for a in li.discount_allocations or ()),
            Decimal("0"),
        )
    else:
        discount = o.total_discounts
    shipping = sum(
        (s.price if s.discounted_price is None else s.discounted_price for s in o.shipping_lines),
        Decimal("0"),
    )
    status = map_status(
        o.financial_status, o.cancelled_at is not None, _is_cod(o.payment_gateway_names)
    )
    receiver: dict[str, Any] = {}
    if (addr := o.shipping_address) is not None:
        receiver = {
            "name": addr.name or _join(addr.first_name, addr.last_name) or None,
            "phone": addr.phone or o.phone,
            "province": addr.province,
            "city": addr.city,
            "address": _join(addr.address1, addr.address2),
            "zip": addr.zip,
            "country": addr.country_code or "CN",
        }
    buyer: dict[str, Any] = {}
    if (c := o.customer) is not None:
        buyer = {
            "id": str(c.id) if c.id else None,
            "nick": _join(c.first_name, c.last_name) or c.email,
        }
    with payload_errors():
        return CanonicalOrder.model_validate(
            {
                "external_id": str(o.id),
                "status": status,
                "created_at": o.created_at,
                "paid_at": o.processed_at if status == "paid" else None,
                "updated_at": o.updated_at,
                "buyer": buyer,
                "receiver": receiver,
                "lines": lines,
                "currency": o.currency,
                "shipping_fee": shipping,
                "discount": discount,
                "buyer_message": o.note or "",
                "tags": [t.strip() for t in (o.tags or "").split(",") if t.strip()],
            }
        )


def _updated_at(payload: Mapping[str, Any]) -> datetime | None:
    try:
        return as_utc(datetime.fromisoformat(str(payload["updated_at"])))
    except (KeyError, TypeError, ValueError):
        return None


class ShopifyAdapter(HttpAdapter):
    """Talks to one Shopify shop's Admin REST API."""

    platform: ClassVar[str] = "shopify"

    def __init__(
        self,
        credentials: ShopCredentials,
        client: httpx.Client | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        **injected: Unpack[Injected],
    ) -> None:
        if not credentials.token:
            raise ValueError("Shopify needs an Admin API access token (credentials.token)")
        check_page_size(page_size, MAX_PAGE_SIZE)
        super().__init__(credentials, client, **injected)
        self._page_size = page_size
        version = credentials.extra.get("api_version", DEFAULT_API_VERSION)
        self._api = f"{credentials.base_url.rstrip('/')}/admin/api/{version}"
        self._location_id = credentials.extra.get("location_id")
        self._notify = credentials.extra.get("notify_customer", "").lower() == "true"
        self._inventory_items: dict[str, str] = {}

    # --- HTTP ---------------------------------------------------------------------------

    def _call(self, method: str, path_or_url: str, **kwargs: Any) -> Any:
        url = path_or_url if path_or_url.startswith("http") else self._api + path_or_url
        headers = {"X-Shopify-Access-Token": self._credentials.token or ""}

        def attempt() -> httpx.Response:
            try:
                resp = self._client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                raise ChannelError(f"shopify: {exc!r}", code="transport", retryable=True) from exc
            _raise_for_status(resp)
            return resp

        return self._retrying(attempt)

    # --- orders -------------------------------------------------------------------------

    def fetch_orders(self, since: datetime, until: datetime) -> Iterator[RawOrder]:
        since, until = as_utc(since), as_utc(until)
        if until <= since:
            return
        # Shopify compares whole seconds and includes both ends, so ask for the enclosing
        # seconds and cut to the half-open [since, until) ourselves.
        ceil_until = until.replace(microsecond=0)
        if ceil_until < until:
            ceil_until += timedelta(seconds=1)
        url = "/orders.json"
        params: dict[str, Any] | None = {
            "status": "any",  # the default is "open", which would hide cancelled orders
            "updated_at_min": since.replace(microsecond=0).isoformat(),
            "updated_at_max": ceil_until.isoformat(),
            "limit": self._page_size,
        }
        while True:
            resp = self._call("GET", url, params=params)
            for payload in _json(resp).get("orders", []):
                raw = RawOrder(str(payload["id"]), _updated_at(payload), payload)
                if within(raw, since, until):
                    yield raw
            # The cursor is keyset-based, so orders changing while we page cannot shift
            # others out of view; the next URL must be followed verbatim (no other filters).
            following = resp.links.get("next")
            if not following:
                return
            url, params = following["url"], None

    def fetch_order(self, external_id: str) -> RawOrder:
        payload = _json(self._call("GET", f"/orders/{external_id}.json"))["order"]
        return RawOrder(str(payload["id"]), _updated_at(payload), payload)

    def parse(self, raw: RawOrder) -> CanonicalOrder:
        return parse_order(raw.payload)

    # --- ship-back ----------------------------------------------------------------------

    def ship(self, shipment: Shipment) -> None:
        """Create fulfillments carrying the tracking number for the order's open
        fulfillment orders (only the given lines when ``line_ids`` is set). Calling it again
        for a parcel already recorded is a no-op, so the outbox may retry safely."""
        order_id = shipment.external_id
        data = _json(self._call("GET", f"/orders/{order_id}/fulfillment_orders.json"))
        wanted = set(shipment.line_ids)
        by_location: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for fo in data.get("fulfillment_orders", []):
            if fo.get("status") not in _FULFILLABLE:
                continue
            items = [
                {"id": li["id"], "quantity": li["fulfillable_quantity"]}
                for li in fo.get("line_items", [])
                if li.get("fulfillable_quantity", 0) > 0
                and (not wanted or str(li["line_item_id"]) in wanted)
            ]
            if not items:
                continue
            entry: dict[str, Any] = {"fulfillment_order_id": fo["id"]}
            if wanted:  # without line items Shopify fulfils everything left on the FO
                entry["fulfillment_order_line_items"] = items
            by_location[fo.get("assigned_location_id")].append(entry)
        if not by_location:
            if self._already_shipped(order_id, shipment.tracking_no):
                return
            raise ChannelError(
                f"shopify order {order_id}: nothing left to fulfil", code="not_fulfillable"
            )
        info = tracking_info(shipment.carrier_code, shipment.tracking_no)
        # One fulfillment per location: Shopify rejects a fulfillment spanning locations.
        for entries in by_location.values():
            body = {
                "fulfillment": {
                    "line_items_by_fulfillment_order": entries,
                    "tracking_info": info,
                    "notify_customer": self._notify,
                }
            }
            self._call("POST", "/fulfillments.json", json=body)

    def _already_shipped(self, order_id: str, tracking_no: str) -> bool:
        data = _json(self._call("GET", f"/orders/{order_id}/fulfillments.json"))
        return any(
            f.get("status") != "cancelled"
            and (
                f.get("tracking_number") == tracking_no
                or tracking_no in (f.get("tracking_numbers") or [])
            )
            for f in data.get("fulfillments", [])
        )

    # --- stock --------------------------------------------------------------------------

    def push_stock(self, items: list[StockQuantity]) -> None:
        """Set absolute ``available`` per SKU at the shop's location.

        ``channel_sku`` is the variant id (what ``parse`` reports as ``channel_sku_id``);
        ``channel_item`` may carry the variant's inventory_item_id to save a look-up.
        """
        if not items:
            return
        location = self._location()
        for item in items:
            inventory_item = item.channel_item or self._inventory_item(item.channel_sku)
            body = {
                "location_id": int(location),
                "inventory_item_id": int(inventory_item),
                # Never advertise negative stock: the channel would read it as oversold.
                "available": max(item.quantity, 0),
            }
            self._call("POST", "/inventory_levels/set.json", json=body)

    def _inventory_item(self, variant_id: str) -> str:
        if variant_id not in self._inventory_items:
            variant = _json(self._call("GET", f"/variants/{variant_id}.json"))["variant"]
            self._inventory_items[variant_id] = str(variant["inventory_item_id"])
        return self._inventory_items[variant_id]

    def _location(self) -> str:
        if self._location_id is None:
            locations = _json(self._call("GET", "/locations.json")).get("locations", [])
            active = [loc for loc in locations if loc.get("active", True)]
            if len(active) != 1:
                raise ChannelError(
                    "shopify: the shop has several locations; set extra['location_id']",
                    code="location_required",
                )
            self._location_id = str(active[0]["id"])
        return self._location_id

    # --- webhooks -----------------------------------------------------------------------

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> bool:
        """Check ``X-Shopify-Hmac-Sha256`` (or the unprefixed Events header) against the raw
        body with the app's client secret."""
        signature = header(headers, "X-Shopify-Hmac-Sha256") or header(
            headers, "Shopify-Hmac-Sha256"
        )
        return verify_base64_hmac_sha256(self._credentials.app_secret or "", body, signature)


def _json(resp: httpx.Response) -> Any:
    return response_json(resp, "shopify")


def _raise_for_status(resp: httpx.Response) -> None:
    status = resp.status_code
    if status < 300:
        return
    try:
        detail = resp.json().get("errors", resp.text)
    except ValueError:
        detail = resp.text
    raise http_error(resp, f"shopify {status}: {detail}", code=str(status))
