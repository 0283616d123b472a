"""A fake JD POP (京东 JOS) router (CHANNELS.md §5) served over real HTTP by ``serve()``.

What it implements: ``POST /routerjson`` taking query + form parameters; the signature
``UPPER(MD5(secret + Σsorted(k+v) + secret))`` over every parameter but ``sign``
(``360buy_param_json`` included), checked on every request; ``timestamp`` within 6 minutes
of the fake's clock (``yyyy-MM-dd HH:mm:ss``, optionally ``.SSS+0800``); gateway errors as
``{"error_response": {"code", "zh_desc", "en_desc"}}`` (2 App Call Limited, 8 bad timestamp,
12 bad signature, 15 unknown method, 19 bad access_token [U]); answers wrapped in
``<method>_responce`` with ``code "0"``, business errors as ``apiResult{success: false}``.

``jingdong.pop.order.search``: ``start_date`` / ``end_date`` at most one calendar month apart,
by modified time (``dateType`` 1: by creation [U]), bounds inclusive [U], ``order_state``
filter, ``optional_fields`` required and applied, ``page`` from 1, ``page_size`` ≤ 50, rows
oldest-modified first [U — JD's sortType codes are not documented]. Also
``jingdong.pop.order.get`` [U shape], ``jingdong.pop.order.shipment`` (records the call,
moves the order to WAIT_GOODS_RECEIVE_CONFIRM) and ``jingdong.stock.write.updateSkuStock``
(records the call). Forced rate limits answer HTTP 429 + Retry-After or gateway code 2.

Test controls: ``add_order`` / ``cancel`` / ``lock`` / ``edit_address`` set ``modified`` to
the fake's clock (``set_time`` / ``advance``); ``after_list_page`` runs after each search page
is served. It shares no code with the adapter.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Callable
from copy import deepcopy
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.channels.fakes.base import Throttle, retry_after_header
from tests.channels.fakes.server import Request, Response

SHANGHAI = ZoneInfo("Asia/Shanghai")
FMT = "%Y-%m-%d %H:%M:%S"
MAX_PAGE_SIZE = 50
CLOCK_SKEW = timedelta(minutes=6)
CARRIERS = frozenset({"467", "463", "470", "1499", "1327", "465", "2087"})
GATEWAY_ERRORS = {
    "2": ("限制时间内调用失败次数", "App Call Limited"),
    "8": ("非法的时间戳参数", "Invalid Timestamp"),
    "11": ("缺少签名参数", "Missing Signature"),
    "12": ("无效签名", "Invalid Signature"),
    "14": ("缺少方法名参数", "Missing Method"),
    "15": ("不存在的方法名", "Invalid Method"),
    "19": ("无效access_token", "Invalid access_token"),
}


def sign(params: dict[str, str], secret: str) -> str:
    """JD's side of the signature, written independently of the adapter."""
    text = "".join(k + v for k, v in sorted(params.items()) if k != "sign" and v)
    return hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest().upper()


def local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime(FMT)


def parse_local(value: str) -> datetime:
    return datetime.strptime(value[:19], FMT).replace(tzinfo=SHANGHAI)


def one_month_after(value: datetime) -> datetime:
    """Same day next month, clamped to the month's end (Jan 31 → Feb 29/28)."""
    year, month = (value.year + 1, 1) if value.month == 12 else (value.year, value.month + 1)
    for day in (value.day, 30, 29, 28):
        try:
            return value.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class _GatewayError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        zh, en = GATEWAY_ERRORS[code]
        self.body = {"error_response": {"code": code, "zh_desc": zh, "en_desc": en}}


