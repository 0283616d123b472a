"""The rules editor in a real browser: an operator writes "orders over ¥500 go to a person"
with the form, is told which value is wrong, runs the dry run and sees the affected order
(masked), saves, and finds the rule in the list in plain words. Also the workbench's bulk
"assign warehouse"."""

from __future__ import annotations

import pytest

from lvyue.inventory import service as inventory
from lvyue.orders import queries
from tests.factories import canonical, import_dicts, process_all
from tests.web.browser import pytestmark, sign_in  # noqa: F401
from tests.web.conftest import receiver


@pytest.fixture
def big(uow, world) -> int:
    """W8: ten units of A, ¥585, allocated in HZ: the one order over ¥500."""
    import_dicts(uow, [canonical("W8", [("A", 10)], receiver=receiver(8))])
    process_all(uow)
    with uow(readonly=True) as u:
        return next(o["id"] for o in queries.list_orders(u) if o["external_id"] == "W8")


def test_create_a_rule_with_the_form_dry_run_and_save(big, page, uow):
    sign_in(page, "ops")
    page.wait_for_url("**/orders")
    page.click("[data-nav=rules]")
    page.wait_for_url("**/rules")
    page.locator("[data-testid=empty]").wait_for()
    page.click("[data-testid=new-rule]")
    page.wait_for_url("**/rules/new")
    page.fill("#rule-name", "五百元以上人工复核")
    page.fill("#rule-priority", "20")
    row = page.locator("[data-row=cond-0]")
    row.locator("select[data-testid=cond-fact]").select_option("total_amount")
    row.locator("select[data-testid=cond-op]").select_option("gt")
    row.locator("input[data-testid=cond-value]").fill("五百")
    action = page.locator("[data-row=act-0]")
    action.locator("select[data-testid=act-action]").select_option("manual_review")
    action.locator("input[data-testid=act-reason]").fill("订单金额超过500元")
    page.click("[data-testid=rule-save]")
    error = page.locator("[data-error-for=cond-0-value]")
    error.wait_for()
    assert "请输入数字" in error.inner_text()
    assert page.locator("[data-row=cond-0] input[data-testid=cond-value]").input_value() == "五百"
    assert page.locator(".toast-error").first.is_visible()
    # The value fixed, the dry run first: the one order over ¥500, masked.
    page.locator("[data-row=cond-0] input[data-testid=cond-value]").fill("500")
    page.click("[data-testid=rule-dry-run]")
    result = page.locator("[data-testid=dry-run-table]")
    result.wait_for()
    ids = result.locator("tr[data-order]").evaluate_all("rs => rs.map(r => r.dataset.order)")
    assert ids == [str(big)]
    text = result.inner_text()
    assert "五百元以上人工复核" in text and "人工复核" in text
    assert "138****0008" in text and "13812340008" not in text
    assert "1 单" in page.locator("[data-testid=dry-run-result]").inner_text()
    # Saved: back on the list, the rule in words, a toast with the new book version.
    page.click("[data-testid=rule-save]")
    page.locator("[data-testid=rules-table]").wait_for()
    page.wait_for_url("**/rules")
    words = page.locator("tr[data-rule='五百元以上人工复核'] .rule-words").inner_text()
    assert "实付金额（元）" in words and "大于" in words and "500" in words and "人工复核" in words
    assert "已保存" in page.locator(".toast-success").first.inner_text()
    # Switched off from the list.
    page.click("tr[data-rule='五百元以上人工复核'] [data-testid=rule-toggle]")
    page.wait_for_function(
        "document.querySelector(\"[data-testid=rule-state]\").textContent.trim() === '停用'"
    )


def test_bulk_assign_warehouse_from_the_workbench(page, world, uow):
    with uow() as u:
        inventory.adjust_stock(u, sku_code="A", warehouse_code="GZ", quantity=5, reason="in")
    sign_in(page, "ops")
    page.wait_for_url("**/orders")
    page.check(f"tr[data-order='{world['W1']}'] input[data-row]")
    page.select_option("[data-testid=assign-warehouse]", "GZ")
    page.once("dialog", lambda d: d.accept())
    page.click("[data-testid=bulk-warehouse]")
    page.locator(".toast-success").first.wait_for()
    assert "指定到该仓库" in page.locator(".toast-success").first.inner_text()
    page.wait_for_function(
        f"document.querySelector(\"tr[data-order='{world['W1']}']\").textContent.includes('GZ')"
    )
    with uow(readonly=True) as u:
        assert queries.get_order(u, world["W1"])["warehouse"] == "GZ"
