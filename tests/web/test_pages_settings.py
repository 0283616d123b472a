"""The settings pages over HTTP (no browser): who sees which section, each section's list and
changes, validation naming the field, audit rows like the API's, secrets shown once and
never again, and "test connection" against a fake Taobao."""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from lvyue.accounts import queries as accounts_queries
from lvyue.accounts import service as accounts
from lvyue.accounts.models import AuditEntry
from lvyue.channels import service as channels
from lvyue.core.db import table_of
from lvyue.inventory import queries as stock_queries
from lvyue.logistics import queries as logistics_queries
from lvyue.logistics import service as logistics
from lvyue.main import create_app
from lvyue.web.settings import SETTINGS_SECTIONS
from lvyue.webhooks import queries as webhook_queries
from tests.web.conftest import PASSWORD, login

AUDIT = table_of(AuditEntry)
HTMX = {"HX-Request": "true", "HX-Target": "settings-section"}


def post(client: TestClient, path: str, csrf: str, data: Any = None) -> Any:
    return client.post(path, data=data or {}, headers={**HTMX, "X-CSRF-Token": csrf})


def toast_of(response: Any) -> dict[str, Any]:
    return json.loads(response.headers["HX-Trigger"])["toast"]


def audit_rows(uow, action: str) -> list[Any]:
    with uow(readonly=True) as u:
        return list(u.conn.execute(sa.select(AUDIT).where(AUDIT.c.action == action)))


# --------------------------------------------------------------------------- who sees what


def test_settings_index_goes_to_the_first_section_and_the_nav_links_it(client, world):
    login(client, "admin")
    r = client.get("/settings")
    assert r.status_code == 303 and r.headers["location"] == "/settings/shops"
    page = client.get("/settings/shops")
    assert page.status_code == 200
    nav = re.findall(r'data-section="([a-z-]+)"', page.text)
    assert nav == [s.key for s in SETTINGS_SECTIONS]
    assert 'href="/settings" data-nav="settings"' in page.text  # a link now, not "soon"
    assert 'href="/settings/users" data-nav="users"' in page.text
    users = client.get("/settings/users").text  # one main entry is active: the closest
    assert re.findall(r'data-nav="(\w+)"\s+class="active"', users) == ["users"]


def test_the_warehouse_user_gets_403_on_settings(client, world):
    login(client, "wh")
    assert client.get("/settings").status_code == 403
    assert client.get("/settings/users").status_code == 403
    assert client.get("/settings/shops").status_code == 403
    page = client.get("/settings/warehouses")  # their own section (warehouses.write)
    assert page.status_code == 200
    assert re.findall(r'data-section="([a-z-]+)"', page.text) == ["warehouses"]
    # Limited to HZ: sees it, not GZ, and cannot add one.
    assert 'data-warehouse="HZ"' in page.text and 'data-warehouse="GZ"' not in page.text
    assert 'data-testid="add-warehouse"' not in page.text
    assert client.get("/settings/warehouses/GZ").status_code == 404


def test_operations_without_users_admin_gets_403_on_users_and_keys(client, world):
    csrf = login(client, "ops")
    assert client.get("/settings/users").status_code == 403
    assert client.get("/settings/api-keys").status_code == 403
    refused = post(
        client,
        "/settings/users",
        csrf,
        {"username": "sneaky", "password": "long enough 1", "role": "admin"},
    )
    assert refused.status_code == 403
    with client.app.state.engine.connect() as c:  # type: ignore[attr-defined]
        assert c.execute(sa.text("select 1 from accounts_user where username='sneaky'")).all() == []
    # Shops and carriers are operations' work (shops.write, logistics.write).
    page = client.get("/settings/shops")
    assert page.status_code == 200
    assert re.findall(r'data-section="([a-z-]+)"', page.text) == ["shops", "carriers"]
    # ... so the main navigation offers Settings, which opens on their first section.
    assert 'href="/settings" data-nav="settings"' in page.text
    r = client.get("/settings")
    assert r.status_code == 303 and r.headers["location"] == "/settings/shops"


