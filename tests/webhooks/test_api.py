"""The webhook routes: the secret once, never again; clear errors; audit with the caller."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lvyue.accounts import queries as audit
from lvyue.accounts import service as accounts
from lvyue.accounts.queries import AuditFilter
from lvyue.main import create_app

PASSWORD = "correct horse 9"


def test_webhook_routes(db, uow):
    with uow() as u:
        accounts.add_user(u, username="boss", password=PASSWORD, role="admin")
    with TestClient(create_app(db)) as api:
        token = api.post("/api/v1/auth/token", data={"username": "boss", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        r = api.post(
            "/api/v1/webhooks",
            headers=auth,
            json={"url": "https://erp.example.com/h?token=abc", "events": ["stock.low"]},
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["secret"].startswith("whsec_") and created["enabled"]
        listed = api.get("/api/v1/webhooks", headers=auth).json()
        assert listed["total"] == 1 and "secret" not in listed["items"][0]
        assert created["secret"] not in str(listed)

        bad = api.post(
            "/api/v1/webhooks", headers=auth, json={"url": "https://x.example", "events": ["x"]}
        )
        assert bad.status_code == 400 and bad.json()["details"]["field"] == "events"
        assert api.post("/api/v1/webhooks", headers=auth, json={}).status_code == 422

        sid = created["id"]
        r = api.post(f"/api/v1/webhooks/{sid}/disable", headers=auth)
        assert r.status_code == 200 and not r.json()["enabled"]
        r = api.get(f"/api/v1/webhooks/{sid}/deliveries?failed=true", headers=auth)
        assert r.json() == {"items": [], "total": 0}
        missing = api.get("/api/v1/webhooks/999/deliveries", headers=auth)
        assert missing.status_code == 404 and missing.json()["code"] == "unknown_webhook"
    with uow(readonly=True) as u:
        entries = audit.list_audit(u, AuditFilter(action="webhook.*"))
    assert sorted(e["action"] for e in entries) == ["webhook.add", "webhook.disable"]
    assert {e["actor"] for e in entries} == {"boss"}
    added = next(e for e in entries if e["action"] == "webhook.add")
    assert added["details"]["url"] == "https://erp.example.com/h"  # the query's token stays out
    assert added["ip"] == "testclient"
