"""JD POP (京东 JOS) adapter — CHANNELS.md §5.

Protocol in brief: a TOP-style router (``POST {base}/routerjson``, form-encoded) where every
business parameter travels JSON-encoded in the single system parameter ``360buy_param_json``,
signed with ``UPPER(MD5(secret + Σsorted(k+v) + secret))``. Answers are wrapped in
``<method with _>_responce`` (JD's spelling), gateway errors in ``error_response``, business
errors in an ``apiResult`` with ``success: false``. Money is yuan strings, times are
``yyyy-MM-dd HH:mm:ss`` Asia/Shanghai, list pages count from 1 with at most 50 rows.

``credentials.base_url`` is the gateway origin (``https://api.jd.com``), ``token`` the
shop's ``access_token``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
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
from lvyue.channels.adapters.common import (
    ceil_second,
    discount_to_match,
    floor_second,
    format_local_time,
    pull_windows,
    read_pages_backwards,
)
from lvyue.channels.adapters.fields import Fields
from lvyue.channels.adapters.signing import sign_value, top_style_sign
from lvyue.channels.adapters.transport import HttpAdapter, Injected, exchange
from lvyue.orders.canonical import (
    CanonicalBuyer,
    CanonicalLine,
    CanonicalOrder,
    CanonicalReceiver,
    ChannelStatus,
    RefundStatus,
)

GATEWAY_PATH = "/routerjson"
API_VERSION = "2.0"
LIST_METHOD = "jingdong.pop.order.search"
DETAIL_METHOD = "jingdong.pop.order.get"
SHIP_METHOD = "jingdong.pop.order.shipment"
STOCK_METHOD = "jingdong.stock.write.updateSkuStock"

# orderState → (our status, tags, line refund status). JD lists only orders that reached the
# "production" stage, i.e. paid or cash on delivery, so nothing maps to "unpaid".
# LOCKED: the buyer asked to cancel/refund (or risk control froze the order) and the seller
# has not decided: treat every line as refunding so review holds it. PAUSE /
# POP_ORDER_PAUSE: the platform paused fulfilment (LOC, 3C card numbers…): do not ship yet.
ORDER_STATES: dict[str, tuple[ChannelStatus, tuple[str, ...], RefundStatus]] = {
    "WAIT_SELLER_STOCK_OUT": ("paid", (), "none"),
    "WAIT_SELLER_DELIVERY": ("paid", (), "none"),  # cross-border: waiting for domestic leg
    "WAIT_SEND_CODE": ("paid", (), "none"),  # LOC (local service) orders
    "WAIT_GOODS_RECEIVE_CONFIRM": ("paid", (), "none"),
    "FINISHED_L": ("paid", (), "none"),
    "TRADE_CANCELED": ("cancelled", (), "none"),
    "LOCKED": ("paid", ("jd_locked",), "refunding"),
    "PAUSE": ("paid", ("jd_paused",), "none"),
    "POP_ORDER_PAUSE": ("paid", ("jd_paused",), "none"),
}

# The list call needs the states spelled out; asking for all of them is how an incremental
# pull sees cancellations and completions too.
LIST_STATES = ",".join(ORDER_STATES)

# ``optional_fields`` is required: without it JD refuses the call.
OPTIONAL_FIELDS = ",".join(
    (
        "orderId",
        "venderId",
        "orderType",
        "payType",
        "orderTotalPrice",
        "orderSellerPrice",
        "orderPayment",
        "freightPrice",
        "sellerDiscount",
        "orderState",
        "orderStateRemark",
        "orderRemark",
        "venderRemark",
        "orderStartTime",
        "orderEndTime",
        "paymentConfirmTime",
        "modified",
        "pin",
        "consigneeInfo",
        "itemInfoList",
        "waybill",
        "logisticsId",
    )
)

CARRIER_CODES = platform_codes(lambda c: c.jd)  # our carrier code -> logiCoprId

# Gateway error codes: 2 App Call Limited; 11/12 missing/invalid signature; 18/19 missing or
# invalid access_token [U — the token codes are from memory of the JOS table].
_RATE_LIMIT_CODES = frozenset({"2"})
_AUTH_CODES = frozenset({"11", "12", "18", "19"})

# JD writes "not happened" times as the zero date of Java or of Unix.
_NO_TIME = ("0001-01-01 00:00:00", "1970-01-01 00:00:00", "1970-01-01 08:00:00")


def jd_params(business: Mapping[str, Any]) -> str:
    """``360buy_param_json``: compact, sorted JSON with every value as text, the way JD's own
    SDKs send it (``"page":"1"``)."""
    return json.dumps(
        {k: sign_value(v) for k, v in business.items() if v is not None},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )


def jd_error(code: object, zh_desc: str = "", en_desc: str = "") -> ChannelError:
    text = f"jd {code}: {zh_desc or en_desc}" + (f" ({en_desc})" if zh_desc and en_desc else "")
    own = str(code)
    if own in _RATE_LIMIT_CODES:
        return RateLimited(text, code=own)
    if own in _AUTH_CODES:
        return AuthError(text, code=own)
    return ChannelError(text, code=own)


def unwrap(method: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``…_responce`` object of a successful call, else the mapped gateway error."""
    error = body.get("error_response")
    if isinstance(error, Mapping):
        raise jd_error(
            error.get("code", ""), str(error.get("zh_desc", "")), str(error.get("en_desc", ""))
        )
    stem = method.replace(".", "_")
    inner = body.get(f"{stem}_responce", body.get(f"{stem}_response"))
    if not isinstance(inner, dict):
        raise ChannelError(f"jd {method}: unexpected answer {str(body)[:200]}")
    if str(inner.get("code", "0")) != "0":
        raise ChannelError(f"jd {method}: code {inner.get('code')}", code=str(inner.get("code")))
    return inner