def test_changes_need_the_csrf_token(client, world):
    login(client, "admin")
    r = client.post(
        "/settings/warehouses",
        data={"code": "SH", "name": "上海仓", "province": "上海市", "city": "上海市"},
        headers=HTMX,
    )
    assert r.status_code == 403
    with client.app.state.engine.connect() as c:  # type: ignore[attr-defined]
        assert c.execute(sa.text("select count(*) from inventory_warehouse")).scalar() == 2


# --------------------------------------------------------------------------- shops


def test_shops_list_add_and_edit_with_write_only_credentials(client, world, uow):
    csrf = login(client, "admin")
    page = client.get("/settings/shops")
    assert 'data-shop="S1"' in page.text and 'data-shop="TB1"' in page.text
    r = post(
        client,
        "/settings/shops",
        csrf,
        {
            "code": "JD1",
            "platform": "jd",
            "name": "京东旗舰店",
            "order_type": "online",
            "base_url": "https://api.jd.example/routerjson",
            "app_key": "jd-key",
            "app_secret": "jd-secret-value",
            "token": "jd-token-value",
        },
    )
    assert r.status_code == 200, r.text
    assert toast_of(r)["level"] == "success"
    assert 'data-shop="JD1"' in r.text and "<html" not in r.text  # the section alone
    assert "jd-secret-value" not in r.text and "jd-token-value" not in r.text
    (row,) = audit_rows(uow, "shop.create")
    assert row.actor == "admin" and row.target == "JD1"
    assert row.details["secrets"] == ["app_key", "app_secret", "token"]
    assert "jd-secret-value" not in json.dumps(row.details)

    edit = client.get("/settings/shops/JD1")
    assert edit.status_code == 200
    assert 'data-testid="set-app_secret"' in edit.text and 'data-testid="set-token"' in edit.text
    assert "jd-secret-value" not in edit.text and "jd-token-value" not in edit.text
    saved = post(
        client,
        "/settings/shops/JD1",
        csrf,
        {
            "name": "京东店",
            "order_type": "online",
            "base_url": "https://api.jd.example/routerjson",
            "active": "on",
            "app_secret": "",  # kept
            "token": "new-token-value",
            "clear": "app_key",
        },
    )
    assert saved.status_code == 204, saved.text
    assert json.loads(saved.headers["HX-Location"])["path"] == "/settings/shops"
    with uow(readonly=True) as u:
        access = channels.shop_access(u, "JD1")
    assert access.credentials.app_secret == "jd-secret-value"
    assert access.credentials.token == "new-token-value" and access.credentials.app_key is None
    (update,) = audit_rows(uow, "shop.update")
    assert update.details["name"] == "京东店"
    assert update.details["secrets_set"] == ["token"]
    assert update.details["secrets_cleared"] == ["app_key"]
    assert "new-token-value" not in json.dumps(update.details)


def test_shop_validation_names_the_field_and_keeps_the_input(client, world, uow):
    csrf = login(client, "admin")
    r = post(
        client,
        "/settings/shops",
        csrf,
        {"code": "X1", "platform": "taobao", "name": "店", "base_url": "not a url"},
    )
    assert r.status_code == 200
    assert toast_of(r)["level"] == "error"
    assert toast_of(r)["detail"][0].startswith("接口地址")  # "API endpoint" in zh-CN
    assert 'data-testid="error-base_url"' in r.text and 'value="X1"' in r.text
    duplicate = post(
        client, "/settings/shops", csrf, {"code": "S1", "platform": "manual", "name": "x"}
    )
    assert 'data-testid="error-code"' in duplicate.text and "already exists" in duplicate.text
    assert audit_rows(uow, "shop.create") == []


