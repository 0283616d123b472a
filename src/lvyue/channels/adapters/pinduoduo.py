"""Pinduoduo (拼多多) open platform adapter (CHANNELS.md §4).

Orders are pulled with ``pdd.order.number.list.increment.get``, which returns whole orders by
updated-time window, and one order is read with ``pdd.order.information.get``; ship-back is
``pdd.logistics.online.send`` and stock ``pdd.goods.quantity.update``. Every call is a signed
JSON POST to ``/api/router``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
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
from lvyue.channels.adapters.common import (
    ceil_second,
    check_page_size,
    country_code,
    discount_to_match,
    floor_second,
    gateway_url,
    parse_local_time,
    pull_windows,
    read_pages_backwards,
    stock_sku_key,
)
from lvyue.channels.adapters.fields import Fields, payload_errors
from lvyue.channels.adapters.signing import sign_value, top_style_sign
from lvyue.channels.adapters.transport import HttpAdapter, Injected, exchange
from lvyue.core.money import ZERO
from lvyue.orders.canonical import (
    CanonicalLine,
    CanonicalOrder,
    CanonicalReceiver,
    ChannelStatus,
    RefundStatus,
)

GATEWAY_PATH = "/api/router"

# Order-level refund_status: 1 none (or closed), 2 after-sale in progress, 3 refunding,
# 4 refunded. PDD has no per-line refund state, so every line carries the order's.
REFUND_STATUS: Mapping[int, RefundStatus] = {
    1: "none",
    2: "refunding",
    3: "refunding",
    4: "refunded",
}

_PAID_ORDER_STATUSES = frozenset({1, 2, 3})  # to ship, shipped, received

_RESPONSE_KEYS: Mapping[str, str] = {
    "pdd.order.number.list.increment.get": "order_sn_increment_get_response",
    "pdd.order.information.get": "order_info_get_response",
    "pdd.logistics.online.send": "logistics_online_send_response",
    "pdd.goods.quantity.update": "goods_quantity_update_response",
}

# error_code values seen in SDKs and issue reports [S]: 10016 client offline / wrong client_id,
# 10019 access_token expired, 20004 signature check failed, 52101 API throttled,
# 52102/52103 API/service temporarily unavailable, 70031 called too often.
_AUTH_CODES = frozenset({"10016", "10019", "20004"})
_RATE_LIMIT_CODES = frozenset({"52101", "70031"})
_UNAVAILABLE_CODES = frozenset({"52102", "52103"})


def order_status(order: Fields) -> ChannelStatus:
    """PDD splits what Taobao says in one status over several fields."""
    if order.opt_integer("confirm_status") == 2 or order.opt_integer("refund_status") == 4:
        return "cancelled"  # cancelled, or refunded in full
    # confirm_status 0: paid but the group is not formed yet, so the order may still fall
    # through; like an unpaid order it must not reach the warehouse.
    if order.opt_integer("confirm_status") == 0 or order.opt_text("pay_time") is None:
        return "unpaid"
    status = order.integer("order_status")
    if status not in _PAID_ORDER_STATUSES:
        raise PayloadError(f"{order.name('order_status')}: unknown value {status}")
    return "paid"


class PinduoduoAdapter(HttpAdapter):
    """Client for one Pinduoduo shop.

    ``credentials``: ``base_url`` (``https://gw-api.pinduoduo.com``; ``/api/router`` is
    appended unless present), ``app_key`` = client_id, ``app_secret`` = client_secret,
    ``token`` = the mall's access_token; ``extra["stock_sku_key"]`` (``sku_id`` default, or
    ``outer_id``).
    """

    platform: ClassVar[str] = "pinduoduo"
    # The platform allows at most 30 minutes (1800 s) from start to end. Each request asks up
    # to 2 s wider than its window (see _list_window), so windows are 2 s shorter.
    window: ClassVar[timedelta] = timedelta(seconds=1800 - 2)
    max_page_size: ClassVar[int] = 100

    def __init__(
        self,
        credentials: ShopCredentials,
        client: httpx.Client | None = None,
        *,
        page_size: int = 100,
        carrier_codes: Mapping[str, int] | None = None,
        **injected: Unpack[Injected],
    ) -> None:
        if not credentials.app_key or not credentials.app_secret:
            raise ValueError("Pinduoduo needs app_key (client_id) and app_secret")
        self._stock_key = stock_sku_key(credentials)
        check_page_size(page_size, self.max_page_size)
        super().__init__(credentials, client, **injected)
        self._client_id = credentials.app_key
        self._secret = credentials.app_secret
        self._token = credentials.token or ""
        self._url = gateway_url(credentials.base_url, GATEWAY_PATH)
        self._page_size = page_size
        self._carriers = platform_codes(lambda c: c.pinduoduo, carrier_codes)

    # --- pulling orders ------------------------------------------------------------------

    def fetch_orders(self, since: datetime, until: datetime) -> Iterator[RawOrder]:
        # The list carries whole orders, so the same version is never returned twice, but a
        # newer version met in a later window is.
        yield from pull_windows(since, until, self.window, self._list_window)

    def _list_window(self, start: datetime, end: datetime) -> list[RawOrder]:
        # Bounds are Unix seconds, inclusive or not is undocumented: ask a second wider on
        # each side and keep [start, end) ourselves.
        base: dict[str, object] = {
            "start_updated_at": int(floor_second(start).timestamp()) - 1,
            "end_updated_at": int(ceil_second(end).timestamp()),
            "order_status": 5,  # all
            "refund_status": 5,  # all
            "is_lucky_flag": 0,  # all
            "page_size": self._page_size,
            # No use_has_next: it drops total_count, needed to start from the last page.
        }

        def page(page_no: int) -> tuple[list[Any], int]:
            body = self._call("pdd.order.number.list.increment.get", {**base, "page": page_no})
            return body.get("order_sn_list") or [], int(body.get("total_count") or 0)

        # Read backwards, a later sighting of an order is the newer one: keep that.
        latest: dict[str, RawOrder] = {}
        for i, row in enumerate(read_pages_backwards(page, self._page_size)):
            raw = self._raw(Fields(row, f"order_sn_list[{i}]"))
            latest[raw.external_id] = raw
        return list(latest.values())  # pull_windows keeps those inside [start, end)

    def fetch_order(self, external_id: str) -> RawOrder:
        body = self._call("pdd.order.information.get", {"order_sn": external_id})
        return self._raw(Fields(body.get("order_info"), "order_info"))

    @staticmethod
    def _raw(order: Fields) -> RawOrder:
        updated = order.opt_text("updated_at")
        try:
            updated_at = parse_local_time(updated) if updated else None
        except ValueError:
            updated_at = None  # parse() reports it; the raw payload is still worth storing
        return RawOrder(
            external_id=order.text("order_sn"), updated_at=updated_at, payload=dict(order.data)
        )

    # --- mapping -----------------------------------------------------------------------------

    def parse(self, raw: RawOrder) -> CanonicalOrder:
        order = Fields(raw.payload)
        refund_code = order.opt_integer("refund_status") or 1
        refund = REFUND_STATUS.get(refund_code)
        if refund is None:
            raise PayloadError(f"refund_status: unknown value {refund_code}")
        status = order_status(order)
        lines = [self._line(item, refund) for item in order.objects("item_list")]
        if not lines:
            raise PayloadError("item_list: the order has no lines")
        # Gifts ship too, at no charge.
        lines += [
            self._line(gift, refund, gift=True)
            for gift in order.objects("gift_list", required=False)
        ]
        goods = sum((ln.unit_price * ln.quantity for ln in lines), ZERO)
        shipping = order.money("postage", default=ZERO)
        paid = order.money("pay_amount")
        tags = ["risk_control"] if order.opt_integer("risk_control_status") == 1 else []
        with payload_errors():
            return CanonicalOrder(
                external_id=order.text("order_sn"),
                status=status,
                created_at=order.local_time("created_time"),
                paid_at=order.opt_local_time("pay_time"),
                updated_at=order.opt_local_time("updated_at"),
                receiver=self._receiver(order),
                lines=lines,
                shipping_fee=shipping,
                discount=discount_to_match(goods, shipping, paid),
                buyer_message=order.opt_text("buyer_memo") or "",
                seller_memo=order.opt_text("remark") or "",
                tags=tags,
            )

    @staticmethod
    def _line(item: Fields, refund: RefundStatus, *, gift: bool = False) -> CanonicalLine:
        sku_id = item.opt_text("sku_id")
        # The merchant's codes first; without them the platform ids still let the SKU mapping
        # (or a person) resolve the line instead of dropping the order.
        sku = (
            item.opt_text("outer_id")
            or item.opt_text("outer_goods_id")
            or sku_id
            or item.text("goods_id")
        )
        return CanonicalLine(
            sku=sku,
            quantity=item.count("goods_count"),
            unit_price=ZERO if gift else item.money("goods_price"),
            name=item.opt_text("goods_name"),
            spec=item.opt_text("goods_spec"),
            channel_sku_id=sku_id,
            # PDD lines have no id of their own; the SKU id is stable across order versions.
            channel_line_id=sku_id,
            refund_status=refund,
        )

    @staticmethod
    def _receiver(order: Fields) -> CanonicalReceiver:
        # receiver_name/phone/address are ciphertext (and empty once shipped or risk-flagged);
        # the *_mask twins are readable. Keep the masks; the raw payload keeps the ciphertext
        # for the platform's decrypt call.
        return CanonicalReceiver(
            name=order.opt_text("receiver_name_mask") or order.opt_text("receiver_name"),
            phone=order.opt_text("receiver_phone_mask") or order.opt_text("receiver_phone"),
            province=order.opt_text("province"),
            city=order.opt_text("city"),
            district=order.opt_text("town"),  # PDD's "town" is the district / county
            address=order.opt_text("receiver_address_mask")
            or order.opt_text("receiver_address")
            or "",
            country=country_code(order.opt_text("country")),
        )

    # --- writing back ------------------------------------------------------------------------

    def ship(self, shipment: Shipment) -> None:
        logistics_id = self._carriers.get(shipment.carrier_code.upper())
        if logistics_id is None:
            raise ChannelError(
                f"no Pinduoduo logistics_id for carrier {shipment.carrier_code!r}",
                code="unknown_carrier",
            )
        # The call ships the whole order: PDD has no per-line shipment, and a second parcel's
        # number is refused once the order has left "to ship".
        body = self._call(
            "pdd.logistics.online.send",
            {
                "order_sn": shipment.external_id,
                "logistics_id": logistics_id,
                "tracking_number": shipment.tracking_no,
            },
        )
        if body.get("is_success") is not True:
            raise ChannelError(f"order {shipment.external_id}: ship-back not accepted: {body}")

    def push_stock(self, items: list[StockQuantity]) -> None:
        for stock in items:  # check all first so a bad row does not leave a half push
            if not stock.channel_item or not stock.channel_sku:
                raise ChannelError(
                    f"stock for {stock.channel_sku!r}: Pinduoduo needs goods_id and the SKU",
                    code="missing_item",
                )
        for stock in items:
            self._call(
                "pdd.goods.quantity.update",
                {
                    "goods_id": _id(stock.channel_item or ""),
                    self._stock_key: _id(stock.channel_sku),
                    "quantity": max(0, stock.quantity),  # absolute quantities must be >= 0
                    "update_type": 1,  # absolute
                },
            )

    # --- the gateway -------------------------------------------------------------------------

    def _call(self, api_type: str, params: Mapping[str, object]) -> dict[str, Any]:
        return self._retrying(lambda: self._call_once(api_type, params))

    def _call_once(self, api_type: str, params: Mapping[str, object]) -> dict[str, Any]:
        request: dict[str, object] = {
            "type": api_type,
            "client_id": self._client_id,
            "timestamp": int(self._clock().timestamp()),
            "data_type": "JSON",
            **params,
        }
        if self._token:
            request["access_token"] = self._token
        # Signed over the values' text, sent as JSON values, like the official SDKs.
        request["sign"] = top_style_sign(
            {k: sign_value(v) for k, v in request.items()}, self._secret
        )
        body = exchange(lambda: self._client.post(self._url, json=request))
        if "error_response" in body:
            raise _pdd_error(api_type, body["error_response"])
        key = _RESPONSE_KEYS[api_type]
        inner = body.get(key)
        if not isinstance(inner, dict):
            raise ChannelError(f"{api_type}: response has no {key}")
        return inner


def _id(value: str) -> int | str:
    """PDD ids are int64 in its API; send digits as numbers, anything else as given."""
    return int(value) if value.isdigit() else value


def _pdd_error(api_type: str, error: object) -> ChannelError:
    if not isinstance(error, dict):
        return ChannelError(f"{api_type}: malformed error_response {error!r:.200}")
    code = str(error.get("error_code", ""))
    text = f"{api_type}: PDD error {code} {error.get('error_msg', '')}"
    if error.get("sub_code") or error.get("sub_msg"):
        text += f" [{error.get('sub_code', '')}] {error.get('sub_msg', '')}"
    if code in _RATE_LIMIT_CODES:
        # PDD names no wait; its limits are per second or per minute windows.
        return RateLimited(text, code=code, retry_after=1.0)
    if code in _AUTH_CODES:
        return AuthError(text, code=code)
    return ChannelError(text, code=code, retryable=code in _UNAVAILABLE_CODES)
