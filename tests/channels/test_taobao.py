"""TaobaoAdapter against the fake TOP gateway over real HTTP (CHANNELS.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

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
from lvyue.channels.adapters.taobao import TaobaoAdapter
from tests.channels.fakes.taobao import SHANGHAI, FakeTaobao, local, parse_local
from tests.channels.helpers import Served, changed, ids, new_client

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI)
LIST = "taobao.trades.sold.increment.get"
DETAIL = "taobao.trade.fullinfo.get"

Make = Callable[..., TaobaoAdapter]


@pytest.fixture
def fake(server: Served) -> FakeTaobao:
    return server.switch.use(FakeTaobao(now=T0 + timedelta(hours=2)))


@pytest.fixture
def make(fake: FakeTaobao, sleeps: list[float], server: Served) -> Make:
    def build(
        *, secret: str | None = None, sign_method: str = "md5", page_size: int = 3, **extra: str
    ) -> TaobaoAdapter:
        credentials = ShopCredentials(
            base_url=server.url,
            app_key=fake.app_key,
            app_secret=secret or fake.secret,
            token=fake.session,
            extra={"sign_method": sign_method, **extra},
        )
        return TaobaoAdapter(
            credentials,
            new_client(),
            sleep=sleeps.append,
            clock=lambda: fake.now,
            page_size=page_size,
        )

    return build


def calls(fake: FakeTaobao, method: str) -> list[dict[str, str]]:
    return [c for c in fake.calls if c.get("method") == method]


# --- pulling -----------------------------------------------------------------------------------


def test_follows_every_page_reading_the_last_page_first(fake: FakeTaobao, make: Make) -> None:
    tids = [fake.add_trade(at=T0 + timedelta(minutes=i)) for i in range(7)]

    raws = list(make().fetch_orders(T0, T0 + timedelta(minutes=30)))

    assert sorted(ids(raws)) == sorted(tids)
    assert [c["page_no"] for c in calls(fake, LIST)] == ["1", "3", "2", "1"]
    assert all(c["page_size"] == "3" for c in calls(fake, LIST))
    assert len(calls(fake, DETAIL)) == 7  # the list is partial; every trade is read in full
    assert raws[0].payload["orders"]["order"][0]["outer_sku_id"] == "MUG-BLU"


def test_orders_changing_while_paging_are_neither_missed_nor_doubled(
    fake: FakeTaobao, make: Make
) -> None:
    tids = [fake.add_trade(at=T0 + timedelta(minutes=i)) for i in range(7)]
    moved = tids[5]  # on page 1: newest first

    def change_once(page_no: int) -> None:
        fake.on_list_page = None
        # Its new modified time is "now", outside the window: every trade behind it moves one
        # place forward, and the one at the top of page 2 slips onto page 1.
        fake.edit_address(moved, address="新地址**号")

    fake.on_list_page = change_once
    raws = list(make().fetch_orders(T0, T0 + timedelta(minutes=30)))

    assert sorted(ids(raws)) == sorted(tids)
    changed = next(r for r in raws if r.external_id == moved)
    assert changed.payload["receiver_address"] == "新地址**号"  # read in its current version


def test_an_order_updated_between_two_pulls_comes_back_in_its_new_version(
    fake: FakeTaobao, make: Make
) -> None:
    adapter = make()
    tid = fake.add_trade(status="WAIT_BUYER_PAY", at=T0 + timedelta(minutes=5))
    first = list(adapter.fetch_orders(T0, T0 + timedelta(minutes=30)))
    assert [adapter.parse(r).status for r in first] == ["unpaid"]

    fake.set_clock(T0 + timedelta(minutes=40))
    fake.pay(tid)
    second = list(adapter.fetch_orders(T0 + timedelta(minutes=30), T0 + timedelta(minutes=60)))

    assert ids(second) == [tid]
    order = adapter.parse(second[0])
    assert order.status == "paid"
    assert order.updated_at == T0 + timedelta(minutes=40)
    assert order.paid_at == T0 + timedelta(minutes=40)


def test_an_order_on_the_window_edge_is_never_lost(fake: FakeTaobao, make: Make) -> None:
    adapter = make()
    edge = T0 + timedelta(minutes=30)
    tid = fake.add_trade(at=edge)

    before = list(adapter.fetch_orders(T0, edge))
    after = list(adapter.fetch_orders(edge, edge + timedelta(minutes=30)))
    assert ids(before) + ids(after) == [tid]  # adjacent windows: exactly one has it

    overlapping = [
        list(adapter.fetch_orders(T0, edge + timedelta(minutes=5))),
        list(adapter.fetch_orders(edge - timedelta(minutes=5), edge + timedelta(minutes=30))),
    ]
    assert [ids(raws) for raws in overlapping] == [[tid], [tid]]


def test_a_long_range_is_cut_into_windows_the_platform_accepts(
    fake: FakeTaobao, make: Make
) -> None:
    fake.set_clock(T0 + timedelta(hours=4))
    tids = [fake.add_trade(at=T0 + timedelta(minutes=m)) for m in (5, 65, 125)]

    raws = list(make().fetch_orders(T0, T0 + timedelta(minutes=150)))

    assert sorted(ids(raws)) == sorted(tids)
    assert len(fake.list_windows) == 5
    assert all(end - start <= timedelta(minutes=30, seconds=1) for start, end in fake.list_windows)
    assert fake.list_windows[0][0] == T0 - timedelta(seconds=1)  # asked a second wider


def test_the_fake_rejects_windows_over_a_day_and_pages_over_100(
    fake: FakeTaobao, make: Make
) -> None:
    adapter = make()
    window = {"fields": "tid", "start_modified": "2024-04-28 00:00:00", "page_no": "1"}
    with pytest.raises(ChannelError) as too_long:
        adapter._call(LIST, {**window, "end_modified": "2024-04-30 00:00:00"})
    assert too_long.value.code == "isv.invalid-parameter:end_modified"
    with pytest.raises(ChannelError) as too_big:
        adapter._call(LIST, {**window, "end_modified": "2024-04-28 01:00:00", "page_size": "101"})
    assert too_big.value.code == "isv.invalid-parameter:page_size"
    with pytest.raises(ValueError):
        make(page_size=101)


def test_the_fake_pages_with_has_next_when_asked(fake: FakeTaobao, make: Make) -> None:
    for i in range(4):
        fake.add_trade(at=T0 + timedelta(minutes=i))
    window = {"fields": "tid,modified", "page_size": "3", "use_has_next": "true"}
    window |= {"start_modified": local(T0), "end_modified": local(T0 + timedelta(minutes=5))}
    first = make()._call(LIST, {**window, "page_no": "1"})
    second = make()._call(LIST, {**window, "page_no": "2"})
    assert "total_results" not in first
    assert (first["has_next"], second["has_next"]) == (True, False)
    newest_first = [t["modified"] for t in first["trades"]["trade"] + second["trades"]["trade"]]
    assert newest_first == sorted(newest_first, reverse=True)


def test_an_unknown_trade_is_a_channel_error(make: Make) -> None:
    with pytest.raises(ChannelError) as exc:
        make().fetch_order("1")
    assert exc.value.code == "isv.trade-not-exist"
    assert not exc.value.retryable


def test_an_adapter_makes_its_own_client_only_when_it_calls_the_platform(
    fake: FakeTaobao, server: Served
) -> None:
    # A webhook only verifies and parses: building a client (a TLS context with the CA bundle,
    # 20-40 ms) for every request cost more than the import itself.
    credentials = ShopCredentials(
        base_url=server.url, app_key=fake.app_key, app_secret=fake.secret, token=fake.session
    )
    adapter = TaobaoAdapter(credentials, clock=lambda: fake.now)
    assert adapter.parse(raw(FULL_TRADE)).external_id == "3812345678901234567"
    adapter.close()  # nothing to close yet
    assert adapter._http is None
    tid = fake.add_trade()
    assert adapter.fetch_order(tid).external_id == tid
    made = adapter._http
    assert made is not None and not made.is_closed
    adapter.close()
    assert made.is_closed and adapter._http is None


# --- signing, errors, limits -------------------------------------------------------------------


def test_a_rejected_signature_raises_auth_error_without_retrying(
    fake: FakeTaobao, make: Make, sleeps: list[float]
) -> None:
    tid = fake.add_trade()
    with pytest.raises(AuthError) as exc:
        make(secret="not-the-secret").fetch_order(tid)
    assert exc.value.code == "25"
    assert len(fake.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
def test_each_sign_method_is_accepted(fake: FakeTaobao, make: Make, sign_method: str) -> None:
    tid = fake.add_trade()
    assert make(sign_method=sign_method).fetch_order(tid).external_id == tid
    assert fake.calls[-1]["sign_method"] == sign_method


def test_a_stale_clock_is_rejected_by_the_gateway(fake: FakeTaobao, make: Make) -> None:
    tid = fake.add_trade()
    adapter = make()
    adapter._clock = lambda: fake.now - timedelta(minutes=11)
    with pytest.raises(ChannelError) as exc:
        adapter.fetch_order(tid)
    assert exc.value.code == "isv.invalid-timestamp"


def test_flow_control_is_retried_after_the_ban(
    fake: FakeTaobao, make: Make, sleeps: list[float]
) -> None:
    tid = fake.add_trade()
    fake.rate_limit_next(2, wait_seconds=3)

    assert make().fetch_order(tid).external_id == tid
    assert sleeps == [3.0, 3.0]
    assert len(fake.calls) == 3


def test_http_429_is_retried_after_retry_after(
    fake: FakeTaobao, make: Make, sleeps: list[float]
) -> None:
    tid = fake.add_trade()
    fake.rate_limit_next(1, http=True, wait_seconds=4)

    assert make().fetch_order(tid).external_id == tid
    assert sleeps == [4.0]


def test_a_rate_limit_that_outlasts_the_retries_is_raised(
    fake: FakeTaobao, make: Make, sleeps: list[float]
) -> None:
    fake.rate_limit_next(10)
    with pytest.raises(RateLimited) as exc:
        make().fetch_order(fake.add_trade())
    assert exc.value.code == "7"
    assert len(sleeps) == 4


# --- ship-back and stock -----------------------------------------------------------------------


def test_ship_sends_tracking_number_and_company_code(fake: FakeTaobao, make: Make) -> None:
    tid = fake.add_trade()

    make().ship(Shipment(external_id=tid, carrier_code="SF", tracking_no="SF1234567890"))

    assert fake.shipments == [{"tid": tid, "out_sid": "SF1234567890", "company_code": "SF"}]
    assert fake.trade(tid)["status"] == "WAIT_BUYER_CONFIRM_GOODS"


def test_ship_part_of_a_trade(fake: FakeTaobao, make: Make) -> None:
    line = {"num_iid": 1, "sku_id": "11", "outer_sku_id": "A", "num": 1, "price": "5.00"}
    tid = fake.add_trade(lines=[line, {**line, "sku_id": "12", "outer_sku_id": "B"}])
    first_oid = str(fake.trade(tid)["orders"]["order"][0]["oid"])

    make().ship(Shipment(tid, "yunda", "4300000000001", line_ids=(first_oid,)))

    assert fake.shipments == [
        {
            "tid": tid,
            "out_sid": "4300000000001",
            "company_code": "YUNDA",
            "is_split": "1",
            "sub_tid": first_oid,
        }
    ]
    assert fake.trade(tid)["status"] == "SELLER_CONSIGNED_PART"


def test_ship_refuses_an_unknown_carrier_before_calling(fake: FakeTaobao, make: Make) -> None:
    with pytest.raises(ChannelError) as exc:
        make().ship(Shipment(fake.add_trade(), "PIGEON", "1"))
    assert exc.value.code == "unknown_carrier"
    assert fake.calls == []


def test_shipping_an_unpaid_trade_is_refused_by_the_platform(
    fake: FakeTaobao, make: Make, sleeps: list[float]
) -> None:
    tid = fake.add_trade(status="WAIT_BUYER_PAY")
    with pytest.raises(ChannelError) as exc:
        make().ship(Shipment(tid, "ZTO", "75000000001"))
    assert exc.value.code == "isv.logistics-offline-service-error"
    assert sleeps == [] and fake.shipments == []


def test_push_stock_batches_skus_per_item(fake: FakeTaobao, make: Make) -> None:
    fake.add_item(680000000001, {"5000000001": "MUG-BLU", "5000000002": "MUG-RED"})
    fake.add_item(680000000002, num=3)

    make().push_stock(
        [
            StockQuantity("5000000001", 7, channel_item="680000000001"),
            StockQuantity("5000000002", -2, channel_item="680000000001"),
            StockQuantity("", 12, channel_item="680000000002"),
        ]
    )

    skus = fake.items[680000000001]["skus"]
    assert (skus["5000000001"]["quantity"], skus["5000000002"]["quantity"]) == (7, 0)
    assert fake.items[680000000002]["num"] == 12
    assert len(calls(fake, "taobao.skus.quantity.update")) == 1
    assert calls(fake, "taobao.skus.quantity.update")[0]["skuid_quantities"] == (
        "5000000001:7;5000000002:0"
    )
    assert calls(fake, "taobao.item.quantity.update")[0]["type"] == "1"


def test_push_stock_by_merchant_sku_code(fake: FakeTaobao, make: Make) -> None:
    fake.add_item(680000000001, {"5000000001": "MUG-BLU"})
    make(stock_sku_key="outer_id").push_stock(
        [StockQuantity("MUG-BLU", 5, channel_item="680000000001")]
    )
    assert fake.items[680000000001]["skus"]["5000000001"]["quantity"] == 5


def test_push_stock_needs_the_item_id(fake: FakeTaobao, make: Make) -> None:
    with pytest.raises(ChannelError, match="num_iid"):
        make().push_stock([StockQuantity("5000000001", 1)])
    assert fake.calls == []


# --- mapping -----------------------------------------------------------------------------------

# CHANNELS.md §3.10's fullinfo example, plus a second line with a refund under way.
FULL_TRADE: dict[str, Any] = {
    "tid": 3812345678901234567,
    "tid_str": "3812345678901234567",
    "status": "WAIT_SELLER_SEND_GOODS",
    "type": "fixed",
    "created": "2024-05-01 11:40:02",
    "modified": "2024-05-01 11:41:10",
    "pay_time": "2024-05-01 11:41:09",
    "payment": "143.00",
    "total_fee": "143.00",
    "post_fee": "10.00",
    "discount_fee": "10.00",
    "buyer_nick": "t**1",
    "buyer_open_uid": "AAHxxx",
    "buyer_message": "周末送",
    "seller_memo": "",
    "seller_flag": 0,
    "receiver_name": "张**",
    "receiver_mobile": "*******8000",
    "receiver_state": "浙江省",
    "receiver_city": "杭州市",
    "receiver_district": "西湖区",
    "receiver_town": "文新街道",
    "receiver_address": "文**路**号",
    "receiver_zip": "310000",
    "oaid": "1Bxx",
    "orders": {
        "order": [
            {
                "oid": 3812345678901234567,
                "num_iid": 680000000001,
                "sku_id": "5000000001",
                "outer_iid": "MUG",
                "outer_sku_id": "MUG-BLU",
                "title": "马克杯",
                "sku_properties_name": "颜色:蓝色",
                "num": 2,
                "price": "64.00",
                "total_fee": "128.00",
                "payment": "128.00",
                "divide_order_fee": "128.00",
                "status": "WAIT_SELLER_SEND_GOODS",
                "refund_status": "NO_REFUND",
            },
            {
                "oid": 3812345678901234568,
                "num_iid": 680000000002,
                "outer_iid": "SPOON",
                "title": "勺子",
                "num": 1,
                "price": "15.00",
                "total_fee": "15.00",
                "payment": "15.00",
                "status": "WAIT_SELLER_SEND_GOODS",
                "refund_status": "WAIT_SELLER_AGREE",
            },
        ]
    },
}


def raw(trade: dict[str, Any]) -> RawOrder:
    return RawOrder(external_id=str(trade.get("tid")), updated_at=None, payload=trade)


def test_parse_maps_a_full_trade(make: Make) -> None:
    order = make().parse(raw(FULL_TRADE))

    assert order.external_id == "3812345678901234567"
    assert order.status == "paid"
    assert order.created_at == datetime(2024, 5, 1, 3, 40, 2, tzinfo=UTC)
    assert order.paid_at == datetime(2024, 5, 1, 3, 41, 9, tzinfo=UTC)
    assert order.updated_at == datetime(2024, 5, 1, 3, 41, 10, tzinfo=UTC)
    assert (order.shipping_fee, order.discount) == (Decimal("10.00"), Decimal("10.00"))
    assert order.total_amount == Decimal("143.00")  # what the buyer paid
    assert order.buyer.id == "AAHxxx" and order.buyer_message == "周末送"
    mug, spoon = order.lines
    assert (mug.sku, mug.quantity, mug.unit_price) == ("MUG-BLU", 2, Decimal("64.00"))
    assert (mug.spec, mug.name, mug.channel_sku_id) == ("颜色:蓝色", "马克杯", "5000000001")
    assert (mug.channel_line_id, mug.refund_status) == ("3812345678901234567", "none")
    assert (spoon.sku, spoon.channel_sku_id, spoon.refund_status) == ("SPOON", None, "refunding")
    receiver = order.receiver
    assert (receiver.province, receiver.city, receiver.district) == ("浙江省", "杭州市", "西湖区")
    assert (receiver.name, receiver.phone, receiver.zip) == ("张**", "*******8000", "310000")
    assert receiver.address == "文新街道文**路**号"
    assert receiver.model_extra == {"oaid": "1Bxx"}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("WAIT_BUYER_PAY", "unpaid"),
        ("TRADE_NO_CREATE_PAY", "unpaid"),
        ("PAID_FORBID_CONSIGN", "unpaid"),
        ("WAIT_SELLER_SEND_GOODS", "paid"),
        ("SELLER_CONSIGNED_PART", "paid"),
        ("WAIT_BUYER_CONFIRM_GOODS", "paid"),
        ("TRADE_FINISHED", "paid"),
        ("TRADE_CLOSED", "cancelled"),
        ("TRADE_CLOSED_BY_TAOBAO", "cancelled"),
    ],
)
def test_trade_status_mapping(make: Make, status: str, expected: str) -> None:
    assert make().parse(raw({**FULL_TRADE, "status": status})).status == expected


def _without(path: tuple[Any, ...]) -> dict[str, Any]:
    return changed(FULL_TRADE, path)


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    return changed(FULL_TRADE, path, value)


@pytest.mark.parametrize(
    ("trade", "field"),
    [
        (_without(("created",)), "created"),
        (_without(("status",)), "status"),
        (_without(("orders",)), "orders"),
        (_without(("payment",)), "payment"),
        (_with(("payment",), "12,00"), "payment"),
        (_with(("created",), "2024-05-01T11:40:02"), "created"),
        (_with(("status",), "SOMETHING_NEW"), "status"),
        (_with(("orders", "order", 1, "num"), 0), "orders.order[1].num"),
        (_with(("orders", "order", 0, "price"), "free"), "orders.order[0].price"),
        (_with(("orders", "order", 0, "refund_status"), "ODD"), "orders.order[0].refund_status"),
        (_without(("orders", "order", 0, "oid")), "orders.order[0].oid"),
    ],
)
def test_parse_names_the_bad_field(make: Make, trade: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as exc:
        make().parse(raw(trade))
    assert str(exc.value).startswith(field + ":")


def test_a_county_level_city_in_the_district_field_becomes_the_city(make: Make) -> None:
    trade = {**FULL_TRADE, "receiver_city": "", "receiver_district": "义乌市"}
    receiver = make().parse(raw(trade)).receiver
    assert (receiver.city, receiver.district) == ("义乌市", None)


def test_line_refunds_and_address_edits_come_through_a_pull(fake: FakeTaobao, make: Make) -> None:
    adapter = make()
    tid = fake.add_trade(at=T0)
    oid = fake.trade(tid)["orders"]["order"][0]["oid"]
    fake.set_clock(T0 + timedelta(minutes=10))
    fake.refund_line(tid, oid)
    fake.edit_address(tid, address="文三路**号")

    (pulled,) = adapter.fetch_orders(T0 + timedelta(minutes=5), T0 + timedelta(minutes=15))
    order = adapter.parse(pulled)

    assert order.lines[0].refund_status == "refunded"
    assert order.receiver.address == "文新街道文三路**号"
    assert pulled.updated_at == parse_local(fake.trade(tid)["modified"])
