"""A fake Pinduoduo open-platform gateway (CHANNELS.md §4).

It keeps orders and goods in memory and answers ``/api/router`` like PDD: a JSON (or form)
body signed with UPPER(MD5(secret + sorted(k+v) + secret)) (checked with the TOP fake's
independent reference signer), ``error_response`` envelopes with ``error_code``, windows of at
most 30 minutes in Unix seconds, page sizes of at most 100, results ordered by ``updated_at``
descending with ``total_count`` / ``has_next``, ship-back moving the order to "shipped", and
stock updates of type 1 (absolute) and 2 (delta). Tests drive it through its methods: add and
change orders (every change bumps ``updated_at`` to the fake's clock), move the clock,
rate-limit the next requests, hook a change in between list pages, and read what was shipped
and pushed.

Error codes: 10016 bad client_id, 10019 access_token expired, 20004 signature check failed,
70031 called too often [S, SDKs and issue reports]; 10000 for bad parameters is a guess [U].
"""

from __future__ import annotations

import copy
import hmac
import itertools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.channels.fakes.base import MovableClock, Throttle, retry_after_header
from tests.channels.fakes.server import Request, Response
from tests.channels.fakes.taobao import SHANGHAI, local, parse_local, reference_sign

MAX_WINDOW_SECONDS = 30 * 60
MAX_PAGE_SIZE = 100
LOGISTICS_IDS = {1, 3, 44, 85, 115, 118, 120, 121, 132}


class PddError(Exception):
    def __init__(self, code: int, msg: str, sub_msg: str = "") -> None:
        super().__init__(msg)
        self.body = {
            "error_code": code,
            "error_msg": msg,
            "sub_code": str(code),
            "sub_msg": sub_msg,
        }


def _bad(name: str, why: str) -> PddError:
    return PddError(10000, "参数错误", f"{name}: {why}")


