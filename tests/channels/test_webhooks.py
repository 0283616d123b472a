"""Shopify webhooks into the app: verified, stored, idempotent with the pull."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from lvyue.channels import service
from lvyue.channels.adapters.shopify import ShopifyAdapter
from lvyue.channels.sync import sync_shop
from lvyue.main import create_app
from lvyue.orders import queries
from lvyue.orders import service as orders_service
from tests.channels.fakes.server import serve
from tests.channels.fakes.shopify import FakeShopify
from tests.conftest import count
from tests.factories import setup_world


@pytest.fixture
def fake() -> FakeShopify:
    return FakeShopify()


@pytest.fixture
def client(db, uow, fake):
    setup_world(uow, skus={"TEE-BLK-M": {"HZ": 5}})
    with uow() as u:
        service.add_shop(
            u,
            code="SP",
            platform="shopify",
            name="Shopify",
            base_url="http://127.0.0.1:9",
            secrets={"token": fake.token, "app_secret": fake.app_secret},
        )
    with TestClient(create_app(db)) as c:
        yield c


def pull(fake, uow, engine):
    """The last hour's orders pulled from the fake shop, as `lvyue channels sync` does."""
    with serve(fake) as url:
        with uow() as u:
            u.conn.execute(service.CONN.update().values(base_url=url))
        with httpx.Client(timeout=5) as http:
            return sync_shop(
                engine,
                "SP",
                lambda a: ShopifyAdapter(a.credentials, http, sleep=lambda s: None),
                since=fake.now - timedelta(hours=1),
                until=fake.now,
            )


def new_order_webhook(fake) -> tuple[dict[str, str], bytes]:
    """A T-shirt order placed five minutes ago, and the "orders/create" webhook about it."""
    fake.add_variant("TEE-BLK-M")
    oid = fake.add_order(
        lines=[{"sku": "TEE-BLK-M", "quantity": 1, "price": "19.90"}],
        created_at=fake.now - timedelta(minutes=5),
    )["id"]
    return fake.webhook("orders/create", oid)


def test_webhook_twice_and_then_the_pull_give_one_order(client, fake, uow, engine):
    headers, body = new_order_webhook(fake)
    first = client.post("/webhooks/shopify/SP", content=body, headers=headers)
    assert first.status_code == 200 and first.json()["imported"] == 1
    again = client.post("/webhooks/shopify/SP", content=body, headers=headers)
    assert again.json() == {"received": True, "duplicate": True}
    report = pull(fake, uow, engine)
    assert (report.fetched, report.new, report.updated) == (1, 0, 0)
    assert count(engine, "orders_order") == 1
    with uow(readonly=True) as u:
        assert queries.list_orders(u)[0]["lines"][0]["sku"] == "TEE-BLK-M"


def test_bad_signature_and_bad_body_are_refused_and_store_nothing(client, fake, engine):
    fake.add_variant("TEE-BLK-M")
    oid = fake.add_order(lines=[{"sku": "TEE-BLK-M", "quantity": 1, "price": "19.90"}])["id"]
    headers, body = fake.webhook("orders/create", oid)
    tampered = client.post(
        "/webhooks/shopify/SP", content=body.replace(b"19.90", b"0.01"), headers=headers
    )
    assert tampered.status_code == 401 and tampered.json()["code"] == "bad_signature"
    assert client.post("/webhooks/taobao/SP", content=body, headers=headers).status_code == 404
    assert (
        client.post("/webhooks/shopify/NOPE", content=body, headers=headers).json()["code"]
        == "unknown_shop"
    )
    assert count(engine, "channels_raw_order") == 0


def test_with_review_on_import_orders_reach_the_warehouse_as_they_arrive(
    client, fake, uow, engine, monkeypatch
):
    from lvyue.config import get_settings
    from lvyue.inventory import queries as stock

    monkeypatch.setattr(get_settings(), "review_on_import", True)
    fake.add_variant("TEE-BLK-M")
    hangzhou = {
        "name": "王芳",
        "address1": "文三路 90 号",
        "address2": "",
        "city": "杭州市",
        "province": "浙江省",
        "country": "China",
        "country_code": "CN",
        "zip": "310012",
        "phone": "13812345678",
    }
    pushed = fake.add_order(
        lines=[{"sku": "TEE-BLK-M", "quantity": 2, "price": "19.90"}],
        created_at=fake.now - timedelta(minutes=5),
        shipping_address={**hangzhou, "address1": "西湖区文三路 90 号"},
    )["id"]
    headers, body = fake.webhook("orders/create", pushed)
    assert client.post("/webhooks/shopify/SP", content=body, headers=headers).status_code == 200
    fake.add_order(
        lines=[{"sku": "TEE-BLK-M", "quantity": 1, "price": "19.90"}],
        created_at=fake.now - timedelta(minutes=4),
        shipping_address={**hangzhou, "name": "李雷", "address1": "西湖区天目山路 5 号"},
    )
    report = pull(fake, uow, engine)
    assert (report.fetched, report.new) == (2, 1)
    with uow(readonly=True) as u:  # no `orders process` ran: both were reviewed on arrival
        orders = queries.list_orders(u)
        levels = {(r["sku"], r["warehouse"]): r["reserved"] for r in stock.stock_levels(u)}
    assert [(o["status"], o["warehouse"]) for o in orders] == [("allocated", "HZ")] * 2
    assert levels[("TEE-BLK-M", "HZ")] == 3


def test_a_webhook_whose_import_failed_is_imported_when_the_platform_retries(
    client, fake, uow, engine, monkeypatch
):
    headers, body = new_order_webhook(fake)
    real = orders_service.import_canonical

    def failing(*args, **kwargs):
        raise RuntimeError("deadlock detected")

    monkeypatch.setattr(orders_service, "import_canonical", failing)
    with pytest.raises(RuntimeError):  # the platform sees an error and sends it again later
        client.post("/webhooks/shopify/SP", content=body, headers=headers)
    assert count(engine, "channels_raw_order") == 0  # not kept as "seen" without its order
    monkeypatch.setattr(orders_service, "import_canonical", real)
    retry = client.post("/webhooks/shopify/SP", content=body, headers=headers)
    assert retry.status_code == 200 and retry.json()["imported"] == 1
    assert count(engine, "orders_order") == 1
