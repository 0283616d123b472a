"""Douyin 抖店 (Doudian open platform) adapter — CHANNELS.md §6.

Protocol in brief: ``POST {base}/order/searchList`` (method name with dots turned into slashes),
system parameters in the query string, the business parameters as the JSON body
(``param_json``: compact, keys sorted), signed with HMAC-SHA256 (or MD5) over
``secret + app_key… method… param_json… timestamp… v2 + secret``. Every answer is
``{"code": 10000, "msg", "sub_code", "sub_msg", "log_id", "data"}``; anything but 10000 is an
error. Money is integer fen, times are Unix seconds, list pages count from 0.

``credentials.base_url`` is the gateway origin (``https://openapi-fxg.jinritemai.com``),
``token`` the shop's access token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Unpack

import httpx

from lvyue.channels.adapters.base import (
    AuthError,
    ChannelError,
    PayloadError,
    RateLimited,
    RawOrder,
    Shipment,
    ShopCredentials,
    StockQuantity,
)
from lvyue.channels.adapters.carriers import platform_codes
from lvyue.channels.adapters.common import discount_to_match, pull_windows, read_pages_backwards
from lvyue.channels.adapters.fields import Fields
from lvyue.channels.adapters.transport import HttpAdapter, Injected, exchange
from lvyue.core.clock import SHANGHAI
from lvyue.core.money import from_fen
from lvyue.orders.canonical import (
    CanonicalBuyer,
    CanonicalLine,
    CanonicalOrder,
    CanonicalReceiver,
    ChannelStatus,
    RefundStatus,
)

API_VERSION = "2"
SUCCESS = 10000
SIGN_METHODS = ("hmac-sha256", "md5")

CARRIER_CODES = platform_codes(lambda c: c.douyin)  # our carrier code -> company_code

# Shop-order ``order_status``: 1 awaiting payment/confirmation, 105 paid, 2 to ship,
# 101 partly shipped, 3 shipped, 5 completed, 4 cancelled.
ORDER_STATUS: dict[int, ChannelStatus] = {
    1: "unpaid",
    105: "paid",
    2: "paid",
    101: "paid",
    3: "paid",
    5: "paid",
    4: "cancelled",
}

# ``after_sale_info.after_sale_status`` values meaning a refund/return is under way
# (6 applied, 7 waiting for the return parcel, 11 buyer sent it back) or done (12).
_AFTER_SALE_OPEN = frozenset({6, 7, 11})
_AFTER_SALE_DONE = 12
_EXCHANGE = 3  # after_sale_type 3 is an exchange: no money goes back

# Platform-level codes (平台基础错误码): 30001 no permission / authorisation gone, 30002 IP not
# whitelisted, 40001/40003 + an auth sub_code = bad signature, key or token, 20000/20001
# platform trouble (retry), 60000 flow control.
_AUTH_CODES = frozenset({30001, 30002})
_AUTH_SUB_CODES = ("isv.signature", "isv.access-token", "isv.app-id", "isv.authorization")
_RETRY_CODES = frozenset({20000, 20001})
_RATE_LIMIT_CODE = 60000


# --- signing -------------------------------------------------------------------------------


def param_json(params: Mapping[str, Any]) -> str:
    """The body and signed text of a call: compact JSON, keys sorted at every level, no
    ASCII or HTML escaping (the Go SDK's ``Marshal``), so what we sign is what we send."""
    return json.dumps(params, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def doudian_sign(
    app_key: str,
    secret: str,
    method: str,
    param_json: str,
    timestamp: int | str,
    sign_method: str = "hmac-sha256",
) -> str:
    """Lower-case hex signature of one call (CHANNELS.md §6.1)."""
    text = (
        f"{secret}app_key{app_key}method{method}param_json{param_json}"
        f"timestamp{timestamp}v{API_VERSION}{secret}"
    ).encode()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    if sign_method == "md5":
        return hashlib.md5(text).hexdigest()
    raise ValueError(f"unknown sign_method {sign_method!r}; expected one of {SIGN_METHODS}")


def douyin_error(code: object, msg: str, sub_code: str = "", sub_msg: str = "") -> ChannelError:
    """Map the envelope's error to our exception: auth problems are never retried, platform
    trouble and flow control are."""
    try:
        number = int(str(code))
    except ValueError:
        number = 0
    text = f"douyin {code} {msg}" + (f" [{sub_code}] {sub_msg}" if sub_code else "")
    own_code = sub_code or str(code)
    if number == _RATE_LIMIT_CODE:
        return RateLimited(text, code=own_code)
    if number in _AUTH_CODES or sub_code.startswith(_AUTH_SUB_CODES):
        return AuthError(text, code=own_code)
    return ChannelError(text, code=own_code, retryable=number in _RETRY_CODES)


def unwrap(body: Mapping[str, Any]) -> Any:
    """``data`` of a successful answer, else the mapped error. Also reads the legacy v1
    envelope (``err_no`` / ``message``) that accounts without the new codes still get."""
    if "code" not in body and "err_no" in body:
        if str(body["err_no"]) == "0":
            return body.get("data")
        raise douyin_error(body["err_no"], str(body.get("message", "")))
    if str(body.get("code")) == str(SUCCESS):
        return body.get("data")
    raise douyin_error(
        body.get("code"),
        str(body.get("msg", "")),
        str(body.get("sub_code") or ""),
        str(body.get("sub_msg") or ""),
    )


# --- the adapter ---------------------------------------------------------------------------


class _WindowTooBig(Exception):
    """A window holds more orders than searchList lets us page through."""


class DouyinAdapter(HttpAdapter):
    platform: ClassVar[str] = "douyin"
    timeout: ClassVar[float] = 15.0

    def __init__(
        self,
        credentials: ShopCredentials,
        client: httpx.Client | None = None,
        *,
        sign_method: str = "hmac-sha256",
        **injected: Unpack[Injected],
    ) -> None:
        if not (credentials.app_key and credentials.app_secret and credentials.token):
            raise ValueError("Douyin needs app_key, app_secret and the shop's access token")
        if sign_method not in SIGN_METHODS:
            raise ValueError(f"unknown sign_method {sign_method!r}")
        super().__init__(credentials, client, **injected)
        self._base = credentials.base_url.rstrip("/")
        self._sign_method = sign_method
        # No documented window limit; a day keeps pages shallow. The hard limit is that
        # paging stops at 50,000 rows (isv.parameter-invalid:20013), so fuller windows are
        # halved until they fit.
        self.window = timedelta(days=1)
        self.max_results = 50_000
        self.page_size = 100  # searchList rejects size > 100 (isv.parameter-invalid:20008)

    # -- transport ------------------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any]) -> Any:
        """One API call with retries; returns the envelope's ``data``."""
        body = param_json(params)
        url = f"{self._base}/{method.replace('.', '/')}"
        app_key, secret = self._credentials.app_key or "", self._credentials.app_secret or ""

        def once() -> Any:
            # A fresh timestamp and signature on every attempt: a retry may come much later.
            ts = int(self._clock().timestamp())
            query = {
                "app_key": app_key,
                "method": method,
                "timestamp": str(ts),
                "v": API_VERSION,
                "sign_method": self._sign_method,
                "sign": doudian_sign(app_key, secret, method, body, ts, self._sign_method),
                "access_token": self._credentials.token or "",
            }
            headers = {
                "Content-Type": "application/json;charset=utf-8",
                # Ask for the current error codes, as the official SDKs do.
                "x-open-no-old-err-code": "1",
            }
            answer = exchange(
                lambda: self._client.post(
                    url, params=query, content=body.encode("utf-8"), headers=headers
                )
            )
            return unwrap(answer)

        return self._retrying(once)

    # -- orders ---------------------------------------------------------------------------

    def fetch_orders(self, since: datetime, until: datetime) -> Iterator[RawOrder]:
        # The platform's bounds are whole seconds and (probably) inclusive at both ends;
        # pull_windows keeps [start, end) and drops the repeats that paging backwards shows.
        yield from pull_windows(
            since, until, self.window, lambda start, end: map(self._raw, self._search(start, end))
        )

    def _search(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        lo, hi = math.floor(start.timestamp()), math.ceil(end.timestamp())

        def fetch_page(page_no: int) -> tuple[Sequence[dict[str, Any]], int]:
            params = {
                "update_time_start": lo,
                "update_time_end": hi,
                # Oldest change first: an order changed while we page moves to the end, so
                # the rows not yet read (in front of it) keep their places.
                "order_by": "update_time",
                "order_asc": True,
                "page": page_no - 1,  # Douyin pages count from 0
                "size": self.page_size,
            }
            data = Fields(self.call("order.searchList", params), "data")
            total = data.integer("total")
            # The last page must end within the cap (page × size ≤ max_results).
            last_row = math.ceil(total / self.page_size) * self.page_size
            if page_no == 1 and last_row > self.max_results:
                raise _WindowTooBig
            rows = data.get("shop_order_list") or []
            if not isinstance(rows, list):
                raise ChannelError("order.searchList: shop_order_list is not a list")
            return rows, total

        try:
            return read_pages_backwards(fetch_page, self.page_size)
        except _WindowTooBig:
            if hi - lo <= 1:
                raise ChannelError(
                    f"more than {self.max_results} orders changed within one second"
                ) from None
            middle = start + (end - start) / 2
            return self._search(start, middle) + self._search(middle, end)

    def fetch_order(self, external_id: str) -> RawOrder:
        data = Fields(self.call("order.orderDetail", {"shop_order_id": external_id}), "data")
        return self._raw(data.get("shop_order_detail"))

    def _raw(self, payload: object) -> RawOrder:
        order = Fields(payload, "shop_order")
        updated = _unix_time(order, "update_time")
        return RawOrder(order.text("order_id"), updated, dict(order.data))

    # -- mapping --------------------------------------------------------------------------

    def parse(self, raw: RawOrder) -> CanonicalOrder:
        order = Fields(raw.payload)
        status_code = order.integer("order_status")
        status = ORDER_STATUS.get(status_code)
        if status is None:
            raise PayloadError(f"order_status: unknown Douyin order status {status_code}")
        lines = [_line(item) for item in order.objects("sku_order_list")]
        if not lines:
            raise PayloadError("sku_order_list: the order has no lines")
        goods = sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0.00"))
        shipping = _fen(order, "post_amount", default=0)
        paid = _fen(order, "pay_amount")
        created = _unix_time(order, "create_time")
        if created is None:
            raise PayloadError("create_time: required time is missing")
        return CanonicalOrder(
            external_id=order.text("order_id"),
            status=status,
            created_at=created,
            paid_at=_unix_time(order, "pay_time"),
            updated_at=_unix_time(order, "update_time"),
            buyer=CanonicalBuyer(id=order.opt_text("doudian_open_id")),
            receiver=_receiver(order),
            lines=lines,
            shipping_fee=shipping,
            discount=discount_to_match(goods, shipping, paid),
            buyer_message=order.opt_text("buyer_words") or "",
            seller_memo=order.opt_text("seller_words") or "",
        )

    # -- ship-back and stock --------------------------------------------------------------

    def ship(self, shipment: Shipment) -> None:
        if shipment.line_ids:
            # logisticsAdd ships the whole shop order; per-line parcels need
            # order.logisticsAddMultiPack, whose parameters are not in CHANNELS.md yet.
            raise ChannelError("Douyin: shipping only some lines is not supported", code="split")
        company = CARRIER_CODES.get(shipment.carrier_code.upper())
        if company is None:
            raise ChannelError(
                f"Douyin: no company_code for carrier {shipment.carrier_code!r}",
                code="unknown_carrier",
            )
        self.call(
            "order.logisticsAdd",
            {
                "order_id": shipment.external_id,
                "company_code": company,
                "logistics_code": shipment.tracking_no,
            },
        )

    def push_stock(self, items: list[StockQuantity]) -> None:
        """Set absolute stock per SKU. ``channel_sku`` is Douyin's numeric ``sku_id`` when it is
        all digits, otherwise the merchant's SKU ``code``; ``channel_item`` is the product id."""
        for item in items:
            if item.quantity < 0:
                raise ValueError(f"negative stock for {item.channel_sku}")
            params: dict[str, Any] = {"stock_num": item.quantity, "incremental": False}
            if item.channel_sku.isdigit():
                params["sku_id"] = int(item.channel_sku)
            else:
                params["code"] = item.channel_sku
            if item.channel_item:
                params["product_id"] = (
                    int(item.channel_item) if item.channel_item.isdigit() else item.channel_item
                )
            self.call("sku.syncStock", params)


# --- field helpers (Douyin units) ----------------------------------------------------------


def _fen(fields: Fields, key: str, *, default: int | None = None) -> Decimal:
    """An amount in fen (integer cents) as Decimal yuan."""
    if fields.get(key) in (None, "") and default is not None:
        return from_fen(default)
    amount = fields.integer(key)
    if amount < 0:
        raise PayloadError(f"{fields.name(key)}: negative amount {amount}")
    return from_fen(amount)


def _unix_time(fields: Fields, key: str) -> datetime | None:
    """Unix seconds as an aware Asia/Shanghai datetime; 0 or missing means 'not yet'."""
    if fields.get(key) in (None, "", 0, "0"):
        return None
    seconds = fields.integer(key)
    if seconds < 0:
        raise PayloadError(f"{fields.name(key)}: negative timestamp {seconds}")
    return datetime.fromtimestamp(seconds, UTC).astimezone(SHANGHAI)


def _spec(line: Fields) -> str | None:
    """``[{"name": "颜色", "value": "蓝色"}, …]`` as ``颜色:蓝色;尺码:M``."""
    parts = []
    for pair in line.objects("spec", required=False):
        name, value = pair.opt_text("name"), pair.opt_text("value")
        if value:
            parts.append(f"{name}:{value}" if name else value)
    return ";".join(parts) or None


def _merchant_code(line: Fields) -> str | None:
    """The merchant's SKU code: ``code``, else ``out_sku_id`` (``"0"`` there means unset)."""
    for key in ("code", "out_sku_id"):
        value = line.opt_text(key)
        if value and value != "0":
            return value
    return None


def _refund_status(line: Fields) -> RefundStatus:
    info = line.get("after_sale_info")
    if not isinstance(info, Mapping):
        return "none"
    after_sale = Fields(info, line.name("after_sale_info"))
    refund = after_sale.opt_integer("refund_status") or 0
    state = after_sale.opt_integer("after_sale_status") or 0
    kind = after_sale.opt_integer("after_sale_type") or 0
    if refund == 3 or (state == _AFTER_SALE_DONE and kind != _EXCHANGE):
        return "refunded"
    if refund == 1 or (state in _AFTER_SALE_OPEN and kind != _EXCHANGE):
        return "refunding"
    return "none"


def _line(line: Fields) -> CanonicalLine:
    sku_id = line.text("sku_id")
    quantity = line.integer("item_num")
    if quantity <= 0:
        raise PayloadError(f"{line.name('item_num')}: quantity must be positive, got {quantity}")
    return CanonicalLine(
        # Without a merchant code the platform's SKU id stands in, so the SKU mapping step
        # can still match the line through channel_sku_id instead of rejecting the order.
        sku=_merchant_code(line) or sku_id,
        quantity=quantity,
        unit_price=_fen(line, "origin_amount"),
        name=line.opt_text("product_name"),
        spec=_spec(line),
        channel_sku_id=sku_id,
        channel_line_id=line.text("order_id"),
        refund_status=_refund_status(line),
    )


def _is_ciphertext(value: str | None) -> bool:
    # Douyin's encrypted receiver fields start with '#' or '$' [U, shape only].
    return value is not None and value[:1] in ("#", "$", "~")


def _plain(order: Fields, key: str, masked_key: str) -> str | None:
    """The readable value of a receiver field: the masked twin when the field is ciphertext
    (it is decrypted later through the platform's decrypt API, from the stored raw payload)."""
    value = order.opt_text(key)
    if _is_ciphertext(value):
        return order.opt_text(masked_key) or value
    return value


def _receiver(order: Fields) -> CanonicalReceiver:
    addr = order.obj("post_addr")

    def region(key: str) -> str | None:
        value = addr.get(key)
        return Fields(value, addr.name(key)).opt_text("name") if value else None

    detail = addr.opt_text("detail")
    if _is_ciphertext(detail):
        masked = order.get("mask_post_addr")
        masked_detail = Fields(masked, "mask_post_addr").opt_text("detail") if masked else None
        detail = masked_detail or detail
    street = region("street")
    return CanonicalReceiver(
        name=_plain(order, "post_receiver", "mask_post_receiver"),
        phone=_plain(order, "post_tel", "mask_post_tel"),
        province=region("province"),
        city=region("city"),
        district=region("town"),  # Douyin calls the county/district level "town"
        address="".join(part for part in (street, detail) if part),
    )
