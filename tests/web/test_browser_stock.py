"""The stock pages in a real browser: adjust stock with a reason and see the new level and the
ledger row without a reload; low-stock rows are highlighted (support in tests/web/browser.py)."""

from __future__ import annotations

import re

from lvyue.inventory import queries
from lvyue.inventory import service as inventory
from tests.web.browser import pytestmark, sign_in  # noqa: F401


def on_hand(uow, sku: str, wh: str) -> int:
    with uow(readonly=True) as u:
        return {r["warehouse"]: r for r in queries.stock_levels(u, sku)}[wh]["on_hand"]


def test_adjust_stock_with_a_reason(page, uow):
    sign_in(page, "wh")
    page.wait_for_url("**/orders")
    page.click("[data-nav=stock]")
    page.wait_for_url("**/stock")
    assert page.locator("tr[data-level]").count() == 1  # HZ only for the warehouse user
    page.click("tr[data-level='A@HZ'] [data-testid=sku-link]")
    page.wait_for_url("**/stock/A")
    before = on_hand(uow, "A", "HZ")
    page.evaluate("window.__noReload = true")
    # Without a reason the form says which field is missing.
    page.fill("#a-quantity", "-2")
    page.click("[data-testid=adjust-submit]")
    page.locator("[data-error=reason]").wait_for()
    assert "原因" in page.locator("[data-error=reason]").inner_text()
    assert page.locator(".toast-error").first.is_visible()
    assert page.input_value("#a-quantity") == "-2"  # kept as typed
    page.fill("#a-reason", "货架破损")
    page.click("[data-testid=adjust-submit]")
    page.locator(".toast-success").wait_for()
    assert f"在库 {before - 2}" in page.locator(".toast-success").inner_text()
    level = page.locator("[data-testid=sku-levels] tr[data-level=HZ] [data-col=on_hand]")
    assert level.inner_text() == str(before - 2)
    newest = page.locator("[data-testid=ledger] tbody tr").first
    assert newest.locator("[data-col=reason]").inner_text() == "货架破损"
    assert newest.locator("[data-col=on_hand_delta]").inner_text() == "-2"
    assert "wh" in newest.inner_text() and "调整" in newest.inner_text()
    assert on_hand(uow, "A", "HZ") == before - 2
    # Count to a value.
    page.check("[data-testid=mode-count]")
    page.fill("#a-quantity", "80")
    page.fill("#a-reason", "盘点")
    page.click("[data-testid=adjust-submit]")
    page.wait_for_function(
        "document.querySelector('tr[data-level=HZ] [data-col=on_hand]').textContent === '80'"
    )
    assert page.evaluate("window.__noReload") is True
    assert on_hand(uow, "A", "HZ") == 80


def test_low_stock_is_highlighted_and_filtered(page, uow):
    with uow() as u:
        inventory.set_low_stock_threshold(u, sku_code="B", warehouse_code="GZ", threshold=1000)
    sign_in(page, "admin")
    page.wait_for_url("**/orders")
    page.goto(f"{page.base}/stock")
    low = page.locator("tr[data-level='B@GZ']")
    assert "low-stock" in low.get_attribute("class")
    colour = low.evaluate("el => getComputedStyle(el).backgroundColor")
    normal = page.locator("tr[data-level='A@HZ']").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert colour != normal
    assert low.locator(".low-chip").inner_text() == "低库存"
    page.check("#s-low")
    page.click("[data-testid=stock-apply]")
    page.wait_for_url(re.compile(r"low=1"))
    page.wait_for_function("document.querySelectorAll('tr[data-level]').length === 1")
    assert page.locator("tr[data-level]").get_attribute("data-level") == "B@GZ"
    # The threshold is set inline on the SKU's page: A becomes low in HZ.
    page.goto(f"{page.base}/stock/A")
    form = page.locator("tr[data-level=HZ] [data-testid=threshold-form]")
    form.locator("input[name=threshold]").fill("100000")
    form.locator("button").click()
    page.locator("tr[data-level=HZ].low-stock").wait_for()
    assert "已保存" in page.locator(".toast-success").inner_text()
