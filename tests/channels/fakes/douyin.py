"""A fake Douyin 抖店 open platform (CHANNELS.md §6) served over real HTTP by ``serve()``.

What it implements, as the platform documents it: ``POST /<method with dots as slashes>`` with
the system parameters in the query string and ``param_json`` as the body; the signature
(``hmac-sha256`` or ``md5``; md5 when ``sign_method`` is missing [U]) recomputed over the body
exactly as received; the envelope ``{"code", "msg", "sub_code", "sub_msg", "log_id", "data"}``
with the platform's error codes (40003 ``isv.signature-invalid`` / ``isv.access-token-*``,
40004 ``isv.parameter-invalid:*``, 50002 ``isv.business-failed:*``, 60000 flow control);
``order.searchList`` with ``update_time_*`` / ``create_time_*`` bounds (inclusive [U]),
0-based ``page``, ``size`` ≤ 100 (20008), page × size capped at 50,000 rows (20013, "shorten
the time range"), only orders created in the last 90 days (20022), ``order_by`` /
``order_asc`` (default: newest created first); ``order.orderDetail``; ``order.logisticsAdd``
(ships a to-ship order, records the call); ``sku.syncStock`` (records the call). Forced rate
limits answer either HTTP 429 + Retry-After or code 60000.

Test controls: ``add_order`` / ``pay`` / ``cancel`` / ``refund_line`` / ``edit_address`` bump
the order's ``update_time`` to the fake's clock (``set_time`` / ``advance``);
``after_list_page`` runs after each searchList page is served (to change orders mid-paging).
It shares no code with the adapter.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from tests.channels.fakes.base import Throttle, retry_after_header
from tests.channels.fakes.server import Request, Response

SUCCESS = 10000
MAX_SIZE = 100
LOOKBACK = 90 * 86400
COMPANIES = frozenset(
    {"shunfeng", "zhongtong", "yuantong", "shentong", "yunda", "jd", "ems", "youzhengguonei"}
)
SHIPPABLE = frozenset({2, 101, 105})


def sign(
    app_key: str, secret: str, method: str, body: str, timestamp: str, sign_method: str
) -> str:
    """The platform's side of the signature, written independently of the adapter."""
    parts = [secret, "app_key", app_key, "method", method, "param_json", body]
    parts += ["timestamp", timestamp, "v", "2", secret]
    text = "".join(parts).encode("utf-8")
    if sign_method == "md5":
        return hashlib.md5(text).hexdigest()
    return hmac.new(secret.encode("utf-8"), text, hashlib.sha256).hexdigest()


