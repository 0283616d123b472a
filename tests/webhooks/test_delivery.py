"""Webhooks end to end: a real receiver on 127.0.0.1 checks every signature."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lvyue.accounts import queries as audit
from lvyue.accounts.queries import AuditFilter
from lvyue.core.clock import now
from lvyue.core.crypto import decrypt
from lvyue.core.errors import NotFound, ValidationError
from lvyue.inventory import service as inventory
from lvyue.orders import service as orders
from lvyue.webhooks import queries, service
from tests.factories import setup_world
from tests.webhooks.helpers import allocated_order


def later(hours: int = 1):
    return lambda: now() + timedelta(hours=hours)


def subscribe(uow, receiver, events, path="/hooks/lvyue"):
    fake, base = receiver
    with uow() as u:
        new = service.add_subscription(u, url=base + path, events=events, description="ERP")
    fake.secrets[path] = new.secret
    return new


def outbox_statuses(engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text("SELECT status FROM core_outbox WHERE topic = 'webhook' ORDER BY id")
            ).scalars()
        )


@pytest.fixture
def world(uow):
    setup_world(uow, skus={"A": {"HZ": 5}, "B": {"GZ": 5}})


def test_a_subscribed_event_is_delivered_signed_and_logged(uow, engine, world, receiver):
    fake, _ = receiver
    new = subscribe(uow, receiver, ["order.shipped"])
    oid = allocated_order(uow, "W1")
    with uow() as u:
        orders.ship_order(u, oid, carrier_code="SF", tracking_no="SF100")
    report = service.deliver(engine)
    assert (report.delivered, report.failed, report.retrying) == (1, 0, 0)
    assert fake.rejected == 0
    [req] = fake.received
    body = req.json()
    assert set(body) == {"id", "type", "occurred_at", "data"}
    assert body["type"] == req.headers["x-lvyue-event"] == "order.shipped"
    assert body["data"] == {
        "order_id": oid,
        "external_id": "W1",
        "shop": "S1",
        "warehouse": "HZ",
        "carrier_code": "SF",
        "tracking_no": "SF100",
    }
    assert req.headers["x-lvyue-delivery"].startswith("dlv_")
    assert req.headers["content-type"].startswith("application/json")
    with uow(readonly=True) as u:
        [attempt] = queries.list_deliveries(u)
        added = audit.list_audit(u, AuditFilter(action="webhook.add"))
    assert (attempt["attempt"], attempt["ok"], attempt["status_code"]) == (1, True, 200)
    assert attempt["event_id"] == body["id"] and attempt["error"] == ""
    assert attempt["delivery_id"] == req.headers["x-lvyue-delivery"]
    assert [a["target"] for a in added] == [str(new.id)]
    assert service.deliver(engine).delivered == 0  # nothing is sent twice
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT secret_encrypted FROM webhooks_subscription")
        ).scalar()
    assert new.secret not in stored and decrypt(stored) == new.secret


def test_a_500_is_retried_with_back_off_then_delivered(uow, engine, world, receiver):
    fake, _ = receiver
    subscribe(uow, receiver, ["order.shipped"])
    oid = allocated_order(uow, "W1")
    with uow() as u:
        orders.ship_order(u, oid, carrier_code="SF", tracking_no="SF100")
    fake.script.append(500)
    assert service.deliver(engine).retrying == 1
    assert service.deliver(engine).delivered == 0  # backing off: not due yet
    assert service.deliver(engine, clock=later()).delivered == 1
    first, second = fake.received
    assert first.body == second.body  # the same event...
    assert first.headers["x-lvyue-delivery"] == second.headers["x-lvyue-delivery"]  # ...and id
    with uow(readonly=True) as u:
        attempts = sorted(queries.list_deliveries(u), key=lambda a: a["attempt"])
    assert [(a["attempt"], a["status_code"], a["ok"]) for a in attempts] == [
        (1, 500, False),
        (2, 200, True),
    ]
    assert attempts[0]["error"] == "HTTP 500"
    assert outbox_statuses(engine) == ["delivered"]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (410, "failed"),
        (404, "failed"),
        (400, "failed"),
        (301, "failed"),
        (408, "pending"),
        (429, "pending"),
        (503, "pending"),
    ],
)
def test_4xx_is_permanent_except_408_and_429(uow, engine, world, receiver, status, outcome):
    fake, _ = receiver
    subscribe(uow, receiver, ["stock.low"])
    with uow() as u:
        inventory.set_low_stock_threshold(u, sku_code="A", warehouse_code="HZ", threshold=4)
        inventory.adjust_stock(u, sku_code="A", warehouse_code="HZ", quantity=-1, reason="damaged")
    fake.script.append(status)
    service.deliver(engine)
    assert outbox_statuses(engine) == [outcome]
    service.deliver(engine, clock=later(24))
    assert len(fake.received) == (1 if outcome == "failed" else 2)
    with uow(readonly=True) as u:
        failed = queries.list_deliveries(u, failed=True)
    assert [a["status_code"] for a in failed] == [status]


def test_disabled_subscriptions_receive_nothing(uow, engine, world, receiver):
    fake, _ = receiver
    early = subscribe(uow, receiver, ["order.status_changed"])
    with uow() as u:
        service.disable_subscription(u, early.id)
        service.disable_subscription(u, early.id)  # twice is one change
    allocated_order(uow, "W1")
    assert outbox_statuses(engine) == []  # nothing queued for it
    # Queued while enabled, disabled before delivery: not sent either.
    late = subscribe(uow, receiver, ["order.status_changed"])
    allocated_order(uow, "W2")
    assert outbox_statuses(engine) == ["pending", "pending"]
    with uow() as u:
        service.disable_subscription(u, late.id)
    report = service.deliver(engine)
    assert (report.delivered, report.failed) == (0, 2)
    assert fake.received == []
    with uow(readonly=True) as u:
        attempts = queries.list_deliveries(u, subscription_id=late.id)
        subs = {s["id"]: s for s in queries.list_subscriptions(u)}
        disabled = audit.list_audit(u, AuditFilter(action="webhook.disable"))
    assert {a["error"] for a in attempts} == {"subscription disabled: not sent"}
    assert not subs[early.id]["enabled"] and subs[early.id]["disabled_at"] is not None
    assert sorted(a["target"] for a in disabled) == sorted([str(early.id), str(late.id)])
    with pytest.raises(NotFound), uow() as u:
        service.disable_subscription(u, 999)


def test_each_subscriber_gets_only_the_types_it_asked_for(uow, engine, world, receiver):
    fake, _ = receiver
    subscribe(uow, receiver, ["stock.low"], "/stock")
    subscribe(uow, receiver, ["order.held"], "/held")
    subscribe(uow, receiver, ["order.status_changed", "order.shipped"], "/status")
    with uow() as u:
        inventory.set_low_stock_threshold(u, sku_code="A", warehouse_code="HZ", threshold=3)
    oid = allocated_order(uow, "W1", qty=2)  # 5 -> 3 available: at the threshold
    with uow() as u:
        orders.hold_order(u, oid, note="等买家回复")
    assert service.deliver(engine).delivered == 5
    by_path: dict[str, list[dict]] = {}
    for r in fake.received:
        by_path.setdefault(r.path, []).append(r.json())
    assert [e["data"] for e in by_path["/stock"]] == [
        {"sku": "A", "warehouse": "HZ", "available": 3, "threshold": 3}
    ]
    [held] = by_path["/held"]
    assert held["type"] == "order.held"
    assert held["data"]["holds"] == [{"code": "operator_hold", "detail": "等买家回复"}]
    assert [(e["data"]["from"], e["data"]["to"]) for e in by_path["/status"]] == [
        (None, "pending_review"),
        ("pending_review", "allocated"),
        ("allocated", "held"),
    ]
    assert {e["type"] for e in by_path["/status"]} == {"order.status_changed"}


def test_subscriptions_are_checked(uow, world):
    with uow() as u:
        for url, events, field in [
            ("ftp://example.com/x", ["order.shipped"], "url"),
            ("https://", ["order.shipped"], "url"),
            ("https://example.com/x", [], "events"),
            ("https://example.com/x", ["order.created"], "events"),
        ]:
            with pytest.raises(ValidationError) as exc:
                service.add_subscription(u, url=url, events=events)
            assert exc.value.field == field