def check_api_result(result: Mapping[str, Any], method: str) -> None:
    """Business errors come back as ``apiResult{success: false, chineseErrCode, …}``."""
    api = result.get("apiResult")
    if isinstance(api, Mapping) and api.get("success") is False:
        code = str(api.get("numberCode") or api.get("englishErrCode") or "api_error")
        message = api.get("chineseErrCode") or api.get("englishErrCode") or ""
        raise ChannelError(f"jd {method}: {message}", code=code)


class JdAdapter(HttpAdapter):
    platform: ClassVar[str] = "jd"
    timeout: ClassVar[float] = 15.0

    def __init__(
        self,
        credentials: ShopCredentials,
        client: httpx.Client | None = None,
        **injected: Unpack[Injected],
    ) -> None:
        if not (credentials.app_key and credentials.app_secret and credentials.token):
            raise ValueError("JD needs app_key, app_secret and the shop's access_token")
        super().__init__(credentials, client, **injected)
        self._url = credentials.base_url.rstrip("/") + GATEWAY_PATH
        # JD allows up to one month per search; a day keeps each window's paging shallow.
        self.window = timedelta(days=1)
        self.page_size = 50  # the documented maximum (older SDKs sent 100)

    # -- transport ------------------------------------------------------------------------

    def call(self, method: str, business: Mapping[str, Any]) -> dict[str, Any]:
        """One API call with retries; returns the ``…_responce`` object."""
        param_json = jd_params(business)
        secret = self._credentials.app_secret or ""

        def once() -> dict[str, Any]:
            # Fresh timestamp per attempt: JD rejects requests more than 6 minutes off.
            params = {
                "method": method,
                "app_key": self._credentials.app_key or "",
                "access_token": self._credentials.token or "",
                "timestamp": format_local_time(self._clock()),
                "v": API_VERSION,
                "360buy_param_json": param_json,
            }
            params["sign"] = top_style_sign(params, secret)
            return unwrap(method, exchange(lambda: self._client.post(self._url, data=params)))

        return self._retrying(once)

    # -- orders ---------------------------------------------------------------------------

    def fetch_orders(self, since: datetime, until: datetime) -> Iterator[RawOrder]:
        # JD's bounds are whole seconds; pull_windows keeps [start, end), whatever JD does
        # with end_date, and drops the repeats that paging backwards shows.
        yield from pull_windows(
            since, until, self.window, lambda start, end: map(self._raw, self._search(start, end))
        )

    def _search(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        def fetch_page(page_no: int) -> tuple[Sequence[dict[str, Any]], int]:
            inner = self.call(
                LIST_METHOD,
                {
                    "start_date": format_local_time(floor_second(start)),
                    "end_date": format_local_time(ceil_second(end)),
                    "order_state": LIST_STATES,
                    "optional_fields": OPTIONAL_FIELDS,
                    "page": page_no,
                    "page_size": self.page_size,
                    "dateType": 0,  # [U] 0 = by modified time (JD's default), 1 = created
                },
            )
            result = Fields(inner.get("searchorderinfo_result"), "searchorderinfo_result")
            check_api_result(result.data, LIST_METHOD)
            rows = result.get("orderInfoList") or []
            if not isinstance(rows, list):
                raise ChannelError(f"{LIST_METHOD}: orderInfoList is not a list")
            return rows, result.integer("orderTotal")

        # Not documented for JD, but it pages by offset like TOP: reading from the last page
        # back is what keeps an order that changes mid-pull from pushing another one past us.
        return read_pages_backwards(fetch_page, self.page_size)

    def fetch_order(self, external_id: str) -> RawOrder:
        inner = self.call(
            DETAIL_METHOD,
            {
                "order_id": external_id,
                "optional_fields": OPTIONAL_FIELDS,
                "order_state": LIST_STATES,
            },
        )
        detail = Fields(inner.get("orderDetailInfo"), "orderDetailInfo")  # [U] response shape
        check_api_result(detail.data, DETAIL_METHOD)
        return self._raw(detail.get("orderInfo"))

    def _raw(self, payload: object) -> RawOrder:
        order = Fields(payload, "orderInfo")
        return RawOrder(order.text("orderId"), _time(order, "modified"), dict(order.data))

    # -- mapping --------------------------------------------------------------------------

    def parse(self, raw: RawOrder) -> CanonicalOrder:
        order = Fields(raw.payload)
        state = order.text("orderState")
        mapped = ORDER_STATES.get(state)
        if mapped is None:
            raise PayloadError(f"orderState: unknown JD order state {state!r}")
        status, tags, refund = mapped
        lines = [_line(item, refund) for item in order.objects("itemInfoList")]
        if not lines:
            raise PayloadError("itemInfoList: the order has no lines")
        goods = sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0.00"))
        shipping = order.money("freightPrice", default=Decimal("0.00"))
        created = _time(order, "orderStartTime")
        if created is None:
            raise PayloadError("orderStartTime: required time is missing")
        pin = order.opt_text("pin")
        return CanonicalOrder(
            external_id=order.text("orderId"),
            status=status,
            created_at=created,
            paid_at=_time(order, "paymentConfirmTime"),
            updated_at=_time(order, "modified"),
            buyer=CanonicalBuyer(id=pin, nick=pin),
            receiver=_receiver(order.obj("consigneeInfo")),
            lines=lines,
            shipping_fee=shipping,
            discount=discount_to_match(goods, shipping, order.money("orderPayment")),
            buyer_message=order.opt_text("orderRemark") or "",
            seller_memo=order.opt_text("venderRemark") or "",
            tags=list(tags),
        )

    # -- ship-back and stock --------------------------------------------------------------

    def ship(self, shipment: Shipment) -> None:
        if shipment.line_ids:
            raise ChannelError(
                "JD: shipment covers the whole order, not single lines", code="split"
            )
        carrier = CARRIER_CODES.get(shipment.carrier_code.upper())
        if carrier is None:
            raise ChannelError(
                f"JD: no logiCoprId for carrier {shipment.carrier_code!r}", code="unknown_carrier"
            )
        inner = self.call(
            SHIP_METHOD,
            {
                "orderId": shipment.external_id,
                "logiCoprId": carrier,
                "logiNo": shipment.tracking_no,
            },
        )
        _check_success(inner.get("sopjosshipment_result"), SHIP_METHOD)  # [U] response shape

    def push_stock(self, items: list[StockQuantity]) -> None:
        """Set absolute stock per JD ``skuId`` (``channel_sku``)."""
        for item in items:
            if item.quantity < 0:
                raise ValueError(f"negative stock for {item.channel_sku}")
            inner = self.call(STOCK_METHOD, {"skuId": item.channel_sku, "stockNum": item.quantity})
            _check_success(inner, STOCK_METHOD)  # [U] response shape


def _check_success(result: object, method: str) -> None:
    if isinstance(result, Mapping) and result.get("success") is False:
        code = str(result.get("errorCode") or result.get("englishErrCode") or "failed")
        message = result.get("chineseErrCode") or result.get("errorMessage") or code
        raise ChannelError(f"jd {method}: {message}", code=code)


def _time(fields: Fields, key: str) -> datetime | None:
    if fields.opt_text(key) in _NO_TIME:
        return None
    return fields.opt_local_time(key)


def _line(item: Fields, refund: RefundStatus) -> CanonicalLine:
    sku_id = item.text("skuId")
    quantity = item.integer("itemTotal")
    if quantity <= 0:
        raise PayloadError(f"{item.name('itemTotal')}: quantity must be positive, got {quantity}")
    sku_name = item.opt_text("skuName")
    return CanonicalLine(
        # Without a merchant code JD's skuId stands in, so SKU mapping can still match the
        # line through channel_sku_id instead of the import rejecting the order.
        sku=item.opt_text("outerSkuId") or sku_id,
        quantity=quantity,
        unit_price=item.money("jdPrice"),
        name=sku_name,
        # JD sends no separate spec: skuName is the ware title plus its sale attributes
        # ("马克杯 蓝色"), the only spec text the order carries.
        spec=sku_name,
        channel_sku_id=sku_id,
        # JD has no line id; a SKU appears once per order, so its id names the line.
        channel_line_id=sku_id,
        refund_status=refund,
    )


def _receiver(consignee: Fields) -> CanonicalReceiver:
    province = consignee.opt_text("province")
    city = consignee.opt_text("city")
    county = consignee.opt_text("county")
    address = consignee.opt_text("fullAddress") or ""
    # fullAddress repeats the regions in front ("浙江杭州市西湖区文三路…"): keep the street
    # part, as the canonical address wants, when they are there.
    for region in (province, city, county):
        if region and address.startswith(region):
            address = address[len(region) :]
    return CanonicalReceiver(
        name=consignee.opt_text("fullname"),
        phone=consignee.opt_text("mobile") or consignee.opt_text("telephone"),
        province=province,
        city=city,
        district=county,
        address=address,
    )
