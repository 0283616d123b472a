"""The signed-in user's password change and the audit log over HTTP (list and CSV export)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lvyue.accounts import queries, service
from lvyue.accounts.queries import AuditFilter
from lvyue.main import create_app
from tests.accounts.conftest import PASSWORD
from tests.conftest import UowFactory

NEW = "a brand new pass 1"
# Far from the real clock, which stamps the log-ins of these tests.
T0 = datetime(2021, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def api(db: str, uow: UowFactory) -> Iterator[TestClient]:
    with uow() as u:
        for name, role in (("zhang", "operations"), ("boss", "admin")):
            service.add_user(
                u, username=name, password=PASSWORD, role=role, now=T0 - timedelta(days=1)
            )
    with TestClient(create_app(db)) as client:
        yield client


def login(api: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = api.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def entries(uow: UowFactory, **filters: Any) -> list[dict[str, Any]]:
    with uow(readonly=True) as u:
        return queries.list_audit(u, AuditFilter(**filters))


def change(api: TestClient, headers: dict[str, str], old: str, new: str = NEW) -> Any:
    return api.post(
        "/api/v1/me/password", headers=headers, json={"old_password": old, "new_password": new}
    )


def test_password_change_keeps_this_session_and_ends_the_others(
    api: TestClient, uow: UowFactory
) -> None:
    here, there = login(api, "zhang"), login(api, "zhang")
    wrong = change(api, here, "not my password")
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "wrong_password"
    assert wrong.json()["details"]["field"] == "old_password"
    weak = change(api, here, PASSWORD, "zhang")
    assert weak.status_code == 400 and weak.json()["code"] == "weak_password"
    assert weak.json()["details"]["field"] == "new_password"
    assert change(api, here, PASSWORD, "x" * 2000).status_code == 422  # bounded before hashing

    r = change(api, here, PASSWORD)
    assert r.status_code == 200, r.text
    assert r.json() == {"changed": True, "sessions_ended": 1}
    assert api.get("/api/v1/me", headers=here).status_code == 200
    assert api.get("/api/v1/me", headers=there).json()["code"] == "invalid_token"
    assert (
        api.post("/api/v1/auth/token", data={"username": "zhang", "password": PASSWORD}).status_code
        == 401
    )
    login(api, "zhang", NEW)

    failed = entries(uow, action="password.change_failed")
    assert [(e["details"]["reason"], e["actor"], e["ip"]) for e in reversed(failed)] == [
        ("wrong_password", "zhang", "testclient"),
        ("weak_password", "zhang", "testclient"),
    ]
    (done,) = entries(uow, action="password.changed")
    assert (done["actor"], done["target"], done["ip"]) == ("zhang", "zhang", "testclient")
    assert "not my password" not in repr(entries(uow)) and NEW not in repr(entries(uow))


def test_wrong_old_passwords_over_the_api_lock_the_log_in(api: TestClient, uow: UowFactory) -> None:
    here = login(api, "zhang")
    codes = [change(api, here, f"guess number {i}").json()["code"] for i in range(5)]
    assert codes == ["wrong_password"] * 4 + ["account_locked"]
    r = api.post("/api/v1/auth/token", data={"username": "zhang", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["code"] == "account_locked"
    locked = change(api, here, PASSWORD)
    assert locked.status_code == 401 and locked.json()["code"] == "account_locked"
    # The lock guards the password; the session already open is not ended by it.
    assert api.get("/api/v1/me", headers=here).status_code == 200
    assert len(entries(uow, action="password.change_failed")) == 6


def seed(uow: UowFactory) -> None:
    """Six entries an hour apart from T0 (08:00 UTC = 16:00 in Shanghai)."""
    rows = [
        ("zhang", "login.succeeded", "user", "zhang"),
        ("zhang", "order.approve", "order", "17"),
        ("li", "login.failed", "user", "li"),
        ("zhang", "order.cancel", "order", "18"),
        ("cli:root", "stock.adjust", "stock", "A@HZ"),
        ("zhang", "order.approve", "order", "19"),
    ]
    with uow() as u:
        for i, (actor, action, target_type, target) in enumerate(rows):
            service.record(
                u,
                actor=actor,
                action=action,
                target_type=target_type,
                target=target,
                details={"note": "核对库存" if i == 4 else ""},
                at=T0 + timedelta(hours=i),
            )


def ids(page: dict[str, Any]) -> list[str]:
    return [e["target"] for e in page["items"]]


def test_audit_list_filters_newest_first_and_pages(api: TestClient, uow: UowFactory) -> None:
    seed(uow)
    admin = login(api, "boss")

    def get(**params: Any) -> dict[str, Any]:
        r = api.get("/api/v1/audit", headers=admin, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    assert ids(get(actor="zhang", action="order.*")) == ["19", "18", "17"]
    assert ids(get(action="order.approve")) == ["19", "17"]
    assert ids(get(target_type="order", target="18")) == ["18"]
    assert ids(get(ip="cli")) == []
    # 17:00 to 19:00 in Shanghai = 09:00 to 11:00 UTC: the second and third entries
    window = get(**{"from": "2021-06-01T17:00:00+08:00", "to": "2021-06-01T19:00:00+08:00"})
    assert ids(window) == ["li", "17"] and window["total"] == 2
    naive = api.get("/api/v1/audit", headers=admin, params={"from": "2021-06-01T17:00:00"})
    assert naive.status_code == 422 and naive.json()["details"]["field"] == "from"
    far = api.get("/api/v1/audit", headers=admin, params={"to": "9999-12-31T23:00:00-05:00"})
    assert far.status_code == 400 and far.json()["details"]["field"] == "to"

    # nine entries: two users created, the six seeded, boss's log-in; pages of four
    first = get(limit=4)
    assert first["total"] == 9 and ids(first) == ["boss", "19", "A@HZ", "18"]
    second = get(limit=4, before_id=first["next_before_id"])
    assert ids(second) == ["li", "17", "zhang", "boss"]
    last = get(limit=4, before_id=second["next_before_id"])
    assert ids(last) == ["zhang"] and last["next_before_id"] is None and last["total"] == 9
    exact = get(limit=1, actor="li")
    assert ids(exact) == ["li"] and exact["next_before_id"] is None
    entry = get(action="stock.adjust")["items"][0]
    assert entry["details"] == {"note": "核对库存"} and entry["at"].startswith("2021-06-01T12:00")


def test_audit_export_streams_csv_and_is_audited_first(api: TestClient, uow: UowFactory) -> None:
    seed(uow)
    with uow(actor="ops") as u:  # enough rows for several streamed pieces
        for n in range(1_100):
            service.record(u, action="pii.reveal", target_type="order", target=str(n))
    admin = login(api, "boss")
    r = api.get("/api/v1/audit/export", headers=admin, params={"action": "order.*"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="audit-')
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == list(queries.CSV_COLUMNS)
    assert [(row[3], row[5]) for row in rows[1:]] == [
        ("order.approve", "17"),
        ("order.cancel", "18"),
        ("order.approve", "19"),
    ]

    everything = api.get("/api/v1/audit/export", headers=admin)
    lines = list(csv.reader(io.StringIO(everything.content.decode("utf-8-sig"))))
    # 2 users + 6 seeded + 1,100 reveals + boss's log-in + both exports (each audited first)
    assert len(lines) == 1 + 2 + 6 + 1_100 + 1 + 2
    assert lines[-1][3] == "audit.export" and lines[-1][2] == "boss"

    exports = entries(uow, action="audit.export")
    assert [(e["actor"], e["ip"], e["details"]) for e in exports] == [
        ("boss", "testclient", {"filters": {}, "rows": 1_110}),
        ("boss", "testclient", {"filters": {"action": "order.*"}, "rows": 3}),
    ]
    viewer = api.get("/api/v1/audit/export", headers=login(api, "zhang"))
    assert viewer.status_code == 403 and len(entries(uow, action="audit.export")) == 2
