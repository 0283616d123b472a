"""Pulling orders from a fake Taobao into the database: windows, dedup, changes, intercepts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from lvyue.channels import service
from lvyue.channels.adapters.taobao import TaobaoAdapter
from lvyue.channels.push import push
from lvyue.channels.stockrule import StockRule
from lvyue.channels.sync import SyncFailed, sync_shop
from lvyue.core import outbox
from lvyue.inventory import queries as stock
from lvyue.orders import queries
from lvyue.orders import service as orders_service
from tests.channels.fakes.server import serve
from tests.channels.fakes.taobao import FakeTaobao
from tests.conftest import count
from tests.factories import process_all, setup_world

LINE = {
    "num_iid": 680000000001,
    "sku_id": "5000000001",
    "outer_iid": "MUG",
    "outer_sku_id": "MUG-BLU",
    "title": "马克杯",
    "sku_properties_name": "颜色:蓝色",
    "num": 1,
    "price": "64.00",
}


@pytest.fixture
def fake() -> FakeTaobao:
    return FakeTaobao()


@pytest.fixture
def shop(fake: FakeTaobao, uow) -> Iterator[str]:
    setup_world(uow, skus={"MUG-BLU": {"HZ": 2}})
    with serve(fake) as url:
        with uow() as u:
            service.add_shop(
                u,
                code="TB",
                platform="taobao",
                name="淘宝店",
                base_url=url,
                secrets={
                    "app_key": fake.app_key,
                    "app_secret": fake.secret,
                    "session": fake.session,
                },
            )
        yield "TB"


def pull(engine, fake: FakeTaobao, shop: str, **kw):
    client = httpx.Client(timeout=5)

    def factory(access: service.ShopAccess) -> TaobaoAdapter:
        return TaobaoAdapter(
            access.credentials, client, sleep=lambda s: None, clock=lambda: fake.now, page_size=2
        )

    try:
        return sync_shop(engine, shop, factory, clock=lambda: fake.now, **kw)
    finally:
        client.close()


def by_ext(make_uow) -> dict[str, dict]:
    with make_uow(readonly=True) as u:
        return {o["external_id"]: o for o in queries.list_orders(u)}


def test_pull_twice_gives_one_order_each_and_credentials_are_encrypted(fake, shop, uow, engine):
    tids = [fake.add_trade(lines=[LINE], at=fake.now - timedelta(minutes=50 - i)) for i in range(5)]
    first = pull(engine, fake, shop)
    assert (first.fetched, first.new, first.updated, first.errors) == (5, 5, 0, 0)
    again = pull(engine, fake, shop, since=fake.now - timedelta(hours=2))
    assert (again.new, again.updated) == (0, 0)
    assert count(engine, "orders_order") == 5
    assert count(engine, "channels_raw_order") == 5
    assert set(by_ext(uow)) == set(tids)
    with uow(readonly=True) as u:
        secrets = u.conn.execute(service.CONN.select()).one().secrets
        assert fake.secret not in secrets and fake.session not in secrets
        assert service.shop_access(u, shop).credentials.app_secret == fake.secret


def test_cursor_overlap_catches_late_changes_without_doubles(fake, shop, uow, engine):
    tid = fake.add_trade(lines=[LINE], status="WAIT_BUYER_PAY", at=fake.now - timedelta(minutes=1))
    pull(engine, fake, shop)
    assert by_ext(uow)[tid]["status"] == "pending_payment"
    fake.advance(minutes=1)
    fake.pay(tid)  # changed a moment after the last pull's end
    fake.advance(minutes=5)
    report = pull(engine, fake, shop)
    assert (report.new, report.updated) == (0, 1)
    assert by_ext(uow)[tid]["status"] == "pending_review"


def test_bad_payload_is_kept_and_reported_and_others_import(fake, shop, uow, engine):
    earlier = fake.now - timedelta(minutes=5)
    good = fake.add_trade(lines=[LINE], at=earlier)
    bad = fake.add_trade(lines=[LINE], at=earlier)
    fake.trade(bad)["orders"]["order"][0]["num"] = "two"  # a payload our parser cannot read
    report = pull(engine, fake, shop)
    assert (report.new, report.errors) == (1, 1)
    assert good in by_ext(uow) and bad not in by_ext(uow)
    with uow(readonly=True) as u:
        errors = service.raw_errors(u, shop)
    assert [e["external_id"] for e in errors] == [bad]
    assert "num" in errors[0]["error"]


def test_scenario_cancelled_on_platform_releases_stock(fake, shop, uow, engine):
    tid = fake.add_trade(lines=[{**LINE, "num": 2}], at=fake.now - timedelta(minutes=5))
    pull(engine, fake, shop)
    process_all(uow)
    assert by_ext(uow)[tid]["status"] == "allocated"
    with uow(readonly=True) as u:
        assert stock.stock_levels(u, "MUG-BLU")[0]["reserved"] == 2
    fake.advance(minutes=3)
    fake.cancel(tid)
    fake.advance(minutes=1)
    report = pull(engine, fake, shop)
    assert report.updated == 1
    with uow(readonly=True) as u:
        order = queries.get_order(u, by_ext(uow)[tid]["id"])
        assert stock.stock_levels(u, "MUG-BLU")[0]["reserved"] == 0
        assert stock.verify_levels(u) == []
    assert order["status"] == "cancelled"
    assert order["history"][-1]["actor"] == f"sync:{shop}"
    assert "取消" in order["history"][-1]["reason"]


def push_now(engine, fake: FakeTaobao):
    client = httpx.Client(timeout=5)

    def factory(access: service.ShopAccess) -> TaobaoAdapter:
        return TaobaoAdapter(
            access.credentials, client, sleep=lambda s: None, clock=lambda: fake.now
        )

    try:
        return push(engine, factory)
    finally:
        client.close()


def test_ship_back_and_stock_push_go_through_the_outbox(fake, shop, uow, engine):
    fake.add_item(680000000001, skus={"5000000001": "MUG-BLU"}, num=0)
    tid = fake.add_trade(lines=[LINE], at=fake.now - timedelta(minutes=5))
    pull(engine, fake, shop)
    process_all(uow)
    oid = by_ext(uow)[tid]["id"]
    with uow(actor="packer") as u:
        orders_service.ship_order(u, oid, carrier_code="sf", tracking_no="SF1234567890")
        orders_service.map_sku(
            u,
            shop_code=shop,
            channel_sku="5000000001",
            sku_code="MUG-BLU",
            channel_item="680000000001",
        )
        service.set_stock_rule(u, shop, StockRule(percent=100, buffer=0))
    with uow(readonly=True) as u:
        order = queries.get_order(u, oid)
        level = stock.stock_levels(u, "MUG-BLU")[0]
        assert stock.verify_levels(u) == []
    assert order["status"] == "shipped" and order["tracking_no"] == "SF1234567890"
    assert (level["on_hand"], level["reserved"]) == (1, 0)
    assert count(engine, "core_outbox") == 1  # queued with the shipment, not sent inside it
    assert fake.shipments == []

    queued, report = push_now(engine, fake)
    assert (queued, report.delivered, report.failed) == (1, 2, 0)
    assert fake.shipments == [{"tid": tid, "out_sid": "SF1234567890", "company_code": "SF"}]
    assert fake.stock_updates[-1]["quantity"] == 1
    queued, report = push_now(engine, fake)  # nothing changed: nothing sent again
    assert (queued, report.delivered) == (0, 0)


def test_failed_push_is_retried_later_and_shown(fake, shop, uow, engine):
    tid = fake.add_trade(lines=[LINE], at=fake.now - timedelta(minutes=5))
    pull(engine, fake, shop)
    process_all(uow)
    with uow() as u:
        orders_service.ship_order(
            u, by_ext(uow)[tid]["id"], carrier_code="ZTO", tracking_no="ZT998877"
        )
    fake.rate_limit_next(50, http=True)
    _, report = push_now(engine, fake)
    assert (report.delivered, report.retrying) == (0, 1)
    with uow(readonly=True) as u:
        row = u.conn.execute(sa.text("SELECT status, attempts, last_error FROM core_outbox")).one()
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    _, report = push_now(engine, fake)  # not due yet: back-off holds it
    assert report.delivered == 0 and fake.shipments == []
    with uow(readonly=True) as u:
        shown = outbox.messages(u, "pending")
    assert shown[0]["topic"] == "channel.ship" and "429" in shown[0]["last_error"]


def test_a_failed_pull_is_recorded_without_secrets_and_keeps_the_cursor(fake, shop, uow, engine):
    fake.add_trade(lines=[LINE], at=fake.now - timedelta(minutes=5))
    pull(engine, fake, shop)
    with uow(readonly=True) as u:
        cursor = u.conn.execute(service.CONN.select()).one().cursor_at

    def leaky(access: service.ShopAccess) -> TaobaoAdapter:
        class Broken(TaobaoAdapter):
            def fetch_orders(self, since, until):
                raise RuntimeError(f"gateway echoed session={access.credentials.token}")
                yield  # pragma: no cover

        return Broken(access.credentials, httpx.Client(), sleep=lambda s: None)

    with pytest.raises(SyncFailed) as exc:
        sync_shop(engine, shop, leaky, clock=lambda: fake.now)
    assert fake.session not in str(exc.value) and "***" in str(exc.value)
    with uow(readonly=True) as u:
        row = u.conn.execute(service.CONN.select()).one()
    assert row.last_sync_status == "error" and fake.session not in row.last_error
    assert row.cursor_at == cursor


def test_a_pull_that_fails_midway_keeps_the_chunks_before_the_failure(
    fake, shop, uow, engine, monkeypatch
):
    # The next chunk is fetched before the one in hand is written (channels.lookahead): a
    # failure fetching it must not cost the chunk in hand.
    from itertools import islice

    from lvyue.channels import sync
    from lvyue.channels.adapters.base import ChannelError

    monkeypatch.setattr(sync, "CHUNK", 2)
    for minutes in (9, 8, 7):
        fake.add_trade(lines=[LINE], at=fake.now - timedelta(minutes=minutes))

    def failing(access: service.ShopAccess) -> TaobaoAdapter:
        class Failing(TaobaoAdapter):
            def fetch_orders(self, since, until):
                yield from islice(super().fetch_orders(since, until), 2)
                raise ChannelError("page 2: gateway timeout")

        return Failing(
            access.credentials, httpx.Client(), sleep=lambda s: None, clock=lambda: fake.now
        )

    with pytest.raises(SyncFailed, match="gateway timeout"):
        sync_shop(engine, shop, failing, clock=lambda: fake.now)
    assert count(engine, "orders_order") == 2
    assert count(engine, "channels_raw_order") == 2
    with uow(readonly=True) as u:
        assert u.conn.execute(service.CONN.select()).one().cursor_at is None
    assert pull(engine, fake, shop).new == 1  # the next pull brings the rest
