"""The Shopify adapter against a fake Shopify shop served over real HTTP (CHANNELS.md §1)."""

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
from lvyue.channels.adapters.shopify import (
    ShopifyAdapter,
    map_status,
    parse_order,
    shopify_webhook_signature,
)
from tests.channels.fakes.server import Request, serve
from tests.channels.fakes.shopify import FakeShopify
from tests.channels.helpers import Served, ids, new_client

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake(server: Served) -> FakeShopify:
    return server.switch.use(FakeShopify(now=T0))


@pytest.fixture
def base_url(server: Served, fake: FakeShopify) -> str:
    return server.url


def make_adapter(
    base_url: str, fake: FakeShopify, sleeps: list[float], *, token: str | None = None, **extra: str
) -> ShopifyAdapter:
    creds = ShopCredentials(
        base_url=base_url,
        token=token or fake.token,
        app_secret=fake.app_secret,
        extra=extra,
    )
    return ShopifyAdapter(creds, new_client(), sleep=sleeps.append, page_size=2)


@pytest.fixture
def adapter(base_url: str, fake: FakeShopify, sleeps: list[float]) -> ShopifyAdapter:
    return make_adapter(base_url, fake, sleeps)


def order_requests(fake: FakeShopify) -> list[Request]:
    return [r for r in fake.requests if r.path.endswith("/orders.json")]


# --- signing ------------------------------------------------------------------------------


def test_webhook_signature_matches_the_channels_md_vector() -> None:
    body = b'{"id":820982911946154508,"name":"#1001"}'
    assert shopify_webhook_signature("hush", body) == (
        "Mkf2s8BiWQBb/dlay3RDP15QWaH8IejS3UDTmBxVmfo="
    )


