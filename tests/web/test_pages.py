"""The workbench pages over HTTP (no browser): sign-in and its cookie, CSRF on pages and on
the JSON API, languages, the order list's filters, keyset paging, bulk actions, exports,
and the detail page's masking and audited reveal."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from lvyue.accounts.models import AuditEntry
from lvyue.accounts.roles import PERMISSIONS
from lvyue.core.db import table_of
from lvyue.main import create_app
from lvyue.orders import queries
from lvyue.orders import service as orders
from lvyue.orders.schemas import OrderFilter
from lvyue.web.pages import NAV
from tests.factories import canonical, import_dicts
from tests.web.conftest import PASSWORD, login

AUDIT = table_of(AuditEntry)
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


def audit_rows(uow, action: str) -> list[Any]:
    with uow(readonly=True) as u:
        return list(u.conn.execute(sa.select(AUDIT).where(AUDIT.c.action == action)))


def ids_on(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-order="(\d+)"', html)]


# --------------------------------------------------------------------------- sign-in


def test_pages_need_a_session_and_say_where_to_sign_in(client):
    r = client.get("/orders?status=held")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/orders%3Fstatus%3Dheld"
    htmx = client.get("/orders", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login?next=")


def test_wrong_password_is_refused_counted_and_audited(client, world, uow):
    form = client.get("/login")
    guard = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    r = client.post(
        "/login", data={"username": "ops", "password": "wrong password", "csrf_token": guard}
    )
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text and "lvyue_session" not in r.headers.get("set-cookie", "")
    assert [row.target for row in audit_rows(uow, "login.failed")] == ["ops"]


def test_login_form_needs_its_own_csrf_token(client, world):
    client.get("/login")
    r = client.post("/login", data={"username": "ops", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403 and "登录页面已过期" in r.text


def test_session_cookie_flags_and_safe_redirects(world, db):
    with TestClient(create_app(db), base_url="https://testserver", follow_redirects=False) as c:
        guard = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post(
            "/login",
            data={
                "username": "ops",
                "password": PASSWORD,
                "csrf_token": guard,
                "next": "//evil.example/",
            },
        )
    assert r.headers["location"] == "/orders"  # no open redirect
    cookie = r.headers["set-cookie"].lower()
    assert "lvyue_session=lvt_" in cookie
    for flag in ("httponly", "samesite=lax", "secure", "path=/"):
        assert flag in cookie


def test_logout_ends_the_session(client, world, uow):
    csrf = login(client, "ops")
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/orders").status_code == 303
    assert [row.actor for row in audit_rows(uow, "logout")] == ["ops"]


def test_the_api_accepts_the_session_with_csrf_and_bearer_tokens_without(client, world):
    csrf = login(client, "ops")
    oid = world["W1"]
    assert client.get("/api/v1/orders").json()["total"] == len(world)
    refused = client.post(f"/api/v1/orders/{oid}/hold", json={"reason": "检查"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    ok = client.post(
        f"/api/v1/orders/{oid}/hold", json={"reason": "检查"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 200 and ok.json()["status"] == "held"
    # A bearer header wins over the cookie and needs no CSRF token.
    token = client.post(
        "/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}
    ).json()["access_token"]
    bearer = client.post(
        f"/api/v1/orders/{oid}/cancel",
        json={"reason": "测试"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bearer.status_code == 200 and bearer.json()["status"] == "cancelled"
    assert client.get("/api/v1/me").json()["username"] == "ops"


def test_the_event_stream_accepts_the_session(client, world):
    login(client, "wh")
    with client.stream("GET", "/api/v1/events") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")


# --------------------------------------------------------------------------- frame and language


def test_navigation_follows_permissions(client, world):
    wanted = [(p,) if isinstance(p, str) else p for p in (item.permission for item in NAV)]
    assert all(p in PERMISSIONS for ps in wanted for p in ps)
    login(client, "admin")
    page = client.get("/orders").text
    assert {"orders", "settings", "users"} <= set(re.findall(r'data-nav="(\w+)"', page))
    assert re.search(r'<a href="/orders" data-nav="orders"\s+class="active"', page)
    client.cookies.clear()
    login(client, "wh")
    nav = set(re.findall(r'data-nav="(\w+)"', client.get("/orders").text))
    assert "orders" in nav and not nav & {"settings", "users", "rules"}


def test_english_pages_have_no_chinese_left(client, db, uow):
    """Every visible string of the frame, the list (empty) and the error page is translated."""
    from lvyue.accounts import service as accounts

    with uow() as u:
        accounts.add_user(u, username="admin", password=PASSWORD, role="admin")
    login(client, "admin")
    r = client.get("/lang/en?next=/orders")
    assert r.status_code == 303 and r.headers["location"] == "/orders"
    for path in ("/orders", "/orders?status=held&sku=NONE", "/orders/999"):
        html = client.get(path).text
        text = re.sub(r"<[^>]+>", " ", html)
        # Left in Chinese on purpose: the logo, and Chinese offered by its own name.
        text = text.replace("履", "").replace("中文", "")
        assert not CJK.findall(text), (path, CJK.findall(text)[:20])
    assert "No orders here." in client.get("/orders").text
    client.get("/lang/zh-CN")
    assert "暂无订单" in client.get("/orders").text


def test_every_marked_string_has_a_chinese_translation():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "i18n.py"
    spec = importlib.util.spec_from_file_location("i18n_script", path)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    template = script.extract()
    from babel.messages.pofile import read_po

    with script.CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    assert len(template) > 150
    missing = [m.id for m in template if m.id and (m.id not in catalog or not catalog[m.id].string)]
    assert not missing


def test_errors_on_pages_are_pages_and_toasts(client, world):
    login(client, "wh")
    page = client.get("/orders/999999")
    assert page.status_code == 404 and 'data-testid="error"' in page.text
    assert "订单不存在" in page.text
    toast = client.get("/orders/999999", headers={"HX-Request": "true"})
    assert toast.status_code == 404
    event = json.loads(toast.headers["HX-Trigger"])["toast"]
    assert event["level"] == "error" and event["message"] == "订单不存在。"
    # The JSON API keeps its one error body.
    assert client.get("/api/v1/orders/999999").json()["code"] == "unknown_order"


# --------------------------------------------------------------------------- the list


def test_tabs_count_and_filter_by_status(client, world):
    login(client, "admin")
    html = client.get("/orders").text
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', html))
    assert counts["held"] == "2" and counts["cancelled"] == "1"
    assert counts["pending_payment"] == "1" and counts["allocated"] == "6"
    held = client.get("/orders?status=held").text
    assert sorted(ids_on(held)) == sorted([world["W2"], world["W3"]])
    assert "人工挂起" in held  # the hold reason, named


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("shop=TB1", ["T1", "T2", "T3"]),
        ("platform=taobao", ["T1", "T2", "T3"]),
        ("warehouse=GZ", ["T1", "T2", "T3"]),
        ("hold=operator_hold", ["W2", "W3"]),
        ("sku=B", ["T1", "T2", "T3"]),
        ("buyer=buyer-0", ["W2", "W4", "W6"]),
        ("amount_min=170&amount_max=240", ["W3", "W4"]),
        ("ordered_from=2026-11-13&ordered_to=2026-11-14", ["W3", "W4"]),
        ("phone=138-1234-0005", ["W5"]),
        ("carrier=NOPE", []),
        ("status=held&shop=S1", ["W2", "W3"]),
    ],
)
def test_filters(client, world, query, expected):
    login(client, "ops")
    html = client.get(f"/orders?{query}").text
    assert sorted(ids_on(html)) == sorted(world[e] for e in expected)
    if not expected:
        assert 'data-testid="empty"' in html


def test_phone_search_needs_pii_view(client, world):
    login(client, "fin")
    r = client.get("/orders?phone=13812340005")
    assert r.status_code == 403
    assert 'name="phone"' not in client.get("/orders").text


def test_bad_filters_are_named(client, world):
    login(client, "ops")
    for query, status in (
        ("amount_min=abc", 422),
        ("ordered_from=2026-11-15&ordered_to=2026-11-14", 422),
        ("status=x", 400),
        ("after=nonsense~x", 400),
    ):
        r = client.get(f"/orders?{query}", headers={"HX-Request": "true"})
        assert r.status_code == status, query
        assert json.loads(r.headers["HX-Trigger"])["toast"]["message"] == "请检查输入。"


def test_scoped_user_sees_only_their_warehouse(client, world):
    login(client, "wh")
    html = client.get("/orders").text
    shown = set(ids_on(html))
    assert not shown & {world["T1"], world["T2"], world["T3"]}  # in GZ
    assert {world["W1"], world["W7"]} <= shown  # HZ, and not yet allocated
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', html))
    assert counts["allocated"] == "3"  # W1, W4, W5 in HZ; T1-T3 are GZ's


@pytest.mark.parametrize(
    ("sort", "direction"),
    [("ordered_at", "desc"), ("ordered_at", "asc"), ("total_amount", "desc"), ("id", "asc")],
)
def test_keyset_pages_cover_the_set_once_in_order_both_ways(world, uow, sort, direction):
    import_dicts(
        uow,
        [
            canonical(f"X{n}", [("A", 1 + n % 4)], created_at="2026-11-20T10:00:00+08:00")
            for n in range(17)
        ],
    )
    scope = queries.Scope()
    with uow(readonly=True) as u:
        everything = queries.workbench_page(
            u, OrderFilter(sort=sort, direction=direction), scope=scope, zone="UTC", limit=1000
        )["items"]
        pages, f = [], OrderFilter(sort=sort, direction=direction)
        while True:
            page = queries.workbench_page(u, f, scope=scope, zone="UTC", limit=4)
            pages.append([o["id"] for o in page["items"]])
            if not page["next"]:
                break
            f = OrderFilter(sort=sort, direction=direction, after=page["next"])
        backwards, f = [], f
        while True:
            page = queries.workbench_page(u, f, scope=scope, zone="UTC", limit=4)
            backwards.insert(0, [o["id"] for o in page["items"]])
            if not page["prev"]:
                break
            f = OrderFilter(sort=sort, direction=direction, before=page["prev"])
    flat = [i for p in pages for i in p]
    assert flat == [o["id"] for o in everything]
    assert len(flat) == len(set(flat)) == len(world) + 17
    key = {"ordered_at": "ordered_at", "total_amount": "total_amount", "id": "id"}[sort]
    values = [(o[key], o["id"]) for o in everything]
    assert values == sorted(values, reverse=direction == "desc")
    assert [i for p in backwards for i in p] == flat


# --------------------------------------------------------------------------- bulk actions


def bulk(client: TestClient, csrf: str, action: str, ids: list[int], reason: str = "") -> Any:
    return client.post(
        f"/orders/bulk/{action}",
        data={"ids": [str(i) for i in ids], "reason": reason},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )


def status_of(uow, oid: int) -> str:
    with uow(readonly=True) as u:
        return str(queries.get_order(u, oid)["status"])


def test_bulk_approve_moves_held_orders_on_and_reports_the_rest(client, world, uow):
    csrf = login(client, "ops")
    r = bulk(client, csrf, "approve", [world["W2"], world["W3"], world["W7"]])
    assert r.status_code == 204
    events = json.loads(r.headers["HX-Trigger"])
    assert events["orders-reload"] and events["toast"]["message"] == "已审核 2 单（共 3 单）。"
    assert len(events["toast"]["detail"]) == 1 and f"#{world['W7']}" in events["toast"]["detail"][0]
    # Approved, then reviewed at once: stock reserved in HZ.
    assert status_of(uow, world["W2"]) == status_of(uow, world["W3"]) == "allocated"
    approvals = audit_rows(uow, "order.approve")
    assert sorted(int(a.target) for a in approvals) == sorted([world["W2"], world["W3"]])
    assert {a.actor for a in approvals} == {"ops"}


def test_bulk_hold_and_cancel_need_a_reason(client, world, uow):
    csrf = login(client, "ops")
    r = bulk(client, csrf, "hold", [world["W1"]])
    assert r.status_code == 400 and status_of(uow, world["W1"]) == "allocated"
    assert bulk(client, csrf, "hold", [world["W1"], world["W4"]], "缺货核实").status_code == 204
    assert status_of(uow, world["W1"]) == "held"
    assert bulk(client, csrf, "cancel", [world["W1"]], "买家要求").status_code == 204
    assert status_of(uow, world["W1"]) == "cancelled"
    assert [a.details["reason"] for a in audit_rows(uow, "order.cancel")] == ["买家要求"]


def test_bulk_needs_the_permission_the_csrf_token_and_scope(client, world, uow):
    csrf = login(client, "fin")
    assert bulk(client, csrf, "approve", [world["W2"]]).status_code == 403
    client.cookies.clear()
    csrf = login(client, "ops")
    assert bulk(client, "forged", "approve", [world["W2"]]).status_code == 403
    assert status_of(uow, world["W2"]) == "held"
    with uow() as u:
        from lvyue.accounts import service as accounts

        accounts.add_user(
            u, username="gz-ops", password=PASSWORD, role="operations", warehouse_codes=["GZ"]
        )
    client.cookies.clear()
    csrf = login(client, "gz-ops")
    r = bulk(client, csrf, "hold", [world["W1"]], "范围外")  # W1 ships from HZ
    assert r.status_code == 400 and status_of(uow, world["W1"]) == "allocated"


def test_review_again_runs_the_pipeline_on_that_order_only(client, world, uow):
    with uow() as u:
        orders.approve_order(u, world["W2"])  # back to pending_review, not reviewed yet
        orders.approve_order(u, world["W3"])
    csrf = login(client, "ops")
    r = bulk(client, csrf, "review", [world["W2"], world["W1"]])
    assert r.status_code == 204
    assert json.loads(r.headers["HX-Trigger"])["toast"]["message"] == "已重新审单 1 单（共 2 单）。"
    assert status_of(uow, world["W2"]) == "allocated"
    assert status_of(uow, world["W3"]) == "pending_review"  # not selected: untouched


# --------------------------------------------------------------------------- exports


def test_csv_export_is_the_filtered_set_masked_without_pii_view_and_audited(client, world, uow):
    with uow() as u:
        oid = world["W4"]
        u.conn.execute(
            sa.update(queries.ORDER)
            .where(queries.ORDER.c.id == oid)
            .values(buyer_message="=HYPERLINK(1)")
        )
    login(client, "fin")
    r = client.get("/orders/export.csv?shop=S1&status=allocated")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "订单ID" and "收件人" in header
    assert sorted(int(row[0]) for row in body) == sorted(world[k] for k in ("W1", "W4", "W5"))
    name, phone = header.index("收件人"), header.index("电话")
    assert all(row[name].endswith("*") and "****" in row[phone] for row in body)
    message = header.index("买家留言")
    assert "'=HYPERLINK(1)" in [row[message] for row in body]
    (entry,) = audit_rows(uow, "orders.export")
    assert entry.actor == "fin" and entry.details["pii"] is False
    assert entry.details["filters"] == {"shop": "S1", "status": "allocated"}


def test_excel_export_carries_plain_data_for_pii_view(client, world, uow):
    login(client, "ops")
    r = client.get("/orders/export.xlsx?hold=operator_hold")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert sorted(row[0] for row in body) == sorted([world["W2"], world["W3"]])
    assert {row[header.index("电话")] for row in body} == {"13812340002", "13812340003"}
    assert audit_rows(uow, "orders.export")[0].details["pii"] is True


def test_warehouse_cannot_export(client, world):
    login(client, "wh")
    assert client.get("/orders/export.csv").status_code == 403
    assert "export-csv" not in client.get("/orders").text


# --------------------------------------------------------------------------- detail


def test_detail_is_masked_and_the_reveal_is_audited(client, world, uow):
    login(client, "ops")
    oid = world["W2"]
    page = client.get(f"/orders/{oid}").text
    assert "张**" not in page and "张*" in page and "138****0002" in page
    assert "余杭塘路802号" not in page
    assert "人工挂起" in page and "等买家回复" in page  # the hold and its note
    assert 'data-testid="history"' in page and 'data-testid="reveal"' in page
    assert not audit_rows(uow, "pii.reveal")  # looking is not revealing
    csrf = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page).group(1)
    r = client.post(f"/orders/{oid}/reveal", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200
    assert "13812340002" in r.text and "余杭塘路802号" in r.text
    (entry,) = audit_rows(uow, "pii.reveal")
    assert (entry.actor, entry.target, entry.details) == ("ops", str(oid), {"via": "web"})


def test_warehouse_user_sees_masked_data_and_cannot_reveal(client, world, uow):
    csrf = login(client, "wh")
    oid = world["W1"]
    page = client.get(f"/orders/{oid}").text
    assert "138****0001" in page and 'data-testid="reveal"' not in page
    r = client.post(f"/orders/{oid}/reveal", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    assert client.get(f"/orders/{world['T1']}").status_code == 404  # another warehouse's
    assert not audit_rows(uow, "pii.reveal")


def test_tab_counts_stop_at_the_cap(world, uow):
    from lvyue.orders.web import _tab_counts

    with uow(readonly=True) as u:
        counts = queries.workbench_counts(u, ["allocated", "held"], scope=queries.Scope(), cap=2)
        scoped = queries.workbench_counts(
            u, ["allocated"], scope=queries.Scope(warehouses=("GZ",)), cap=100
        )
    assert counts == {"allocated": 3, "held": 2}  # 6 allocated: counted to cap + 1
    assert scoped == {"allocated": 3}
    shown = _tab_counts({"shipped": queries.COUNT_CAP + 1, "held": 7})
    assert shown == {"counts": {"shipped": "10,000+", "held": "7"}, "total": "10,000+"}
