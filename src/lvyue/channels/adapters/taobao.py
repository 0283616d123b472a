"""Taobao / Tmall Open Platform (TOP) adapter (CHANNELS.md §3).

Orders are pulled with ``taobao.trades.sold.increment.get`` (ids and modified times, by
modified-time window) and read in full with ``taobao.trade.fullinfo.get``; ship-back is
``taobao.logistics.offline.send`` and stock is ``taobao.skus.quantity.update`` /
``taobao.item.quantity.update``. Every call is a signed form POST to ``/router/rest``.
"""

from __future__ import annotations

import re
from collections import defaultdict
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
    format_local_time,
    gateway_url,
    parse_local_time,
    read_pages_backwards,
    split_windows,
    stock_sku_key,
)
from lvyue.channels.adapters.fields import Fields, payload_errors
from lvyue.channels.adapters.signing import SIGN_METHODS, top_style_sign
from lvyue.channels.adapters.transport import HttpAdapter, Injected, exchange
from lvyue.core.money import ZERO
from lvyue.orders.canonical import (
    CanonicalBuyer,
    CanonicalLine,
    CanonicalOrder,
    CanonicalReceiver,
    ChannelStatus,
    RefundStatus,
)

GATEWAY_PATH = "/router/rest"

TRADE_STATUS: Mapping[str, ChannelStatus] = {
    "TRADE_NO_CREATE_PAY": "unpaid",
    "WAIT_BUYER_PAY": "unpaid",
    "PAY_PENDING": "unpaid",
    "WAIT_PRE_AUTH_CONFIRM": "unpaid",
    # Paid, but Taobao forbids shipping yet (e.g. a group buy not formed): keep it away from
    # the warehouse until the platform releases it as WAIT_SELLER_SEND_GOODS.
    "PAID_FORBID_CONSIGN": "unpaid",
    "WAIT_SELLER_SEND_GOODS": "paid",
    "SELLER_CONSIGNED_PART": "paid",
    "WAIT_BUYER_CONFIRM_GOODS": "paid",
    "TRADE_BUYER_SIGNED": "paid",
    "TRADE_FINISHED": "paid",
    "TRADE_CLOSED": "cancelled",  # closed after a full refund
    "TRADE_CLOSED_BY_TAOBAO": "cancelled",  # closed before payment
}

LINE_REFUND_STATUS: Mapping[str, RefundStatus] = {
    "NO_REFUND": "none",
    "CLOSED": "none",  # the refund request was withdrawn or closed
    "SELLER_REFUSE_BUYER": "none",
    "WAIT_SELLER_AGREE": "refunding",
    "WAIT_BUYER_RETURN_GOODS": "refunding",
    "WAIT_SELLER_CONFIRM_GOODS": "refunding",
    "SUCCESS": "refunded",
}

_LIST_FIELDS = "tid,tid_str,modified"
_DETAIL_FIELDS = ",".join(
    (
        "tid,tid_str,status,type,step_trade_status,created,modified,pay_time",
        "payment,total_fee,post_fee,discount_fee,adjust_fee",
        "buyer_nick,buyer_open_uid,buyer_message,seller_memo,seller_flag",
        "receiver_name,receiver_mobile,receiver_phone,receiver_state,receiver_city",
        "receiver_district,receiver_town,receiver_address,receiver_zip,receiver_country,oaid",
        "orders",
    )
)

# TOP platform error codes: 7 App Call Limited; 11/12/42 insufficient ISV/user/session
# permissions; 24/25 missing/invalid signature; 26/27 missing/invalid session; 28/29 missing/
# invalid app key; 44 invalid access token; 53 insufficient security level; 10 service
# unavailable. Codes from public TOP error tables [S]; CHANNELS.md marks them unverified.
_RATE_LIMIT_CODE = "7"
_AUTH_CODES = frozenset({"11", "12", "24", "25", "26", "27", "28", "29", "42", "44", "53"})
_UNAVAILABLE_CODE = "10"
_BAN_SECONDS = re.compile(r"ban will last for (\d+) more seconds", re.IGNORECASE)
_SKUS_PER_CALL = 20  # taobao.skus.quantity.update takes at most 20 pairs