class _ApiError(Exception):
    """A business error, answered inside the method's envelope as apiResult."""

    def __init__(self, number: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.api_result = {
            "success": False,
            "numberCode": number,
            "chineseErrCode": zh,
            "englishErrCode": en,
        }


def make_item(
    outer_sku_id: str = "MUG-BLU",
    quantity: int = 2,
    price: str = "64.00",
    *,
    sku_id: str = "100012345678",
    name: str = "马克杯 蓝色",
) -> dict[str, Any]:
    return {
        "skuId": sku_id,
        "outerSkuId": outer_sku_id,
        "skuName": name,
        "jdPrice": price,
        "itemTotal": str(quantity),
        "wareId": "10001",
        "productNo": "",
    }


class FakeJd:
    def __init__(
        self,
        *,
        app_key: str = "yourappkey",
        app_secret: str = "yourappSecret",
        token: str = "yourtoken",
        now: datetime | None = None,
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.token = token
        self.now = now or datetime(2024, 5, 1, 12, 0, tzinfo=SHANGHAI)
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []  # accepted: (method, business params)
        self.shipments: list[dict[str, Any]] = []
        self.stock_updates: list[dict[str, Any]] = []
        self.after_list_page: Callable[[int], None] | None = None
        self._ids = itertools.count(1)
        self._throttle = Throttle()
        self._lock = threading.RLock()

    # --- test controls ----------------------------------------------------------------------

    def set_time(self, now: datetime) -> None:
        self.now = now

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    def rate_limit(self, times: int, *, retry_after: int = 2, http: bool = True) -> None:
        """Refuse the next ``times`` requests: HTTP 429 + Retry-After, or gateway code 2."""
        self._throttle.arm(times, retry_after, http=http)

    def add_order(
        self,
        items: list[dict[str, Any]] | None = None,
        *,
        order_id: str | None = None,
        state: str = "WAIT_SELLER_STOCK_OUT",
        freight: str = "0.00",
        seller_discount: str = "0.00",
        remark: str = "",
        vender_remark: str = "",
    ) -> dict[str, Any]:
        with self._lock:
            seq = next(self._ids)
            oid = order_id or str(290000000000 + seq)
            lines = deepcopy(items or [make_item()])
            goods = sum(Decimal(i["jdPrice"]) * int(i["itemTotal"]) for i in lines)
            payment = goods + Decimal(freight) - Decimal(seller_discount)
            stamp = local(self.now)
            order = {
                "orderId": oid,
                "venderId": "600001",
                "orderType": "22",
                "payType": "4-在线支付",
                "orderTotalPrice": f"{goods:.2f}",
                "orderSellerPrice": f"{goods - Decimal(seller_discount):.2f}",
                "orderPayment": f"{payment:.2f}",
                "freightPrice": freight,
                "sellerDiscount": seller_discount,
                "orderState": state,
                "orderStateRemark": "",
                "orderRemark": remark,
                "venderRemark": vender_remark,
                "orderStartTime": stamp,
                "orderEndTime": "0001-01-01 00:00:00",
                "paymentConfirmTime": stamp,
                "modified": stamp,
                "pin": f"jd_buyer_{seq}",
                "consigneeInfo": {
                    "fullname": "张*",
                    "mobile": "138****8000",
                    "telephone": "",
                    "province": "浙江",
                    "city": "杭州市",
                    "county": "西湖区",
                    "town": "",
                    "fullAddress": "浙江杭州市西湖区文三路**号",
                },
                "itemInfoList": lines,
                "waybill": "",
                "logisticsId": "",
            }
            self.orders[oid] = order
            return deepcopy(order)

    def _touch(self, order_id: str) -> dict[str, Any]:
        order = self.orders[order_id]
        order["modified"] = local(self.now)
        return order

    def cancel(self, order_id: str) -> None:
        with self._lock:
            self._touch(order_id)["orderState"] = "TRADE_CANCELED"

    def lock(self, order_id: str) -> None:
        """The buyer asked to cancel before shipment: JD locks the order."""
        with self._lock:
            self._touch(order_id)["orderState"] = "LOCKED"

    def edit_address(self, order_id: str, full_address: str) -> None:
        with self._lock:
            self._touch(order_id)["consigneeInfo"]["fullAddress"] = full_address

    # --- the protocol -----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
            if (refused := self._throttle.take()) is not None:
                wait, http = refused
                if http:
                    headers = retry_after_header(wait)
                    return Response.json(_GatewayError("2").body, status=429, headers=headers)
                return Response.json(_GatewayError("2").body)
            try:
                method, business = self._authenticate(request)
                answer = self._dispatch(method, business)
            except _GatewayError as err:
                return Response.json(err.body)
            self.calls.append((method, business))
            response = Response.json({method.replace(".", "_") + "_responce": answer})
            if method == "jingdong.pop.order.search" and self.after_list_page:
                self.after_list_page(int(business["page"]))
            return response

    def _authenticate(self, request: Request) -> tuple[str, dict[str, Any]]:
        params = {**request.query, **request.form()}
        if not params.get("method"):
            raise _GatewayError("14")
        if not params.get("sign"):
            raise _GatewayError("11")
        if not hmac.compare_digest(sign(params, self.app_secret), params["sign"]):
            raise _GatewayError("12")
        if params.get("app_key") != self.app_key or params.get("access_token") != self.token:
            raise _GatewayError("19")
        try:
            sent = parse_local(params.get("timestamp", ""))
        except ValueError:
            raise _GatewayError("8") from None
        if abs(sent - self.now) > CLOCK_SKEW:
            raise _GatewayError("8")
        try:
            business = json.loads(params.get("360buy_param_json") or "{}")
        except ValueError:
            business = None
        if not isinstance(business, dict):
            business = {}
        return params["method"], business

    def _dispatch(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "jingdong.pop.order.search": self._search,
            "jingdong.pop.order.get": self._get,
            "jingdong.pop.order.shipment": self._shipment,
            "jingdong.stock.write.updateSkuStock": self._update_stock,
        }
        handler = handlers.get(method)
        if handler is None:
            raise _GatewayError("15")
        return handler(p)

    @staticmethod
    def _project(order: dict[str, Any], fields: str) -> dict[str, Any]:
        wanted = {f.strip() for f in fields.split(",")}
        return {k: deepcopy(v) for k, v in order.items() if k in wanted}

    def _search(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            rows, total = self._search_rows(p)
        except _ApiError as err:
            return {"code": "0", "searchorderinfo_result": {"apiResult": err.api_result}}
        ok = {"success": True, "numberCode": 10100000, "chineseErrCode": "成功"}
        return {
            "code": "0",
            "searchorderinfo_result": {
                "apiResult": {**ok, "englishErrCode": "success"},
                "orderTotal": total,
                "orderInfoList": rows,
            },
        }

    def _search_rows(self, p: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        # Error numbers below are ours [I]; JD's texts say the same things.
        if not p.get("optional_fields"):
            raise _ApiError(10100011, "optional_fields不能为空", "optional_fields is required")
        if not p.get("order_state"):
            raise _ApiError(10100012, "order_state不能为空", "order_state is required")
        try:
            start, end = parse_local(p["start_date"]), parse_local(p["end_date"])
            page, size = int(p.get("page", 1)), int(p.get("page_size", 20))
        except (KeyError, TypeError, ValueError):
            raise _ApiError(10100013, "参数格式错误", "bad start_date/end_date/page") from None
        if end < start or end > one_month_after(start):
            raise _ApiError(
                10100014, "开始时间和结束时间不得相差超过1个月", "date span over one month"
            )
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            raise _ApiError(10100015, "page_size最大为50", "page_size must be 1..50")
        states = {s.strip() for s in str(p["order_state"]).split(",")}
        key = "orderStartTime" if str(p.get("dateType", "0")) == "1" else "modified"
        rows = sorted(
            (
                o
                for o in self.orders.values()
                if o["orderState"] in states and start <= parse_local(o[key]) <= end
            ),
            key=lambda o: (o["modified"], o["orderId"]),
        )
        window = rows[(page - 1) * size : page * size]
        return [self._project(o, p["optional_fields"]) for o in window], len(rows)

    def _get(self, p: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(str(p.get("order_id", "")))
        if order is None:
            api = _ApiError(10100020, "订单不存在", "order not found").api_result
            return {"code": "0", "orderDetailInfo": {"apiResult": api}}
        fields = p.get("optional_fields") or ",".join(order)
        return {
            "code": "0",
            "orderDetailInfo": {
                "apiResult": {"success": True},
                "orderInfo": self._project(order, fields),
            },
        }

    def _shipment(self, p: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(str(p.get("orderId", "")))
        result: dict[str, Any] = {"success": True, "chineseErrCode": "成功"}
        if order is None:
            result = {"success": False, "errorCode": "10400001", "chineseErrCode": "订单不存在"}
        elif str(p.get("logiCoprId")) not in CARRIERS or not p.get("logiNo"):
            result = {"success": False, "errorCode": "10400002", "chineseErrCode": "物流信息错误"}
        elif order["orderState"] != "WAIT_SELLER_STOCK_OUT":
            result = {"success": False, "errorCode": "10400003", "chineseErrCode": "订单状态不对"}
        else:
            self.shipments.append(dict(p))
            order["orderState"] = "WAIT_GOODS_RECEIVE_CONFIRM"
            order["waybill"], order["logisticsId"] = p["logiNo"], str(p["logiCoprId"])
            order["modified"] = local(self.now)
        return {"code": "0", "sopjosshipment_result": result}

    def _update_stock(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            stock = int(p["stockNum"])
            ok = bool(p.get("skuId")) and stock >= 0
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            return {"code": "0", "success": False, "errorCode": "10500001"}
        self.stock_updates.append(dict(p))
        return {"code": "0", "success": True}
