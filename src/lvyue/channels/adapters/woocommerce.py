"""WooCommerce REST API v3 adapter (CHANNELS.md §2).

Protocol summary: HTTP Basic auth with the consumer key/secret, ``GET /orders`` filtered by
``modified_after``/``modified_before`` (both exclusive, whole seconds, ``dates_are_gmt=true``)
with offset paging (``page``/``per_page`` <= 100, ``X-WP-Total``/``X-WP-TotalPages``). Core
WooCommerce has no tracking field: ship-back adds the tracking through the Shipment Tracking
extension (or an order note when it is not installed) and sets the order ``completed``. Stock
is pushed through the products / variations batch endpoints. Webhooks are base64
HMAC-SHA256 of the raw body in ``X-WC-Webhook-Signature``.

Credentials: ``base_url`` is the site root (``https://shop.example.com``), ``app_key`` the
consumer key (``ck_...``), ``app_secret`` the consumer secret (``cs_...``). ``extra`` may hold
``webhook_secret`` (set per webhook in WooCommerce, not the consumer secret) and
``auth_in_query`` ("true" for servers that drop the Authorization header).
"""

from __future__ import annotations

import html
import math
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Unpack

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from lvyue.channels.adapters.base import (
    ChannelError,
    PayloadError,
    RawOrder,
    Shipment,
    ShopCredentials,
    StockQuantity,
)
from lvyue.channels.adapters.carriers import carrier
from lvyue.channels.adapters.common import check_page_size, each_version_once, within
from lvyue.channels.adapters.fields import payload_errors
from lvyue.channels.adapters.transport import HttpAdapter, Injected, http_error, response_json
from lvyue.channels.adapters.webhooks import (
    base64_hmac_sha256,
    header,
    verify_base64_hmac_sha256,
)
from lvyue.core.clock import as_utc
from lvyue.orders.canonical import CanonicalOrder, ChannelStatus

API = "/wp-json/wc/v3"
TRACKING_API = "/wp-json/wc-shipment-tracking/v3"
MAX_PAGE_SIZE = 100
MAX_BATCH = 100
_SECOND = timedelta(seconds=1)

# A custom provider with our own link (see carriers.py); the extension puts the number at %1$s.
TRACKING_LINK = "https://www.kuaidi100.com/chaxun?com={com}&nu=%1$s"

# WooCommerce's own codes for China's provinces (i18n/states.php); we want the names the
# address normaliser understands.
CN_STATES: dict[str, str] = {
    "CN1": "云南",
    "CN2": "北京",
    "CN3": "天津",
    "CN4": "河北",
    "CN5": "山西",
    "CN6": "内蒙古",
    "CN7": "辽宁",
    "CN8": "吉林",
    "CN9": "黑龙江",
    "CN10": "上海",
    "CN11": "江苏",
    "CN12": "浙江",
    "CN13": "安徽",
    "CN14": "福建",
    "CN15": "江西",
    "CN16": "山东",
    "CN17": "河南",
    "CN18": "湖北",
    "CN19": "湖南",
    "CN20": "广东",
    "CN21": "广西",
    "CN22": "海南",
    "CN23": "重庆",
    "CN24": "四川",
    "CN25": "贵州",
    "CN26": "陕西",
    "CN27": "甘肃",
    "CN28": "青海",
    "CN29": "宁夏",
    "CN30": "澳门",
    "CN31": "西藏",
    "CN32": "新疆",
}

WooStatus = Literal[
    "pending",
    "on-hold",
    "failed",
    "checkout-draft",
    "processing",
    "completed",
    "refunded",
    "cancelled",
    "trash",
]
# pending = awaiting payment; on-hold = awaiting manual confirmation (e.g. bank transfer);
# failed = payment failed (the buyer may still pay); processing = paid, to ship (cash on
# delivery orders also land here); completed = shipped; refunded = fully refunded (its lines
# are marked refunded by ``parse``).
STATUS: dict[str, ChannelStatus] = {
    "pending": "unpaid",
    "on-hold": "unpaid",
    "failed": "unpaid",
    "checkout-draft": "unpaid",
    "processing": "paid",
    "completed": "paid",
    "refunded": "paid",
    "cancelled": "cancelled",
    "trash": "cancelled",
}
_NOT_SHIPPABLE = frozenset({"cancelled", "refunded", "failed", "trash"})


def woocommerce_webhook_signature(secret: str, body: bytes) -> str:
    """The ``X-WC-Webhook-Signature`` value for ``body``. WooCommerce HTML-entity-decodes the
    stored secret before signing, so we do too."""
    return base64_hmac_sha256(html.unescape(secret), body)


def is_webhook_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """WooCommerce's unsigned ping when a webhook is created; answer it with 200."""
    return header(headers, "X-WC-Webhook-Topic") is None and body.startswith(b"webhook_id=")