class TaobaoAdapter(HttpAdapter):
    """Client for one Taobao/Tmall shop.

    ``credentials``: ``base_url`` (``https://eco.taobao.com``; ``/router/rest`` is appended
    unless present), ``app_key``, ``app_secret``, ``token`` (the seller's session key);
    ``extra["sign_method"]`` (``md5`` default, ``hmac``, ``hmac-sha256``) and
    ``extra["stock_sku_key"]`` (``sku_id`` default, or ``outer_id`` when the shop's stock
    mapping holds merchant SKU codes).
    """

    platform: ClassVar[str] = "taobao"
    # The platform allows one day per request; 30 minutes is its recommendation, and keeps
    # each window's page count (and the time orders have to move while we page) small.
    window: ClassVar[timedelta] = timedelta(minutes=30)
    max_page_size: ClassVar[int] = 100

    def __init__(
        self,
        credentials: ShopCredentials,
        client: httpx.Client | None = None,
        *,
        page_size: int = 50,
        carrier_codes: Mapping[str, str] | None = None,
        **injected: Unpack[Injected],
    ) -> None:
        if not credentials.app_key or not credentials.app_secret:
            raise ValueError("Taobao needs app_key and app_secret")
        self._sign_method = credentials.extra.get("sign_method", "md5")
        if self._sign_method not in SIGN_METHODS:
            raise ValueError(f"sign_method must be one of {SIGN_METHODS}")
        self._stock_key = stock_sku_key(credentials)
        check_page_size(page_size, self.max_page_size)
        super().__init__(credentials, client, **injected)
        self._app_key = credentials.app_key
        self._secret = credentials.app_secret
        self._session = credentials.token or ""
        self._url = gateway_url(credentials.base_url, GATEWAY_PATH)
        self._page_size = page_size
        self._carriers = platform_codes(lambda c: c.taobao, carrier_codes)

    # --- pulling orders ------------------------------------------------------------------

    def fetch_orders(self, since: datetime, until: datetime) -> Iterator[RawOrder]:
        seen: set[str] = set()
        for start, end in split_windows(since, until, self.window):
            for tid in self._list_window(start, end):
                if tid not in seen:
                    seen.add(tid)
                    yield self.fetch_order(tid)

    def _list_window(self, start: datetime, end: datetime) -> list[str]:
        """Ids of trades modified in [start, end), in the order first read."""
        # Whether TOP's bounds are inclusive is not documented: ask one second wider on each
        # side and keep [start, end) ourselves, so an order on the edge lands in exactly one
        # of two adjacent windows.
        base = {
            "fields": _LIST_FIELDS,
            "start_modified": format_local_time(floor_second(start) - timedelta(seconds=1)),
            "end_modified": format_local_time(ceil_second(end)),
            "page_size": str(self._page_size),
        }

        def page(page_no: int) -> tuple[list[Any], int]:
            body = self._call("taobao.trades.sold.increment.get", {**base, "page_no": str(page_no)})
            # An empty page leaves the ``trades`` wrapper out altogether.
            trades = (body.get("trades") or {}).get("trade") or []
            return trades, int(body.get("total_results") or 0)

        # No use_has_next: it drops total_results, and the last page must be known to read
        # backwards (see read_pages_backwards).
        tids: list[str] = []
        for i, row in enumerate(read_pages_backwards(page, self._page_size)):
            trade = Fields(row, f"trades.trade[{i}]")
            modified = trade.opt_local_time("modified")
            if modified is None or start <= modified < end:
                tids.append(trade.opt_text("tid_str") or trade.text("tid"))
        return list(dict.fromkeys(tids))

    def fetch_order(self, external_id: str) -> RawOrder:
        body = self._call(
            "taobao.trade.fullinfo.get", {"fields": _DETAIL_FIELDS, "tid": external_id}
        )
        trade = body.get("trade")
        if not isinstance(trade, dict):
            raise ChannelError(f"trade {external_id}: response has no trade object")
        modified = trade.get("modified")
        try:
            updated_at = parse_local_time(modified) if isinstance(modified, str) else None
        except ValueError:
            updated_at = None  # parse() reports it; the raw payload is still worth storing
        tid = trade.get("tid_str") or trade.get("tid") or external_id
        return RawOrder(external_id=str(tid), updated_at=updated_at, payload=trade)

    # --- mapping -----------------------------------------------------------------------------

    def parse(self, raw: RawOrder) -> CanonicalOrder:
        trade = Fields(raw.payload)
        status_text = trade.text("status")
        status = TRADE_STATUS.get(status_text)
        if status is None:
            raise PayloadError(f"status: unknown trade status {status_text!r}")
        lines = [self._line(order) for order in trade.obj("orders").objects("order")]
        if not lines:
            raise PayloadError("orders.order: the trade has no lines")
        goods = sum((ln.unit_price * ln.quantity for ln in lines), ZERO)
        shipping = trade.money("post_fee", default=ZERO)
        paid = trade.money("payment")
        tags = []
        if status_text == "PAID_FORBID_CONSIGN":
            tags.append("ship_forbidden")
        if trade.opt_text("type") == "cod":
            tags.append("cod")  # paid to the courier on delivery
        if trade.opt_text("step_trade_status"):
            tags.append("presale")  # deposit + balance trade
        with payload_errors():
            return CanonicalOrder(
                external_id=trade.opt_text("tid_str") or trade.text("tid"),
                status=status,
                created_at=trade.local_time("created"),
                paid_at=trade.opt_local_time("pay_time"),
                updated_at=trade.opt_local_time("modified"),
                buyer=CanonicalBuyer(
                    id=trade.opt_text("buyer_open_uid"), nick=trade.opt_text("buyer_nick")
                ),
                receiver=self._receiver(trade),
                lines=lines,
                shipping_fee=shipping,
                discount=discount_to_match(goods, shipping, paid),
                buyer_message=trade.opt_text("buyer_message") or "",
                seller_memo=trade.opt_text("seller_memo") or "",
                tags=tags,
            )

    @staticmethod
    def _line(order: Fields) -> CanonicalLine:
        refund_text = order.opt_text("refund_status") or "NO_REFUND"
        refund = LINE_REFUND_STATUS.get(refund_text)
        if refund is None:
            raise PayloadError(f"{order.name('refund_status')}: unknown value {refund_text!r}")
        sku_id = order.opt_text("sku_id")
        # The merchant's codes first; without them the platform ids still let the SKU mapping
        # (or a person) resolve the line instead of dropping the order.
        sku = (
            order.opt_text("outer_sku_id")
            or order.opt_text("outer_iid")
            or sku_id
            or order.text("num_iid")
        )
        return CanonicalLine(
            sku=sku,
            quantity=order.count("num"),
            unit_price=order.money("price"),
            name=order.opt_text("title"),
            spec=order.opt_text("sku_properties_name"),
            channel_sku_id=sku_id,
            channel_line_id=order.opt_text("oid_str") or order.text("oid"),
            refund_status=refund,
        )

    @staticmethod
    def _receiver(trade: Fields) -> CanonicalReceiver:
        # Name, phones and street come back desensitised (张**, *******8000): they are kept as
        # given, with the OAID that the platform's decrypt / privacy-number services take.
        city = trade.opt_text("receiver_city")
        district = trade.opt_text("receiver_district")
        if not city and district:
            # County-level city under a province: Taobao leaves the city empty and puts the
            # city in the district field.
            city, district = district, None
        street = trade.opt_text("receiver_address") or ""
        town = trade.opt_text("receiver_town")
        if town and not street.startswith(town):
            street = town + street
        return CanonicalReceiver(
            name=trade.opt_text("receiver_name"),
            phone=trade.opt_text("receiver_mobile") or trade.opt_text("receiver_phone"),
            province=trade.opt_text("receiver_state"),
            city=city,
            district=district,
            address=street,
            zip=trade.opt_text("receiver_zip"),
            country=country_code(trade.opt_text("receiver_country")),
            oaid=trade.opt_text("oaid"),
        )

    # --- writing back ------------------------------------------------------------------------

    def ship(self, shipment: Shipment) -> None:
        company = self._carriers.get(shipment.carrier_code.upper())
        if company is None:
            raise ChannelError(
                f"no Taobao company code for carrier {shipment.carrier_code!r}",
                code="unknown_carrier",
            )
        params = {
            "tid": shipment.external_id,
            "out_sid": shipment.tracking_no,
            "company_code": company,
        }
        if shipment.line_ids:  # part of the trade ships in this parcel
            params |= {"is_split": "1", "sub_tid": ",".join(shipment.line_ids)}
        body = self._call("taobao.logistics.offline.send", params)
        if (body.get("shipping") or {}).get("is_success") is not True:
            raise ChannelError(f"trade {shipment.external_id}: ship-back not accepted: {body}")

    def push_stock(self, items: list[StockQuantity]) -> None:
        per_item: dict[str, list[tuple[str, int]]] = defaultdict(list)
        item_level: list[tuple[str, int]] = []
        for stock in items:
            if not stock.channel_item:
                raise ChannelError(
                    f"stock for {stock.channel_sku!r}: Taobao needs the item id (num_iid)",
                    code="missing_item",
                )
            # Absolute quantities (type=1) must not be negative.
            quantity = max(0, stock.quantity)
            if stock.channel_sku and stock.channel_sku != stock.channel_item:
                per_item[stock.channel_item].append((stock.channel_sku, quantity))
            else:  # an item without SKUs
                item_level.append((stock.channel_item, quantity))
        pairs_key = "skuid_quantities" if self._stock_key == "sku_id" else "outerid_quantities"
        for num_iid, pairs in per_item.items():
            for i in range(0, len(pairs), _SKUS_PER_CALL):
                chunk = pairs[i : i + _SKUS_PER_CALL]
                self._call(
                    "taobao.skus.quantity.update",
                    {
                        "num_iid": num_iid,
                        pairs_key: ";".join(f"{sku}:{qty}" for sku, qty in chunk),
                        "type": "1",
                    },
                )
        for num_iid, quantity in item_level:
            self._call(
                "taobao.item.quantity.update",
                {"num_iid": num_iid, "quantity": str(quantity), "type": "1"},
            )

    # --- the gateway -------------------------------------------------------------------------

    def _call(self, method: str, params: Mapping[str, str]) -> dict[str, Any]:
        return self._retrying(lambda: self._call_once(method, params))

    def _call_once(self, method: str, params: Mapping[str, str]) -> dict[str, Any]:
        # System parameters go in the query string and business ones in the form body, as the
        # official SDKs do; the signature covers both. Signed afresh on every attempt so a
        # retry carries a current timestamp.
        system = {
            "method": method,
            "app_key": self._app_key,
            "timestamp": format_local_time(self._clock()),
            "format": "json",
            "v": "2.0",
            "sign_method": self._sign_method,
        }
        if self._session:
            system["session"] = self._session
        business = {k: v for k, v in params.items() if v != ""}
        system["sign"] = top_style_sign({**system, **business}, self._secret, self._sign_method)
        body = exchange(lambda: self._client.post(self._url, params=system, data=business))
        if "error_response" in body:
            raise _top_error(method, body["error_response"])
        key = method.removeprefix("taobao.").replace(".", "_") + "_response"
        inner = body.get(key)
        if not isinstance(inner, dict):
            raise ChannelError(f"{method}: response has no {key}")
        return inner


def _top_error(method: str, error: object) -> ChannelError:
    if not isinstance(error, dict):
        return ChannelError(f"{method}: malformed error_response {error!r:.200}")
    code = str(error.get("code", ""))
    sub_code = str(error.get("sub_code") or "")
    sub_msg = str(error.get("sub_msg") or "")
    text = f"{method}: TOP error {code} {error.get('msg', '')}"
    if sub_code or sub_msg:
        text += f" [{sub_code}] {sub_msg}"
    if code == _RATE_LIMIT_CODE or sub_code.startswith("accesscontrol.limited"):
        ban = _BAN_SECONDS.search(sub_msg)
        return RateLimited(text, code=code, retry_after=float(ban.group(1)) if ban else 1.0)
    if code in _AUTH_CODES:
        return AuthError(text, code=code)
    # isp.* sub-codes are the platform's own failures (timeouts, remote errors).
    retryable = code == _UNAVAILABLE_CODE or sub_code.startswith("isp.")
    return ChannelError(text, code=sub_code or code, retryable=retryable)
