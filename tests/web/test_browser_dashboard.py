"""The dashboard in a real browser: charts are drawn (ECharts, SVG), and an order arriving
through the services changes the live figures without a reload."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.factories import canonical, import_dicts, process_all
from tests.web.browser import pytestmark, sign_in  # noqa: F401


def test_charts_render_and_figures_follow_new_orders_live(page, uow):
    sign_in(page, "admin")
    page.wait_for_url("**/orders")
    with page.expect_response(lambda r: "/api/v1/events" in r.url):
        page.click("[data-nav=dashboard]")
    page.wait_for_url("**/dashboard")
    assert page.locator("h1").inner_text() == "工作台"
    # The backlog chart is drawn as SVG with the numbers beside it.
    page.locator("[data-chart=chart-backlog] svg").wait_for()
    assert page.locator("[data-testid=backlog-table] tr[data-status=held]").count() == 1
    assert page.locator("[data-figure=orders]").inner_text() == "0"
    page.evaluate("window.__noReload = true")

    now = datetime.now(UTC).isoformat()
    import_dicts(uow, [canonical("LIVE1", [("A", 3)], created_at=now)])
    process_all(uow)

    page.wait_for_function(
        "document.querySelector('[data-figure=orders]').textContent.trim() === '1'",
        timeout=15_000,
    )
    assert page.evaluate("window.__noReload") is True
    # The hourly chart appears with today's order, and its table says the same.
    page.locator("[data-chart=chart-hourly] svg").wait_for()
    assert (
        page.locator("[data-testid=top-table] tr[data-sku=A] [data-col=units]").inner_text() == "3"
    )
    hours = page.locator("[data-testid=hourly-table] [data-col=orders]").all_text_contents()
    assert hours == ["1"]