def tracking_item(carrier_code: str, tracking_no: str) -> dict[str, str]:
    """Body for the Shipment Tracking extension's create call."""
    known = carrier(carrier_code)
    if known is None:
        return {"tracking_number": tracking_no, "custom_tracking_provider": carrier_code}
    return {
        "tracking_number": tracking_no,
        "custom_tracking_provider": known.woocommerce,
        "custom_tracking_link": TRACKING_LINK.format(com=known.kuaidi100),
    }


# --- payload model -------------------------------------------------------------------------


def _gmt(value: datetime) -> datetime:
    # The *_gmt fields are UTC written without an offset; the unsuffixed twins are site-local.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


GmtDatetime = Annotated[datetime, AfterValidator(_gmt)]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Address(_In):
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    email: str | None = None
    phone: str | None = None


class _Meta(_In):
    key: str
    value: Any = None
    display_key: str | None = None
    display_value: Any = None


class _LineItem(_In):
    id: int
    name: str | None = None
    product_id: int = 0
    variation_id: int = 0
    quantity: int = Field(gt=0)
    subtotal: Decimal = Field(ge=0)
    sku: str | None = None
    meta_data: list[_Meta] = Field(default_factory=list)


class _Order(_In):
    id: int
    status: WooStatus
    currency: str
    date_created_gmt: GmtDatetime
    date_modified_gmt: GmtDatetime | None = None
    date_paid_gmt: GmtDatetime | None = None
    shipping_total: Decimal = Decimal("0")
    discount_total: Decimal = Decimal("0")
    customer_id: int = 0
    customer_note: str = ""
    billing: _Address = Field(default_factory=_Address)
    shipping: _Address = Field(default_factory=_Address)
    line_items: list[_LineItem] = Field(min_length=1)


_CJK = re.compile(r"[\u3400-\u9fff]")


def _person(first: str, last: str) -> str | None:
    first, last = first.strip(), last.strip()
    if _CJK.search(first + last):
        return f"{last}{first}" or None  # Chinese names read family name first, no space
    return " ".join(p for p in (first, last) if p) or None


def _spec(meta: list[_Meta]) -> str | None:
    """Variation attributes (and other visible line meta) as ``Color: Blue; Size: M``.
    Keys starting with ``_`` are WooCommerce's hidden meta."""
    parts = []
    for m in meta:
        if m.key.startswith("_"):
            continue
        key = m.display_key or m.key.removeprefix("pa_")
        value = m.display_value if m.display_value not in (None, "") else m.value
        if isinstance(value, str | int | float) and str(value).strip():
            parts.append(f"{key}: {html.unescape(str(value)).strip()}")
    return "; ".join(parts) or None


def parse_order(payload: Mapping[str, Any]) -> CanonicalOrder:
    """Map one WooCommerce order object to the canonical order (PayloadError names the field).

    Times come from the ``*_gmt`` fields. A line's ``unit_price`` is its ``subtotal`` (before
    coupons) divided by the quantity, and ``discount_total`` is the coupons, so the canonical
    total equals WooCommerce's ``total`` less tax. Per-line refunds are not in the order
    object (they need ``/orders/{id}/refunds``); a ``refunded`` order marks every line.
    """
    with payload_errors():
        o = _Order.model_validate(payload)
    lines: list[dict[str, Any]] = []
    for i, li in enumerate(o.line_items):
        own_id = li.variation_id or li.product_id
        sku = (li.sku or "").strip() or (str(own_id) if own_id else "")
        if not sku:
            raise PayloadError(f"line_items.{i}.sku: empty and the product was deleted")
        line: dict[str, Any] = {
            "sku": sku,
            "quantity": li.quantity,
            "unit_price": li.subtotal / li.quantity,
            "name": li.name,
            "spec": _spec(li.meta_data),
            "channel_sku_id": str(own_id) if own_id else None,
            "channel_line_id": str(li.id),
            "refund_status": "refunded" if o.status == "refunded" else "none",
        }
        if li.variation_id and li.product_id:
            # Stock for a variation is pushed under its parent product: keep the parent id.
            line["channel_item_id"] = str(li.product_id)
        lines.append(line)
    addr = o.shipping if o.shipping.address_1.strip() else o.billing
    country = addr.country or "CN"
    receiver = {
        "name": _person(addr.first_name, addr.last_name),
        "phone": o.shipping.phone or o.billing.phone or None,
        "province": (CN_STATES.get(addr.state, addr.state) if country == "CN" else addr.state)
        or None,
        "city": addr.city or None,
        "address": " ".join(p.strip() for p in (addr.address_1, addr.address_2) if p.strip()),
        "zip": addr.postcode or None,
        "country": country,
    }
    buyer = {
        "id": str(o.customer_id) if o.customer_id else None,
        "nick": _person(o.billing.first_name, o.billing.last_name) or o.billing.email,
    }
    status = STATUS[o.status]
    with payload_errors():
        return CanonicalOrder.model_validate(
            {
                "external_id": str(o.id),
                "status": status,
                "created_at": o.date_created_gmt,
                "paid_at": o.date_paid_gmt if status == "paid" else None,
                "updated_at": o.date_modified_gmt,
                "buyer": buyer,
                "receiver": receiver,
                "lines": lines,
                "currency": o.currency,
                "shipping_fee": o.shipping_total,
                "discount": o.discount_total,
                "buyer_message": o.customer_note,
            }
        )


