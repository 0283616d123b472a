"""The API's actions end to end: scoping, stock round trip, rules, catalogue, shops,
carriers, order split/merge/address, the audit rows they leave, and the one error body."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from lvyue.accounts import queries as audit_queries
from lvyue.accounts import service as accounts
from lvyue.accounts.queries import AuditFilter
from lvyue.inventory import queries as stock_queries
from lvyue.orders import queries
from lvyue.orders import service as orders
from tests.factories import canonical, import_dicts, process_all
from tests.test_api import PASSWORD, RULE, api, held_order, login

__all__ = ["api"]


def audit_rows(uow, action: str) -> list[dict[str, Any]]:
    with uow(readonly=True) as u:
        return audit_queries.list_audit(u, AuditFilter(action=action))


def in_gz(uow, oid: int) -> None:
    with uow() as u:
        u.conn.execute(
            sa.text(
                "UPDATE orders_order SET warehouse_id = "
                "(SELECT id FROM inventory_warehouse WHERE code = 'GZ') WHERE id = :i"
            ),
            {"i": oid},
        )


@pytest.fixture
def s2_order(api: TestClient, uow) -> int:
    """An order of a second shop, S2, and a user who sees only shop S1."""
    with uow() as u:
        orders.add_shop(u, code="S2", platform="manual", name="第二店")
        accounts.add_user(
            u, username="s1-only", password=PASSWORD, role="operations", shop_codes=["S1"]
        )
    import_dicts(uow, [canonical("OTHER1", [("A", 2)])], shop="S2")
    process_all(uow)
    with uow(readonly=True) as u:
        return next(o["id"] for o in queries.list_orders(u) if o["external_id"] == "OTHER1")


def test_shop_scope_hides_other_shops_orders(api, uow, s2_order):
    mine = held_order(uow, 1)
    h = login(api, "s1-only")
    listed = api.get("/api/v1/orders", headers=h).json()
    assert [o["id"] for o in listed["items"]] == [mine]
    assert api.get("/api/v1/orders", params={"shop": "S2"}, headers=h).json()["total"] == 0
    for method, url, body in [
        ("GET", f"/api/v1/orders/{s2_order}", None),
        ("POST", f"/api/v1/orders/{s2_order}/hold", {"reason": "x"}),
        ("POST", f"/api/v1/orders/{s2_order}/cancel", {"reason": "x"}),
        ("POST", f"/api/v1/orders/{s2_order}/split", {"lines": [{"line_no": 1, "quantity": 1}]}),
        ("POST", f"/api/v1/orders/{s2_order}/address", {"phone": "13900000000"}),
        ("POST", "/api/v1/orders/merge", {"order_ids": [mine, s2_order]}),
    ]:
        r = api.request(method, url, headers=h, json=body)
        assert r.status_code == 404 and r.json()["code"] == "unknown_order", (url, r.text)
    with uow(readonly=True) as u:
        assert queries.get_order(u, s2_order)["status"] != "cancelled"
    shops = api.get("/api/v1/shops", headers=h).json()["items"]
    assert [s["code"] for s in shops] == ["S1"]
    # an unscoped user sees both, and may filter by shop
    admin = login(api, "u-admin")
    assert api.get("/api/v1/orders", params={"shop": "S2"}, headers=admin).json()["total"] == 1
    # a shop-scoped user cannot add a shop outside the scope
    r = api.post("/api/v1/shops", headers=h, json={"code": "S9", "platform": "manual", "name": "x"})
    assert r.status_code == 403


def test_warehouse_scope_on_stock_and_orders(api, uow):
    with uow() as u:
        accounts.add_user(
            u, username="hz-keeper", password=PASSWORD, role="warehouse", warehouse_codes=["HZ"]
        )
    h = login(api, "hz-keeper")
    r = api.post(
        "/api/v1/stock/adjust",
        headers=h,
        json={"sku": "A", "warehouse": "GZ", "delta": -5, "reason": "报损"},
    )
    assert r.status_code == 404 and r.json()["code"] == "unknown_warehouse"
    ledger = api.get("/api/v1/stock/ledger", headers=h).json()
    assert ledger["items"] and {e["warehouse"] for e in ledger["items"]} == {"HZ"}
    gz_only = api.get("/api/v1/stock/ledger", params={"warehouse": "GZ"}, headers=h).json()
    assert gz_only == {"items": [], "total": 0}
    assert [w["code"] for w in api.get("/api/v1/warehouses", headers=h).json()["items"]] == ["HZ"]
    gz = held_order(uow, 7)
    in_gz(uow, gz)
    assert api.get(f"/api/v1/orders/{gz}", headers=h).status_code == 404
    with uow(readonly=True) as u:
        levels = {r["warehouse"]: r["on_hand"] for r in stock_queries.stock_levels(u, "A")}
    assert levels["GZ"] == 100
    ok = api.post(
        "/api/v1/stock/adjust",
        headers=h,
        json={"sku": "A", "warehouse": "HZ", "delta": -5, "reason": "报损"},
    )
    assert ok.status_code == 200 and ok.json()["on_hand"] == 95
    # a user limited to some warehouses cannot add another
    r = api.post(
        "/api/v1/warehouses",
        headers=h,
        json={"code": "SZ", "name": "深圳仓", "province": "广东省", "city": "深圳市"},
    )
    assert r.status_code == 403


def test_adjust_and_ledger_round_trip_with_audit(api, uow):
    h = login(api, "u-warehouse")
    r = api.post(
        "/api/v1/stock/adjust",
        headers={**h, "User-Agent": "scanner/1.0"},
        json={"sku": "A", "warehouse": "HZ", "delta": 5, "reason": "盘盈"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "sku": "A",
        "warehouse": "HZ",
        "on_hand": 105,
        "reserved": 0,
        "available": 105,
    }
    page = api.get(
        "/api/v1/stock/ledger", params={"sku": "A", "warehouse": "HZ", "limit": 1}, headers=h
    ).json()
    assert page["total"] == 2  # the opening balance and this adjustment
    (entry,) = page["items"]
    assert (entry["on_hand_delta"], entry["reason"], entry["actor"]) == (5, "盘盈", "u-warehouse")
    (row,) = audit_rows(uow, "stock.adjust")
    assert row["actor"] == "u-warehouse" and row["target"] == "A@HZ"
    assert row["ip"] == "testclient" and row["user_agent"] == "scanner/1.0"
    assert row["details"]["delta"] == 5
    # taking more than is there is refused with the one error body, nothing written
    r = api.post(
        "/api/v1/stock/adjust",
        headers=h,
        json={"sku": "A", "warehouse": "HZ", "delta": -1000, "reason": "报损"},
    )
    assert r.status_code == 400 and r.json()["code"] == "insufficient_stock"
    assert len(audit_rows(uow, "stock.adjust")) == 1
    r = api.post(
        "/api/v1/stock/adjust", headers=h, json={"sku": "A", "warehouse": "HZ", "delta": 1}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input" and r.json()["details"]["field"] == "reason"


def test_rules_put_validates_versions_and_audits(api, uow):
    h = login(api, "u-operations")
    book = api.get("/api/v1/rules", headers=h).json()
    assert book["rules"] == []
    bad = {**RULE, "name": "坏规则", "when": {"fact": "total_amount", "op": "contains", "value": 1}}
    r = api.put("/api/v1/rules", headers=h, json={"rules": [RULE, bad]})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_rule" and set(body) == {"code", "message", "details"}
    assert "坏规则" in body["details"]["rule"] and body["details"]["field"] == "when.op"
    assert api.get("/api/v1/rules", headers=h).json()["rules"] == []
    r = api.put(
        "/api/v1/rules", headers=h, json={"rules": [RULE], "expected_version": book["version"]}
    )
    assert r.status_code == 200 and r.json()["added"] == [RULE["name"]]
    now = api.get("/api/v1/rules", headers=h).json()
    assert now["version"] == r.json()["version"] != book["version"]
    assert [(x["name"], x["version"]) for x in now["rules"]] == [(RULE["name"], 1)]
    # someone editing the old book is told it changed
    stale = api.put(
        "/api/v1/rules", headers=h, json={"rules": [], "expected_version": book["version"]}
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale_rule_book"
    (row,) = audit_rows(uow, "rules.change")
    assert row["actor"] == "u-operations" and row["details"]["added"] == [RULE["name"]]
    dry = api.post("/api/v1/rules/dry-run", headers=h, json={"rules": [bad]})
    assert dry.status_code == 400 and dry.json()["details"]["field"] == "when.op"


def test_order_actions_write_audit_rows(api, uow):
    h = login(api, "u-admin")
    for action, path, body in [
        ("order.approve", "approve", {"reason": "已电话确认"}),
        ("order.hold", "hold", {"reason": "等买家回复"}),
        ("order.cancel", "cancel", {"reason": "买家取消"}),
    ]:
        oid = held_order(uow, len(path))
        r = api.post(f"/api/v1/orders/{oid}/{path}", headers=h, json=body)
        assert r.status_code == 200, r.text
        (row,) = audit_rows(uow, action)
        assert (row["actor"], row["target_type"], row["target"]) == ("u-admin", "order", str(oid))
        assert row["ip"] == "testclient"
    # a refused action leaves no audit row behind
    oid = held_order(uow, 99)
    api.post(f"/api/v1/orders/{oid}/cancel", headers=h, json={"reason": "x"})
    again = api.post(f"/api/v1/orders/{oid}/approve", headers=h, json={})
    assert again.status_code == 400 and again.json()["code"] == "invalid_transition"
    assert len(audit_rows(uow, "order.approve")) == 1


def test_split_merge_and_address_fix(api, uow):
    h = login(api, "u-operations")
    oid = held_order(uow, 1)
    r = api.post(
        f"/api/v1/orders/{oid}/split",
        headers=h,
        json={"lines": [{"line_no": 1, "quantity": 1}], "reason": "先发一件"},
    )
    assert r.status_code == 200, r.text
    split = r.json()
    assert split["order"]["lines"][0]["quantity"] == 1
    assert split["new_order"]["parent_id"] == oid and split["new_order"]["lines"][0]["sku"] == "A"
    bad = api.post(
        f"/api/v1/orders/{oid}/split", headers=h, json={"lines": [{"line_no": 1, "quantity": 1}]}
    )
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "parts"
    other = held_order(uow, 2)
    r = api.post("/api/v1/orders/merge", headers=h, json={"order_ids": [oid, other]})
    assert r.status_code == 200 and r.json() == {"merge_group": oid, "order_ids": [oid, other]}
    r = api.post("/api/v1/orders/merge", headers=h, json={"order_ids": [oid]})
    assert r.status_code == 422 and r.json()["details"]["field"] == "order_ids"
    fix = api.post(
        f"/api/v1/orders/{other}/address",
        headers=h,
        json={"text": "浙江省杭州市西湖区文三路100号", "phone": "13900000002"},
    )
    assert fix.status_code == 200, fix.text
    assert fix.json()["order"]["phone_number"] == "13900000002"
    (row,) = audit_rows(uow, "order.address_fix")
    assert row["details"] == {"fields": ["phone", "text"]}  # what changed, not the address
    assert audit_rows(uow, "order.split") and audit_rows(uow, "order.merge")


def test_order_list_filters(api, uow):
    h = login(api, "u-admin")
    a, b = held_order(uow, 1), held_order(uow, 2)
    in_gz(uow, b)
    assert api.get("/api/v1/orders", params={"warehouse": "GZ"}, headers=h).json()["total"] == 1
    held = api.get("/api/v1/orders", params={"hold": "operator_hold"}, headers=h).json()
    assert {o["id"] for o in held["items"]} == {a, b}
    assert api.get("/api/v1/orders", params={"hold": "no_such"}, headers=h).json()["total"] == 0
    window = {"created_from": "2026-11-10T00:00:00+08:00", "created_to": "2026-11-12T00:00:00Z"}
    assert api.get("/api/v1/orders", params=window, headers=h).json()["total"] == 2
    later = {"created_from": "2026-11-11T00:00:06+08:00"}
    assert api.get("/api/v1/orders", params=later, headers=h).json()["total"] == 0
    naive = api.get("/api/v1/orders", params={"created_from": "2026-11-10T00:00:00"}, headers=h)
    assert naive.status_code == 422 and naive.json()["details"]["field"] == "created_from"


def test_catalog_search_detail_and_write(api, uow):
    h = login(api, "u-purchasing")
    sku = {
        "sku": "TEE-M-WHITE",
        "name": "T恤 白色 M",
        "spec": {"颜色": "白色", "尺码": "M"},
        "barcodes": ["6901234567892"],
        "price": "59.00",
        "cost": "20.00",
        "weight_g": 200,
        "tags": ["fragile"],
    }
    r = api.post("/api/v1/catalog/skus", headers=h, json=sku)
    assert r.status_code == 200, r.text
    assert r.json()["spec"] == {"颜色": "白色", "尺码": "M"} and r.json()["price"] == "59.00"
    kit = {"sku": "KIT", "name": "两件装", "components": [{"sku": "TEE-M-WHITE", "quantity": 2}]}
    assert api.post("/api/v1/catalog/skus", headers=h, json=kit).json()["is_bundle"]
    detail = api.get("/api/v1/catalog/skus/KIT", headers=h).json()
    assert detail["components"] == [{"sku": "TEE-M-WHITE", "quantity": 2}]
    for q, codes in [
        ("6901234567892", ["TEE-M-WHITE"]),
        ("tee", ["TEE-M-WHITE"]),
        ("两件", ["KIT"]),
    ]:
        found = api.get("/api/v1/catalog/skus", params={"q": q}, headers=h).json()
        assert [s["code"] for s in found["items"]] == codes, q
    assert api.get("/api/v1/catalog/skus", params={"q": "%"}, headers=h).json()["total"] == 0
    r = api.post("/api/v1/catalog/skus", headers=h, json={**sku, "name": "T恤 白 M 新款"})
    assert r.json()["name"] == "T恤 白 M 新款"
    assert [x["action"] for x in audit_rows(uow, "catalog.sku_update")] == ["catalog.sku_update"]
    r = api.post(
        "/api/v1/catalog/skus",
        headers=h,
        json={**kit, "components": [{"sku": "NOPE", "quantity": 1}]},
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "components"
    missing = api.get("/api/v1/catalog/skus/NOPE", headers=h)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_sku"


def test_shops_never_show_secrets(api, uow):
    h = login(api, "u-operations")
    body = {
        "code": "TB1",
        "platform": "taobao",
        "name": "淘宝旗舰店",
        "base_url": "https://user:pw@gw.example.test/router/rest?k=v",
        "secrets": {"app_key": "key-123", "app_secret": "very-secret-value"},
    }
    r = api.post("/api/v1/shops", headers=h, json=body)
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["has_credentials"] and created["last_sync_status"] == "never"
    assert created["base_url"] == "https://gw.example.test/router/rest"
    listed = api.get("/api/v1/shops", headers=h)
    for text in (r.text, listed.text):
        assert "very-secret-value" not in text and "pw@" not in text
    (row,) = audit_rows(uow, "shop.create")
    assert row["details"]["secrets"] == ["app_key", "app_secret"]
    assert "very-secret-value" not in str(row["details"])
    r = api.post("/api/v1/shops", headers=h, json={**body, "secrets": {"password": "x"}})
    assert r.status_code == 422 and r.json()["details"]["field"] == "secrets.password"


def test_carriers_warehouses_and_quote(api, uow):
    h = login(api, "u-admin")
    r = api.post(
        "/api/v1/carriers",
        headers=h,
        json={
            "code": "sf",
            "name": "顺丰",
            "services": [{"code": "SF-COLD", "name": "顺丰冷运", "is_cold_chain": True}],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["code"] == "SF" and r.json()["services"][0]["code"] == "SF-COLD"
    assert audit_rows(uow, "carrier.create")[0]["target"] == "SF"
    dup = api.post("/api/v1/carriers", headers=h, json={"code": "SF", "name": "顺丰"})
    assert dup.status_code == 400 and dup.json()["details"]["field"] == "code"
    q = api.get(
        "/api/v1/carriers/rates/quote",
        params={"origin": "浙江", "dest": "西藏", "weight_g": 500, "tags": "fresh"},
        headers=h,
    ).json()
    assert q["service_code"] is None and q["rejected"][0]["code"] == "no_rate"
    bad = api.get(
        "/api/v1/carriers/rates/quote",
        params={"origin": "火星", "dest": "西藏", "weight_g": 1},
        headers=h,
    )
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "origin"
    r = api.post(
        "/api/v1/warehouses",
        headers=h,
        json={"code": "SH", "name": "上海仓", "province": "上海市", "city": "上海市"},
    )
    assert r.status_code == 200 and r.json()["active"]
    assert audit_rows(uow, "warehouse.create")[0]["details"]["name"] == "上海仓"
    assert "SH" in [w["code"] for w in api.get("/api/v1/warehouses", headers=h).json()["items"]]


def test_every_error_has_the_one_body(api):
    h = login(api, "u-admin")
    cases = [
        api.get("/api/v1/nothing-here", headers=h),
        api.delete("/api/v1/orders", headers=h),
        api.post("/api/v1/stock/adjust", headers=h, content=b"{not json"),
        api.post("/api/v1/stock/adjust", headers=h, json=[1, 2]),
        api.get("/api/v1/orders/0", headers=h),
        api.get("/api/v1/orders/abc", headers=h),
        api.post("/api/v1/orders/merge", headers=h, json={"order_ids": [1, "x"]}),
    ]
    assert [r.status_code for r in cases] == [404, 405, 422, 422, 422, 422, 422]
    for r in cases:
        assert set(r.json()) == {"code", "message", "details"}, r.text
    assert cases[-1].json()["details"]["field"] == "order_ids[1]"


def test_values_the_database_refuses_are_bad_input(api):
    """A NUL character is refused by PostgreSQL (kept by SQLite): a 4xx, never a 500."""
    h = login(api, "u-admin")
    for r in [
        api.get("/api/v1/orders", params={"status": "held\x00"}, headers=h),
        api.post("/api/v1/catalog/skus", headers=h, json={"sku": "NUL", "name": "a\x00b"}),
    ]:
        assert r.status_code < 500, r.text
        if r.status_code >= 400:
            assert r.json()["code"] == "invalid_input"
