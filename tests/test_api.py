"""The HTTP API: one error body, tokens, masking, scoping, and an authorisation matrix.

``ROUTES`` is the one table of every /api/v1 route and the permission it needs; a test fails
when the app has a route the table does not know, so no route can be forgotten.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from lvyue.accounts import service as accounts
from lvyue.accounts.roles import Role, permissions_of
from lvyue.logistics import queries as logistics_queries
from lvyue.logistics.demo import seed_demo_logistics
from lvyue.main import create_app
from lvyue.orders import queries
from lvyue.orders import service as orders
from lvyue.webhooks import service as webhooks
from tests.factories import canonical, import_dicts, process_all, setup_world

PASSWORD = "correct horse 9"
# (method, path, permission; None = any signed-in user, "public" = no sign-in)
ROUTES: list[tuple[str, str, str | None]] = [
    ("POST", "/api/v1/auth/token", "public"),
    ("POST", "/api/v1/auth/logout", None),
    ("GET", "/api/v1/me", None),
    ("GET", "/api/v1/orders", "orders.read"),
    ("GET", "/api/v1/orders/{order_id}", "orders.read"),
    ("POST", "/api/v1/orders/{order_id}/approve", "orders.review"),
    ("POST", "/api/v1/orders/{order_id}/hold", "orders.hold"),
    ("POST", "/api/v1/orders/{order_id}/cancel", "orders.cancel"),
    ("POST", "/api/v1/orders/{order_id}/split", "orders.split_merge"),
    ("POST", "/api/v1/orders/merge", "orders.split_merge"),
    ("POST", "/api/v1/orders/{order_id}/address", "orders.edit"),
    ("POST", "/api/v1/orders/{order_id}/warehouse", "orders.review"),
    ("POST", "/api/v1/orders/{order_id}/carrier", "orders.review"),
    ("GET", "/api/v1/rules", "orders.read"),
    ("PUT", "/api/v1/rules", "rules.write"),
    ("POST", "/api/v1/rules/dry-run", "rules.write"),
    ("POST", "/api/v1/orders/{order_id}/reveal", "pii.view"),
    ("GET", "/api/v1/stock", "stock.read"),
    ("GET", "/api/v1/stock/ledger", "stock.read"),
    ("POST", "/api/v1/stock/adjust", "stock.adjust"),
    ("GET", "/api/v1/warehouses", "stock.read"),
    ("POST", "/api/v1/warehouses", "warehouses.write"),
    ("GET", "/api/v1/catalog/skus", "catalog.read"),
    ("GET", "/api/v1/catalog/skus/{code}", "catalog.read"),
    ("POST", "/api/v1/catalog/skus", "catalog.write"),
    ("GET", "/api/v1/shops", "orders.read"),
    ("POST", "/api/v1/shops", "shops.write"),
    ("GET", "/api/v1/carriers", "logistics.read"),
    ("GET", "/api/v1/carriers/rates/quote", "logistics.read"),
    ("POST", "/api/v1/carriers", "logistics.write"),
    ("GET", "/api/v1/webhooks", "settings.write"),
    ("POST", "/api/v1/webhooks", "settings.write"),
    ("POST", "/api/v1/webhooks/{subscription_id}/disable", "settings.write"),
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries", "settings.write"),
    # A stream: any user with orders.read or stock.read (every role has one), scoped inside.
    ("GET", "/api/v1/events", None),
    ("GET", "/api/v1/audit", "audit.read"),
    ("GET", "/api/v1/audit/export", "audit.read"),
    # Last: it changes each role's password, so nobody can sign in with PASSWORD after it.
    ("POST", "/api/v1/me/password", None),
]
STREAMS = {"/api/v1/events"}

RULE = {
    "name": "大额订单人工复核",
    "priority": 30,
    "when": {"fact": "total_amount", "op": "gt", "value": 5000},
    "then": [{"action": "manual_review", "reason": "订单金额超过5000元"}],
}

# A valid request for each route that needs more than a reason: (n, order id, uow) -> kwargs.
REQUESTS: dict[tuple[str, str], Callable[[int, int, Any], dict[str, Any]]] = {
    ("POST", "/api/v1/orders/{order_id}/split"): lambda n, oid, uow: {
        "json": {"lines": [{"line_no": 1, "quantity": 1}], "reason": "矩阵测试"}
    },
    ("POST", "/api/v1/orders/merge"): lambda n, oid, uow: {
        "json": {"order_ids": [held_order(uow, n), held_order(uow, 100_000 + n)]}
    },
    ("POST", "/api/v1/orders/{order_id}/address"): lambda n, oid, uow: {
        "json": {"phone": "13900000000"}
    },
    ("POST", "/api/v1/orders/{order_id}/warehouse"): lambda n, oid, uow: {
        "json": {"warehouse": allocated(uow, oid, other_than="HZ")}
    },
    ("POST", "/api/v1/orders/{order_id}/carrier"): lambda n, oid, uow: {
        "json": {"carrier": allocated(uow, oid, carriers=True)}
    },
    ("PUT", "/api/v1/rules"): lambda n, oid, uow: {"json": {"rules": [RULE]}},
    ("POST", "/api/v1/rules/dry-run"): lambda n, oid, uow: {"json": {"rules": [RULE]}},
    ("GET", "/api/v1/stock/ledger"): lambda n, oid, uow: {"params": {"sku": "A"}},
    ("POST", "/api/v1/stock/adjust"): lambda n, oid, uow: {
        "json": {"sku": "A", "warehouse": "HZ", "delta": 1, "reason": "矩阵测试"}
    },
    ("POST", "/api/v1/warehouses"): lambda n, oid, uow: {
        "json": {"code": f"W{n}", "name": "矩阵仓", "province": "广东省", "city": "广州市"}
    },
    ("POST", "/api/v1/catalog/skus"): lambda n, oid, uow: {
        "json": {"sku": f"M{n}", "name": "矩阵商品", "barcodes": [f"69{n:011d}"]}
    },
    ("POST", "/api/v1/shops"): lambda n, oid, uow: {
        "json": {"code": f"SH{n}", "platform": "manual", "name": "矩阵店"}
    },
    ("GET", "/api/v1/carriers/rates/quote"): lambda n, oid, uow: {
        "params": {"origin": "浙江", "dest": "广东", "weight_g": 500}
    },
    ("POST", "/api/v1/carriers"): lambda n, oid, uow: {"json": {"code": f"C{n}", "name": "矩阵"}},
    ("POST", "/api/v1/webhooks"): lambda n, oid, uow: {
        "json": {"url": "http://127.0.0.1:9/hook", "events": ["order.shipped"]}
    },
    ("GET", "/api/v1/audit"): lambda n, oid, uow: {
        "params": {"action": "login.*", "from": "2020-01-01T08:00:00+08:00"}
    },
    ("POST", "/api/v1/me/password"): lambda n, oid, uow: {
        "json": {"old_password": PASSWORD, "new_password": f"{PASSWORD} changed"}
    },
}


@pytest.fixture
def api(db, uow):
    setup_world(uow, skus={"A": {"HZ": 100, "GZ": 100}})
    with uow() as u:
        for role in Role:
            accounts.add_user(u, username=f"u-{role.value}", password=PASSWORD, role=role)
        accounts.add_user(
            u, username="hz-only", password=PASSWORD, role="operations", warehouse_codes=["HZ"]
        )
    with TestClient(create_app(db)) as client:
        yield client


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def held_order(uow, n: int) -> int:
    import_dicts(
        uow,
        [
            canonical(
                f"API{n}",
                [("A", 2)],
                receiver={
                    "name": "张三",
                    "phone": f"138{n:08d}",
                    "province": "浙江省",
                    "city": "杭州市",
                    "district": "西湖区",
                    "address": "余杭塘路866号",
                },
            )
        ],
    )
    process_all(uow)
    with uow(readonly=True) as u:
        oid = next(o["id"] for o in queries.list_orders(u) if o["external_id"] == f"API{n}")
    with uow() as u:
        orders.hold_order(u, oid, note="等买家回复")
    return oid


def allocated(uow, oid: int, *, other_than: str = "", carriers: bool = False) -> str:
    """Release the matrix's held order into allocated (in HZ); returns a warehouse other than
    ``other_than`` or, with ``carriers``, a carrier other than the order's (demo carriers)."""
    with uow() as u:
        if carriers and not logistics_queries.list_carriers(u):
            seed_demo_logistics(u)
        orders.approve_order(u, oid)
        orders.review_again(u, oid)
        order = queries.get_order(u, oid)
    assert order["status"] == "allocated", order["status"]
    if carriers:
        return "SF" if order["carrier"] != "SF" else "ZTO"
    return "GZ" if order["warehouse"] == other_than else other_than


