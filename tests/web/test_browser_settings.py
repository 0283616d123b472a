"""The settings pages in a real browser: an administrator adds a user who then signs in, and
tests a shop's connection against a fake Taobao (support in ``tests/web/browser.py``)."""

from __future__ import annotations

from tests.web.browser import pytestmark, sign_in  # noqa: F401


def test_admin_adds_a_user_who_then_signs_in(page):
    sign_in(page, "admin")
    page.wait_for_url("**/orders")
    page.click("[data-nav=users]")
    page.wait_for_url("**/settings/users")
    form = page.locator("[data-testid=add-user]")
    form.locator("[name=username]").fill("lily")
    form.locator("[name=display_name]").fill("莉莉")
    form.locator("[name=password]").fill("lily's pass 2026")
    form.locator("[name=role]").select_option("customer_service")
    form.locator("[name=warehouses]").fill("HZ")
    page.click("[data-testid=add-user-submit]")
    page.locator("tr[data-user=lily]").wait_for()
    assert "已添加用户 lily" in page.locator("[data-testid=toasts]").inner_text()
    assert "客服" in page.locator("tr[data-user=lily]").inner_text()
    page.click("[data-testid=user-menu] summary")
    page.click("[data-testid=logout]")
    page.wait_for_url("**/login")
    sign_in(page, "lily", "lily's pass 2026")
    page.wait_for_url("**/orders")
    assert page.locator("[data-testid=role]").inner_text() == "客服"
    # Customer service has no settings: neither the entries nor the pages.
    assert page.locator("[data-nav=settings]").count() == 0
    response = page.goto(f"{page.base}/settings/users")
    assert response is not None and response.status == 403


def test_admin_tests_a_shops_connection(page, taobao):
    sign_in(page, "admin")
    page.wait_for_url("**/orders")
    page.click("[data-nav=settings]")
    page.wait_for_url("**/settings/shops")
    row = page.locator("tr[data-shop=TB1]")
    row.locator("[data-testid=test-connection]").click()
    ok = row.locator("[data-testid=connection-ok]")
    ok.wait_for()
    assert "正常" in ok.inner_text()
    assert "连接正常" in page.locator("[data-testid=toasts]").inner_text()
    assert len(taobao.calls) == 1
    # A wrong secret: the platform's refusal is shown, the secret is not.
    page.goto(f"{page.base}/settings/shops/TB1")
    page.fill("#f-app_secret", "not-the-secret-42")
    page.click("[data-testid=save-shop]")
    page.wait_for_url("**/settings/shops")
    page.locator("tr[data-shop=TB1] [data-testid=test-connection]").click()
    error = page.locator("tr[data-shop=TB1] [data-testid=connection-message]")
    error.wait_for()
    assert "Invalid signature" in error.inner_text()
    assert "not-the-secret-42" not in page.content()