class _Fail(Exception):
    def __init__(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(sub_msg or msg)
        self.body = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _invalid(number: int, sub_msg: str) -> _Fail:
    return _Fail(40004, "非法的参数", f"isv.parameter-invalid:{number}", sub_msg)


def make_line(
    code: str = "MUG-BLU",
    quantity: int = 2,
    price_fen: int = 6400,
    *,
    sku_id: int = 1700000000000001,
    product_id: int = 3600000000000000001,
    product_name: str = "马克杯",
    spec: tuple[tuple[str, str], ...] = (("颜色", "蓝色"),),
    out_sku_id: str = "0",
) -> dict[str, Any]:
    """One SKU order (line), before the fake assigns its ids."""
    return {
        "product_id": product_id,
        "product_id_str": str(product_id),
        "product_name": product_name,
        "sku_id": sku_id,
        "code": code,
        "out_sku_id": out_sku_id,
        "out_product_id": "0",
        "spec": [{"name": n, "value": v} for n, v in spec],
        "item_num": quantity,
        "goods_price": price_fen,
        "origin_amount": price_fen,
        "sum_amount": price_fen * quantity,
        "pay_amount": price_fen * quantity,
        "goods_type": 0,
        "after_sale_info": {"after_sale_status": 0, "after_sale_type": 0, "refund_status": 0},
    }


class FakeDouyin:
    def __init__(
        self,
        *,
        app_key: str = "1234567890",
        app_secret: str = "testsecret",
        token: str = "shop-access-token",
        now: int = 1_714_536_000,  # 2024-05-01 12:00:00 Asia/Shanghai
        max_results: int = 50_000,
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.token = token
        self.now = now
        self.max_results = max_results
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests = 0  # every request, accepted or not
        self.calls: list[tuple[str, dict[str, Any]]] = []  # accepted calls: (method, params)
        self.shipments: list[dict[str, Any]] = []
        self.stock_updates: list[dict[str, Any]] = []
        self.after_list_page: Callable[[int], None] | None = None
        self._ids = itertools.count(1)
        self._throttle = Throttle()
        # Re-entrant: an after_list_page hook changes orders while a request holds the lock.
        self._lock = threading.RLock()

    # --- test controls ----------------------------------------------------------------------

    def set_time(self, now: int) -> None:
        self.now = now

    def advance(self, seconds: int) -> None:
        self.now += seconds

    def rate_limit(self, times: int, *, retry_after: int = 2, http: bool = True) -> None:
        """Refuse the next ``times`` requests: HTTP 429 + Retry-After, or code 60000."""
        self._throttle.arm(times, retry_after, http=http)

    def add_order(
        self,
        lines: list[dict[str, Any]] | None = None,
        *,
        order_id: str | None = None,
        status: int = 2,
        post_amount: int = 0,
        promotion_amount: int = 0,
        buyer_words: str = "",
        seller_words: str = "",
        created: int | None = None,
    ) -> dict[str, Any]:
        """A shop order created (and, unless ``status`` is 1, paid) at the fake's clock."""
        with self._lock:
            seq = next(self._ids)
            oid = order_id or str(6920000000000000000 + seq * 10)
            skus = []
            for i, line in enumerate(lines or [make_line()], start=1):
                sku = dict(line)
                sku.update({"order_id": str(int(oid) + i), "parent_order_id": oid})
                sku["order_status"] = status
                skus.append(sku)
            goods = sum(s["origin_amount"] * s["item_num"] for s in skus)
            created_at = self.now if created is None else created
            order: dict[str, Any] = {
                "order_id": oid,
                "order_level": 2,
                "shop_id": 77001,
                "order_status": status,
                "order_status_desc": "",
                "main_status": status,
                "create_time": created_at,
                "update_time": self.now,
                "pay_time": 0 if status == 1 else created_at,
                "finish_time": 0,
                "exp_ship_time": created_at + 48 * 3600,
                "ship_time": 0,
                "order_amount": goods + post_amount - promotion_amount,
                "pay_amount": goods + post_amount - promotion_amount,
                "post_amount": post_amount,
                "promotion_amount": promotion_amount,
                "promotion_shop_amount": promotion_amount,
                "promotion_platform_amount": 0,
                "modify_amount": 0,
                "pay_type": 1,
                "buyer_words": buyer_words,
                "seller_words": seller_words,
                "seller_remark_stars": 0,
                "doudian_open_id": f"open-id-{seq}",
                "post_receiver": f"#enc#name{seq}",
                "post_tel": f"$enc$tel{seq}",
                "encrypt_post_receiver": f"#enc#name{seq}",
                "encrypt_post_tel": f"$enc$tel{seq}",
                "mask_post_receiver": "张*",
                "mask_post_tel": "138****8000",
                "post_addr": {
                    "province": {"id": "33", "name": "浙江省"},
                    "city": {"id": "330100", "name": "杭州市"},
                    "town": {"id": "330106", "name": "西湖区"},
                    "street": {"id": "330106001", "name": "文新街道"},
                    "detail": f"#enc#addr{seq}",
                    "encrypt_detail": f"#enc#addr{seq}",
                },
                "mask_post_addr": {
                    "province": {"id": "33", "name": "浙江省"},
                    "city": {"id": "330100", "name": "杭州市"},
                    "town": {"id": "330106", "name": "西湖区"},
                    "street": {"id": "330106001", "name": "文新街道"},
                    "detail": "文三路**号",
                },
                "logistics_info": [],
                "sku_order_list": skus,
            }
            self.orders[oid] = order
            return deepcopy(order)

    def _touch(self, order_id: str) -> dict[str, Any]:
        order = self.orders[order_id]
        order["update_time"] = self.now
        return order

    def _set_status(self, order: dict[str, Any], status: int) -> None:
        order["order_status"] = order["main_status"] = status
        for sku in order["sku_order_list"]:
            sku["order_status"] = status

    def pay(self, order_id: str) -> None:
        with self._lock:
            order = self._touch(order_id)
            order["pay_time"] = self.now
            self._set_status(order, 2)

    def cancel(self, order_id: str) -> None:
        with self._lock:
            self._set_status(self._touch(order_id), 4)

    def refund_line(self, order_id: str, line_index: int = 0, *, done: bool = False) -> None:
        """The buyer asks for a refund of one line (``done``: the refund went through)."""
        with self._lock:
            sku = self._touch(order_id)["sku_order_list"][line_index]
            sku["after_sale_info"] = {
                "after_sale_status": 12 if done else 6,
                "after_sale_type": 2,
                "refund_status": 3 if done else 1,
            }

    def edit_address(self, order_id: str, masked_detail: str) -> None:
        with self._lock:
            order = self._touch(order_id)
            order["post_addr"]["detail"] = f"#enc#{masked_detail}"
            order["mask_post_addr"]["detail"] = masked_detail

    # --- the protocol -----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
            if (refused := self._throttle.take()) is not None:
                wait, http = refused
                body = {"code": 60000, "msg": "触发限流，请稍后重试", "sub_code": "", "sub_msg": ""}
                if http:
                    return self._answer(body, status=429, headers=retry_after_header(wait))
                return self._answer(body)
            try:
                method, params = self._authenticate(request)
                data = self._dispatch(method, params)
            except _Fail as fail:
                return self._answer(fail.body)
            self.calls.append((method, params))
            body = {"code": SUCCESS, "msg": "success", "sub_code": "", "sub_msg": "", "data": data}
            response = self._answer(body)
            if method == "order.searchList" and self.after_list_page:
                self.after_list_page(params["page"])
            return response

    def _answer(
        self, body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        body = {**body, "log_id": f"fake{self.requests:08d}"}
        return Response.json(body, status=status, headers=headers)

    def _authenticate(self, request: Request) -> tuple[str, dict[str, Any]]:
        if request.method != "POST":
            raise _Fail(40001, "缺少必选参数（平台校验）", "isv.method-missing", "only POST")
        q = request.query
        method = request.path.strip("/").replace("/", ".")
        for key, sub in (("app_key", "isv.app-id-missing"), ("sign", "isv.signature-missing")):
            if not q.get(key):
                raise _Fail(40001, "缺少必选参数（平台校验）", sub, f"{key} is missing")
        if not q.get("access_token"):
            raise _Fail(40001, "缺少必选参数（平台校验）", "isv.access-token-missing", "")
        if q.get("method") != method:
            raise _Fail(40003, "非法的参数（平台校验）", "isv.method-invalid", "method ≠ path")
        if not q.get("timestamp", "").isdigit():
            raise _Fail(40003, "非法的参数（平台校验）", "isv.timestamp-format-error", "")
        if q.get("v") != "2":
            raise _Fail(40003, "非法的参数（平台校验）", "isv.version-invalid", "v must be 2")
        if q["app_key"] != self.app_key:
            raise _Fail(40003, "非法的参数（平台校验）", "isv.app-id-invalid", "unknown app_key")
        sign_method = q.get("sign_method") or "md5"
        body = request.body.decode("utf-8")
        expected = sign(self.app_key, self.app_secret, method, body, q["timestamp"], sign_method)
        if sign_method not in ("md5", "hmac-sha256") or not hmac.compare_digest(
            expected, q["sign"]
        ):
            raise _Fail(40003, "非法的参数（平台校验）", "isv.signature-invalid", "签名校验失败")
        if q["access_token"] != self.token:
            raise _Fail(
                40003, "非法的参数（平台校验）", "isv.access-token-no-existed", "access_token不存在"
            )
        try:
            params = json.loads(body or "{}")
        except ValueError:
            params = None
        if not isinstance(params, dict):
            raise _Fail(40003, "非法的参数（平台校验）", "isv.parameter-format-invalid", "")
        return method, params

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "order.searchList": self._search_list,
            "order.orderDetail": self._order_detail,
            "order.logisticsAdd": self._logistics_add,
            "sku.syncStock": self._sync_stock,
        }
        handler = handlers.get(method)
        if handler is None:
            raise _Fail(70000, "接口服务已下线", "isp.api-service-off", "API不存在或API已下线")
        return handler(params)

    def _search_list(self, p: dict[str, Any]) -> dict[str, Any]:
        page, size = p.get("page"), p.get("size")
        if not isinstance(page, int) or not isinstance(size, int):
            raise _Fail(40002, "缺少必选参数（业务校验）", "isv.missing-parameter", "page/size")
        if size <= 0 or size > MAX_SIZE:
            raise _invalid(20008, "单页最大支持100，size设置需要 <= 100")
        if page < 0:
            raise _invalid(10035, "查询订单列表页数不能小于0")
        if p.get("update_time_start") is None and p.get("create_time_start") is None:
            raise _invalid(20011, "订单查询开始时间不能为空")
        oldest = self.now - LOOKBACK
        if p.get("create_time_start") is not None and p["create_time_start"] < oldest:
            raise _invalid(20022, "订单查询只支持查询最近90天内的数据")
        if (page + 1) * size > self.max_results:
            raise _invalid(20013, "订单查询最多支持查询5万")
        create_lo = p.get("create_time_start", oldest)

        def wanted(o: dict[str, Any]) -> bool:
            bounds = (
                ("create_time", create_lo, p.get("create_time_end")),
                ("update_time", p.get("update_time_start"), p.get("update_time_end")),
            )
            for key, lo, hi in bounds:
                if (lo is not None and o[key] < lo) or (hi is not None and o[key] > hi):
                    return False
            statuses = p.get("combine_status") or []
            if statuses:
                codes = str(statuses[0].get("order_status", "")).split(",")
                return str(o["order_status"]) in codes
            return True

        sort_key = p.get("order_by") or "create_time"
        if sort_key not in ("create_time", "update_time"):
            raise _invalid(20001, "order_by 只支持 create_time / update_time")
        rows = sorted(
            (o for o in self.orders.values() if wanted(o)),
            key=lambda o: (o[sort_key], o["order_id"]),
            reverse=not p.get("order_asc", False),
        )
        window = rows[page * size : (page + 1) * size]
        return {"page": page, "size": size, "total": len(rows), "shop_order_list": deepcopy(window)}

    def _order_detail(self, p: dict[str, Any]) -> dict[str, Any]:
        order = self.orders.get(str(p.get("shop_order_id", "")))
        if order is None:
            raise _invalid(20045, "订单不存在")
        return {"shop_order_detail": deepcopy(order)}

    def _logistics_add(self, p: dict[str, Any]) -> dict[str, Any]:
        for key in ("order_id", "company_code", "logistics_code"):
            if not p.get(key):
                raise _Fail(40002, "缺少必选参数（业务校验）", "isv.missing-parameter", key)
        order = self.orders.get(str(p["order_id"]))
        if order is None:
            raise _invalid(20045, "订单不存在")
        if p["company_code"] not in COMPANIES:
            raise _Fail(50002, "业务处理失败", "isv.business-failed:1001", "物流公司编码不存在")
        if order["order_status"] not in SHIPPABLE:
            raise _Fail(50002, "业务处理失败", "isv.business-failed:1002", "订单状态不允许发货")
        self.shipments.append(dict(p))
        self._set_status(order, 3)
        order["ship_time"] = order["update_time"] = self.now
        order["logistics_info"].append(
            {
                "tracking_no": p["logistics_code"],
                "company": p["company_code"],
                "company_name": p["company_code"],
                "ship_time": self.now,
                "delivery_id": f"D{len(self.shipments)}",
            }
        )
        return {}

    def _sync_stock(self, p: dict[str, Any]) -> dict[str, Any]:
        if not any(p.get(k) for k in ("sku_id", "code", "out_sku_id")):
            raise _Fail(40002, "缺少必选参数（业务校验）", "isv.missing-parameter", "sku_id/code")
        stock = p.get("stock_num")
        if not isinstance(stock, int) or stock < 0:
            raise _invalid(10001, "stock_num 必须为非负整数")
        if p.get("incremental") and not p.get("idempotent_id"):
            raise _invalid(10002, "增量更新需要 idempotent_id")
        self.stock_updates.append(dict(p))
        return {}
