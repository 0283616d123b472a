"""The held-order queue in a real browser: an order held for a district of another city is
fixed with the inline form and leaves the queue allocated (support in ``tests/web/browser.py``)."""

from __future__ import annotations

import pytest

from lvyue.orders import queries
from tests.factories import canonical, import_dicts, process_all
from tests.web.browser import pytestmark, sign_in  # noqa: F401
from tests.web.conftest import receiver


@pytest.fixture
def bad_address(world, uow) -> int:
    """One order whose district (朝阳区) is not in its city (杭州市): held for the address."""
    import_dicts(uow, [canonical("BAD1", [("A", 2)], receiver=receiver(31, district="朝阳区"))])
    process_all(uow)
    with uow(readonly=True) as u:
        found = [o for o in queries.list_orders(u) if o["external_id"] == "BAD1"]
    assert found[0]["status"] == "held"
    assert found[0]["hold_reasons"] == ["district_not_in_city"]
    return int(found[0]["id"])


def test_fix_a_bad_address_inline_and_the_order_is_allocated(page, bad_address, uow, tmp_path):
    sign_in(page, "ops")
    page.wait_for_url("**/orders")
    page.click("[data-nav=held]")
    page.wait_for_url("**/held")
    assert page.locator("h1").inner_text() == "异常单"
    assert page.locator("[data-count=all]").inner_text() == "3"  # W2, W3 and the bad address
    page.click("[data-reason=district_not_in_city]")
    page.wait_for_url("**/held?reason=district_not_in_city")
    row = page.locator(f"#held-{bad_address}")
    assert "区县与城市不符" in row.inner_text()
    assert "修正地址" in row.inner_text()  # what to do, in plain words
    assert "张*" in row.inner_text() and "13812340031" not in row.inner_text()  # masked
    form = row.locator("[data-testid=address-form]")
    assert form.is_visible()  # no better reading: the form is open
    assert row.locator("[data-error=district]").is_visible()
    form.locator("select[name=district]").select_option("西湖区")
    form.locator("[data-testid=save-address]").click()
    toast = page.locator(".toast-success")
    toast.wait_for()
    assert f"#{bad_address}" in toast.inner_text() and "已分仓" in toast.inner_text()
    row.wait_for(state="detached")
    # That was the last order held for this reason: its empty state, and the counts follow.
    page.locator("[data-testid=empty]").wait_for()
    assert page.locator("[data-count=all]").inner_text() == "2"
    assert page.locator("[data-reason=district_not_in_city]").count() == 0
    page.screenshot(path=str(tmp_path / "held.png"))
    with uow(readonly=True) as u:
        got = queries.get_order(u, bad_address)
    assert got["status"] == "allocated" and got["hold_reasons"] == []
    assert got["addr_district"] == "西湖区" and got["lines"][0]["reserved"] == 2
