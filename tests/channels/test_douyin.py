"""The Douyin 抖店 adapter against a fake platform speaking CHANNELS.md §6 over real HTTP."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

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
from lvyue.channels.adapters.douyin import DouyinAdapter, doudian_sign, param_json, unwrap
from lvyue.core.clock import SHANGHAI
from tests.channels.fakes import douyin as fake_douyin
from tests.channels.fakes.douyin import FakeDouyin, make_line
from tests.channels.helpers import Served, changed, new_client

T0 = 1_714_536_000  # 2024-05-01 12:00:00 Asia/Shanghai


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@pytest.fixture
def fake(server: Served) -> FakeDouyin:
    return server.switch.use(FakeDouyin(now=T0))


@pytest.fixture
def base_url(server: Served, fake: FakeDouyin) -> str:
    return server.url


def make_adapter(
    fake: FakeDouyin, base_url: str, sleeps: list[float], *, secret: str | None = None
) -> DouyinAdapter:
    creds = ShopCredentials(
        base_url=base_url,
        app_key=fake.app_key,
        app_secret=secret or fake.app_secret,
        token=fake.token,
    )
    return DouyinAdapter(creds, new_client(), sleep=sleeps.append, clock=lambda: at(fake.now))


@pytest.fixture
def adapter(fake: FakeDouyin, base_url: str, sleeps: list[float]) -> DouyinAdapter:
    return make_adapter(fake, base_url, sleeps)


@pytest.fixture
def parser() -> DouyinAdapter:
    """An adapter for parse-only tests: no server needed."""
    return DouyinAdapter(ShopCredentials("http://127.0.0.1:9", "k", "s", "t"))


def list_calls(fake: FakeDouyin) -> list[dict]:
    return [params for method, params in fake.calls if method == "order.searchList"]


# --- signing --------------------------------------------------------------------------------

VECTOR_PARAMS = {
    "update_time_start": 1700000000,
    "size": 20,
    "page": 0,
    "update_time_end": 1700003600,
}
VECTOR_JSON = '{"page":0,"size":20,"update_time_end":1700003600,"update_time_start":1700000000}'


def test_param_json_is_compact_sorted_and_unescaped() -> None:
    assert param_json(VECTOR_PARAMS) == VECTOR_JSON
    assert (
        param_json({"b": {"z": 1, "a": "蓝色"}, "a": True}) == '{"a":true,"b":{"a":"蓝色","z":1}}'
    )


@pytest.mark.parametrize(
    ("sign_method", "expected"),
    [
        ("hmac-sha256", "5d1587850415695eda349a927d23dac32f01f2edecafb2c49f66103146509766"),
        ("md5", "8e6688a6c254d6d9483d49fd3cb844d8"),
    ],
)
def test_sign_vectors(sign_method: str, expected: str) -> None:
    got = doudian_sign(
        "1234567890", "testsecret", "order.searchList", VECTOR_JSON, 1700000000, sign_method
    )
    assert got == expected
    # The fake's own implementation agrees with the same vector.
    fake_sig = fake_douyin.sign(
        "1234567890", "testsecret", "order.searchList", VECTOR_JSON, "1700000000", sign_method
    )
    assert fake_sig == expected


def test_md5_variant_is_accepted_by_the_platform(fake: FakeDouyin, base_url: str) -> None:
    fake.add_order()
    creds = ShopCredentials(base_url, fake.app_key, fake.app_secret, fake.token)
    a = DouyinAdapter(creds, sign_method="md5", clock=lambda: at(fake.now))
    assert len(list(a.fetch_orders(at(T0 - 60), at(T0 + 1)))) == 1
    a.close()


# --- pulling orders -------------------------------------------------------------------------


def test_paging_across_several_pages(fake: FakeDouyin, adapter: DouyinAdapter) -> None:
    ids = []
    for i in range(250):
        fake.set_time(T0 + i)
        ids.append(fake.add_order()["order_id"])
    fake.set_time(T0 + 3600)

    got = list(adapter.fetch_orders(at(T0), at(T0 + 3600)))

    assert sorted(r.external_id for r in got) == sorted(ids)
    calls = list_calls(fake)
    # Probe page 0 for the total, then 0-based pages from the last back to the first.
    assert [c["page"] for c in calls] == [0, 2, 1, 0]
    assert {c["size"] for c in calls} == {100}
    assert all(c["order_by"] == "update_time" and c["order_asc"] is True for c in calls)
    assert got[0].updated_at is not None and got[0].updated_at.tzinfo is not None


def test_orders_changed_while_paging_are_neither_missed_nor_doubled(
    fake: FakeDouyin, adapter: DouyinAdapter
) -> None:
    ids = []
    for i in range(250):
        fake.set_time(T0 + i)
        ids.append(fake.add_order()["order_id"])
    fake.set_time(T0 + 3600)
    changed = ids[:5]  # on the first page, not read yet when they change

    def change_after_probe(page: int) -> None:
        if page == 0 and len(list_calls(fake)) == 1:
            fake.advance(1)
            for oid in changed:
                fake.cancel(oid)  # their update_time leaves the window: rows shift forward

    fake.after_list_page = change_after_probe
    got = [r.external_id for r in adapter.fetch_orders(at(T0), at(T0 + 3600))]

    assert len(got) == len(set(got))
    assert set(ids) - set(changed) <= set(got)  # every unchanged order is there
    # …and the changed ones come back, in their new version, with the next pull.
    later = {r.external_id: r for r in adapter.fetch_orders(at(T0 + 3600), at(T0 + 3602))}
    assert set(later) == set(changed)
    assert all(adapter.parse(r).status == "cancelled" for r in later.values())


def test_new_orders_while_paging_a_window_reaching_now(
    fake: FakeDouyin, adapter: DouyinAdapter
) -> None:
    ids = []
    for i in range(230):
        fake.set_time(T0 + i)
        ids.append(fake.add_order()["order_id"])
    fake.set_time(T0 + 300)
    added: list[str] = []

    def add_during_paging(page: int) -> None:
        if len(added) < 30:
            fake.advance(1)
            for _ in range(10):
                added.append(fake.add_order()["order_id"])

    fake.after_list_page = add_during_paging
    got = [r.external_id for r in adapter.fetch_orders(at(T0), at(T0 + 3600))]

    assert len(got) == len(set(got))
    assert set(ids) <= set(got)


def test_order_updated_between_two_pulls(fake: FakeDouyin, adapter: DouyinAdapter) -> None:
    order = fake.add_order(status=1)
    fake.advance(60)
    first = list(adapter.fetch_orders(at(T0 - 60), at(fake.now)))
    assert [adapter.parse(r).status for r in first] == ["unpaid"]

    fake.advance(60)
    fake.pay(order["order_id"])
    fake.advance(60)
    second = list(adapter.fetch_orders(at(T0 + 60), at(fake.now)))

    assert [r.external_id for r in second] == [order["order_id"]]
    parsed = adapter.parse(second[0])
    assert parsed.status == "paid"
    assert parsed.paid_at == at(T0 + 120)
    assert second[0].updated_at == at(T0 + 120)


def test_order_exactly_at_the_window_edge(fake: FakeDouyin, adapter: DouyinAdapter) -> None:
    a, b, c = T0, T0 + 600, T0 + 1200
    fake.set_time(b)
    edge = fake.add_order()["order_id"]
    fake.set_time(b - 1)
    before = fake.add_order()["order_id"]
    fake.set_time(c + 60)

    first = [r.external_id for r in adapter.fetch_orders(at(a), at(b))]
    second = [r.external_id for r in adapter.fetch_orders(at(b), at(c))]
    assert first == [before] and second == [edge]

    # The sync's overlapping windows: the edge order is never lost (it may come twice).
    overlap = timedelta(minutes=5)
    pulls = [
        [r.external_id for r in adapter.fetch_orders(at(a) - overlap, at(b))],
        [r.external_id for r in adapter.fetch_orders(at(b) - overlap, at(c))],
    ]
    assert edge in pulls[1] and before in pulls[0] and before in pulls[1]

    # An edge inside one pull (the adapter's own windows) gives the order once.
    adapter.window = timedelta(seconds=600)
    inside = [r.external_id for r in adapter.fetch_orders(at(a), at(c))]
    assert sorted(inside) == sorted([before, edge])


def test_long_ranges_and_full_windows_are_split(fake: FakeDouyin, adapter: DouyinAdapter) -> None:
    # A tiny row cap stands in for the platform's 50,000.
    fake.max_results = adapter.max_results = 150
    ids = []
    for i in range(400):
        fake.set_time(T0 + i * 10)
        ids.append(fake.add_order()["order_id"])
    fake.set_time(T0 + 86400 * 3)

    got = [r.external_id for r in adapter.fetch_orders(at(T0 - 86400), at(T0 + 86400 * 2))]

    assert sorted(got) == sorted(ids)
    calls = list_calls(fake)
    assert all((c["page"] + 1) * c["size"] <= 150 for c in calls)
    assert all(c["update_time_end"] - c["update_time_start"] <= 86400 for c in calls)


def test_fake_enforces_the_platform_limits(fake: FakeDouyin, adapter: DouyinAdapter) -> None:
    with pytest.raises(ChannelError) as too_big:
        adapter.call("order.searchList", {"update_time_start": T0, "page": 0, "size": 101})
    assert too_big.value.code == "isv.parameter-invalid:20008"
    with pytest.raises(ChannelError) as too_deep:
        adapter.call("order.searchList", {"update_time_start": T0, "page": 500, "size": 100})
    assert too_deep.value.code == "isv.parameter-invalid:20013"
    with pytest.raises(ChannelError) as too_old:
        adapter.call(
            "order.searchList", {"create_time_start": T0 - 91 * 86400, "page": 0, "size": 10}
        )
    assert too_old.value.code == "isv.parameter-invalid:20022"


def test_fetch_single_order(fake: FakeDouyin, adapter: DouyinAdapter) -> None:
    order = fake.add_order(buyer_words="请尽快发货")
    raw = adapter.fetch_order(order["order_id"])
    assert raw.external_id == order["order_id"]
    assert adapter.parse(raw).buyer_message == "请尽快发货"
    with pytest.raises(ChannelError):
        adapter.fetch_order("1")


# --- errors ---------------------------------------------------------------------------------


def test_bad_signature_is_an_auth_error_and_not_retried(
    fake: FakeDouyin, base_url: str, sleeps: list[float]
) -> None:
    bad = make_adapter(fake, base_url, sleeps, secret="wrong-secret")
    with pytest.raises(AuthError) as err:
        list(bad.fetch_orders(at(T0 - 60), at(T0)))
    assert err.value.code == "isv.signature-invalid"
    assert fake.requests == 1 and sleeps == []


def test_envelope_error_mapping() -> None:
    assert unwrap({"code": 10000, "msg": "success", "data": {"x": 1}}) == {"x": 1}
    assert unwrap({"err_no": 0, "message": "success", "data": [1]}) == [1]  # legacy envelope
    with pytest.raises(AuthError):
        unwrap({"code": 30001, "msg": "操作权限不足", "sub_code": "dop.authorization-no-existed"})
    with pytest.raises(AuthError):
        unwrap({"code": 40003, "msg": "非法的参数", "sub_code": "isv.access-token-expired"})
    with pytest.raises(RateLimited):
        unwrap({"code": 60000, "msg": "触发限流，请稍后重试"})
    with pytest.raises(ChannelError) as busy:
        unwrap({"code": 20000, "msg": "系统错误", "sub_code": "isp.service-error:20005"})
    assert busy.value.retryable and busy.value.code == "isp.service-error:20005"
    with pytest.raises(ChannelError) as legacy:
        unwrap({"err_no": 30005, "message": "参数错误"})
    assert legacy.value.code == "30005" and not legacy.value.retryable


def test_bad_token_is_an_auth_error(fake: FakeDouyin, base_url: str) -> None:
    creds = ShopCredentials(base_url, fake.app_key, fake.app_secret, "expired-token")
    with pytest.raises(AuthError):
        DouyinAdapter(creds, clock=lambda: at(fake.now)).fetch_order("1")


@pytest.mark.parametrize(("http", "wait"), [(True, 3.0), (False, 1.0)])
def test_rate_limit_is_retried_after_waiting(
    fake: FakeDouyin, adapter: DouyinAdapter, sleeps: list[float], http: bool, wait: float
) -> None:
    order = fake.add_order()
    fake.rate_limit(2, retry_after=3, http=http)  # HTTP 429 + Retry-After, or code 60000

    assert adapter.fetch_order(order["order_id"]).external_id == order["order_id"]
    assert sleeps == [wait, wait]
    assert fake.requests == 3


# --- ship-back and stock ----------------------------------------------------------------------


def test_ship_sends_company_code_and_tracking_number(
    fake: FakeDouyin, adapter: DouyinAdapter
) -> None:
    order = fake.add_order()
    fake.advance(30)
    adapter.ship(Shipment(order["order_id"], "SF", "SF1234567890"))

    assert fake.shipments == [
        {
            "order_id": order["order_id"],
            "company_code": "shunfeng",
            "logistics_code": "SF1234567890",
        }
    ]
    assert fake.orders[order["order_id"]]["order_status"] == 3
    # Shipping again is the platform's business error, not retried.
    with pytest.raises(ChannelError) as err:
        adapter.ship(Shipment(order["order_id"], "ZTO", "ZT1"))
    assert err.value.code == "isv.business-failed:1002" and not err.value.retryable
    with pytest.raises(ChannelError, match="no company_code"):
        adapter.ship(Shipment(order["order_id"], "NOPE", "X1"))


def test_push_stock_sets_absolute_quantities(fake: FakeDouyin, adapter: DouyinAdapter) -> None:
    adapter.push_stock(
        [
            StockQuantity("1700000000000001", 12, channel_item="3600000000000000001"),
            StockQuantity("MUG-RED", 0),
        ]
    )
    assert fake.stock_updates == [
        {
            "sku_id": 1700000000000001,
            "product_id": 3600000000000000001,
            "stock_num": 12,
            "incremental": False,
        },
        {"code": "MUG-RED", "stock_num": 0, "incremental": False},
    ]


# --- parsing ----------------------------------------------------------------------------------

FULL_PAYLOAD = {
    "order_id": "6920000000000000001",
    "order_status": 2,
    "order_status_desc": "待发货",
    "create_time": 1700000100,
    "update_time": 1700000300,
    "pay_time": 1700000200,
    "order_amount": 13300,
    "pay_amount": 13300,
    "post_amount": 1000,
    "promotion_amount": 500,
    "buyer_words": "请用顺丰",
    "seller_words": "VIP 客户",
    "doudian_open_id": "open-abc",
    "post_receiver": "#abc#xxxx",
    "post_tel": "$xyz$xxxx",
    "mask_post_receiver": "张*",
    "mask_post_tel": "138****8000",
    "post_addr": {
        "province": {"id": "33", "name": "浙江省"},
        "city": {"id": "330100", "name": "杭州市"},
        "town": {"id": "330106", "name": "西湖区"},
        "street": {"id": "330106001", "name": "文新街道"},
        "detail": "#ciphertext#",
    },
    "mask_post_addr": {"detail": "文三路**号"},
    "logistics_info": [],
    "sku_order_list": [
        {
            "order_id": "6920000000000000002",
            "parent_order_id": "6920000000000000001",
            "product_id": 3600000000000000001,
            "sku_id": 1700000000000001,
            "code": "MUG-BLU",
            "out_sku_id": "0",
            "product_name": "马克杯",
            "spec": [{"name": "颜色", "value": "蓝色"}, {"name": "容量", "value": "350ml"}],
            "item_num": 2,
            "origin_amount": 6400,
            "sum_amount": 12800,
            "pay_amount": 12300,
            "after_sale_info": {"after_sale_status": 0, "after_sale_type": 0, "refund_status": 0},
        },
        {
            "order_id": "6920000000000000003",
            "parent_order_id": "6920000000000000001",
            "sku_id": 1700000000000002,
            "code": "",
            "out_sku_id": "0",
            "product_name": "杯垫",
            "spec": [],
            "item_num": 1,
            "origin_amount": 0,
            "after_sale_info": {"after_sale_status": 6, "after_sale_type": 2, "refund_status": 1},
        },
    ],
}


def raw(payload: dict) -> RawOrder:
    return RawOrder(str(payload.get("order_id")), None, payload)


def test_parse_full_payload(parser: DouyinAdapter) -> None:
    order = parser.parse(raw(FULL_PAYLOAD))

    assert order.external_id == "6920000000000000001"
    assert order.status == "paid"
    assert order.created_at == datetime(2023, 11, 15, 6, 15, tzinfo=SHANGHAI)
    assert order.created_at.utcoffset() == timedelta(hours=8)
    assert order.paid_at == at(1700000200)
    assert order.shipping_fee == Decimal("10.00")
    assert order.goods_amount == Decimal("128.00")
    assert order.discount == Decimal("5.00")
    assert order.total_amount == Decimal("133.00")  # what the buyer paid
    assert (order.buyer_message, order.seller_memo) == ("请用顺丰", "VIP 客户")
    assert order.buyer.id == "open-abc"
    mug, coaster = order.lines
    assert (mug.sku, mug.channel_sku_id, mug.channel_line_id) == (
        "MUG-BLU",
        "1700000000000001",
        "6920000000000000002",
    )
    assert (mug.quantity, mug.unit_price, mug.name) == (2, Decimal("64.00"), "马克杯")
    assert mug.spec == "颜色:蓝色;容量:350ml"
    assert mug.refund_status == "none"
    # No merchant code: Douyin's SKU id stands in; a refund request shows on the line.
    assert (coaster.sku, coaster.spec, coaster.refund_status) == (
        "1700000000000002",
        None,
        "refunding",
    )
    r = order.receiver
    assert (r.name, r.phone) == ("张*", "138****8000")  # masked twins, never ciphertext
    assert (r.province, r.city, r.district) == ("浙江省", "杭州市", "西湖区")
    assert r.address == "文新街道文三路**号"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(1, "unpaid"), (105, "paid"), (3, "paid"), (5, "paid"), (4, "cancelled")],
)
def test_status_mapping(parser: DouyinAdapter, status: int, expected: str) -> None:
    payload = copy.deepcopy(FULL_PAYLOAD) | {"order_status": status}
    assert parser.parse(raw(payload)).status == expected


def test_refund_states_from_the_fake(fake: FakeDouyin, adapter: DouyinAdapter) -> None:
    order = fake.add_order([make_line("A", 1, 100), make_line("B", 1, 200, sku_id=2)])
    fake.refund_line(order["order_id"], 1, done=True)
    parsed = adapter.parse(adapter.fetch_order(order["order_id"]))
    assert [ln.refund_status for ln in parsed.lines] == ["none", "refunded"]


def test_edited_address_comes_through(fake: FakeDouyin, adapter: DouyinAdapter) -> None:
    order = fake.add_order()
    fake.advance(10)
    fake.edit_address(order["order_id"], "古墩路**号")
    got = list(adapter.fetch_orders(at(T0 + 5), at(T0 + 11)))
    assert adapter.parse(got[0]).receiver.address == "文新街道古墩路**号"


def _broken(path: tuple, value: object = None) -> dict:
    return changed(FULL_PAYLOAD, path, value)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("sku_order_list", 0, "item_num"), None, "sku_order_list[0].item_num"),
        (("sku_order_list", 1, "origin_amount"), "12.5", "sku_order_list[1].origin_amount"),
        (("sku_order_list", 0, "sku_id"), None, "sku_order_list[0].sku_id"),
        (("pay_amount",), None, "pay_amount"),
        (("create_time",), "yesterday", "create_time"),
        (("order_status",), 99, "order_status"),
        (("sku_order_list",), [], "sku_order_list"),
    ],
)
def test_bad_payload_names_the_field(
    parser: DouyinAdapter, path: tuple, value: object, field: str
) -> None:
    with pytest.raises(PayloadError, match="^" + re.escape(field)):
        parser.parse(raw(_broken(path, value)))