def as_text(value: object) -> str:
    """How the gateway reads a JSON value for the signature (bools as true/false, objects as
    compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


@dataclass
class FakePinduoduo(MovableClock):
    client_id: str = "fake-client-id"
    client_secret: str = "fake-pdd-secret"
    access_token: str = "fake-access-token"
    now: datetime = field(default_factory=lambda: datetime(2024, 5, 1, 12, 0, tzinfo=SHANGHAI))
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    # goods_id -> {sku_id: {"outer_id": ..., "quantity": ...}}
    goods: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    stock_updates: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    list_windows: list[tuple[int, int]] = field(default_factory=list)
    on_list_page: Callable[[int], None] | None = None
    _throttle: Throttle = field(default_factory=Throttle)
    _serials: itertools.count[int] = field(default_factory=lambda: itertools.count(481234567890001))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # --- test controls ----------------------------------------------------------------------

    def rate_limit_next(self, n: int, *, http: bool = False, wait_seconds: int = 2) -> None:
        """Refuse the next ``n`` requests: error 70031, or plain HTTP 429 with Retry-After."""
        self._throttle.arm(n, wait_seconds, http=http)

    def add_order(
        self,
        *,
        order_status: int = 1,
        items: list[dict[str, Any]] | None = None,
        postage: float = 0.0,
        discount: float = 0.0,
        at: datetime | None = None,
        **fields: Any,
    ) -> str:
        """Add a paid order updated (and created) at ``at`` (default: the clock)."""
        at = at or self.now
        order_sn = f"{at.strftime('%y%m%d')}-{next(self._serials)}"
        items = items or [
            {
                "goods_id": 470000000001,
                "goods_name": "马克杯",
                "goods_spec": "蓝色",
                "sku_id": 1190000000001,
                "outer_id": "MUG-BLU",
                "outer_goods_id": "MUG",
                "goods_count": 2,
                "goods_price": 64.0,
                "goods_img": "https://img.example/mug.jpg",
            }
        ]
        goods = sum((Decimal(repr(i["goods_price"])) * i["goods_count"] for i in items), Decimal(0))
        pay = goods + Decimal(repr(postage)) - Decimal(repr(discount))
        order: dict[str, Any] = {
            "order_sn": order_sn,
            "order_status": order_status,
            "refund_status": 1,
            "after_sales_status": 0,
            "confirm_status": 1,
            "group_status": 1,
            "trade_type": 0,
            "risk_control_status": 0,
            "created_time": local(at),
            "pay_time": local(at),
            "confirm_time": local(at),
            "updated_at": local(at),
            "last_ship_time": local(at + timedelta(days=2)),
            "shipping_time": "",
            "goods_amount": float(goods),
            "discount_amount": discount,
            "platform_discount": 0.0,
            "seller_discount": discount,
            "postage": postage,
            "pay_amount": float(pay),
            "country": "中国",
            "province": "浙江省",
            "city": "杭州市",
            "town": "西湖区",
            "receiver_name": "~AgAAAAfakename~",
            "receiver_phone": "$1380$AgAAAAfakephone$",
            "receiver_address": "~AgAAAAfakeaddress~",
            "receiver_name_mask": "张*",
            "receiver_phone_mask": "138****8000",
            "receiver_address_mask": "文三路**号",
            "address_mask": "浙江省杭州市西湖区文三路**号",
            "buyer_memo": "",
            "remark": "",
            "remark_tag": 0,
            "tracking_number": "",
            "logistics_id": 0,
            "pay_type": "WEIXIN",
            "item_list": items,
        }
        order.update(fields)
        self.orders[order_sn] = order
        return order_sn

    def order(self, order_sn: str) -> dict[str, Any]:
        return self.orders[order_sn]

    def touch(self, order_sn: str) -> None:
        self.order(order_sn)["updated_at"] = local(self.now)

    def change(self, order_sn: str, **fields: Any) -> None:
        self.order(order_sn).update(fields)
        self.touch(order_sn)

    def refund(self, order_sn: str, *, refund_status: int = 4) -> None:
        """2/3: refund in progress; 4: refunded in full."""
        after_sales = {2: 2, 3: 4, 4: 10}.get(refund_status, 0)
        self.change(order_sn, refund_status=refund_status, after_sales_status=after_sales)

    def edit_address(self, order_sn: str, **fields: str) -> None:
        self.change(order_sn, **fields)

    def add_goods(self, goods_id: int, skus: Mapping[int, str]) -> None:
        """Goods with SKUs; ``skus`` maps sku_id to the merchant's outer_id."""
        self.goods[goods_id] = {s: {"outer_id": o, "quantity": 0} for s, o in skus.items()}

    # --- the protocol -----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            if request.path != "/api/router":
                return Response.json({"error": "not found"}, status=404)
            if request.headers.get("content-type", "").startswith("application/json"):
                params = {**request.query, **(request.json() or {})}
            else:
                params = {**request.query, **request.form()}
            self.calls.append(params)
            if (refused := self._throttle.take()) is not None:
                wait, http = refused
                if http:
                    too_many = {"error": "too many requests"}
                    return Response.json(too_many, status=429, headers=retry_after_header(wait))
                return self._error(PddError(70031, "调用过于频繁，请调整调用频率"))
            api_type = str(params.get("type", ""))
            try:
                self._authenticate(params)
                handler = {
                    "pdd.order.number.list.increment.get": self._increment_get,
                    "pdd.order.information.get": self._information_get,
                    "pdd.logistics.online.send": self._online_send,
                    "pdd.goods.quantity.update": self._quantity_update,
                }.get(api_type)
                if handler is None:
                    raise PddError(10000, "参数错误", f"unknown type {api_type}")
                key, body = handler(params)
                body["request_id"] = f"fake{len(self.calls)}"
                response = Response.json({key: body})
            except PddError as exc:
                return self._error(exc)
            if api_type == "pdd.order.number.list.increment.get" and self.on_list_page:
                self.on_list_page(int(params.get("page") or 1))
            return response

    def _error(self, exc: PddError) -> Response:
        return Response.json({"error_response": {**exc.body, "request_id": "fakeerr"}})

    def _authenticate(self, params: dict[str, Any]) -> None:
        if params.get("client_id") != self.client_id:
            raise PddError(10016, "client下线或者clientId不正确")
        texts = {k: as_text(v) for k, v in params.items()}
        if not hmac.compare_digest(
            texts.get("sign", ""), reference_sign(texts, self.client_secret, "md5")
        ):
            raise PddError(20004, "签名验证失败", "签名验证失败")
        if params.get("access_token") != self.access_token:
            raise PddError(10019, "access_token已过期")
        if not texts.get("timestamp", "").isdigit():
            raise _bad("timestamp", "Unix seconds required")

    @staticmethod
    def _int(params: dict[str, Any], name: str, default: int | None = None) -> int:
        value = params.get(name, default)
        if value is None or value == "":
            if default is None:
                raise PddError(10000, "参数错误", f"{name} is required")
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(name, "not an integer") from None

    def _increment_get(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        start = self._int(params, "start_updated_at")
        end = self._int(params, "end_updated_at")
        if end < start or end - start > MAX_WINDOW_SECONDS:
            raise _bad("end_updated_at", "开始时间结束时间间距不超过30分钟")
        page = self._int(params, "page", 1)
        page_size = self._int(params, "page_size", 100)
        if page < 1:
            raise _bad("page", "page must be >= 1")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise _bad("page_size", f"page_size must be 1..{MAX_PAGE_SIZE}")
        self.list_windows.append((start, end))

        def updated(order: dict[str, Any]) -> int:
            return int(parse_local(order["updated_at"]).timestamp())

        matching = sorted(
            (o for o in self.orders.values() if start <= updated(o) <= end),
            key=lambda o: (updated(o), o["order_sn"]),
            reverse=True,
        )
        rows = matching[(page - 1) * page_size : page * page_size]
        body: dict[str, Any] = {
            "has_next": page * page_size < len(matching),
            "order_sn_list": copy.deepcopy(rows),
        }
        if as_text(params.get("use_has_next")) != "true":
            body["total_count"] = len(matching)
        return "order_sn_increment_get_response", body

    def _information_get(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        order = self.orders.get(str(params.get("order_sn", "")))
        if order is None:
            raise _bad("order_sn", "订单不存在")
        return "order_info_get_response", {"order_info": copy.deepcopy(order)}

    def _online_send(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        order = self.orders.get(str(params.get("order_sn", "")))
        if order is None:
            raise _bad("order_sn", "订单不存在")
        logistics_id = self._int(params, "logistics_id")
        tracking = as_text(params.get("tracking_number"))
        if not tracking:
            raise _bad("tracking_number", "required")
        if logistics_id not in LOGISTICS_IDS:
            raise _bad("logistics_id", "快递公司不存在")
        redelivery = self._int(params, "redelivery_type", 1)
        allowed = 1 if redelivery == 1 else 2
        if order["order_status"] != allowed or order["refund_status"] == 4:
            raise PddError(10000, "参数错误", "订单状态不允许发货")
        if order["risk_control_status"] == 1:
            raise PddError(10000, "参数错误", "订单审核中，不能发货")
        order |= {
            "order_status": 2,
            "tracking_number": tracking,
            "logistics_id": logistics_id,
            "shipping_time": local(self.now),
            # Ciphertext is only returned while the order awaits shipment.
            "receiver_name": "",
            "receiver_phone": "",
            "receiver_address": "",
        }
        self.touch(order["order_sn"])
        self.shipments.append(
            {
                "order_sn": order["order_sn"],
                "logistics_id": logistics_id,
                "tracking_number": tracking,
            }
        )
        return "logistics_online_send_response", {"is_success": True}

    def _quantity_update(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        goods_id = self._int(params, "goods_id")
        if goods_id not in self.goods:
            raise _bad("goods_id", "商品不存在")
        skus = self.goods[goods_id]
        quantity = self._int(params, "quantity")
        kind = self._int(params, "update_type", 1)
        if kind not in (1, 2):
            raise _bad("update_type", "1 or 2")
        if params.get("sku_id") not in (None, ""):
            sku_id = self._int(params, "sku_id")
        else:
            outer = as_text(params.get("outer_id"))
            matches = [s for s, sku in skus.items() if sku["outer_id"] == outer]
            if not outer or not matches:
                raise _bad("outer_id", "sku_id or outer_id required")
            sku_id = matches[0]
        if sku_id not in skus:
            raise _bad("sku_id", "SKU不存在")
        new = quantity if kind == 1 else skus[sku_id]["quantity"] + quantity
        if new < 0:
            raise _bad("quantity", "库存不能小于0")
        skus[sku_id]["quantity"] = new
        self.stock_updates.append(
            {"goods_id": goods_id, "sku_id": sku_id, "quantity": quantity, "update_type": kind}
        )
        return "goods_quantity_update_response", {"is_success": True}
