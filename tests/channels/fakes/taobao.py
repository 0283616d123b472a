"""A fake Taobao TOP gateway (CHANNELS.md §3, "Fake-server behaviours" §3.11).

It keeps trades and items in memory and answers ``/router/rest`` like TOP: query + form merged
and signed (md5 / hmac / hmac-sha256, checked with its own reference signer), timestamps within
±10 minutes of the fake's clock, ``error_response`` envelopes, windows of at most one day,
page sizes of at most 100, results ordered by ``modified`` descending, ``has_next`` /
``total_results``, ship-back flipping trade and sub-order states, and stock updates of type 1
(absolute) and 2 (delta). Tests drive it through its methods: add and change trades (every
change bumps ``modified`` to the fake's clock), move the clock, rate-limit the next requests,
hook a change in between list pages, and read what was shipped and pushed.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.channels.fakes.base import MovableClock, Throttle, retry_after_header
from tests.channels.fakes.server import Request, Response

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_WINDOW = timedelta(days=1)
MAX_PAGE_SIZE = 100
TIMESTAMP_TOLERANCE = timedelta(minutes=10)
UNPAID = {"TRADE_NO_CREATE_PAY", "WAIT_BUYER_PAY", "PAY_PENDING", "WAIT_PRE_AUTH_CONFIRM"}
SHIPPABLE = {"WAIT_SELLER_SEND_GOODS", "SELLER_CONSIGNED_PART"}
# Company codes the fake knows (a subset of taobao.logistics.companies.get).
COMPANY_CODES = {"SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "EMS", "POSTB", "ZJS", "DBL"}


def reference_sign(params: Mapping[str, str], secret: str, method: str = "md5") -> str:
    """TOP signing written out again for the fake, independently of the adapter's helper, so
    a mistake in one shows up against the other and against the CHANNELS.md vectors."""
    text = ""
    for key in sorted(params):
        if key != "sign" and key and params[key] not in ("", None):
            text += key + params[key]
    if method == "md5":
        return hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest().upper()
    algorithm = {"hmac": hashlib.md5, "hmac-sha256": hashlib.sha256}[method]
    return hmac.new(secret.encode(), text.encode(), algorithm).hexdigest().upper()


def local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime(TIME_FORMAT)


def parse_local(value: str) -> datetime:
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=SHANGHAI)


class TopError(Exception):
    def __init__(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(msg)
        self.body = {"code": code, "msg": msg}
        if sub_code:
            self.body |= {"sub_code": sub_code, "sub_msg": sub_msg}


def _missing(name: str) -> TopError:
    return TopError(40, "Missing required arguments:" + name, "isv.missing-parameter", name)


def _invalid(name: str, why: str) -> TopError:
    return TopError(41, "Invalid arguments:" + name, "isv.invalid-parameter:" + name, why)


@dataclass
class FakeTaobao(MovableClock):
    app_key: str = "12345678"
    secret: str = "fake-taobao-secret"
    session: str = "6100fake-session"
    now: datetime = field(default_factory=lambda: datetime(2024, 5, 1, 12, 0, tzinfo=SHANGHAI))
    trades: dict[int, dict[str, Any]] = field(default_factory=dict)
    # num_iid -> {"num": item-level stock, "skus": {sku_id: {"outer_id": ..., "quantity": ...}}}
    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    shipments: list[dict[str, str]] = field(default_factory=list)
    stock_updates: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)  # every request's parameters
    list_windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    # Called with the page number after each list page is answered: a test changes orders
    # here to simulate trades moving while the adapter pages.
    on_list_page: Callable[[int], None] | None = None
    _throttle: Throttle = field(default_factory=Throttle)
    _tids: itertools.count[int] = field(default_factory=lambda: itertools.count(3812345678901000))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # --- test controls ----------------------------------------------------------------------

    def rate_limit_next(self, n: int, *, http: bool = False, wait_seconds: int = 2) -> None:
        """Refuse the next ``n`` requests: TOP's code 7 flow control, or plain HTTP 429."""
        self._throttle.arm(n, wait_seconds, http=http)

    def add_trade(
        self,
        *,
        status: str = "WAIT_SELLER_SEND_GOODS",
        lines: list[dict[str, Any]] | None = None,
        post_fee: str = "0.00",
        discount: str = "0.00",
        at: datetime | None = None,
        **fields: Any,
    ) -> str:
        """Add a trade modified (and created) at ``at`` (default: the clock); returns its tid."""
        at = at or self.now
        tid = next(self._tids)
        lines = lines or [
            {
                "num_iid": 680000000001,
                "sku_id": "5000000001",
                "outer_iid": "MUG",
                "outer_sku_id": "MUG-BLU",
                "title": "马克杯",
                "sku_properties_name": "颜色:蓝色",
                "num": 2,
                "price": "64.00",
            }
        ]
        orders = []
        goods = Decimal("0.00")
        for i, line in enumerate(lines, start=1):
            total = Decimal(line["price"]) * line["num"]
            goods += total
            orders.append(
                {
                    "oid": tid * 10 + i,
                    "oid_str": str(tid * 10 + i),
                    "total_fee": f"{total:.2f}",
                    "payment": f"{total:.2f}",
                    "divide_order_fee": f"{total:.2f}",
                    "status": status,
                    "refund_status": "NO_REFUND",
                    **line,
                }
            )
        payment = goods + Decimal(post_fee) - Decimal(discount)
        trade: dict[str, Any] = {
            "tid": tid,
            "tid_str": str(tid),
            "status": status,
            "type": "fixed",
            "created": local(at),
            "modified": local(at),
            "payment": f"{payment:.2f}",
            "total_fee": f"{goods:.2f}",
            "post_fee": post_fee,
            "discount_fee": discount,
            "buyer_nick": "t**1",
            "buyer_open_uid": "AAH" + str(tid)[-8:],
            "buyer_message": "",
            "seller_memo": "",
            "seller_flag": 0,
            "receiver_name": "张**",
            "receiver_mobile": "*******8000",
            "receiver_phone": "",
            "receiver_state": "浙江省",
            "receiver_city": "杭州市",
            "receiver_district": "西湖区",
            "receiver_town": "文新街道",
            "receiver_address": "文**路**号",
            "receiver_zip": "310000",
            "oaid": "1Bfake" + str(tid)[-6:],
            "orders": {"order": orders},
        }
        if status not in UNPAID:
            trade["pay_time"] = local(at)
        trade.update(fields)
        self.trades[tid] = trade
        return str(tid)

    def trade(self, tid: str | int) -> dict[str, Any]:
        return self.trades[int(tid)]

    def touch(self, tid: str | int) -> None:
        self.trade(tid)["modified"] = local(self.now)

    def set_status(self, tid: str | int, status: str) -> None:
        trade = self.trade(tid)
        trade["status"] = status
        for order in trade["orders"]["order"]:
            order["status"] = status
        self.touch(tid)

    def pay(self, tid: str | int) -> None:
        self.set_status(tid, "WAIT_SELLER_SEND_GOODS")
        self.trade(tid)["pay_time"] = local(self.now)

    def cancel(self, tid: str | int) -> None:
        unpaid = self.trade(tid)["status"] in UNPAID
        self.set_status(tid, "TRADE_CLOSED_BY_TAOBAO" if unpaid else "TRADE_CLOSED")

    def refund_line(self, tid: str | int, oid: str | int, refund_status: str = "SUCCESS") -> None:
        for order in self.trade(tid)["orders"]["order"]:
            if str(order["oid"]) == str(oid):
                order["refund_status"] = refund_status
                if refund_status == "SUCCESS":
                    order["status"] = "TRADE_CLOSED"
        self.touch(tid)

    def edit_address(self, tid: str | int, **fields: str) -> None:
        self.trade(tid).update({f"receiver_{k}": v for k, v in fields.items()})
        self.touch(tid)

    def add_item(self, num_iid: int, skus: Mapping[str, str] | None = None, num: int = 0) -> None:
        """An item; ``skus`` maps sku_id to the merchant's outer_id."""
        self.items[num_iid] = {
            "num": num,
            "skus": {s: {"outer_id": o, "quantity": 0} for s, o in (skus or {}).items()},
        }

    # --- the protocol -----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            if request.path != "/router/rest":
                return Response.json({"error": "not found"}, status=404)
            params = {**request.query, **request.form()}
            self.calls.append(params)
            if (refused := self._throttle.take()) is not None:
                wait, http = refused
                if http:
                    too_many = {"error": "too many requests"}
                    return Response.json(too_many, status=429, headers=retry_after_header(wait))
                return self._error(
                    TopError(
                        7,
                        "App Call Limited",
                        "accesscontrol.limited-by-app-access-count",
                        f"This ban will last for {wait} more seconds",
                    )
                )
            try:
                self._authenticate(params)
                method = params.get("method", "")
                handler = {
                    "taobao.trades.sold.increment.get": self._increment_get,
                    "taobao.trade.fullinfo.get": self._fullinfo_get,
                    "taobao.logistics.offline.send": self._offline_send,
                    "taobao.item.quantity.update": self._item_quantity_update,
                    "taobao.skus.quantity.update": self._skus_quantity_update,
                }.get(method)
                if handler is None:
                    raise TopError(22, "Invalid method")
                body = handler(params)
                body["request_id"] = f"fake{len(self.calls)}"
                key = method.removeprefix("taobao.").replace(".", "_") + "_response"
                response = Response.json({key: body})
            except TopError as exc:
                return self._error(exc)
            if method == "taobao.trades.sold.increment.get" and self.on_list_page:
                self.on_list_page(int(params.get("page_no") or 1))
            return response

    def _error(self, exc: TopError) -> Response:
        return Response.json({"error_response": {**exc.body, "request_id": "fakeerr"}})

    def _authenticate(self, params: dict[str, str]) -> None:
        if params.get("app_key") != self.app_key:
            raise TopError(29, "Invalid app Key", "isv.appkey-not-exists")
        if not params.get("sign"):
            raise TopError(24, "Missing signature")
        sign_method = params.get("sign_method", "md5")
        if sign_method not in ("md5", "hmac", "hmac-sha256"):
            raise _invalid("sign_method", sign_method)
        if not hmac.compare_digest(
            params["sign"], reference_sign(params, self.secret, sign_method)
        ):
            raise TopError(25, "Invalid signature")
        if not params.get("session"):
            raise TopError(26, "Missing session")
        if params["session"] != self.session:
            raise TopError(27, "Invalid session", "invalid-sessionkey", "SessionKey非法")
        stamp = params.get("timestamp", "")
        if not stamp:
            raise TopError(30, "Missing timestamp")
        try:
            # The old official Python SDK sends milliseconds since the epoch.
            sent = (
                datetime.fromtimestamp(int(stamp) / 1000, UTC)
                if stamp.isdigit()
                else parse_local(stamp)
            )
        except ValueError:
            raise TopError(31, "Invalid timestamp") from None
        if abs(sent - self.now) > TIMESTAMP_TOLERANCE:
            raise TopError(31, "Invalid timestamp", "isv.invalid-timestamp", "时间戳误差超过10分钟")

    @staticmethod
    def _require(params: dict[str, str], *names: str) -> None:
        for name in names:
            if not params.get(name):
                raise _missing(name)

    @staticmethod
    def _int(params: dict[str, str], name: str, default: int) -> int:
        try:
            return int(params.get(name) or default)
        except ValueError:
            raise _invalid(name, "not a number") from None

    @staticmethod
    def _project(trade: dict[str, Any], fields: str) -> dict[str, Any]:
        wanted = {f.split(".")[0] for f in fields.split(",")}
        return {k: copy.deepcopy(v) for k, v in trade.items() if k in wanted}

    def _increment_get(self, params: dict[str, str]) -> dict[str, Any]:
        self._require(params, "fields", "start_modified", "end_modified")
        try:
            start = parse_local(params["start_modified"])
            end = parse_local(params["end_modified"])
        except ValueError:
            raise _invalid("start_modified", "yyyy-MM-dd HH:mm:ss expected") from None
        if end < start:
            raise _invalid("end_modified", "end_modified must not be before start_modified")
        if end - start > MAX_WINDOW:
            raise _invalid("end_modified", "时间跨度不能超过1天")
        page_no = self._int(params, "page_no", 1)
        page_size = self._int(params, "page_size", 40)
        if page_no < 1:
            raise _invalid("page_no", "page_no must be >= 1")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise _invalid("page_size", f"page_size must be 1..{MAX_PAGE_SIZE}")
        self.list_windows.append((start, end))
        # Both bounds inclusive: our guess at TOP's behaviour (the adapter must cope either way).
        matching = sorted(
            (t for t in self.trades.values() if start <= parse_local(t["modified"]) <= end),
            key=lambda t: (t["modified"], t["tid"]),
            reverse=True,
        )
        rows = matching[(page_no - 1) * page_size : page_no * page_size]
        body: dict[str, Any] = {"has_next": page_no * page_size < len(matching)}
        if params.get("use_has_next") != "true":
            body["total_results"] = len(matching)
        if rows:  # TOP leaves empty lists out
            body["trades"] = {"trade": [self._project(t, params["fields"]) for t in rows]}
        return body

    def _fullinfo_get(self, params: dict[str, str]) -> dict[str, Any]:
        self._require(params, "fields", "tid")
        trade = self.trades.get(self._int(params, "tid", 0))
        if trade is None:
            raise TopError(15, "Remote service error", "isv.trade-not-exist", "交易不存在")
        return {"trade": self._project(trade, params["fields"])}

    def _offline_send(self, params: dict[str, str]) -> dict[str, Any]:
        self._require(params, "tid", "out_sid", "company_code")
        tid = self._int(params, "tid", 0)
        trade = self.trades.get(tid)
        if trade is None:
            raise TopError(15, "Remote service error", "isv.trade-not-exist", "交易不存在")
        if params["company_code"] not in COMPANY_CODES:
            raise TopError(15, "Remote service error", "isv.logistics-company-not-exist")
        if trade["status"] not in SHIPPABLE:
            sub_code = "isv.logistics-offline-service-error"
            raise TopError(15, "Remote service error", sub_code, "当前状态不能发货")
        orders = trade["orders"]["order"]
        if params.get("is_split") == "1":
            wanted = set(params.get("sub_tid", "").split(","))
            if not wanted <= {str(o["oid"]) for o in orders}:
                raise _invalid("sub_tid", "sub order not in trade")
        else:
            wanted = {str(o["oid"]) for o in orders}
        for order in orders:
            if str(order["oid"]) in wanted:
                order |= {
                    "status": "WAIT_BUYER_CONFIRM_GOODS",
                    "invoice_no": params["out_sid"],
                    "logistics_company": params["company_code"],
                    "consign_time": local(self.now),
                }
        shipped = all(o["status"] != "WAIT_SELLER_SEND_GOODS" for o in orders)
        trade["status"] = "WAIT_BUYER_CONFIRM_GOODS" if shipped else "SELLER_CONSIGNED_PART"
        trade["consign_time"] = local(self.now)
        self.touch(tid)
        self.shipments.append(
            {
                k: params[k]
                for k in ("tid", "out_sid", "company_code", "is_split", "sub_tid")
                if k in params
            }
        )
        return {"shipping": {"is_success": True}}

    def _apply_stock(self, num_iid: int, sku_id: str | None, quantity: int, kind: int) -> None:
        item = self.items[num_iid]
        holder = item["skus"][sku_id] if sku_id else item
        key = "quantity" if sku_id else "num"
        new = quantity if kind == 1 else holder[key] + quantity
        if new < 0:
            raise _invalid("quantity", "stock cannot go below zero")
        holder[key] = new
        self.stock_updates.append(
            {"num_iid": num_iid, "sku_id": sku_id, "quantity": quantity, "type": kind}
        )

    def _item(self, params: dict[str, str]) -> tuple[int, dict[str, Any], int]:
        self._require(params, "num_iid")
        num_iid = self._int(params, "num_iid", 0)
        if num_iid not in self.items:
            raise TopError(15, "Remote service error", "isv.item-not-exist", "商品不存在")
        kind = self._int(params, "type", 1)
        if kind not in (1, 2):
            raise _invalid("type", "type must be 1 or 2")
        return num_iid, self.items[num_iid], kind

    def _sku_by_outer(self, item: dict[str, Any], outer_id: str) -> str:
        for sku_id, sku in item["skus"].items():
            if sku["outer_id"] == outer_id:
                return str(sku_id)
        raise TopError(15, "Remote service error", "isv.sku-not-exist", outer_id)

    def _item_quantity_update(self, params: dict[str, str]) -> dict[str, Any]:
        self._require(params, "quantity")
        num_iid, item, kind = self._item(params)
        sku_id = params.get("sku_id") or None
        if sku_id is None and params.get("outer_id"):
            sku_id = self._sku_by_outer(item, params["outer_id"])
        if sku_id is not None and sku_id not in item["skus"]:
            raise TopError(15, "Remote service error", "isv.sku-not-exist", sku_id)
        self._apply_stock(num_iid, sku_id, self._int(params, "quantity", 0), kind)
        return {"item": {"num_iid": num_iid, "num": item["num"], "modified": local(self.now)}}

    def _skus_quantity_update(self, params: dict[str, str]) -> dict[str, Any]:
        num_iid, item, kind = self._item(params)
        by_outer = not params.get("skuid_quantities")
        text = params.get("outerid_quantities" if by_outer else "skuid_quantities", "")
        if not text:
            raise _missing("skuid_quantities")
        pairs = [p.split(":") for p in text.split(";") if p]
        if len(pairs) > 20 or any(len(p) != 2 for p in pairs):
            raise _invalid("skuid_quantities", "at most 20 id:quantity pairs")
        resolved: list[tuple[str, int]] = []
        for key, qty in pairs:  # all or nothing: resolve every pair before changing stock
            sku_id = self._sku_by_outer(item, key) if by_outer else key
            if sku_id not in item["skus"] or not qty.lstrip("-").isdigit():
                raise TopError(15, "Remote service error", "isv.sku-not-exist", sku_id)
            resolved.append((sku_id, int(qty)))
        for sku, quantity in resolved:
            self._apply_stock(num_iid, sku, quantity, kind)
        return {"item": {"num_iid": num_iid, "modified": local(self.now)}}