def test_verify_webhook_accepts_the_raw_body_only(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    order = fake.add_order()
    headers, body = fake.webhook("orders/updated", order["id"])
    assert adapter.verify_webhook(headers, body)
    # Header names arrive in any case from web frameworks.
    assert adapter.verify_webhook({k.lower(): v for k, v in headers.items()}, body)
    # Re-serialised JSON is not the signed body.
    assert not adapter.verify_webhook(headers, json.dumps(json.loads(body)).encode())
    assert not adapter.verify_webhook({**headers, "X-Shopify-Hmac-Sha256": "not base64!"}, body)
    assert not adapter.verify_webhook({}, body)


# --- incremental pull ---------------------------------------------------------------------


def test_follows_link_pages_and_sends_only_cursor_params(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    created = []
    for minutes in range(5):
        fake.set_clock(T0 + timedelta(minutes=minutes))
        created.append(str(fake.add_order()["id"]))
    got = list(adapter.fetch_orders(T0, T0 + timedelta(hours=1)))
    assert sorted(ids(got)) == sorted(created)
    reqs = order_requests(fake)
    assert len(reqs) == 3  # 2 + 2 + 1 with page_size=2
    first, *rest = reqs
    assert first.query["status"] == "any"
    assert first.query["limit"] == "2"
    for r in rest:
        assert set(r.query) == {"page_info", "limit"}
    assert all(raw.updated_at is not None and raw.updated_at.tzinfo for raw in got)


def test_cancelled_orders_are_pulled_although_the_platform_default_is_open(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    order = fake.add_order()
    fake.advance(minutes=1)
    fake.cancel(order["id"])
    got = list(adapter.fetch_orders(T0, T0 + timedelta(hours=1)))
    assert ids(got) == [str(order["id"])]
    assert adapter.parse(got[0]).status == "cancelled"


def test_second_pull_returns_the_new_version_of_an_updated_order(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    order = fake.add_order(financial_status="pending")
    first = list(adapter.fetch_orders(T0, T0 + timedelta(minutes=5)))
    assert adapter.parse(first[0]).status == "unpaid"

    fake.set_clock(T0 + timedelta(minutes=7))
    fake.pay(order["id"])
    fake.edit_address(order["id"], address1="9 Elm St")
    second = list(adapter.fetch_orders(T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)))
    assert ids(second) == [str(order["id"])]
    parsed = adapter.parse(second[0])
    assert parsed.status == "paid"
    assert parsed.receiver.address == "9 Elm St Apt 4"
    assert parsed.updated_at == T0 + timedelta(minutes=7)


def test_order_exactly_at_the_window_edge_is_fetched_once_in_adjacent_windows(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    a, b, c = T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
    fake.set_clock(b)
    edge = str(fake.add_order()["id"])
    assert ids(adapter.fetch_orders(a, b)) == []  # until is exclusive, even though Shopify's
    assert ids(adapter.fetch_orders(b, c)) == [edge]  # updated_at_max is inclusive
    # The overlapping windows the sync uses still return it (dedup is the sync's job).
    assert edge in ids(adapter.fetch_orders(b - timedelta(minutes=2), c))
    # Sub-second bounds do not lose it either: Shopify only compares whole seconds.
    assert ids(adapter.fetch_orders(b - timedelta(microseconds=1), c)) == [edge]
    assert ids(adapter.fetch_orders(b + timedelta(microseconds=1), c)) == []


def test_orders_changing_while_paging_are_neither_lost_nor_doubled(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    orders = []
    for minutes in range(6):
        fake.set_clock(T0 + timedelta(minutes=minutes))
        orders.append(fake.add_order())
    fake.set_clock(T0 + timedelta(minutes=30))
    # Newest first: page 1 holds orders[5], orders[4]; orders[0] is on the last page.
    changed: list[int] = []

    def change_mid_sync(request: Request) -> None:
        if request.path.endswith("/orders.json") and "page_info" in request.query and not changed:
            fake.edit_address(orders[5]["id"], address1="already read")
            fake.edit_address(orders[0]["id"], address1="not read yet")
            changed.append(1)

    fake.on_request = change_mid_sync
    window = (T0, T0 + timedelta(minutes=20))
    got = ids(adapter.fetch_orders(*window))
    assert len(got) == len(set(got))
    # Everything unchanged is there; the order edited before it was read left the window...
    assert set(got) == {str(o["id"]) for o in orders[1:]}
    # ...and its new version is in the next window, so nothing is lost.
    fake.on_request = None
    later = ids(adapter.fetch_orders(window[1], T0 + timedelta(minutes=40)))
    assert str(orders[0]["id"]) in later


# --- errors -------------------------------------------------------------------------------


def test_bad_token_raises_auth_error_without_retry(
    base_url: str, fake: FakeShopify, sleeps: list[float]
) -> None:
    fake.add_order()
    bad = make_adapter(base_url, fake, sleeps, token="shpat_wrong")
    with pytest.raises(AuthError) as exc:
        list(bad.fetch_orders(T0, T0 + timedelta(hours=1)))
    assert "Invalid API key or access token" in str(exc.value)
    assert len(fake.requests) == 1
    assert sleeps == []


def test_rate_limit_is_retried_after_the_retry_after_wait(
    adapter: ShopifyAdapter, fake: FakeShopify, sleeps: list[float]
) -> None:
    order = fake.add_order()
    fake.rate_limit_next(2, retry_after=3.5)
    got = list(adapter.fetch_orders(T0, T0 + timedelta(hours=1)))
    assert ids(got) == [str(order["id"])]
    assert sleeps == [3.5, 3.5]
    assert len(fake.requests) == 3


def test_fetch_order_and_unknown_order(adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    order = fake.add_order()
    raw = adapter.fetch_order(str(order["id"]))
    assert raw.payload["name"] == order["name"]
    assert raw.updated_at == T0
    with pytest.raises(ChannelError) as exc:
        adapter.fetch_order("999")
    assert exc.value.code == "404"
    assert not exc.value.retryable


def test_fake_enforces_limit_and_cursor_rules(base_url: str, fake: FakeShopify) -> None:
    headers = {"X-Shopify-Access-Token": fake.token}
    url = f"{base_url}/admin/api/2024-10/orders.json"
    assert httpx.get(url, params={"limit": 251}, headers=headers).status_code == 400
    for _ in range(3):
        fake.add_order()
    first = httpx.get(url, params={"limit": 1, "status": "any"}, headers=headers)
    next_url = first.links["next"]["url"]
    mixed = httpx.get(next_url + "&updated_at_min=2024-01-01T00:00:00Z", headers=headers)
    assert mixed.status_code == 400
    assert "cannot be passed when page_info is present" in mixed.json()["errors"]
    with pytest.raises(ValueError):
        ShopifyAdapter(ShopCredentials(base_url=base_url, token="t"), page_size=251)


def test_orders_older_than_60_days_need_read_all_orders(sleeps: list[float]) -> None:
    fake = FakeShopify(now=T0, read_all_orders=False)
    with serve(fake) as url:
        adapter = make_adapter(url, fake, sleeps)
        old = fake.add_order(created_at=T0 - timedelta(days=61))
        fake.edit_address(old["id"], address1="moved")
        assert ids(adapter.fetch_orders(T0 - timedelta(days=1), T0 + timedelta(days=1))) == []


# --- ship-back ----------------------------------------------------------------------------


def test_ship_creates_a_fulfillment_with_tracking_and_is_idempotent(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    order = fake.add_order()
    adapter.ship(Shipment(str(order["id"]), "SF", "SF1234567890123"))
    assert len(fake.shipments) == 1
    shipped = fake.shipments[0]
    assert shipped["tracking_number"] == "SF1234567890123"
    assert shipped["tracking_company"] == "SF Express"
    assert "com=shunfeng" in shipped["tracking_url"]
    assert shipped["notify_customer"] is False
    assert fake.orders[order["id"]]["fulfillment_status"] == "fulfilled"
    # The outbox may deliver twice: the second call sees the parcel and does nothing.
    adapter.ship(Shipment(str(order["id"]), "SF", "SF1234567890123"))
    assert len(fake.shipments) == 1


def test_ship_only_the_given_lines(adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    order = fake.add_order(
        lines=[
            {"sku": "MUG-BLU", "quantity": 1, "price": "12.00", "title": "Mug"},
            {"sku": "CAP-RED", "quantity": 3, "price": "8.00", "title": "Cap"},
        ]
    )
    mug, cap = (li["id"] for li in order["line_items"])
    adapter.ship(Shipment(str(order["id"]), "ZTO", "ZT100", line_ids=(str(mug),)))
    assert fake.shipments[-1]["lines"] == {mug: 1}
    assert fake.shipments[-1]["tracking_company"] == "ZTO Express"
    assert fake.orders[order["id"]]["fulfillment_status"] == "partial"
    adapter.ship(Shipment(str(order["id"]), "YTO", "YT200", line_ids=(str(cap),)))
    assert fake.shipments[-1]["lines"] == {cap: 3}
    assert fake.fulfillment_orders[order["id"]][0]["status"] == "closed"
    assert fake.orders[order["id"]]["fulfillment_status"] == "fulfilled"


def test_fake_refuses_more_than_the_fulfillable_quantity(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    order = fake.add_order()
    fo = fake.fulfillment_orders[order["id"]][0]
    body = {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {
                    "fulfillment_order_id": fo["id"],
                    "fulfillment_order_line_items": [
                        {"id": fo["line_items"][0]["id"], "quantity": 3}
                    ],
                }
            ]
        }
    }
    with pytest.raises(ChannelError) as exc:
        adapter._call("POST", "/fulfillments.json", json=body)
    assert exc.value.code == "422"
    assert not exc.value.retryable
    assert fake.shipments == []


def test_ship_a_cancelled_order_is_refused(adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    order = fake.add_order()
    fake.cancel(order["id"])
    with pytest.raises(ChannelError) as exc:
        adapter.ship(Shipment(str(order["id"]), "SF", "SF1"))
    assert exc.value.code == "not_fulfillable"
    assert fake.shipments == []


# --- stock --------------------------------------------------------------------------------


def test_push_stock_sets_available_per_inventory_item(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    a = fake.add_variant("TSHIRT-BLK-M")
    b = fake.add_variant("TSHIRT-WHT-L", variant_title="White / L")
    adapter.push_stock(
        [
            StockQuantity(channel_sku=str(a["id"]), quantity=7),
            StockQuantity(
                channel_sku=str(b["id"]), quantity=-2, channel_item=str(b["inventory_item_id"])
            ),
        ]
    )
    location = fake.locations[0]["id"]
    assert fake.stock_sets == [
        {"location_id": location, "inventory_item_id": a["inventory_item_id"], "available": 7},
        {"location_id": location, "inventory_item_id": b["inventory_item_id"], "available": 0},
    ]
    # The variant look-up is cached: a second push of the same SKU costs one request.
    before = len(fake.requests)
    adapter.push_stock([StockQuantity(channel_sku=str(a["id"]), quantity=5)])
    assert len(fake.requests) == before + 1


def test_push_stock_needs_a_location_when_the_shop_has_several(
    adapter: ShopifyAdapter, fake: FakeShopify
) -> None:
    fake.locations.append({"id": 65000000002, "name": "Second", "active": True})
    variant = fake.add_variant("TSHIRT-BLK-M")
    with pytest.raises(ChannelError) as exc:
        adapter.push_stock([StockQuantity(channel_sku=str(variant["id"]), quantity=1)])
    assert exc.value.code == "location_required"


# --- parse --------------------------------------------------------------------------------


def test_parse_a_full_order(adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    fake.set_clock(datetime(2024, 5, 1, 13, 12, tzinfo=UTC))
    order = fake.add_order(
        lines=[
            {"sku": "TSHIRT-BLK-M", "quantity": 2, "price": "24.90", "variant_title": "Black / M"},
            {
                "sku": "MUG-BLU",
                "quantity": 1,
                "price": "12.00",
                "title": "Mug",
                "variant_title": None,
            },
        ],
        discount="5.00",
        shipping_price="10.00",
    )
    parsed = adapter.parse(adapter.fetch_order(str(order["id"])))
    assert order["created_at"] == "2024-05-01T09:12:00-04:00"  # shop zone on the wire
    assert parsed.created_at == datetime(2024, 5, 1, 13, 12, tzinfo=UTC)
    assert parsed.paid_at == parsed.created_at
    assert parsed.external_id == str(order["id"])
    assert parsed.status == "paid"
    assert parsed.currency == "USD"
    first, second = parsed.lines
    assert first.sku == "TSHIRT-BLK-M"
    assert first.spec == "Black / M"
    assert first.name == "T-Shirt"
    assert first.quantity == 2
    assert first.unit_price == Decimal("24.90")
    assert first.channel_sku_id == str(order["line_items"][0]["variant_id"])
    assert first.channel_line_id == str(order["line_items"][0]["id"])
    assert first.refund_status == "none"
    assert second.spec is None
    assert parsed.shipping_fee == Decimal("10.00")
    assert parsed.discount == Decimal("5.00")
    assert parsed.total_amount == Decimal(order["total_price"]) == Decimal("66.80")
    r = parsed.receiver
    assert (r.name, r.phone, r.province, r.city, r.zip, r.country) == (
        "Ann Lee",
        "+15125550100",
        "Texas",
        "Austin",
        "78701",
        "US",
    )
    assert r.address == "1 Main St Apt 4"
    assert parsed.buyer.id == "7000000123"
    assert parsed.buyer.nick == "Ann Lee"
    assert parsed.buyer_message == "Leave at door"
    assert parsed.tags == ["vip"]


def test_parse_the_channels_md_example() -> None:
    payload: dict[str, Any] = {
        "id": 5012345678901,
        "name": "#1042",
        "created_at": "2024-05-01T09:12:00-04:00",
        "updated_at": "2024-05-01T09:30:11-04:00",
        "processed_at": "2024-05-01T09:12:00-04:00",
        "cancelled_at": None,
        "financial_status": "paid",
        "fulfillment_status": None,
        "currency": "USD",
        "total_price": "59.80",
        "total_discounts": "0.00",
        "email": "ann@example.com",
        "phone": None,
        "note": "Leave at door",
        "tags": "vip, repeat",
        "shipping_address": {
            "first_name": "Ann",
            "last_name": "Lee",
            "address1": "1 Main St",
            "city": "Austin",
            "province": "Texas",
            "country_code": "US",
            "zip": "78701",
        },
        "line_items": [
            {
                "id": 13000000001,
                "variant_id": 44000000001,
                "sku": "TSHIRT-BLK-M",
                "title": "T-Shirt",
                "variant_title": "Black / M",
                "quantity": 2,
                "price": "24.90",
            }
        ],
        "shipping_lines": [{"title": "Standard", "price": "10.00"}],
        "refunds": [],
    }
    parsed = parse_order(payload)
    assert parsed.total_amount == Decimal("59.80")
    assert parsed.updated_at == datetime(2024, 5, 1, 13, 30, 11, tzinfo=UTC)
    assert parsed.receiver.name == "Ann Lee"
    assert parsed.tags == ["vip", "repeat"]


@pytest.mark.parametrize(
    ("financial_status", "cancelled", "cod", "expected"),
    [
        ("pending", False, False, "unpaid"),
        ("pending", False, True, "paid"),
        ("authorized", False, False, "paid"),
        ("partially_paid", False, False, "unpaid"),
        ("paid", False, False, "paid"),
        ("partially_refunded", False, False, "paid"),
        ("refunded", False, False, "paid"),
        ("voided", False, False, "cancelled"),
        ("expired", False, False, "cancelled"),
        ("paid", True, False, "cancelled"),
    ],
)
def test_status_mapping(financial_status: str, cancelled: bool, cod: bool, expected: str) -> None:
    assert map_status(financial_status, cancelled, cod) == expected


def test_line_refunds_map_to_refund_status(adapter: ShopifyAdapter, fake: FakeShopify) -> None:
    order = fake.add_order(
        lines=[
            {"sku": "A", "quantity": 2, "price": "10.00"},
            {"sku": "B", "quantity": 3, "price": "5.00"},
        ]
    )
    a, b = (li["id"] for li in order["line_items"])
    fake.advance(minutes=1)
    fake.refund_line(order["id"], a, 2)
    fake.refund_line(order["id"], b, 1)
    parsed = adapter.parse(adapter.fetch_order(str(order["id"])))
    assert parsed.status == "paid"
    assert [ln.refund_status for ln in parsed.lines] == ["refunded", "none"]
    assert getattr(parsed.lines[1], "refunded_quantity", None) == 1
    # Refund the rest: Shopify marks the order refunded; every line is refunded.
    fake.refund_line(order["id"], b, 2)
    parsed = adapter.parse(adapter.fetch_order(str(order["id"])))
    assert [ln.refund_status for ln in parsed.lines] == ["refunded", "refunded"]


def test_parse_cod_order_pending_payment_is_shippable(fake: FakeShopify) -> None:
    order = fake.add_order(financial_status="pending", gateway="Cash on Delivery (COD)")
    assert parse_order(order).status == "paid"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.pop("created_at"), "created_at"),
        (lambda o: o.update(created_at="2024-05-01T09:12:00"), "created_at"),
        (lambda o: o.update(financial_status="mystery"), "financial_status"),
        (lambda o: o.update(line_items=[]), "line_items"),
        (lambda o: o["line_items"][0].update(price="abc"), "line_items.0.price"),
        (lambda o: o["line_items"][0].update(quantity=0), "line_items.0.quantity"),
        (lambda o: o["line_items"][0].update(sku="", variant_id=None), "line_items.0.sku"),
        (lambda o: o.pop("currency"), "currency"),
    ],
)
def test_parse_bad_payload_names_the_field(fake: FakeShopify, mutate: Any, field: str) -> None:
    payload = json.loads(json.dumps(fake.add_order()))
    mutate(payload)
    with pytest.raises(PayloadError) as exc:
        parse_order(payload)
    assert str(exc.value).startswith(field)


def test_line_without_sku_falls_back_to_the_variant_id(fake: FakeShopify) -> None:
    payload = json.loads(json.dumps(fake.add_order()))
    payload["line_items"][0]["sku"] = None
    line = parse_order(payload).lines[0]
    assert line.sku == line.channel_sku_id == str(payload["line_items"][0]["variant_id"])