def test_every_route_is_in_the_table(api):
    paths = api.app.openapi()["paths"]
    app_routes = {
        (m.upper(), p) for p, ops in paths.items() if p.startswith("/api/v1") for m in ops
    }
    assert app_routes == {(m, p) for m, p, _ in ROUTES}


def test_authorisation_matrix(api, uow):
    tokens: dict[Role, dict[str, str]] = {}
    n = 0
    for method, path, permission in ROUTES:
        if permission == "public":
            continue
        for role in [None, *Role]:
            n += 1
            allowed = role is not None and (
                permission is None or permission in permissions_of(role)
            )
            oid = held_order(uow, n) if allowed and "{order_id}" in path else 1
            sid = 1
            if allowed and "{subscription_id}" in path:
                with uow() as u:
                    sid = webhooks.add_subscription(
                        u, url="http://127.0.0.1:9/hook", events=["stock.low"]
                    ).id
            url = (
                path.replace("{order_id}", str(oid))
                .replace("{code}", "A")
                .replace("{subscription_id}", str(sid))
            )
            build = REQUESTS.get((method, path))
            kwargs = (
                build(n, oid, uow)
                if build and allowed
                else {"json": {"reason": "矩阵测试"}}
                if method != "GET"
                else {}
            )
            if role is not None and role not in tokens:
                tokens[role] = login(api, f"u-{role.value}")
            headers = tokens[role] if role else {}
            if path in STREAMS:  # the head says it all; the body of a 200 never ends
                with api.stream(method, url, headers=headers) as r:
                    if r.status_code != 200:
                        r.read()
            else:
                r = api.request(method, url, headers=headers, **kwargs)
            if role is None:
                expected = 401
            elif allowed:
                expected = 200
            else:
                expected = 403
            got = 200 if expected == 200 and r.status_code in (200, 201) else r.status_code
            assert got == expected, (method, path, role, r.status_code, r.text)
            if expected != 200:
                assert set(r.json()) == {"code", "message", "details"}
            if path.endswith("/logout") and role in tokens:
                del tokens[role]


