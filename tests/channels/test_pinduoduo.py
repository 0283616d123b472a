"""PinduoduoAdapter against the fake PDD gateway over real HTTP (CHANNELS.md §4)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lvyue.channels.adapters.base import (
    AuthError,
    ChannelError,
    PayloadError,
    RawOrder,
    Shipment,
    ShopCredentials,
    StockQuantity,
)
from lvyue.channels.adapters.pinduoduo import PinduoduoAdapter
from tests.channels.fakes.pinduoduo import FakePinduoduo
from tests.channels.fakes.taobao import SHANGHAI
from tests.channels.helpers import Served, ids, new_client

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI)
LIST = "pdd.order.number.list.increment.get"

Make = Callable[..., PinduoduoAdapter]


@pytest.fixture
def fake(server: Served) -> FakePinduoduo:
    return server.switch.use(FakePinduoduo(now=T0 + timedelta(hours=2)))


@pytest.fixture
def make(fake: FakePinduoduo, sleeps: list[float], server: Served) -> Make:
    def build(
        *, secret: str | None = None, token: str | None = None, page_size: int = 3, **extra: str
    ) -> PinduoduoAdapter:
        credentials = ShopCredentials(
            base_url=server.url,
            app_key=fake.client_id,
            app_secret=secret or fake.client_secret,
            token=token or fake.access_token,
            extra=extra,
        )
        return PinduoduoAdapter(
            credentials,
            new_client(),
            sleep=sleeps.append,
            clock=lambda: fake.now,
            page_size=page_size,
        )

    return build


def calls(fake: FakePinduoduo, api_type: str) -> list[dict[str, Any]]:
    return [c for c in fake.calls if c.get("type") == api_type]


# --- pulling -----------------------------------------------------------------------------------


def test_follows_every_page_reading_the_last_page_first(fake: FakePinduoduo, make: Make) -> None:
    sns = [fake.add_order(at=T0 + timedelta(minutes=i)) for i in range(7)]

    raws = list(make().fetch_orders(T0, T0 + timedelta(minutes=29)))

    assert sorted(ids(raws)) == sorted(sns)
    assert [c["page"] for c in calls(fake, LIST)] == [1, 3, 2, 1]
    assert len(fake.calls) == 4  # the list carries whole orders: no detail calls
    assert raws[0].payload["item_list"][0]["outer_id"] == "MUG-BLU"
    assert all(isinstance(c["start_updated_at"], int) for c in calls(fake, LIST))  # Unix seconds


def test_orders_changing_while_paging_are_neither_missed_nor_doubled(
    fake: FakePinduoduo, make: Make
) -> None:
    sns = [fake.add_order(at=T0 + timedelta(minutes=i)) for i in range(7)]
    moved = sns[5]  # on page 1: newest first

    def change_once(page_no: int) -> None:
        fake.on_list_page = None
        # Its new updated_at is "now", outside the window: every order behind it moves one
        # place forward, and the one at the top of page 2 slips onto page 1.
        fake.refund(moved, refund_status=2)

    fake.on_list_page = change_once
    adapter = make()
    raws = list(adapter.fetch_orders(T0, T0 + timedelta(minutes=29)))

    assert sorted(ids(raws)) == sorted(sns)  # each once; the moved one as first seen
    since, until = fake.now - timedelta(minutes=1), fake.now + timedelta(seconds=1)
    later = list(adapter.fetch_orders(since, until))
    assert ids(later) == [moved]
    assert adapter.parse(later[0]).lines[0].refund_status == "refunding"


def test_an_order_updated_between_two_pulls_comes_back_in_its_new_version(
    fake: FakePinduoduo, make: Make
) -> None:
    adapter = make()
    sn = fake.add_order(confirm_status=0, at=T0 + timedelta(minutes=5))  # group not formed yet
    first = list(adapter.fetch_orders(T0, T0 + timedelta(minutes=29)))
    assert [adapter.parse(r).status for r in first] == ["unpaid"]

    fake.set_clock(T0 + timedelta(minutes=40))
    fake.change(sn, confirm_status=1)
    second = list(adapter.fetch_orders(T0 + timedelta(minutes=29), T0 + timedelta(minutes=58)))

    assert ids(second) == [sn]
    order = adapter.parse(second[0])
    assert order.status == "paid"
    assert order.updated_at == second[0].updated_at == T0 + timedelta(minutes=40)


def test_an_order_on_the_window_edge_is_never_lost(fake: FakePinduoduo, make: Make) -> None:
    adapter = make()
    edge = T0 + timedelta(minutes=20)
    sn = fake.add_order(at=edge)

    before = list(adapter.fetch_orders(T0, edge))
    after = list(adapter.fetch_orders(edge, edge + timedelta(minutes=20)))
    assert ids(before) + ids(after) == [sn]  # adjacent windows: exactly one has it

    overlapping = [
        list(adapter.fetch_orders(T0, edge + timedelta(minutes=5))),
        list(adapter.fetch_orders(edge - timedelta(minutes=5), edge + timedelta(minutes=20))),
    ]
    assert [ids(raws) for raws in overlapping] == [[sn], [sn]]


def test_a_long_range_is_cut_into_windows_of_at_most_30_minutes(
    fake: FakePinduoduo, make: Make
) -> None:
    fake.set_clock(T0 + timedelta(hours=4))
    sns = [fake.add_order(at=T0 + timedelta(minutes=m)) for m in (5, 65, 125)]

    raws = list(make().fetch_orders(T0, T0 + timedelta(minutes=150)))

    assert sorted(ids(raws)) == sorted(sns)
    assert len(fake.list_windows) == 6
    assert all(0 < end - start <= 1800 for start, end in fake.list_windows)
    assert fake.list_windows[0][0] == int(T0.timestamp()) - 1  # asked a second wider


def test_the_fake_rejects_windows_over_30_minutes_and_pages_over_100(
    fake: FakePinduoduo, make: Make
) -> None:
    adapter = make()
    start = int(T0.timestamp())
    window = {"start_updated_at": start, "page": 1}
    with pytest.raises(ChannelError) as too_long:
        adapter._call(LIST, {**window, "end_updated_at": start + 1801})
    assert too_long.value.code == "10000"
    with pytest.raises(ChannelError) as too_big:
        adapter._call(LIST, {**window, "end_updated_at": start + 60, "page_size": 101})
    assert "page_size" in str(too_big.value)
    with pytest.raises(ValueError):
        make(page_size=101)


def test_the_fake_pages_with_has_next_when_asked(fake: FakePinduoduo, make: Make) -> None:
    for i in range(4):
        fake.add_order(at=T0 + timedelta(minutes=i))
    start = int(T0.timestamp())
    window = {"start_updated_at": start, "end_updated_at": start + 600, "page_size": 3}
    first = make()._call(LIST, {**window, "page": 1, "use_has_next": True})
    second = make()._call(LIST, {**window, "page": 2, "use_has_next": True})
    assert "total_count" not in first
    assert (first["has_next"], second["has_next"]) == (True, False)
    newest_first = [o["updated_at"] for o in first["order_sn_list"] + second["order_sn_list"]]
    assert newest_first == sorted(newest_first, reverse=True)


def test_fetch_order_reads_one_order(fake: FakePinduoduo, make: Make) -> None:
    sn = fake.add_order()
    raw = make().fetch_order(sn)
    assert raw.external_id == sn
    assert raw.updated_at == fake.now
    assert calls(fake, "pdd.order.information.get")[0]["order_sn"] == sn


# --- signing, errors, limits -------------------------------------------------------------------


def test_a_rejected_signature_raises_auth_error_without_retrying(
    fake: FakePinduoduo, make: Make, sleeps: list[float]
) -> None:
    sn = fake.add_order()
    with pytest.raises(AuthError) as exc:
        make(secret="not-the-secret").fetch_order(sn)
    assert exc.value.code == "20004"
    assert len(fake.calls) == 1
    assert sleeps == []


def test_an_expired_token_is_an_auth_error(fake: FakePinduoduo, make: Make) -> None:
    with pytest.raises(AuthError) as exc:
        make(token="old-token").fetch_order(fake.add_order())
    assert exc.value.code == "10019"


def test_frequency_limits_are_retried(fake: FakePinduoduo, make: Make, sleeps: list[float]) -> None:
    sn = fake.add_order()
    fake.rate_limit_next(2)

    assert make().fetch_order(sn).external_id == sn
    assert sleeps == [1.0, 1.0]
    assert len(fake.calls) == 3


def test_http_429_is_retried_after_retry_after(
    fake: FakePinduoduo, make: Make, sleeps: list[float]
) -> None:
    sn = fake.add_order()
    fake.rate_limit_next(1, http=True, wait_seconds=4)

    assert make().fetch_order(sn).external_id == sn
    assert sleeps == [4.0]


# --- ship-back and stock -----------------------------------------------------------------------


def test_ship_sends_tracking_number_and_logistics_id(fake: FakePinduoduo, make: Make) -> None:
    sn = fake.add_order()

    make().ship(Shipment(external_id=sn, carrier_code="SF", tracking_no="SF1234567890"))

    assert fake.shipments == [
        {"order_sn": sn, "logistics_id": 44, "tracking_number": "SF1234567890"}
    ]
    assert fake.order(sn)["order_status"] == 2


def test_ship_refuses_an_unknown_carrier_before_calling(fake: FakePinduoduo, make: Make) -> None:
    with pytest.raises(ChannelError) as exc:
        make().ship(Shipment(fake.add_order(), "PIGEON", "1"))
    assert exc.value.code == "unknown_carrier"
    assert fake.calls == []


def test_shipping_a_shipped_order_again_is_refused(
    fake: FakePinduoduo, make: Make, sleeps: list[float]
) -> None:
    sn = fake.add_order(order_status=2)
    with pytest.raises(ChannelError) as exc:
        make().ship(Shipment(sn, "ZTO", "75000000001"))
    assert not exc.value.retryable
    assert sleeps == [] and fake.shipments == []


def test_push_stock_sets_absolute_quantities(fake: FakePinduoduo, make: Make) -> None:
    fake.add_goods(470000000001, {1190000000001: "MUG-BLU", 1190000000002: "MUG-RED"})

    make().push_stock(
        [
            StockQuantity("1190000000001", 7, channel_item="470000000001"),
            StockQuantity("1190000000002", -1, channel_item="470000000001"),
        ]
    )

    skus = fake.goods[470000000001]
    assert (skus[1190000000001]["quantity"], skus[1190000000002]["quantity"]) == (7, 0)
    assert fake.stock_updates == [
        {"goods_id": 470000000001, "sku_id": 1190000000001, "quantity": 7, "update_type": 1},
        {"goods_id": 470000000001, "sku_id": 1190000000002, "quantity": 0, "update_type": 1},
    ]


def test_push_stock_by_merchant_sku_code(fake: FakePinduoduo, make: Make) -> None:
    fake.add_goods(470000000001, {1190000000001: "MUG-BLU"})
    make(stock_sku_key="outer_id").push_stock(
        [StockQuantity("MUG-BLU", 5, channel_item="470000000001")]
    )
    assert fake.goods[470000000001][1190000000001]["quantity"] == 5


def test_push_stock_needs_goods_id_and_sku(fake: FakePinduoduo, make: Make) -> None:
    with pytest.raises(ChannelError, match="goods_id"):
        make().push_stock(
            [
                StockQuantity("1190000000001", 1, channel_item="470000000001"),
                StockQuantity("1190000000001", 1),
            ]
        )
    assert fake.calls == []


# --- mapping -----------------------------------------------------------------------------------

# CHANNELS.md §4.8's order_info example.
FULL_ORDER: dict[str, Any] = {
    "order_sn": "240501-481234567890123",
    "order_status": 1,
    "refund_status": 1,
    "after_sales_status": 0,
    "confirm_status": 1,
    "risk_control_status": 0,
    "created_time": "2024-05-01 11:40:02",
    "pay_time": "2024-05-01 11:40:30",
    "confirm_time": "2024-05-01 11:40:31",
    "updated_at": "2024-05-01 11:40:31",
    "last_ship_time": "2024-05-03 11:40:31",
    "goods_amount": 128.0,
    "discount_amount": 0.0,
    "postage": 0.0,
    "pay_amount": 128.0,
    "province": "浙江省",
    "city": "杭州市",
    "town": "西湖区",
    "receiver_name": "~AgAAAAxxxx~",
    "receiver_phone": "$1380$AgAAAAxxxx$",
    "receiver_address": "~AgAAAAyyyy~",
    "receiver_name_mask": "张*",
    "receiver_phone_mask": "138****8000",
    "receiver_address_mask": "文三路**号",
    "buyer_memo": "",
    "remark": "",
    "tracking_number": "",
    "logistics_id": 0,
    "item_list": [
        {
            "goods_id": 470000000001,
            "goods_name": "马克杯",
            "goods_spec": "蓝色",
            "sku_id": 1190000000001,
            "outer_id": "MUG-BLU",
            "outer_goods_id": "MUG",
            "goods_count": 2,
            "goods_price": 64.0,
        }
    ],
}


def raw(order: dict[str, Any]) -> RawOrder:
    return RawOrder(external_id=str(order.get("order_sn")), updated_at=None, payload=order)


def test_parse_maps_a_full_order(make: Make) -> None:
    order = make().parse(raw(FULL_ORDER))

    assert order.external_id == "240501-481234567890123"
    assert order.status == "paid"
    assert order.created_at == datetime(2024, 5, 1, 3, 40, 2, tzinfo=UTC)
    assert order.paid_at == datetime(2024, 5, 1, 3, 40, 30, tzinfo=UTC)
    assert order.updated_at == datetime(2024, 5, 1, 3, 40, 31, tzinfo=UTC)
    assert (order.shipping_fee, order.discount, order.total_amount) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("128.00"),
    )
    (line,) = order.lines
    assert (line.sku, line.quantity, line.unit_price) == ("MUG-BLU", 2, Decimal("64.00"))
    assert (line.spec, line.name, line.channel_sku_id) == ("蓝色", "马克杯", "1190000000001")
    assert line.refund_status == "none"
    receiver = order.receiver
    assert (receiver.name, receiver.phone, receiver.address) == ("张*", "138****8000", "文三路**号")
    assert (receiver.province, receiver.city, receiver.district) == ("浙江省", "杭州市", "西湖区")
    assert receiver.country == "CN"


def test_float_amounts_become_exact_decimals(make: Make) -> None:
    item = {**FULL_ORDER["item_list"][0], "goods_price": 19.9, "goods_count": 3}
    order = make().parse(
        raw({**FULL_ORDER, "item_list": [item], "postage": 6.0, "pay_amount": 60.7})
    )
    assert order.lines[0].unit_price == Decimal("19.90")
    assert (order.shipping_fee, order.discount) == (Decimal("6.00"), Decimal("5.00"))
    assert order.total_amount == Decimal("60.70")  # 3 × 19.9 + 6 − 5, not 60.699999…


@pytest.mark.parametrize(
    ("changes", "status", "refund"),
    [
        ({}, "paid", "none"),
        ({"order_status": 2}, "paid", "none"),
        ({"order_status": 3}, "paid", "none"),
        ({"confirm_status": 0}, "unpaid", "none"),
        ({"pay_time": ""}, "unpaid", "none"),
        ({"confirm_status": 2}, "cancelled", "none"),
        ({"refund_status": 2}, "paid", "refunding"),
        ({"refund_status": 3}, "paid", "refunding"),
        ({"refund_status": 4}, "cancelled", "refunded"),
    ],
)
def test_status_and_refund_mapping(
    make: Make, changes: dict[str, Any], status: str, refund: str
) -> None:
    order = make().parse(raw({**FULL_ORDER, **changes}))
    assert (order.status, order.lines[0].refund_status) == (status, refund)


def test_risk_control_is_tagged_and_gifts_ship_free(make: Make) -> None:
    gift = {"goods_id": 1, "goods_name": "杯垫", "sku_id": 2, "outer_id": "PAD", "goods_count": 1}
    order = make().parse(raw({**FULL_ORDER, "risk_control_status": 1, "gift_list": [gift]}))
    assert order.tags == ["risk_control"]
    assert [(ln.sku, ln.unit_price) for ln in order.lines] == [
        ("MUG-BLU", Decimal("64.00")),
        ("PAD", Decimal("0.00")),
    ]
    assert order.total_amount == Decimal("128.00")


def _edit(**changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(FULL_ORDER)
    for key, value in changes.items():
        if value is None:
            del order[key]
        else:
            order[key] = value
    return order


def _edit_item(**changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(FULL_ORDER)
    order["item_list"][0].update(changes)
    return order


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (_edit(order_sn=None), "order_sn"),
        (_edit(created_time=None), "created_time"),
        (_edit(created_time="1714534802"), "created_time"),
        (_edit(pay_amount=None), "pay_amount"),
        (_edit(pay_amount="lots"), "pay_amount"),
        (_edit(postage=-1.0), "postage"),
        (_edit(order_status=9), "order_status"),
        (_edit(refund_status=7), "refund_status"),
        (_edit(item_list=None), "item_list"),
        (_edit(item_list=[]), "item_list"),
        (_edit_item(goods_count=0), "item_list[0].goods_count"),
        (_edit_item(goods_price="x"), "item_list[0].goods_price"),
        (_edit_item(outer_id="", outer_goods_id="", sku_id=None, goods_id=None), "item_list[0]"),
    ],
)
def test_parse_names_the_bad_field(make: Make, order: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadError) as exc:
        make().parse(raw(order))
    assert str(exc.value).startswith(field)
