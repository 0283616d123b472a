"""The WooCommerce adapter against a fake WooCommerce site over real HTTP (CHANNELS.md §2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from lvyue.channels.adapters.base import (
    AuthError,
    ChannelError,
    PayloadError,
    Shipment,
    ShopCredentials,
    StockQuantity,
)
from lvyue.channels.adapters.webhooks import base64_hmac_sha256
from lvyue.channels.adapters.woocommerce import (
    STATUS,
    WooCommerceAdapter,
    is_webhook_ping,
    parse_order,
    woocommerce_webhook_signature,
)
from tests.channels.fakes.server import Request
from tests.channels.fakes.woocommerce import FakeWooCommerce
from tests.channels.helpers import Served, ids, new_client

T0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def fake(server: Served) -> FakeWooCommerce:
    return server.switch.use(FakeWooCommerce(now=T0))


@pytest.fixture
def base_url(server: Served, fake: FakeWooCommerce) -> str:
    return server.url


def make_adapter(
    base_url: str,
    fake: FakeWooCommerce,
    sleeps: list[float],
    *,
    key: str | None = None,
    secret: str | None = None,
    **extra: str,
) -> WooCommerceAdapter:
    creds = ShopCredentials(
        base_url=base_url,
        app_key=key or fake.consumer_key,
        app_secret=secret or fake.consumer_secret,
        extra={"webhook_secret": fake.webhook_secret, **extra},
    )
    return WooCommerceAdapter(creds, new_client(), sleep=sleeps.append, page_size=2)


@pytest.fixture
def adapter(base_url: str, fake: FakeWooCommerce, sleeps: list[float]) -> WooCommerceAdapter:
    return make_adapter(base_url, fake, sleeps)


def list_requests(fake: FakeWooCommerce) -> list[Request]:
    return [r for r in fake.requests if r.path == "/wp-json/wc/v3/orders"]


def add_orders_at(fake: FakeWooCommerce, moments: list[datetime]) -> list[dict[str, Any]]:
    orders = []
    for moment in moments:
        fake.set_clock(moment)
        orders.append(fake.add_order())
    return orders


# --- signing ------------------------------------------------------------------------------


def test_webhook_signature_matches_the_channels_md_vector() -> None:
    body = b'{"id":820982911946154508,"name":"#1001"}'
    assert woocommerce_webhook_signature("wc_secret", body) == (
        "wfb6ayOC7ZLvwNsZvh8GVWnN1F33CC7s0VAIXXQfIbI="
    )
    # WooCommerce signs with the HTML-entity-decoded secret.
    assert woocommerce_webhook_signature("a&amp;b", body) == base64_hmac_sha256("a&b", body)


def test_verify_webhook_on_the_raw_body(adapter: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    order = fake.add_order()
    headers, body = fake.webhook("order.updated", order["id"])
    assert b"\\/" in body or b"\\u" in body  # PHP's json_encode escaping, signed as sent
    assert adapter.verify_webhook(headers, body)
    assert adapter.verify_webhook({k.lower(): v for k, v in headers.items()}, body)
    assert not adapter.verify_webhook(headers, json.dumps(json.loads(body)).encode())
    assert not adapter.verify_webhook({**headers, "X-WC-Webhook-Signature": "AAAA"}, body)
    ping_headers, ping_body = fake.webhook_ping()
    assert is_webhook_ping(ping_headers, ping_body)
    assert not is_webhook_ping(headers, body)
    assert not adapter.verify_webhook(ping_headers, ping_body)


# --- incremental pull ---------------------------------------------------------------------


def test_pulls_every_order_of_a_window_larger_than_a_page(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    orders = add_orders_at(fake, [T0 + timedelta(minutes=m) for m in (1, 2, 3, 17, 40, 41, 59)])
    fake.set_clock(T0 + timedelta(hours=2))
    got = ids(adapter.fetch_orders(T0, T0 + timedelta(hours=1)))
    assert sorted(got) == sorted(str(o["id"]) for o in orders)
    reqs = list_requests(fake)
    assert len(reqs) > 4  # several pages' worth, each read by its own narrower window
    for r in reqs:
        assert r.query["dates_are_gmt"] == "true"
        assert r.query["orderby"] == "id"
        assert r.query["per_page"] == "2"
        assert r.query["page"] == "1"
        assert "T" in r.query["modified_after"] and "+" not in r.query["modified_after"]


def test_pages_a_bulk_edit_within_one_second_from_the_last_page(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce, base_url: str
) -> None:
    moment = T0 + timedelta(minutes=5)
    orders = add_orders_at(fake, [moment] * 5)
    fake.set_clock(T0 + timedelta(hours=2))
    got = ids(adapter.fetch_orders(T0, T0 + timedelta(hours=1)))
    assert sorted(got) == sorted(str(o["id"]) for o in orders)
    second = [r for r in list_requests(fake) if r.query["modified_before"] == "2024-05-01T02:05:01"]
    assert [r.query["page"] for r in second] == ["1", "3", "2", "1"]
    # X-WP-Total / X-WP-TotalPages are what the adapter relied on.
    resp = httpx.get(
        f"{base_url}/wp-json/wc/v3/orders",
        params={"per_page": 2},
        auth=(fake.consumer_key, fake.consumer_secret),
    )
    assert resp.headers["X-WP-Total"] == "5"
    assert resp.headers["X-WP-TotalPages"] == "3"


def test_orders_changing_while_paging_are_neither_lost_nor_doubled(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    moment = T0 + timedelta(minutes=5)
    a1, a2, a3, a4, a5 = add_orders_at(fake, [moment] * 5)
    fake.set_clock(T0 + timedelta(hours=2))

    def change_mid_sync(request: Request) -> None:
        if request.query.get("page") == "2":
            fake.edit_address(a5["id"], address_1="already read")  # leaves the window
            fake.edit_address(a1["id"], address_1="not read yet")  # shifts a3 onto page 1

    fake.on_request = change_mid_sync
    window = (T0, T0 + timedelta(hours=1))
    got = ids(adapter.fetch_orders(*window))
    assert len(got) == len(set(got))
    # Reading first-to-last would have lost a3, which never changed.
    assert sorted(got) == sorted(str(o["id"]) for o in (a2, a3, a4, a5))
    fake.on_request = None
    assert str(a1["id"]) in ids(adapter.fetch_orders(window[1], T0 + timedelta(hours=3)))


def test_second_pull_returns_the_new_version_of_an_updated_order(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    order = fake.add_order(status="pending")
    first = list(adapter.fetch_orders(T0, T0 + timedelta(minutes=5)))
    assert adapter.parse(first[0]).status == "unpaid"
    fake.set_clock(T0 + timedelta(minutes=7))
    fake.pay(order["id"])
    second = list(adapter.fetch_orders(T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)))
    assert ids(second) == [str(order["id"])]
    parsed = adapter.parse(second[0])
    assert parsed.status == "paid"
    assert parsed.paid_at == parsed.updated_at == T0 + timedelta(minutes=7)


def test_order_exactly_at_the_window_edge(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    a, b, c = T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
    fake.set_clock(b)
    edge = str(fake.add_order()["id"])
    fake.set_clock(c + timedelta(minutes=1))
    # WooCommerce's modified_after is exclusive; the adapter still includes ``since``.
    assert ids(adapter.fetch_orders(a, b)) == []
    assert ids(adapter.fetch_orders(b, c)) == [edge]
    assert edge in ids(adapter.fetch_orders(b - timedelta(minutes=2), c))
    assert ids(adapter.fetch_orders(b - timedelta(milliseconds=1), c)) == [edge]
    assert ids(adapter.fetch_orders(b + timedelta(milliseconds=1), c)) == []


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [
        ("ck_test_key", "cs_wrong", "woocommerce_rest_authentication_error"),
        ("ck_unknown", "cs_test_secret", "woocommerce_rest_cannot_view"),
    ],
)
def test_bad_credentials_raise_auth_error_without_retry(
    base_url: str, fake: FakeWooCommerce, sleeps: list[float], key: str, secret: str, code: str
) -> None:
    bad = make_adapter(base_url, fake, sleeps, key=key, secret=secret)
    with pytest.raises(AuthError) as exc:
        list(bad.fetch_orders(T0, T0 + timedelta(hours=1)))
    assert exc.value.code == code
    assert len(fake.requests) == 1
    assert sleeps == []


def test_credentials_in_the_query_string(
    base_url: str, fake: FakeWooCommerce, sleeps: list[float]
) -> None:
    order = fake.add_order()
    adapter = make_adapter(base_url, fake, sleeps, auth_in_query="true")
    assert ids(adapter.fetch_orders(T0, T0 + timedelta(minutes=1))) == [str(order["id"])]
    assert "authorization" not in fake.requests[-1].headers


def test_rate_limit_is_retried_after_the_retry_after_wait(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce, sleeps: list[float]
) -> None:
    order = fake.add_order()
    fake.rate_limit_next(2, retry_after=4)
    assert ids(adapter.fetch_orders(T0, T0 + timedelta(minutes=1))) == [str(order["id"])]
    assert sleeps == [4.0, 4.0]


def test_fetch_order_and_unknown_order(adapter: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    order = fake.add_order()
    raw = adapter.fetch_order(str(order["id"]))
    assert raw.payload["order_key"] == order["order_key"]
    assert raw.updated_at == T0
    with pytest.raises(ChannelError) as exc:
        adapter.fetch_order("99999")
    assert exc.value.code == "woocommerce_rest_shop_order_invalid_id"
    assert not exc.value.retryable


def test_fake_enforces_page_limits(base_url: str, fake: FakeWooCommerce) -> None:
    auth = (fake.consumer_key, fake.consumer_secret)
    url = f"{base_url}/wp-json/wc/v3/orders"
    too_big = httpx.get(url, params={"per_page": 101}, auth=auth)
    assert too_big.status_code == 400
    assert too_big.json()["code"] == "rest_invalid_param"
    fake.add_order()
    beyond = httpx.get(url, params={"page": 2}, auth=auth)
    assert beyond.json()["code"] == "woocommerce_rest_invalid_page_number"
    with pytest.raises(ValueError):
        WooCommerceAdapter(
            ShopCredentials(base_url=base_url, app_key="ck", app_secret="cs"), page_size=101
        )


# --- ship-back ----------------------------------------------------------------------------


def test_ship_adds_tracking_then_completes_and_is_idempotent(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    order = fake.add_order()
    adapter.ship(Shipment(str(order["id"]), "SF", "SF1234567890123"))
    (tracking,) = fake.trackings[order["id"]]
    assert tracking["tracking_number"] == "SF1234567890123"
    assert tracking["tracking_provider"] == "顺丰速运"
    assert tracking["tracking_link"].endswith("com=shunfeng&nu=SF1234567890123")
    assert fake.status_changes == [(order["id"], "completed")]
    assert fake.orders[order["id"]]["date_completed_gmt"] is not None
    adapter.ship(Shipment(str(order["id"]), "SF", "SF1234567890123"))
    assert len(fake.trackings[order["id"]]) == 1
    assert fake.status_changes == [(order["id"], "completed")]


def test_ship_without_the_tracking_extension_writes_a_customer_note(
    base_url: str, fake: FakeWooCommerce, sleeps: list[float]
) -> None:
    fake.shipment_tracking = False
    adapter = make_adapter(base_url, fake, sleeps)
    order = fake.add_order()
    adapter.ship(Shipment(str(order["id"]), "YUNDA", "YD998877"))
    adapter.ship(Shipment(str(order["id"]), "YUNDA", "YD998877"))
    (note,) = fake.notes[order["id"]]
    assert "韵达快递 YD998877" in note["note"]
    assert "com=yunda&nu=YD998877" in note["note"]
    assert note["customer_note"] is True
    assert fake.orders[order["id"]]["status"] == "completed"


def test_ship_a_cancelled_order_is_refused(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    order = fake.add_order()
    fake.cancel(order["id"])
    with pytest.raises(ChannelError) as exc:
        adapter.ship(Shipment(str(order["id"]), "SF", "SF1"))
    assert exc.value.code == "not_shippable"
    assert fake.trackings[order["id"]] == []
    assert fake.orders[order["id"]]["status"] == "cancelled"


# --- stock --------------------------------------------------------------------------------


def test_push_stock_through_the_batch_endpoints(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    simple = fake.add_product("CUP-001", name="Cup")
    variation = fake.add_product("MUG-BLU", name="Mug", attributes={"pa_color": "blue"})
    adapter.push_stock(
        [
            StockQuantity(channel_sku=str(simple["id"]), quantity=12),
            StockQuantity(
                channel_sku=str(variation["id"]),
                quantity=-1,
                channel_item=str(variation["parent_id"]),
            ),
        ]
    )
    assert fake.stock_updates == [
        {"id": simple["id"], "parent_id": None, "sku": "CUP-001", "stock_quantity": 12},
        {
            "id": variation["id"],
            "parent_id": variation["parent_id"],
            "sku": "MUG-BLU",
            "stock_quantity": 0,
        },
    ]


def test_push_stock_splits_batches_and_reports_bad_ids(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    products = [fake.add_product(f"SKU-{i}", name=f"P{i}") for i in range(150)]
    adapter.push_stock([StockQuantity(channel_sku=str(p["id"]), quantity=3) for p in products])
    batch_calls = [r for r in fake.requests if r.path.endswith("/products/batch")]
    assert [len(r.json()["update"]) for r in batch_calls] == [100, 50]
    assert len(fake.stock_updates) == 150
    with pytest.raises(ChannelError) as exc:
        adapter.push_stock([StockQuantity(channel_sku="424242", quantity=1)])
    assert exc.value.code == "batch_item_error"
    assert "424242" in str(exc.value)


# --- parse --------------------------------------------------------------------------------


def test_parse_a_full_order(adapter: WooCommerceAdapter, fake: FakeWooCommerce) -> None:
    order = fake.add_order(
        lines=[
            {"sku": "MUG-BLU", "name": "Mug", "quantity": 2, "price": "64.00",
             "attributes": {"pa_color": "blue"}},
            {"sku": "CUP-001", "name": "Cup", "quantity": 1, "price": "19.90"},
        ],
        coupon="8.00",
    )  # fmt: skip
    parsed = adapter.parse(adapter.fetch_order(str(order["id"])))
    assert order["date_created"] == "2024-05-01T10:00:00"  # site-local, no offset
    assert parsed.created_at == T0 == parsed.paid_at
    assert parsed.status == "paid"
    assert parsed.currency == "CNY"
    mug, cup = parsed.lines
    assert (mug.sku, mug.quantity, mug.unit_price) == ("MUG-BLU", 2, Decimal("64.00"))
    assert mug.spec == "Color: Blue"
    assert mug.name == "Mug - blue"
    assert mug.channel_sku_id == str(order["line_items"][0]["variation_id"])
    assert getattr(mug, "channel_item_id", None) == str(order["line_items"][0]["product_id"])
    assert mug.channel_line_id == str(order["line_items"][0]["id"])
    assert cup.spec is None
    assert cup.channel_sku_id == str(order["line_items"][1]["product_id"])
    assert parsed.shipping_fee == Decimal("10.00")
    assert parsed.discount == Decimal("8.00")
    assert parsed.total_amount == Decimal(order["total"]) == Decimal("149.90")
    r = parsed.receiver
    assert (r.name, r.phone, r.province, r.city, r.zip, r.country) == (
        "张伟",
        "13800000000",
        "浙江",
        "杭州",
        "310000",
        "CN",
    )
    assert r.address == "文三路 100 号 2 单元 301"
    assert parsed.buyer.id == "12"
    assert parsed.buyer_message == "请周末送货"


def test_parse_the_channels_md_example() -> None:
    payload = {
        "id": 1181, "status": "processing", "currency": "CNY",
        "date_created": "2024-05-01T10:02:11", "date_created_gmt": "2024-05-01T02:02:11",
        "date_modified": "2024-05-01T10:05:40", "date_modified_gmt": "2024-05-01T02:05:40",
        "date_paid": "2024-05-01T10:05:40", "date_paid_gmt": "2024-05-01T02:05:40",
        "total": "138.00", "shipping_total": "10.00", "discount_total": "0.00",
        "customer_id": 0, "customer_note": "请周末送货",
        "billing": {"first_name": "Wei", "last_name": "Zhang", "address_1": "文三路 100 号",
                    "city": "杭州", "state": "ZJ", "postcode": "310000", "country": "CN",
                    "email": "w@example.com", "phone": "13800000000"},
        "shipping": {"first_name": "Wei", "last_name": "Zhang", "address_1": "文三路 100 号",
                     "address_2": "", "city": "杭州", "state": "ZJ", "postcode": "310000",
                     "country": "CN"},
        "line_items": [{"id": 501, "name": "Mug - Blue", "product_id": 70, "variation_id": 72,
                        "quantity": 2, "subtotal": "128.00", "total": "128.00", "sku": "MUG-BLU",
                        "price": 64, "meta_data": [{"id": 9001, "key": "pa_color",
                                                    "value": "blue"}]}],
    }  # fmt: skip
    parsed = parse_order(payload)
    assert parsed.total_amount == Decimal("138.00")
    assert parsed.created_at == datetime(2024, 5, 1, 2, 2, 11, tzinfo=UTC)
    assert parsed.lines[0].spec == "color: blue"
    assert parsed.receiver.name == "Wei Zhang"
    assert parsed.receiver.province == "ZJ"  # not one of WooCommerce's CN codes: kept
    assert parsed.buyer.id is None  # guest checkout


@pytest.mark.parametrize(("woo", "ours"), sorted(STATUS.items()))
def test_status_mapping(fake: FakeWooCommerce, woo: str, ours: str) -> None:
    payload = json.loads(json.dumps(fake.add_order(status=woo)))
    parsed = parse_order(payload)
    assert parsed.status == ours
    expected = "refunded" if woo == "refunded" else "none"
    assert [ln.refund_status for ln in parsed.lines] == [expected]


def test_full_refund_marks_every_line_refunded(
    adapter: WooCommerceAdapter, fake: FakeWooCommerce
) -> None:
    order = fake.add_order()
    fake.refund(order["id"], order["total"], reason="out of stock")
    parsed = adapter.parse(adapter.fetch_order(str(order["id"])))
    assert parsed.status == "paid"
    assert {ln.refund_status for ln in parsed.lines} == {"refunded"}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.pop("date_created_gmt"), "date_created_gmt"),
        (lambda o: o.update(date_created_gmt="yesterday"), "date_created_gmt"),
        (lambda o: o.update(status="wc-shipped"), "status"),
        (lambda o: o.update(line_items=[]), "line_items"),
        (lambda o: o["line_items"][0].update(subtotal="abc"), "line_items.0.subtotal"),
        (lambda o: o["line_items"][0].update(quantity=0), "line_items.0.quantity"),
        (
            lambda o: o["line_items"][0].update(sku="", product_id=0, variation_id=0),
            "line_items.0.sku",
        ),
        (lambda o: o.update(shipping_total="-3"), "shipping_fee"),
        (lambda o: o.pop("currency"), "currency"),
    ],
)
def test_parse_bad_payload_names_the_field(fake: FakeWooCommerce, mutate: Any, field: str) -> None:
    payload = json.loads(json.dumps(fake.add_order()))
    mutate(payload)
    with pytest.raises(PayloadError) as exc:
        parse_order(payload)
    assert str(exc.value).startswith(field)


def test_line_without_sku_falls_back_to_the_product_id(fake: FakeWooCommerce) -> None:
    payload = json.loads(json.dumps(fake.add_order()))
    payload["line_items"][0]["sku"] = ""
    line = parse_order(payload).lines[0]
    assert line.sku == line.channel_sku_id == str(payload["line_items"][0]["variation_id"])
