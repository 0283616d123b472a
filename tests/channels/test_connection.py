"""Testing a shop's connection: one real signed call to a fake platform with the stored
credentials, OK or the error with the secrets blanked; shops edited with write-only secrets."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from lvyue.channels import queries, service, sync
from lvyue.channels.adapters.base import PayloadError, RawOrder
from lvyue.channels.models import ShopConnection
from lvyue.core.db import table_of
from lvyue.core.errors import NotFound, ValidationError
from lvyue.orders import service as orders
from tests.channels.fakes.server import serve
from tests.channels.fakes.shopify import FakeShopify
from tests.channels.fakes.taobao import FakeTaobao

CONN = table_of(ShopConnection)


def add_taobao(uow, url: str, fake: FakeTaobao, *, secret: str | None = None) -> None:
    with uow() as u:
        service.add_shop(
            u,
            code="TB",
            platform="taobao",
            name="淘宝店",
            base_url=url,
            secrets={
                "app_key": fake.app_key,
                "app_secret": secret or fake.secret,
                "session": fake.session,
            },
        )


@pytest.fixture
def fake() -> FakeTaobao:
    fake = FakeTaobao()
    fake.set_clock(datetime.now(UTC))  # the adapter signs with the real clock
    return fake


def test_a_working_shop_answers_ok_with_one_signed_call(uow, engine, fake):
    with serve(fake) as url:
        add_taobao(uow, url, fake)
        result = sync.test_connection(engine, "TB")
    assert result.ok and result.error == "" and result.platform == "taobao"
    assert len(fake.calls) == 1
    (call,) = fake.calls
    assert call["method"] == "taobao.trades.sold.increment.get" and call["sign"]
    with uow(readonly=True) as u:  # a test is not a sync: nothing recorded
        assert queries.get_shop(u, "TB")["last_sync_status"] == "never"


def test_a_wrong_secret_is_the_platforms_error_without_the_secret(uow, engine, fake):
    wrong = "this-is-not-the-secret"
    with serve(fake) as url:
        add_taobao(uow, url, fake, secret=wrong)
        result = sync.test_connection(engine, "TB")
    assert not result.ok
    assert "Invalid signature" in result.error and result.code == "25"
    assert wrong not in result.error and fake.session not in result.error


def test_an_unreachable_endpoint_is_a_network_error_at_once(uow, engine, fake):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    add_taobao(uow, f"http://127.0.0.1:{port}", fake)
    result = sync.test_connection(engine, "TB")
    assert not result.ok and result.code == "network"
    assert "network error" in result.error and fake.secret not in result.error
    assert result.elapsed_ms < 5000  # not retried with back-off


def test_the_token_is_blanked_from_an_echoed_error(uow, engine):
    fake = FakeShopify()
    with serve(fake) as url:
        with uow() as u:
            service.add_shop(
                u,
                code="SH",
                platform="shopify",
                name="Shop",
                base_url=url,
                secrets={"token": "shpat_wrong_token_123"},
            )
        result = sync.test_connection(engine, "SH")
    assert not result.ok and "shpat_wrong_token_123" not in result.error


def test_shops_without_an_endpoint_or_adapter_say_so(uow, engine):
    with uow() as u:
        orders.add_shop(u, code="M1", platform="manual", name="手工")
        service.add_shop(u, code="TB2", platform="taobao", name="淘宝", base_url="")
    no_url = sync.test_connection(engine, "TB2")
    assert not no_url.ok and "base URL" in no_url.error
    with uow() as u:
        service.update_shop(u, "M1", base_url="http://127.0.0.1:9")
    manual = sync.test_connection(engine, "M1")
    assert not manual.ok and "no API adapter" in manual.error
    with pytest.raises(NotFound):
        sync.test_connection(engine, "NOPE")


def test_update_shop_keeps_blank_secrets_replaces_given_and_clears_asked(uow, fake):
    add_taobao(uow, "http://127.0.0.1:1", fake)
    with uow() as u:
        change = service.update_shop(
            u,
            "TB",
            name="新名字",
            base_url="https://gw.example.com/",
            active=False,
            secrets={"app_secret": "new-secret", "token": "", "app_key": None},
            clear_secrets=["session"],
        )
    assert change.fields == {
        "name": "新名字",
        "active": False,
        "base_url": "https://gw.example.com",
    }
    assert change.secrets_set == ("app_secret",) and change.secrets_cleared == ("session",)
    assert "new-secret" not in str(change.audit_details())
    with uow(readonly=True) as u:
        access = service.shop_access(u, "TB")
        shop = queries.get_shop(u, "TB")
        assert service.secret_names(u, "TB") == ["app_key", "app_secret"]
    assert access.credentials.app_secret == "new-secret"
    assert access.credentials.app_key == fake.app_key and access.credentials.token is None
    assert shop["name"] == "新名字" and shop["active"] is False
    with uow() as u:
        unchanged = service.update_shop(u, "TB", name="新名字", secrets={"app_key": ""})
    assert unchanged.fields == {} and unchanged.secrets_set == ()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " "}, "name"),
        ({"order_type": "mail"}, "order_type"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"secrets": {"password": "x"}}, "secrets"),
    ],
)
def test_update_shop_names_the_bad_field(uow, fake, kwargs, field):
    add_taobao(uow, "http://127.0.0.1:1", fake)
    with pytest.raises(ValidationError) as err, uow() as u:
        service.update_shop(u, "TB", **kwargs)
    assert err.value.field == field


def test_a_shop_without_a_connection_row_gets_one_when_edited(uow, engine):
    with uow() as u:
        orders.add_shop(u, code="S9", platform="jd", name="京东")
        service.update_shop(u, "S9", base_url="https://api.jd.com", secrets={"token": "t-1234"})
    with engine.connect() as c:
        assert c.execute(sa.select(CONN.c.base_url)).scalar() == "https://api.jd.com"
    with uow(readonly=True) as u:
        assert service.secret_names(u, "S9") == ["token"]


def test_the_overview_counts_import_errors_and_shows_only_whole_failures(uow, fake):
    add_taobao(uow, "http://127.0.0.1:1", fake)
    with uow() as u:
        sid = orders.shop_id(u, "TB")
        service.record_sync(u, sid, status="error", cursor_at=None, error="ChannelError: boom")
    with uow(readonly=True) as u:
        (row,) = queries.shop_overview(u)
    assert row["last_sync_status"] == "error" and row["last_error"] == "ChannelError: boom"
    assert row["error_count"] == 0
    with uow() as u:
        service.record_sync(u, sid, status="partial", cursor_at=None, error="raw #1: 张三 …")

        def broken(raw: RawOrder):
            raise PayloadError("receiver: missing")

        got = service.ingest(u, sid, "TB", [RawOrder("X1", None, {"id": "X1"})], "pull", broken)
        assert got.report.rejected == [(got.stored[0][0], "PayloadError: receiver: missing")]
    with uow(readonly=True) as u:
        (row,) = queries.shop_overview(u)
    assert row["last_error"] == ""  # a partial sync's messages quote payloads
    assert row["error_count"] == 1
