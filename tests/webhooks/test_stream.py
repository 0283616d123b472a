"""The live stream over real HTTP: uvicorn on 127.0.0.1, changes made by another connection
(as another process would), each user sees exactly what they may, and resume works."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from httpx_sse import ServerSentEvent, connect_sse

from lvyue.accounts import service as accounts
from lvyue.inventory import service as inventory
from lvyue.main import create_app
from lvyue.orders import service as orders
from tests.factories import canonical, import_dicts, setup_world
from tests.webhooks.helpers import allocated_order

PASSWORD = "correct horse 9"


@pytest.fixture
def live(db: str) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(db),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def login(base: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def collect(
    base: str,
    headers: dict[str, str],
    until: Callable[[ServerSentEvent], bool],
    connected: threading.Event | None = None,
) -> list[ServerSentEvent]:
    """Events until (and with) the first for which ``until`` holds."""
    got = []
    with (
        httpx.Client(base_url=base, timeout=httpx.Timeout(15.0)) as client,
        connect_sse(client, "GET", "/api/v1/events", headers=headers) as source,
    ):
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        if connected is not None:
            connected.set()
        for sse in source.iter_sse():
            if sse.event == "message":  # the opening retry hint, not an event
                continue
            got.append(sse)
            if until(sse):
                break
    return got


def summary(events: list[ServerSentEvent]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for e in events:
        data = e.json()
        assert data["type"] == e.event
        d = data["data"]
        out.append((e.event, d.get("external_id") or f"{d['sku']}@{d['warehouse']}"))
    return out


def is_marker(sse: ServerSentEvent) -> bool:
    return sse.json()["data"].get("external_id") == "MARK"


def test_each_stream_gets_exactly_what_its_user_may_see_and_resumes(uow, live):
    setup_world(uow, skus={"A": {"HZ": 10}, "B": {"GZ": 10}})
    with uow() as u:
        accounts.add_user(u, username="boss", password=PASSWORD, role="admin")
        accounts.add_user(
            u, username="hz", password=PASSWORD, role="warehouse", warehouse_codes=["HZ"]
        )
        for sku, wh in (("A", "HZ"), ("B", "GZ")):
            inventory.set_low_stock_threshold(u, sku_code=sku, warehouse_code=wh, threshold=8)
    hz_order = allocated_order(uow, "H1", "A")
    gz_order = allocated_order(uow, "G1", "B")
    admin, hz = login(live, "boss"), login(live, "hz")

    with ThreadPoolExecutor(2) as pool:
        ready = [threading.Event(), threading.Event()]
        streams = [
            pool.submit(collect, live, headers, is_marker, flag)
            for headers, flag in zip((admin, hz), ready, strict=True)
        ]
        assert all(flag.wait(10) for flag in ready)
        with uow(actor="another process") as u:
            orders.ship_order(u, hz_order, carrier_code="SF", tracking_no="SF1")
        with uow() as u:
            orders.cancel_order(u, gz_order, reason="买家取消")
        with uow() as u:
            inventory.adjust_stock(u, sku_code="A", warehouse_code="HZ", quantity=-2, reason="x")
            inventory.adjust_stock(u, sku_code="B", warehouse_code="GZ", quantity=-2, reason="x")
        import_dicts(uow, [canonical("MARK", [("A", 1)])])  # in no warehouse yet: both see it
        seen_by_admin, seen_by_hz = (s.result(timeout=30) for s in streams)

    assert summary(seen_by_admin) == [
        ("order.status_changed", "H1"),  # allocated -> in_fulfillment
        ("order.status_changed", "H1"),  # -> shipped
        ("order.shipped", "H1"),
        ("order.status_changed", "G1"),  # cancelled
        ("stock.low", "A@HZ"),
        ("stock.low", "B@GZ"),
        ("order.status_changed", "MARK"),
    ]
    assert summary(seen_by_hz) == [
        ("order.status_changed", "H1"),
        ("order.status_changed", "H1"),
        ("order.shipped", "H1"),
        ("stock.low", "A@HZ"),
        ("order.status_changed", "MARK"),
    ]
    assert [e.json()["data"]["to"] for e in seen_by_admin if e.event == "order.status_changed"] == [
        "in_fulfillment",
        "shipped",
        "cancelled",
        "pending_review",
    ]
    ids = [int(e.id) for e in seen_by_admin]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    # A browser that lost the connection after the third event comes back with its id.
    resumed = collect(live, {**admin, "Last-Event-ID": seen_by_admin[2].id}, is_marker)
    assert [e.json()["id"] for e in resumed] == [e.json()["id"] for e in seen_by_admin[3:]]
    resumed_hz = collect(live, {**hz, "Last-Event-ID": seen_by_hz[0].id}, is_marker)
    assert summary(resumed_hz) == summary(seen_by_hz)[1:]


def test_a_bad_last_event_id_is_a_clear_400(uow, live):
    setup_world(uow, skus={})
    with uow() as u:
        accounts.add_user(u, username="boss", password=PASSWORD, role="admin")
    r = httpx.get(
        f"{live}/api/v1/events", headers={**login(live, "boss"), "Last-Event-ID": "yesterday"}
    )
    assert r.status_code == 400
    assert r.json()["details"]["field"] == "Last-Event-ID"
    assert httpx.get(f"{live}/api/v1/events").status_code == 401
