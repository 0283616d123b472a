"""The JD POP adapter against a fake JOS router speaking CHANNELS.md §5 over real HTTP."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest

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
from lvyue.channels.adapters.jd import JdAdapter, jd_params, unwrap
from lvyue.channels.adapters.signing import top_style_sign
from lvyue.core.clock import SHANGHAI
from tests.channels.fakes import jd as fake_jd
from tests.channels.fakes.jd import FakeJd, make_item
from tests.channels.helpers import Served, changed, new_client

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def fake(server: Served) -> FakeJd:
    return server.switch.use(FakeJd(now=T0))


def make_adapter(
    fake: FakeJd, base_url: str, sleeps: list[float], *, secret: str | None = None
) -> JdAdapter:
    creds = ShopCredentials(base_url, fake.app_key, secret or fake.app_secret, fake.token)
    return JdAdapter(creds, new_client(), sleep=sleeps.append, clock=lambda: fake.now)


@pytest.fixture
def adapter(server: Served, fake: FakeJd, sleeps: list[float]) -> JdAdapter:
    return make_adapter(fake, server.url, sleeps)


@pytest.fixture
def parser() -> JdAdapter:
    """An adapter for parse-only tests: no server needed."""
    return JdAdapter(ShopCredentials("http://127.0.0.1:9", "k", "s", "t"))


def search_calls(fake: FakeJd) -> list[dict]:
    return [p for m, p in fake.calls if m == "jingdong.pop.order.search"]


# --- signing --------------------------------------------------------------------------------

VECTOR_JSON = (
    '{"end_date":null,"optional_fields":null,"order_state":"WAIT_SELLER_STOCK_OUT",'
    '"page":"1","page_size":"200","start_date":null}'
)
VECTOR_PARAMS = {
    "360buy_param_json": VECTOR_JSON,
    "access_token": "yourtoken",
    "app_key": "yourappkey",
    "method": "jingdong.pop.order.search",
    "timestamp": "2021-05-07 09:20:39.683+0800",
    "v": "2.0",
}


def test_sign_vector() -> None:
    assert top_style_sign(VECTOR_PARAMS, "yourappSecret") == "D70825340F4084360B9362B60DFD7930"
    assert fake_jd.sign(VECTOR_PARAMS, "yourappSecret") == "D70825340F4084360B9362B60DFD7930"


def test_business_params_travel_as_sorted_json_text() -> None:
    got = jd_params({"page_size": 50, "page": 1, "order_state": "WAIT_SELLER_STOCK_OUT", "x": None})
    assert got == '{"order_state":"WAIT_SELLER_STOCK_OUT","page":"1","page_size":"50"}'


def test_the_vectors_request_is_accepted_by_the_fake(server: Served) -> None:
    fake = FakeJd(now=datetime(2021, 5, 7, 9, 21, tzinfo=SHANGHAI))
    server.switch.use(fake)
    form = {**VECTOR_PARAMS, "sign": "D70825340F4084360B9362B60DFD7930"}
    body = httpx.post(server.url + "/routerjson", data=form).json()
    # Signature and timestamp pass; the null dates are then the business error.
    result = body["jingdong_pop_order_search_responce"]["searchorderinfo_result"]
    assert result["apiResult"]["success"] is False


# --- pulling orders -------------------------------------------------------------------------


def add_orders(fake: FakeJd, n: int, step: int = 1) -> list[str]:
    ids = []
    for _ in range(n):
        ids.append(fake.add_order()["orderId"])
        fake.advance(step)
    return ids


def test_paging_across_several_pages(fake: FakeJd, adapter: JdAdapter) -> None:
    ids = add_orders(fake, 120)
    fake.advance(600)

    got = list(adapter.fetch_orders(T0, T0 + timedelta(hours=1)))

    assert sorted(r.external_id for r in got) == sorted(ids)
    calls = search_calls(fake)
    assert [c["page"] for c in calls] == ["1", "3", "2", "1"]  # 1-based, last page first
    assert {c["page_size"] for c in calls} == {"50"}
    assert calls[0]["start_date"] == "2024-05-01 12:00:00"
    assert calls[0]["end_date"] == "2024-05-01 13:00:00"
    assert "WAIT_SELLER_STOCK_OUT" in calls[0]["order_state"]
    assert "TRADE_CANCELED" in calls[0]["order_state"]
    assert got[0].updated_at == T0


def test_orders_changed_while_paging_are_neither_missed_nor_doubled(
    fake: FakeJd, adapter: JdAdapter
) -> None:
    ids = add_orders(fake, 120)
    fake.set_time(T0 + timedelta(hours=1))
    changed = ids[:4]

    def change_after_probe(page: int) -> None:
        if len(search_calls(fake)) == 1:
            fake.advance(1)
            for oid in changed:
                fake.cancel(oid)

    fake.after_list_page = change_after_probe
    got = [r.external_id for r in adapter.fetch_orders(T0, T0 + timedelta(hours=1))]

    assert len(got) == len(set(got))
    assert set(ids) - set(changed) <= set(got)
    later = list(adapter.fetch_orders(T0 + timedelta(hours=1), fake.now + timedelta(seconds=1)))
    assert {r.external_id for r in later} == set(changed)
    assert {adapter.parse(r).status for r in later} == {"cancelled"}


def test_order_updated_between_two_pulls(fake: FakeJd, adapter: JdAdapter) -> None:
    order = fake.add_order()
    fake.advance(60)
    first = list(adapter.fetch_orders(T0 - timedelta(minutes=1), fake.now))
    assert [adapter.parse(r).status for r in first] == ["paid"]

    fake.advance(60)
    fake.lock(order["orderId"])
    fake.advance(60)
    second = list(adapter.fetch_orders(T0 + timedelta(minutes=1), fake.now))

    assert [r.external_id for r in second] == [order["orderId"]]
    assert second[0].updated_at == T0 + timedelta(minutes=2)
    parsed = adapter.parse(second[0])
    assert parsed.status == "paid" and parsed.tags == ["jd_locked"]
    assert {ln.refund_status for ln in parsed.lines} == {"refunding"}


def test_order_exactly_at_the_window_edge(fake: FakeJd, adapter: JdAdapter) -> None:
    a, b, c = T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
    fake.set_time(b - timedelta(seconds=1))
    before = fake.add_order()["orderId"]
    fake.set_time(b)
    edge = fake.add_order()["orderId"]
    fake.set_time(c + timedelta(minutes=1))

    first = [r.external_id for r in adapter.fetch_orders(a, b)]
    second = [r.external_id for r in adapter.fetch_orders(b, c)]
    assert first == [before] and second == [edge]

    overlap = timedelta(minutes=5)
    pulls = [
        [r.external_id for r in adapter.fetch_orders(a - overlap, b)],
        [r.external_id for r in adapter.fetch_orders(b - overlap, c)],
    ]
    assert edge in pulls[1] and before in pulls[0] and before in pulls[1]

    adapter.window = timedelta(minutes=10)
    inside = [r.external_id for r in adapter.fetch_orders(a, c)]
    assert sorted(inside) == sorted([before, edge])


def test_long_ranges_are_split_into_windows_jd_accepts(fake: FakeJd, adapter: JdAdapter) -> None:
    ids = [fake.add_order()["orderId"]]
    fake.advance(40 * 86400)
    ids.append(fake.add_order()["orderId"])
    fake.advance(60)

    got = [r.external_id for r in adapter.fetch_orders(T0 - timedelta(days=5), fake.now)]

    assert sorted(got) == sorted(ids)
    for call in search_calls(fake):
        span = fake_jd.parse_local(call["end_date"]) - fake_jd.parse_local(call["start_date"])
        assert span <= timedelta(days=1)


def test_fake_rejects_what_jd_rejects(fake: FakeJd, adapter: JdAdapter) -> None:
    adapter.window = timedelta(days=40)
    with pytest.raises(ChannelError, match="超过1个月"):
        list(adapter.fetch_orders(T0 - timedelta(days=40), T0))
    adapter.window = timedelta(days=1)
    adapter.page_size = 100  # what older SDKs sent
    with pytest.raises(ChannelError, match="page_size"):
        list(adapter.fetch_orders(T0 - timedelta(hours=1), T0))


def test_clock_skew_is_rejected(fake: FakeJd, server: Served) -> None:
    creds = ShopCredentials(server.url, fake.app_key, fake.app_secret, fake.token)
    late = JdAdapter(creds, clock=lambda: fake.now - timedelta(minutes=7))
    with pytest.raises(ChannelError) as err:
        late.fetch_order("1")
    assert err.value.code == "8" and not err.value.retryable


def test_fetch_single_order(fake: FakeJd, adapter: JdAdapter) -> None:
    order = fake.add_order(remark="周末送货")
    raw = adapter.fetch_order(order["orderId"])
    assert raw.external_id == order["orderId"]
    assert adapter.parse(raw).buyer_message == "周末送货"
    with pytest.raises(ChannelError, match="订单不存在"):
        adapter.fetch_order("404")


def test_edited_address_comes_through(fake: FakeJd, adapter: JdAdapter) -> None:
    order = fake.add_order()
    fake.advance(30)
    fake.edit_address(order["orderId"], "浙江杭州市西湖区古墩路**号")
    got = list(adapter.fetch_orders(T0 + timedelta(seconds=10), fake.now + timedelta(seconds=1)))
    assert adapter.parse(got[0]).receiver.address == "古墩路**号"


# --- errors ---------------------------------------------------------------------------------


def test_bad_signature_is_an_auth_error_and_not_retried(
    fake: FakeJd, server: Served, sleeps: list[float]
) -> None:
    bad = make_adapter(fake, server.url, sleeps, secret="wrong")
    with pytest.raises(AuthError) as err:
        list(bad.fetch_orders(T0 - timedelta(hours=1), T0))
    assert err.value.code == "12"
    assert fake.requests == 1 and sleeps == []


def test_envelope_error_mapping() -> None:
    method = "jingdong.pop.order.search"
    ok = {"jingdong_pop_order_search_responce": {"code": "0", "x": 1}}
    assert unwrap(method, ok)["x"] == 1
    with pytest.raises(AuthError):
        unwrap(method, {"error_response": {"code": "19", "zh_desc": "无效access_token"}})
    with pytest.raises(RateLimited):
        unwrap(method, {"error_response": {"code": "2", "en_desc": "App Call Limited"}})
    with pytest.raises(ChannelError) as other:
        unwrap(method, {"error_response": {"code": "15", "zh_desc": "不存在的方法名"}})
    assert other.value.code == "15" and not other.value.retryable
    with pytest.raises(ChannelError):
        unwrap(method, {"jingdong_pop_order_search_responce": {"code": "1"}})


@pytest.mark.parametrize(("http", "wait"), [(True, 3.0), (False, 1.0)])
def test_rate_limit_is_retried_after_waiting(
    fake: FakeJd, adapter: JdAdapter, sleeps: list[float], http: bool, wait: float
) -> None:
    order = fake.add_order()
    fake.rate_limit(2, retry_after=3, http=http)  # HTTP 429 + Retry-After, or gateway code 2

    assert adapter.fetch_order(order["orderId"]).external_id == order["orderId"]
    assert sleeps == [wait, wait]
    assert fake.requests == 3


# --- ship-back and stock ----------------------------------------------------------------------


def test_ship_sends_carrier_id_and_tracking_number(fake: FakeJd, adapter: JdAdapter) -> None:
    order = fake.add_order()
    adapter.ship(Shipment(order["orderId"], "ZTO", "ZT0000000001"))

    assert fake.shipments == [
        {"orderId": order["orderId"], "logiCoprId": "1499", "logiNo": "ZT0000000001"}
    ]
    assert fake.orders[order["orderId"]]["orderState"] == "WAIT_GOODS_RECEIVE_CONFIRM"
    with pytest.raises(ChannelError, match="订单状态不对"):
        adapter.ship(Shipment(order["orderId"], "ZTO", "ZT0000000001"))
    with pytest.raises(ChannelError, match="no logiCoprId"):
        adapter.ship(Shipment(order["orderId"], "DHL", "1"))


def test_push_stock_sets_absolute_quantities(fake: FakeJd, adapter: JdAdapter) -> None:
    adapter.push_stock([StockQuantity("100012345678", 7), StockQuantity("100012345679", 0)])
    assert fake.stock_updates == [
        {"skuId": "100012345678", "stockNum": "7"},
        {"skuId": "100012345679", "stockNum": "0"},
    ]


# --- parsing ----------------------------------------------------------------------------------

FULL_PAYLOAD = {
    "orderId": "290000000001",
    "venderId": "600001",
    "payType": "4-在线支付",
    "orderState": "WAIT_SELLER_STOCK_OUT",
    "orderTotalPrice": "153.00",
    "orderSellerPrice": "148.00",
    "orderPayment": "156.00",
    "freightPrice": "8.00",
    "sellerDiscount": "5.00",
    "orderRemark": "请放门口",
    "venderRemark": "老客户",
    "orderStartTime": "2024-05-01 11:40:02",
    "orderEndTime": "0001-01-01 00:00:00",
    "paymentConfirmTime": "2024-05-01 11:40:30",
    "modified": "2024-05-01 11:40:31",
    "pin": "jd_buyer_1",
    "consigneeInfo": {
        "fullname": "张三",
        "mobile": "13800138000",
        "telephone": "0571-88880000",
        "province": "浙江",
        "city": "杭州市",
        "county": "西湖区",
        "town": "",
        "fullAddress": "浙江杭州市西湖区文三路100号",
    },
    "itemInfoList": [
        {
            "skuId": "100012345678",
            "outerSkuId": "MUG-BLU",
            "skuName": "马克杯 蓝色",
            "jdPrice": "64.00",
            "itemTotal": "2",
        },
        {
            "skuId": "100012345699",
            "outerSkuId": "",
            "skuName": "杯垫",
            "jdPrice": "25.00",
            "itemTotal": "1",
        },
    ],
}


def raw(payload: dict) -> RawOrder:
    return RawOrder(str(payload.get("orderId")), None, payload)


def test_parse_full_payload(parser: JdAdapter) -> None:
    order = parser.parse(raw(FULL_PAYLOAD))

    assert order.external_id == "290000000001"
    assert order.status == "paid"
    assert order.created_at == datetime(2024, 5, 1, 11, 40, 2, tzinfo=SHANGHAI)
    assert order.created_at.utcoffset() == timedelta(hours=8)
    assert order.paid_at == datetime(2024, 5, 1, 11, 40, 30, tzinfo=SHANGHAI)
    assert order.updated_at == datetime(2024, 5, 1, 11, 40, 31, tzinfo=SHANGHAI)
    assert order.goods_amount == Decimal("153.00")
    assert order.shipping_fee == Decimal("8.00")
    assert order.discount == Decimal("5.00")
    assert order.total_amount == Decimal("156.00")  # orderPayment
    assert (order.buyer_message, order.seller_memo) == ("请放门口", "老客户")
    assert order.buyer.id == "jd_buyer_1"
    mug, coaster = order.lines
    assert (mug.sku, mug.channel_sku_id, mug.quantity) == ("MUG-BLU", "100012345678", 2)
    assert (mug.unit_price, mug.name, mug.spec) == (Decimal("64.00"), "马克杯 蓝色", "马克杯 蓝色")
    assert mug.refund_status == "none"
    assert (coaster.sku, coaster.channel_sku_id) == ("100012345699", "100012345699")
    r = order.receiver
    assert (r.name, r.phone) == ("张三", "13800138000")
    assert (r.province, r.city, r.district, r.address) == (
        "浙江",
        "杭州市",
        "西湖区",
        "文三路100号",
    )


@pytest.mark.parametrize(
    ("state", "status", "tags"),
    [
        ("WAIT_GOODS_RECEIVE_CONFIRM", "paid", []),
        ("FINISHED_L", "paid", []),
        ("TRADE_CANCELED", "cancelled", []),
        ("LOCKED", "paid", ["jd_locked"]),
        ("POP_ORDER_PAUSE", "paid", ["jd_paused"]),
    ],
)
def test_state_mapping(parser: JdAdapter, state: str, status: str, tags: list[str]) -> None:
    order = parser.parse(raw(copy.deepcopy(FULL_PAYLOAD) | {"orderState": state}))
    assert (order.status, order.tags) == (status, tags)


def test_unfinished_times_are_empty(parser: JdAdapter) -> None:
    payload = copy.deepcopy(FULL_PAYLOAD) | {"paymentConfirmTime": "1970-01-01 08:00:00"}
    assert parser.parse(raw(payload)).paid_at is None


def _broken(path: tuple, value: object = None) -> dict:
    return changed(FULL_PAYLOAD, path, value)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("itemInfoList", 0, "jdPrice"), "六十四", "itemInfoList[0].jdPrice"),
        (("itemInfoList", 1, "itemTotal"), None, "itemInfoList[1].itemTotal"),
        (("itemInfoList", 0, "skuId"), None, "itemInfoList[0].skuId"),
        (("orderPayment",), None, "orderPayment"),
        (("orderStartTime",), "2024/05/01", "orderStartTime"),
        (("orderState",), "WAIT_BUYER_PAY", "orderState"),
        (("consigneeInfo",), "nobody", "consigneeInfo"),
    ],
)
def test_bad_payload_names_the_field(
    parser: JdAdapter, path: tuple, value: object, field: str
) -> None:
    with pytest.raises(PayloadError, match="^" + re.escape(field)):
        parser.parse(raw(_broken(path, value)))


def test_line_items_from_the_fake(fake: FakeJd, adapter: JdAdapter) -> None:
    order = fake.add_order(
        [make_item("A", 1, "10.00", sku_id="1"), make_item("B", 3, "2.50", sku_id="2")],
        freight="6.00",
    )
    parsed = adapter.parse(adapter.fetch_order(order["orderId"]))
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in parsed.lines] == [
        ("A", 1, Decimal("10.00")),
        ("B", 3, Decimal("2.50")),
    ]
    assert parsed.total_amount == Decimal("23.50")