def test_connection_ok_against_a_fake_taobao(client, taobao, uow):
    csrf = login(client, "admin")
    page = client.get("/settings/shops")
    assert 'hx-post="/settings/shops/TB1/test"' in page.text
    r = client.post(
        "/settings/shops/TB1/test",
        headers={"HX-Request": "true", "HX-Target": "test-TB1", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 200
    assert 'data-testid="connection-ok"' in r.text and "<html" not in r.text
    assert toast_of(r)["level"] == "success"
    assert len(taobao.calls) == 1 and taobao.calls[0]["sign"]
    (row,) = audit_rows(uow, "shop.test_connection")
    assert row.target == "TB1" and row.details["ok"] is True


def test_connection_errors_are_clear_and_redacted(client, taobao, uow):
    csrf = login(client, "admin")
    headers = {"HX-Request": "true", "HX-Target": "test-TB1", "X-CSRF-Token": csrf}
    with uow() as u:
        channels.update_shop(u, "TB1", secrets={"app_secret": "wrong-secret-xyz"})
    wrong = client.post("/settings/shops/TB1/test", headers=headers)
    assert 'data-testid="connection-error"' in wrong.text
    assert "Invalid signature" in wrong.text
    assert "wrong-secret-xyz" not in wrong.text and taobao.session not in wrong.text
    assert toast_of(wrong)["level"] == "error"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with uow() as u:
        channels.update_shop(u, "TB1", base_url=f"http://127.0.0.1:{port}")
    down = client.post("/settings/shops/TB1/test", headers=headers)
    assert "network error" in down.text and "wrong-secret-xyz" not in down.text
    rows = audit_rows(uow, "shop.test_connection")
    assert [r.details["ok"] for r in rows] == [False, False]


# --------------------------------------------------------------------------- warehouses


def test_warehouses_list_add_edit_and_audit(client, world, uow):
    csrf = login(client, "admin")
    page = client.get("/settings/warehouses")
    assert 'data-warehouse="HZ"' in page.text and 'data-warehouse="GZ"' in page.text
    r = post(
        client,
        "/settings/warehouses",
        csrf,
        {
            "code": "SH",
            "name": "上海仓",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "address": "张江路1号",
            "priority": "5",
        },
    )
    assert r.status_code == 200 and toast_of(r)["level"] == "success"
    assert 'data-warehouse="SH"' in r.text
    (row,) = audit_rows(uow, "warehouse.create")
    assert row.target == "SH" and row.details["priority"] == 5
    bad = post(
        client,
        "/settings/warehouses",
        csrf,
        {
            "code": "BJ",
            "name": "北京仓",
            "province": "北京市",
            "city": "北京市",
            "priority": "soon",
        },
    )
    assert 'data-testid="error-priority"' in bad.text and toast_of(bad)["level"] == "error"
    saved = post(
        client,
        "/settings/warehouses/SH",
        csrf,
        {
            "name": "上海一仓",
            "province": "上海市",
            "city": "上海市",
            "district": "",
            "address": "张江路1号",
            "priority": "7",
        },
    )
    assert saved.status_code == 204
    with uow(readonly=True) as u:
        sh = next(w for w in stock_queries.list_warehouses(u) if w["code"] == "SH")
    assert sh["name"] == "上海一仓" and sh["priority"] == 7 and sh["district"] is None
    assert sh["active"] is False  # the box was not ticked
    (update,) = audit_rows(uow, "warehouse.update")
    assert update.details == {
        "name": "上海一仓",
        "district": None,
        "priority": 7,
        "active": False,
        "via": "web",
    }


# --------------------------------------------------------------------------- carriers and rates

RATES = (
    "service,origin_province,dest_province,first_weight_g,first_price,additional_unit_g,"
    "additional_price\n"
    "SF-STD,*,浙江,1000,12.00,1000,2.00\n"
    "SF-STD,*,火星,1000,12.00,1000,2.00\n"
    "SF-STD,浙江,上海,1000,10.00,500,1.50\n"
    "NOPE,*,浙江,1000,12.00,1000,2.00\n"
)


def test_carriers_add_with_a_service_and_add_another_service(client, world, uow):
    csrf = login(client, "admin")
    empty = client.get("/settings/carriers")
    assert 'data-testid="empty"' in empty.text
    r = post(
        client,
        "/settings/carriers",
        csrf,
        {
            "code": "sf",
            "name": "顺丰速运",
            "service_code": "SF-STD",
            "service_name": "顺丰标快",
            "service_handles": "fragile",
            "service_max_weight_kg": "50",
        },
    )
    assert r.status_code == 200 and toast_of(r)["level"] == "success"
    assert 'data-carrier="SF"' in r.text and 'data-service="SF-STD"' in r.text
    (row,) = audit_rows(uow, "carrier.create")
    assert row.target == "SF" and row.details["services"][0]["code"] == "SF-STD"
    more = post(
        client,
        "/settings/carriers/SF/services",
        csrf,
        {
            "code": "SF-COLD",
            "name": "顺丰冷运",
            "handles": ["fresh", "frozen"],
            "cold": "on",
            "excluded_provinces": "西藏，新疆",
        },
    )
    assert 'data-service="SF-COLD"' in more.text
    with uow(readonly=True) as u:
        (sf,) = logistics_queries.list_carriers(u)
    cold = next(s for s in sf["services"] if s["code"] == "SF-COLD")
    assert cold["is_cold_chain"] and cold["excluded_provinces"] == [
        "西藏自治区",
        "新疆维吾尔自治区",
    ]
    assert len(audit_rows(uow, "carrier.service_add")) == 1
    bad_service = post(
        client,
        "/settings/carriers",
        csrf,
        {"code": "ZTO", "name": "中通", "service_code": "bad code!", "service_name": "x"},
    )
    assert 'data-testid="error-service_code"' in bad_service.text
    assert toast_of(bad_service)["detail"][0].startswith("服务编码")
    bad = post(
        client,
        "/settings/carriers/SF/services",
        csrf,
        {"code": "SF-X", "name": "x", "max_weight_kg": "heavy"},
    )
    assert toast_of(bad)["level"] == "error" and "heavy" not in toast_of(bad)["message"]
    assert 'data-testid="error-max_weight_kg"' in bad.text


def test_rates_import_keeps_good_rows_and_lists_bad_ones(client, world, uow):
    csrf = login(client, "admin")
    with uow() as u:
        logistics.add_carrier(
            u, code="SF", name="顺丰", services=[logistics.ServiceSpec("SF-STD", "顺丰标快")]
        )
    r = post(
        client,
        "/settings/carriers/rates/import",
        csrf,
        {"csv": "\ufeff" + RATES, "filename": "sf.csv"},
    )
    assert r.status_code == 200
    assert toast_of(r)["level"] == "info"
    rejected = re.search(r'data-testid="rejected-rows".*?</table>', r.text, re.S)
    assert rejected
    assert "dest_province" in rejected.group(0) and "火星" in rejected.group(0)
    assert "unknown service NOPE" in rejected.group(0)
    with uow(readonly=True) as u:
        table = logistics_queries.rate_table(u, "SF")
    assert [(t["origin_province"], t["dest_province"]) for t in table] == [
        ("*", "浙江省"),
        ("浙江省", "上海市"),
    ]
    (row,) = audit_rows(uow, "rates.import")
    assert row.target == "sf.csv"
    assert (row.details["imported"], row.details["rejected"]) == (2, 2)
    view = client.get("/settings/carriers/SF/rates")
    assert view.status_code == 200 and "浙江省" in view.text and "¥12.00" in view.text
    assert client.get("/settings/carriers/NOPE/rates").status_code == 404
    no_header = post(client, "/settings/carriers/rates/import", csrf, {"csv": "a,b\n1,2\n"})
    assert 'data-testid="error-csv"' in no_header.text and "missing column" in no_header.text


# --------------------------------------------------------------------------- users and roles


def test_users_list_add_and_the_new_user_signs_in(client, world, uow, db):
    csrf = login(client, "admin")
    page = client.get("/settings/users")
    for name in ("admin", "ops", "fin", "wh"):
        assert f'data-user="{name}"' in page.text
    assert 'data-role="warehouse"' in page.text and "查看订单" in page.text
    r = post(
        client,
        "/settings/users",
        csrf,
        {
            "username": "Lily",
            "display_name": "莉莉",
            "password": "new user pass 1",
            "role": "customer_service",
            "warehouses": "HZ",
            "shops": "S1, TB1",
        },
    )
    assert r.status_code == 200 and toast_of(r)["level"] == "success"
    assert 'data-user="lily"' in r.text and "new user pass 1" not in r.text
    (row,) = [r for r in audit_rows(uow, "user.created") if r.target == "lily"]
    assert row.actor == "admin"
    assert row.details == {"role": "customer_service", "warehouses": ["HZ"], "shops": ["S1", "TB1"]}
    assert row.ip  # from where
    with TestClient(create_app(db), follow_redirects=False) as other:
        login(other, "lily", "new user pass 1")
    weak = post(
        client, "/settings/users", csrf, {"username": "bob", "password": "short", "role": "viewer"}
    )
    assert 'data-testid="error-password"' in weak.text and 'value="bob"' in weak.text
    assert "short" not in weak.text.split('data-testid="add-user"')[1].split("</form>")[0]


def test_roles_table_reads_english_in_english(client, world):
    login(client, "admin")
    client.get("/lang/en")
    page = client.get("/settings/users")
    assert "see orders" in page.text and "查看订单" not in page.text


def test_user_edit_disable_unlock_and_reset(client, world, uow):
    csrf = login(client, "admin")
    page = client.get("/settings/users/ops")
    assert page.status_code == 200 and 'data-testid="user-edit"' in page.text
    saved = post(
        client,
        "/settings/users/ops",
        csrf,
        {"display_name": "运营小王", "role": "viewer", "warehouses": "GZ", "shops": ""},
    )
    assert saved.status_code == 204
    with uow(readonly=True) as u:
        ops = accounts_queries.get_user(u, "ops")
    assert (ops["role"], ops["warehouse_codes"], ops["display_name"]) == (
        "viewer",
        ["GZ"],
        "运营小王",
    )
    disabled = post(client, "/settings/users/ops/disable", csrf)
    assert (
        toast_of(disabled)["level"] == "success" and "Disabled" in disabled.text
    ) or "停用" in disabled.text
    with uow() as u:
        result = accounts.log_in(u, username="ops", password=PASSWORD)
    assert result.error is not None and result.error.code == "account_disabled"
    post(client, "/settings/users/ops/enable", csrf)
    with uow() as u:  # lock the account: five wrong passwords
        for _ in range(5):
            accounts.log_in(u, username="fin", password="wrong wrong")
    locked = client.get("/settings/users/fin")
    assert 'data-testid="unlock"' in locked.text
    post(client, "/settings/users/fin/unlock", csrf)
    reset = post(client, "/settings/users/fin/password", csrf, {"new_password": "brand new pass 2"})
    assert toast_of(reset)["level"] == "success"
    with uow() as u:
        assert accounts.log_in(u, username="fin", password="brand new pass 2").ok
    actions = {r.action for r in audit_rows(uow, "user.updated")}
    assert actions == {"user.updated"}
    assert len(audit_rows(uow, "user.updated")) == 3  # role/scope, disable, enable
    assert len(audit_rows(uow, "user.unlocked")) == 1
    assert len(audit_rows(uow, "password.reset")) == 1
    weak = post(client, "/settings/users/fin/password", csrf, {"new_password": "fin"})
    assert 'data-testid="error-new_password"' in weak.text


def test_an_admin_cannot_disable_or_demote_themselves(client, world, uow):
    csrf = login(client, "admin")
    r = post(client, "/settings/users/admin/disable", csrf)
    assert toast_of(r)["level"] == "error"
    demote = post(client, "/settings/users/admin", csrf, {"role": "viewer"})
    assert 'data-testid="error-role"' in demote.text
    with uow(readonly=True) as u:
        me = accounts_queries.get_user(u, "admin")
    assert me["active"] and me["role"] == "admin"


# --------------------------------------------------------------------------- API keys


def test_api_key_secret_is_shown_once(client, world, uow):
    csrf = login(client, "admin")
    empty = client.get("/settings/api-keys")
    assert 'data-testid="empty"' in empty.text
    r = post(
        client,
        "/settings/api-keys",
        csrf,
        {"name": "ERP", "role": "operations", "shops": "S1", "rate_limit_per_minute": "120"},
    )
    assert r.status_code == 200 and toast_of(r)["level"] == "success"
    secret = re.search(r'data-testid="secret">([^<]+)<', r.text)
    assert secret
    with uow(readonly=True) as u:
        (key,) = accounts_queries.list_api_keys(u)
    assert key["app_key"] in r.text and key["last_used_at"] is None
    again = client.get("/settings/api-keys")
    assert key["app_key"] in again.text and secret.group(1) not in again.text
    assert 'data-testid="new-secret"' not in again.text
    (row,) = audit_rows(uow, "apikey.created")
    assert row.actor == "admin" and secret.group(1) not in json.dumps(row.details)
    revoked = post(client, f"/settings/api-keys/{key['app_key']}/revoke", csrf)
    assert toast_of(revoked)["level"] == "success" and 'data-testid="revoke"' not in revoked.text
    assert len(audit_rows(uow, "apikey.revoked")) == 1
    admin_key = post(client, "/settings/api-keys", csrf, {"name": "Root", "role": "admin"})
    assert 'data-testid="form-error"' in admin_key.text


# --------------------------------------------------------------------------- webhooks


def test_webhooks_add_shows_the_secret_once_disable_and_deliveries(client, world, uow):
    csrf = login(client, "admin")
    assert 'data-testid="empty"' in client.get("/settings/webhooks").text
    missing = post(client, "/settings/webhooks", csrf, {"url": "https://example.com/h"})
    assert 'data-testid="error-events"' in missing.text
    r = post(
        client,
        "/settings/webhooks",
        csrf,
        {"url": "https://example.com/h?token=abc", "events": ["order.shipped", "stock.low"]},
    )
    assert toast_of(r)["level"] == "success"
    secret = re.search(r'data-testid="secret">([^<]+)<', r.text)
    assert secret
    with uow(readonly=True) as u:
        (sub,) = webhook_queries.list_subscriptions(u)
    assert sub["events"] == ["order.shipped", "stock.low"]
    again = client.get("/settings/webhooks")
    assert secret.group(1) not in again.text and f'data-webhook="{sub["id"]}"' in again.text
    (row,) = audit_rows(uow, "webhook.add")
    assert row.details["url"] == "https://example.com/h"  # no query (a token)
    log = client.get(f"/settings/webhooks/{sub['id']}")
    assert log.status_code == 200 and 'data-testid="empty"' in log.text
    off = post(client, f"/settings/webhooks/{sub['id']}/disable", csrf)
    assert toast_of(off)["level"] == "success" and 'data-testid="disable-webhook"' not in off.text
    assert len(audit_rows(uow, "webhook.disable")) == 1
    assert client.get("/settings/webhooks/999").status_code == 404


def test_operations_cannot_reach_webhooks(client, world):
    login(client, "ops")
    assert client.get("/settings/webhooks").status_code == 403
