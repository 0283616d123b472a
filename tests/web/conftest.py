"""A small merchant for the page tests: two shops, two warehouses, orders in most states, and
one user per position that the pages treat differently."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from lvyue.accounts import service as accounts
from lvyue.channels import service as channels
from lvyue.main import create_app
from lvyue.orders import queries
from lvyue.orders import service as orders
from tests.channels.fakes.server import serve
from tests.channels.fakes.taobao import FakeTaobao
from tests.factories import canonical, import_dicts, process_all, setup_world

PASSWORD = "correct horse 9"
# username -> (role, warehouses)
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("admin", ()),
    "ops": ("operations", ()),
    "fin": ("finance", ()),
    "wh": ("warehouse", ("HZ",)),
}


def receiver(n: int, **extra: str) -> dict[str, str]:
    return {
        "name": f"张{'三四五六七八九'[n % 7]}",
        "phone": f"1381234{n:04d}",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": f"余杭塘路{800 + n}号",
        **extra,
    }


@pytest.fixture
def client(db) -> Iterator[TestClient]:
    """The app over HTTP without a browser (redirects are answers, not followed)."""
    with TestClient(create_app(db), follow_redirects=False) as c:
        yield c


def login(
    client: TestClient, username: str, password: str = PASSWORD, *, page: str | None = "/orders"
) -> str:
    """Sign in through the form; returns the session's CSRF token, read from ``page`` (no
    page: ``""``)."""
    form = client.get("/login")
    guard = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert guard, form.text
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": guard.group(1)},
    )
    assert r.status_code == 303, r.text
    if page is None:
        return ""
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    token = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', shown.text)
    assert token, shown.text
    return token.group(1)


@pytest.fixture
def taobao(world, uow) -> Iterator[FakeTaobao]:
    """Shop TB1 of ``world`` connected to a fake Taobao that knows its credentials."""
    fake = FakeTaobao()
    fake.set_clock(datetime.now(UTC))
    with serve(fake) as url:
        with uow() as u:
            channels.update_shop(
                u,
                "TB1",
                base_url=url,
                secrets={
                    "app_key": fake.app_key,
                    "app_secret": fake.secret,
                    "session": fake.session,
                },
            )
        yield fake


@pytest.fixture
def world(uow) -> dict[str, Any]:
    """Orders: W1-W6 in shop S1 (SKU A, stock in HZ), W7 unpaid; T1-T3 in shop TB1 (taobao,
    SKU B, stock only in GZ). After the pipeline W2 and W3 are held by an operator and W6 is
    cancelled. Returns {external id: order id}."""
    setup_world(uow, skus={"A": {"HZ": 100}, "B": {"GZ": 100}})
    with uow() as u:
        orders.add_shop(u, code="TB1", platform="taobao", name="淘宝店")
        for username, (role, warehouses) in USERS.items():
            accounts.add_user(
                u, username=username, password=PASSWORD, role=role, warehouse_codes=warehouses
            )
    import_dicts(
        uow,
        [
            canonical(
                f"W{n}",
                [("A", n)],
                created_at=f"2026-11-{10 + n:02d}T10:00:00+08:00",
                receiver=receiver(n),
                buyer={"id": f"buyer-{n % 2}", "nick": "小王"},
            )
            for n in range(1, 7)
        ]
        + [canonical("W7", [("A", 1)], status="unpaid", receiver=receiver(7))],
    )
    import_dicts(
        uow,
        [
            canonical(
                f"T{n}",
                [("B", 1)],
                created_at=f"2026-11-0{n}T10:00:00+08:00",
                receiver=receiver(10 + n),
            )
            for n in range(1, 4)
        ],
        shop="TB1",
    )
    process_all(uow)
    with uow(readonly=True) as u:
        ids = {o["external_id"]: o["id"] for o in queries.list_orders(u)}
    with uow() as u:
        orders.hold_order(u, ids["W2"], note="等买家回复")
        orders.hold_order(u, ids["W3"], note="核对地址")
        orders.cancel_order(u, ids["W6"], reason="买家取消")
    return ids


# Browser tests (tests/web/browser.py has their marks and helpers).
BROWSER_TIMEOUT_MS = 15_000


class LiveServer:
    """uvicorn serving the app in a thread, on a port the OS picked."""

    def __init__(self, database_url: str) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_app(database_url), log_level="warning", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, args=([self.sock],), daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[LiveServer]:
    with LiveServer(db_url) as live:
        yield live


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    # Imported here: only browser tests need Playwright (and skip without it).
    from playwright.sync_api import sync_playwright

    from tests.web.browser import CHROMIUM

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server, world):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    tab = context.new_page()
    tab.base = server.url  # type: ignore[attr-defined]
    yield tab
    context.close()