def _modified_at(payload: Mapping[str, Any]) -> datetime | None:
    try:
        return _gmt(datetime.fromisoformat(str(payload["date_modified_gmt"])))
    except (KeyError, TypeError, ValueError):
        return None


def _wp_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


class WooCommerceAdapter(HttpAdapter):
    """Talks to one WooCommerce site's REST API v3."""

    platform: ClassVar[str] = "woocommerce"

    def __init__(
        self,
        credentials: ShopCredentials,
        client: httpx.Client | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        **injected: Unpack[Injected],
    ) -> None:
        if not (credentials.app_key and credentials.app_secret):
            raise ValueError("WooCommerce needs the consumer key and secret (app_key/app_secret)")
        check_page_size(page_size, MAX_PAGE_SIZE)
        super().__init__(credentials, client, **injected)
        self._page_size = page_size
        self._site = credentials.base_url.rstrip("/")
        self._query_auth = credentials.extra.get("auth_in_query", "").lower() == "true"
        self._has_tracking_api: bool | None = None  # learnt on the first ship-back

    # --- HTTP ---------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, **kw: Any
    ) -> httpx.Response:
        ck, cs = self._credentials.app_key or "", self._credentials.app_secret or ""
        query = dict(params or {})
        if self._query_auth:
            query.update(consumer_key=ck, consumer_secret=cs)
        auth = None if self._query_auth else httpx.BasicAuth(ck, cs)

        def attempt() -> httpx.Response:
            try:
                resp = self._client.request(
                    method, self._site + path, params=query, auth=auth, **kw
                )
            except httpx.TransportError as exc:
                raise ChannelError(
                    f"woocommerce: {exc!r}", code="transport", retryable=True
                ) from exc
            _raise_for_status(resp)
            return resp

        return self._retrying(attempt)

    # --- orders -------------------------------------------------------------------------

    def fetch_orders(self, since: datetime, until: datetime) -> Iterator[RawOrder]:
        since, until = as_utc(since), as_utc(until)
        if until <= since:
            return
        # WooCommerce keeps whole seconds; search the enclosing seconds, cut to [since, until).
        low = since.replace(microsecond=0)
        high = until.replace(microsecond=0)
        if high < until:
            high += _SECOND
        # The same version can surface twice when pages shift.
        yield from each_version_once(r for r in self._window(low, high) if within(r, since, until))

    def _window(self, low: datetime, high: datetime) -> Iterator[RawOrder]:
        """Orders modified in [low, high), whole seconds.

        Offset paging is not stable while orders change: one leaving the window shifts every
        later order up a page. So a window that does not fit in one page is halved until it
        does, and each window is then read by a single request. Only a single second holding
        more than a page (a bulk edit) is paged, from the last page to the first, so orders
        leaving the window cannot shift unread ones onto pages already read.
        """
        orders, pages = self._page(low, high, 1)
        if pages <= 1:
            yield from orders
            return
        if high - low > _SECOND:
            middle = low + timedelta(seconds=math.ceil((high - low).total_seconds() / 2))
            yield from self._window(low, middle)
            yield from self._window(middle, high)
            return
        for page in range(pages, 0, -1):
            yield from self._page(low, high, page)[0]

    def _page(self, low: datetime, high: datetime, page: int) -> tuple[list[RawOrder], int]:
        params = {
            # modified_after/before are exclusive: step one second back to include ``low``.
            "modified_after": _wp_time(low - _SECOND),
            "modified_before": _wp_time(high),
            "dates_are_gmt": "true",
            "orderby": "id",  # a stable order: the default (date) ties on equal seconds
            "order": "asc",
            "per_page": self._page_size,
            "page": page,
        }
        try:
            resp = self._call("GET", f"{API}/orders", params=params)
        except ChannelError as exc:
            if exc.code.endswith("invalid_page_number"):  # the window shrank under us
                return [], 0
            raise
        body = _json(resp)
        if not isinstance(body, list):
            raise ChannelError("woocommerce: order list is not a JSON array")
        pages = int(resp.headers.get("X-WP-TotalPages") or 1)
        return [RawOrder(str(o["id"]), _modified_at(o), o) for o in body], pages

    def fetch_order(self, external_id: str) -> RawOrder:
        payload = _json(self._call("GET", f"{API}/orders/{external_id}"))
        return RawOrder(str(payload["id"]), _modified_at(payload), payload)

    def parse(self, raw: RawOrder) -> CanonicalOrder:
        return parse_order(raw.payload)

    # --- ship-back ----------------------------------------------------------------------

    def ship(self, shipment: Shipment) -> None:
        """Record the tracking number, then mark the order ``completed``.

        WooCommerce has no partial fulfilment, so every parcel adds its tracking number and
        the first one completes the order. The tracking goes first so the "order completed"
        mail the buyer gets already carries it. Safe to repeat: a tracking number already on
        the order is not added again and a completed order is left alone.
        """
        order_id = shipment.external_id
        order = _json(self._call("GET", f"{API}/orders/{order_id}"))
        if order.get("status") in _NOT_SHIPPABLE:
            raise ChannelError(
                f"woocommerce order {order_id} is {order.get('status')}; not shipping",
                code="not_shippable",
            )
        self._add_tracking(order_id, shipment)
        if order.get("status") != "completed":
            self._call("PUT", f"{API}/orders/{order_id}", json={"status": "completed"})

    def _add_tracking(self, order_id: str, shipment: Shipment) -> None:
        item = tracking_item(shipment.carrier_code, shipment.tracking_no)
        if self._has_tracking_api is not False:
            path = f"{TRACKING_API}/orders/{order_id}/shipment-trackings"
            try:
                existing = _json(self._call("GET", path))
            except ChannelError as exc:
                if exc.code != "rest_no_route":
                    raise
                self._has_tracking_api = False  # extension not installed: use a note
            else:
                self._has_tracking_api = True
                if not any(t.get("tracking_number") == shipment.tracking_no for t in existing):
                    self._call("POST", path, json=item)
                return
        notes_path = f"{API}/orders/{order_id}/notes"
        notes = _json(self._call("GET", notes_path))
        if any(shipment.tracking_no in str(n.get("note", "")) for n in notes):
            return
        link = item.get("custom_tracking_link", "").replace("%1$s", shipment.tracking_no)
        text = f"已发货 Shipped: {item['custom_tracking_provider']} {shipment.tracking_no}"
        note = {"note": f"{text} {link}".strip(), "customer_note": True}
        self._call("POST", notes_path, json=note)

    # --- stock --------------------------------------------------------------------------

    def push_stock(self, items: list[StockQuantity]) -> None:
        """Set ``stock_quantity`` through the batch endpoints (<= 100 objects per call).

        ``channel_sku`` is the product id, or the variation id with ``channel_item`` set to
        its parent product id (``parse`` reports it as the line's ``channel_item_id``).
        """
        by_parent: dict[str | None, list[StockQuantity]] = defaultdict(list)
        for item in items:
            by_parent[item.channel_item].append(item)
        failures: list[str] = []
        for parent, group in by_parent.items():
            path = (
                f"{API}/products/batch"
                if parent is None
                else (f"{API}/products/{parent}/variations/batch")
            )
            for start in range(0, len(group), MAX_BATCH):
                update = [
                    {
                        "id": int(i.channel_sku),
                        "manage_stock": True,
                        # Never advertise negative stock: the site would read it as oversold.
                        "stock_quantity": max(i.quantity, 0),
                    }
                    for i in group[start : start + MAX_BATCH]
                ]
                result = _json(self._call("POST", path, json={"update": update}))
                failures += [
                    f"{u.get('id')}: {u['error'].get('message', u['error'])}"
                    for u in result.get("update", [])
                    if isinstance(u, dict) and u.get("error")
                ]
        if failures:
            # The batch endpoint answers 200 and reports errors per object.
            raise ChannelError(
                "woocommerce stock update failed for " + "; ".join(failures),
                code="batch_item_error",
            )

    # --- webhooks -----------------------------------------------------------------------

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> bool:
        """Check ``X-WC-Webhook-Signature`` against the raw body with the webhook's secret."""
        secret = html.unescape(self._credentials.extra.get("webhook_secret", ""))
        signature = header(headers, "X-WC-Webhook-Signature")
        return verify_base64_hmac_sha256(secret, body, signature)


def _json(resp: httpx.Response) -> Any:
    return response_json(resp, "woocommerce")


def _raise_for_status(resp: httpx.Response) -> None:
    status = resp.status_code
    if status < 300:
        return
    try:
        body = resp.json()
        code, message = str(body.get("code") or status), str(body.get("message") or "")
    except (ValueError, AttributeError):
        code, message = str(status), resp.text[:200]
    # 429s come from hosts and WAFs: WordPress has no rate limit of its own.
    raise http_error(resp, f"woocommerce {status} {code}: {message}", code=code)
