"""`lvyue webhook ...`, `lvyue events prune` and `lvyue stock threshold` through the real CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lvyue.cli import main
from lvyue.core import eventlog
from lvyue.core.clock import now
from lvyue.core.errors import ValidationError
from lvyue.inventory import service as inventory
from lvyue.webhooks.cli import parse_age
from tests.factories import setup_world


def run(capsys, db: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--db", db])
    out, err = capsys.readouterr()
    return rc, out, err


def test_webhook_commands(capsys, db, uow, receiver):
    fake, base = receiver
    setup_world(uow, skus={"A": {"HZ": 5}})
    rc, out, _ = run(
        capsys, db, "webhook", "add", base + "/erp", "--event", "stock.low",
        "--event", "order.held", "--description", "ERP",
    )  # fmt: skip
    assert rc == 0
    secret = next(line.split(": ")[1] for line in out.splitlines() if "secret" in line)
    assert secret.startswith("whsec_") and "not shown again" in out
    fake.secrets["/erp"] = secret
    rc, out, _ = run(capsys, db, "webhook", "list", "--json")
    [sub] = json.loads(out)
    assert (sub["url"], sub["events"], sub["enabled"]) == (
        base + "/erp",
        ["order.held", "stock.low"],
        True,
    )
    assert secret not in out and "secret" not in sub

    rc, out, _ = run(capsys, db, "stock", "threshold", "A", "--warehouse", "HZ", "--qty", "4")
    assert rc == 0 and "threshold set to 4" in out
    with uow() as u:
        inventory.adjust_stock(u, sku_code="A", warehouse_code="HZ", quantity=-1, reason="x")
    fake.script.append(503)
    rc, out, _ = run(capsys, db, "webhook", "deliver")
    assert rc == 0 and "retrying 1" in out
    rc, out, _ = run(capsys, db, "webhook", "deliveries", "--failed", "--json")
    [attempt] = json.loads(out)
    assert (attempt["status_code"], attempt["error"], attempt["event_type"]) == (
        503,
        "HTTP 503",
        "stock.low",
    )
    assert "body" not in attempt
    rc, out, _ = run(capsys, db, "webhook", "deliveries")
    assert rc == 0 and "HTTP 503" in out

    rc, out, _ = run(capsys, db, "webhook", "disable", str(sub["id"]))
    assert rc == 0 and f"webhook {sub['id']} disabled" in out
    rc, _, err = run(capsys, db, "webhook", "add", "mailto:x@example.com", "--event", "stock.low")
    assert rc == 2 and "url" in err
    rc, _, err = run(capsys, db, "webhook", "disable", "999")
    assert rc == 2 and "unknown_webhook" in err


def test_events_prune(capsys, db, uow, engine):
    setup_world(uow, skus={})
    entry = {"type": "stock.low", "shop": None, "warehouse": "HZ", "order_id": None, "sku": "A"}
    with uow() as u:
        eventlog.append(
            u,
            [
                {**entry, "event_id": "evt_old", "payload": {}, "at": now() - timedelta(days=9)},
                {**entry, "event_id": "evt_new", "payload": {}, "at": now()},
            ],
        )
    rc, out, _ = run(capsys, db, "events", "prune", "--older-than", "7d")
    assert rc == 0 and "1 event-log entries" in out
    with engine.connect() as conn:
        left = conn.execute(sa.select(eventlog.LOG.c.event_id)).scalars().all()
    assert left == ["evt_new"]
    rc, _, err = run(capsys, db, "events", "prune", "--older-than", "a week")
    assert rc == 2 and "older-than" in err


def test_ages():
    assert parse_age("7d") == timedelta(days=7)
    assert parse_age(" 12H ") == timedelta(hours=12)
    assert parse_age("30m") == timedelta(minutes=30)
    with pytest.raises(ValidationError):
        parse_age("7")