def test_masking_scoping_and_errors(api, uow):
    oid = held_order(uow, 1)
    warehouse = api.get(f"/api/v1/orders/{oid}", headers=login(api, "u-warehouse")).json()
    assert warehouse["receiver_name"] == "张*" and warehouse["receiver_phone"] == "138****0001"
    assert warehouse["receiver_address"] == "****" and warehouse["pii_masked"]
    ops = api.get(f"/api/v1/orders/{oid}", headers=login(api, "u-operations")).json()
    assert ops["receiver_phone"] == "13800000001"
    # A user scoped to HZ sees orders not yet in any warehouse or in HZ, and only HZ stock.
    gz = held_order(uow, 2)
    with uow() as u:
        u.conn.execute(
            sa.text(
                "UPDATE orders_order SET warehouse_id = "
                "(SELECT id FROM inventory_warehouse WHERE code = 'GZ') WHERE id = :i"
            ),
            {"i": gz},
        )
    listed = api.get("/api/v1/orders", headers=login(api, "hz-only")).json()
    assert listed["total"] == 1
    stock = api.get("/api/v1/stock", headers=login(api, "hz-only")).json()
    assert {r["warehouse"] for r in stock["items"]} == {"HZ"}
    bad = api.post(
        "/api/v1/auth/token", data={"username": "u-admin", "password": "wrong password 1"}
    )
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_credentials"
    assert api.get("/api/v1/orders?limit=0", headers=login(api, "u-admin")).status_code == 422
    missing = api.get("/api/v1/orders/999999", headers=login(api, "u-admin"))
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_order"


def _audit(uow, action: str) -> list[Any]:
    audit = accounts.AUDIT
    with uow(readonly=True) as u:
        return list(
            u.conn.execute(sa.select(audit).where(audit.c.action == action).order_by(audit.c.id))
        )


def test_personal_data_masked_without_pii_view_and_every_reveal_audited(api, uow):
    oid = held_order(uow, 7)
    wh = login(api, "u-warehouse")
    masked = api.get(f"/api/v1/orders/{oid}", headers=wh).json()
    assert (masked["receiver_name"], masked["receiver_phone"]) == ("张*", "138****0007")
    assert masked["addr_detail"] == "****" and masked["receiver_address"] == "****"
    assert (masked["addr_province"], masked["addr_city"], masked["addr_district"]) == (
        "浙江省",
        "杭州市",
        "西湖区",
    )
    assert "receiver_phone_hash" not in masked and "余杭塘路" not in json_text(masked)
    refused = api.post(f"/api/v1/orders/{oid}/reveal", headers=wh)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert api.get("/api/v1/orders?phone=13800000007", headers=wh).status_code == 403
    assert _audit(uow, "pii.reveal") == []

    ops = login(api, "u-operations")
    before = datetime.now(UTC)
    r = api.post(f"/api/v1/orders/{oid}/reveal", headers=ops)
    assert r.status_code == 200, r.text
    plain = r.json()
    assert (plain["order_id"], plain["receiver_name"], plain["receiver_phone"]) == (
        oid,
        "张三",
        "13800000007",
    )
    assert plain["addr_detail"] == "余杭塘路866号" and plain["addr_province"] == "浙江省"
    [row] = _audit(uow, "pii.reveal")
    assert (row.actor, row.target_type, row.target, row.ip) == (
        "u-operations",
        "order",
        str(oid),
        "testclient",
    )
    assert before - timedelta(seconds=1) <= row.at <= datetime.now(UTC)
    # The detail view in plain text is a reveal too.
    assert api.get(f"/api/v1/orders/{oid}", headers=ops).json()["receiver_phone"] == "13800000007"
    assert [r.details for r in _audit(uow, "pii.reveal")][-1] in (
        {"via": "detail"},
        '{"via": "detail"}',
    )
    found = api.get("/api/v1/orders?phone=+86 138 0000 0007", headers=ops).json()
    assert [o["id"] for o in found["items"]] == [oid]

    # Out of the user's scope: not found, and nothing revealed or audited.
    gz = held_order(uow, 8)
    with uow() as u:
        u.conn.execute(
            sa.text(
                "UPDATE orders_order SET warehouse_id = "
                "(SELECT id FROM inventory_warehouse WHERE code = 'GZ') WHERE id = :i"
            ),
            {"i": gz},
        )
    missing = api.post(f"/api/v1/orders/{gz}/reveal", headers=login(api, "hz-only"))
    assert missing.status_code == 404 and len(_audit(uow, "pii.reveal")) == 2


def json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
