"""The workbench in a real browser: login, the order list, bulk actions, languages, masking,
the order detail and export (support in ``tests/web/browser.py``)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from lvyue.accounts.models import AuditEntry
from lvyue.core.db import table_of
from lvyue.orders import queries
from tests.web.browser import CJK, pytestmark, sign_in  # noqa: F401


def rows(page) -> list[int]:
    return [
        int(i)
        for i in page.locator("tr[data-order]").evaluate_all(
            "rows => rows.map(r => r.dataset.order)"
        )
    ]


def test_login_with_a_wrong_password_then_the_right_one(page):
    sign_in(page, "ops", "not the password")
    alert = page.locator("[data-testid=login-error]")
    alert.wait_for()
    assert "用户名或密码错误" in alert.inner_text()
    sign_in(page, "ops")
    page.wait_for_url("**/orders")
    assert page.locator("[data-testid=role]").inner_text() == "运营"
    assert page.locator("h1").inner_text() == "订单"


def test_the_order_list_with_a_tab_and_a_filter(page, world):
    sign_in(page, "ops")
    page.wait_for_url("**/orders")
    assert len(rows(page)) == len(world)
    page.click("[data-tab=held]")
    page.wait_for_selector(".tab.active[data-tab=held]")
    assert sorted(rows(page)) == sorted([world["W2"], world["W3"]])
    assert "status=held" in page.url  # the URL keeps the tab (back button, sharing)
    page.click("[data-tab=all]")
    page.wait_for_selector(".tab.active[data-tab=all]")
    page.select_option("#f-shop", "TB1")
    page.click("[data-testid=apply-filters]")
    page.wait_for_url(re.compile(r"shop=TB1"))
    page.wait_for_function("document.querySelectorAll('tr[data-order]').length === 3")
    assert sorted(rows(page)) == sorted(world[k] for k in ("T1", "T2", "T3"))
    page.fill("#f-sku", "NOTHING")
    page.click("[data-testid=apply-filters]")
    page.locator("[data-testid=empty]").wait_for()


def test_bulk_approve(page, world, uow):
    sign_in(page, "ops")
    page.wait_for_url("**/orders")
    page.click("[data-tab=held]")
    page.wait_for_selector(".tab.active[data-tab=held]")
    assert page.locator("[data-count=held]").inner_text() == "2"
    page.check("input[data-select-all]")
    assert page.locator("[data-selected-count]").inner_text() == "2"
    page.click("[data-testid=bulk-approve]")
    toast = page.locator(".toast-success")
    toast.wait_for()
    assert "已审核 2 单" in toast.inner_text()
    # The list reloads: the held tab is empty and its count follows.
    page.locator("[data-testid=empty]").wait_for()
    page.wait_for_function("document.querySelector('[data-count=held]').textContent === '0'")
    with uow(readonly=True) as u:
        assert {queries.get_order(u, world[k])["status"] for k in ("W2", "W3")} == {"allocated"}


def test_language_switch(page):
    sign_in(page, "admin")
    page.wait_for_url("**/orders")
    page.click("[data-lang=en]")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("h1").inner_text() == "Orders"
    assert page.locator("[data-nav=orders]").inner_text() == "Orders"
    chrome = page.locator("header.topbar").inner_text() + page.locator("#sidenav").inner_text()
    chrome += page.locator("[data-testid=tabs]").inner_text()
    # Labels and buttons of the filters; the options are data (shop and warehouse names).
    chrome += " ".join(page.locator("[data-testid=filters] label").all_inner_texts())
    chrome += page.locator("[data-testid=bulkbar]").inner_text()
    assert not CJK.findall(chrome.replace("中文", "").replace("履", "")), chrome
    page.click("[data-lang=zh-CN]")
    page.wait_for_selector("html[lang=zh-CN]")
    assert page.locator("h1").inner_text() == "订单"


def test_warehouse_user_sees_masked_data_and_no_settings(page, world):
    sign_in(page, "wh")
    page.wait_for_url("**/orders")
    nav = page.locator("[data-testid=nav]")
    assert nav.locator("[data-nav=orders]").count() == 1
    assert nav.locator("[data-nav=settings], [data-nav=users]").count() == 0
    receivers = page.locator("[data-testid=receiver]").all_inner_texts()
    assert receivers and all(re.search(r"张\*.*138\*\*\*\*\d{4}", r) for r in receivers)
    page.goto(f"{page.base}/orders/{world['W1']}")
    assert page.locator("[data-testid=receiver-phone]").inner_text() == "138****0001"
    assert page.locator("[data-testid=reveal]").count() == 0


def test_admin_sees_settings_in_the_navigation(page):
    sign_in(page, "admin")
    page.wait_for_url("**/orders")
    assert page.locator("[data-nav=settings]").count() == 1
    assert page.locator("[data-nav=users]").count() == 1


def test_order_detail_with_an_audited_reveal(page, world, uow):
    oid = world["W2"]
    sign_in(page, "ops")
    page.wait_for_url("**/orders")
    page.click(f"tr[data-order='{oid}'] [data-testid=order-link]")
    page.wait_for_url(f"**/orders/{oid}")
    assert page.locator("[data-testid=receiver-name]").inner_text() == "张*"
    assert "等买家回复" in page.locator("[data-testid=holds]").inner_text()
    assert page.locator("[data-testid=history] li").count() >= 3
    assert "A" in page.locator("[data-testid=lines]").inner_text()
    page.click("[data-testid=reveal]")
    page.wait_for_selector("#receiver.revealed")
    assert page.locator("[data-testid=receiver-phone]").inner_text() == "13812340002"
    assert page.locator("[data-testid=receiver-address]").inner_text() == "余杭塘路802号"
    page.locator(".toast").wait_for()
    audit = table_of(AuditEntry)
    with uow(readonly=True) as u:
        row = u.conn.execute(sa.select(audit).where(audit.c.action == "pii.reveal")).one()
    assert (row.actor, row.target, row.ip) == ("ops", str(oid), "127.0.0.1")


def test_export_follows_the_filters(page, world):
    sign_in(page, "ops")
    page.wait_for_url("**/orders")
    page.click("[data-tab=held]")
    page.wait_for_selector(".tab.active[data-tab=held]")
    with page.expect_download() as download:
        page.click("[data-testid=export-csv]")
    text = download.value.path().read_text(encoding="utf-8-sig")
    ids = sorted(int(line.split(",")[0]) for line in text.splitlines()[1:])
    assert ids == sorted([world["W2"], world["W3"]])
