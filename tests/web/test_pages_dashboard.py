"""The dashboard over HTTP: one day's figures (merchant's zone, day bounds, cancelled orders
left out of the amount), orders per hour, held orders by reason, the backlog by status, the
day's top SKUs, the figures fragment for live refreshes, permissions, scope and languages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from lvyue.accounts import service as accounts
from lvyue.orders import queries
from lvyue.orders import service as orders
from tests.factories import canonical, import_dicts, process_all
from tests.web.conftest import PASSWORD, login

DAY = "2026-12-01"


@pytest.fixture
def day(world, uow) -> dict[str, Any]:
    """Orders around 2026-12-01 in Asia/Shanghai: four on the day (one cancelled later), one a
    minute before it starts and one as the next day starts."""
    import_dicts(
        uow,
        [
            canonical("D1", [("A", 2)], created_at=f"{DAY}T09:15:00+08:00"),
            canonical("D2", [("A", 1), ("B", 3)], created_at=f"{DAY}T09:40:00+08:00"),
            canonical("D4", [("A", 5)], created_at=f"{DAY}T23:30:00+08:00"),
            canonical("D5", [("A", 1)], created_at="2026-11-30T23:59:00+08:00"),
            canonical("D6", [("A", 1)], created_at="2026-12-02T00:00:00+08:00"),
        ],
    )
    import_dicts(uow, [canonical("D3", [("B", 1)], created_at=f"{DAY}T14:05:00+08:00")], shop="TB1")
    process_all(uow)
    with uow(readonly=True) as u:
        ids = {o["external_id"]: o["id"] for o in queries.list_orders(u)}
        totals = {k: queries.get_order(u, i)["total_amount"] for k, i in ids.items()}
    with uow() as u:
        orders.cancel_order(u, ids["D4"], reason="买家取消")
        accounts.add_user(
            u, username="tbviewer", password=PASSWORD, role="viewer", shop_codes=["TB1"]
        )
    return {"ids": ids, "totals": totals}


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">(?:<a [^>]*>)?([^<]+)<', html)
    assert found, name
    return found.group(1).strip()


def rows(html: str, attr: str, col: str) -> dict[str, str]:
    return {
        key: value.strip()
        for key, value in re.findall(
            rf'<tr {attr}="([^"]+)">.*?data-col="{col}">([^<]+)<', html, re.S
        )
    }


def test_the_days_figures_match_the_orders(client, day):
    login(client, "admin")
    page = client.get(f"/dashboard?day={DAY}")
    assert page.status_code == 200
    t = day["totals"]
    amount = t["D1"] + t["D2"] + t["D3"]  # D4 was cancelled, D5 and D6 are other days
    assert figure(page.text, "orders") == "4"
    assert figure(page.text, "amount") == f"¥{amount:,.2f}"
    assert figure(page.text, "cancelled") == "1"
    assert rows(page.text, "data-hour", "orders") == {"9": "2", "14": "1", "23": "1"}
    assert rows(page.text, "data-hour", "amount") == {
        "9": f"¥{t['D1'] + t['D2']:,.2f}",
        "14": f"¥{t['D3']:,.2f}",
        "23": "¥0.00",
    }
    # Top SKUs: B 3 + 1 units, A 2 + 1 (the cancelled D4's five are not sales).
    assert rows(page.text, "data-sku", "units") == {"B": "4", "A": "3"}
    assert page.text.index('data-sku="B"') < page.text.index('data-sku="A"')
    assert rows(page.text, "data-sku", "amount") == {"B": "¥236.00", "A": "¥177.00"}
    # The chart data carries the same numbers.
    series = chart(page.text, "hourly")["series"]
    assert series[0]["values"] == [2 if h == 9 else 1 if h in (14, 23) else 0 for h in range(24)]
    assert series[1]["values"][9] == str(t["D1"] + t["D2"])


def test_held_orders_and_the_backlog(client, day, uow):
    login(client, "ops")
    page = client.get("/dashboard")
    assert page.status_code == 200
    with uow(readonly=True) as u:
        held = queries.hold_counts(u)
        counts = queries.status_counts(u)
    assert held  # the world holds W2 and W3 (and whatever the review held)
    assert rows(page.text, "data-hold", "count") == {k: str(v) for k, v in held.items()}
    backlog = rows(page.text, "data-status", "count")
    for status in ("pending_review", "held", "approved", "allocated"):
        assert backlog[status] == str(counts.get(status, 0))
    assert figure(page.text, "held") == str(counts["held"])
    assert "挂起订单（按原因）" in page.text or "按原因" in page.text


def test_today_is_the_merchants_day(client, world, uow):
    now = datetime.now(UTC)
    import_dicts(uow, [canonical("NOW", [("A", 2)], created_at=now.isoformat())])
    login(client, "fin")
    page = client.get("/dashboard")
    assert figure(page.text, "orders") == "1"
    assert 'data-live="on"' in page.text
    assert rows(page.text, "data-sku", "units") == {"A": "2"}
    assert 'data-live="off"' in client.get(f"/dashboard?day={DAY}").text


def test_the_figures_fragment_for_live_refreshes(client, day):
    login(client, "admin")
    part = client.get(f"/dashboard/figures?day={DAY}", headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert part.text.lstrip().startswith('<div id="figures"') and "<html" not in part.text
    assert figure(part.text, "orders") == "4"
    page = client.get("/dashboard")
    assert 'hx-trigger="dashboard-refresh from:body"' in page.text
    assert "vendor/echarts/echarts.min.js" in page.text and "dashboard.js" in page.text


def test_permission_and_scope(client, day):
    login(client, "wh")  # the warehouse role has no reports.read
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/figures").status_code == 403
    assert 'data-nav="dashboard"' not in client.get("/orders").text
    client.cookies.clear()
    login(client, "tbviewer")  # sees shop TB1 only
    page = client.get(f"/dashboard?day={DAY}")
    assert figure(page.text, "orders") == "1"
    assert rows(page.text, "data-sku", "units") == {"B": "1"}
    assert 'data-nav="dashboard"' in page.text
    assert client.get("/dashboard?day=not-a-day").status_code == 400


def chart(html: str, name: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="chart-{name}">(.*?)</script>', html, re.S).group(1))


def test_chart_labels_in_both_languages(client, day):
    login(client, "admin")
    zh = client.get(f"/dashboard?day={DAY}")
    assert [s["name"] for s in chart(zh.text, "hourly")["series"]] == ["订单", "金额（元）"]
    assert chart(zh.text, "backlog")["categories"][-2:] == ["待审核", "待付款"]
    assert chart(zh.text, "top")["categories"] == ["A", "B"]  # drawn bottom-up: B on top
    assert chart(zh.text, "top")["series"][0]["values"] == [3, 4]
    client.cookies.set("lvyue_lang", "en")
    en = client.get(f"/dashboard?day={DAY}")
    assert "<h1>Dashboard</h1>" in en.text and "Orders per hour" in en.text
    assert [s["name"] for s in chart(en.text, "hourly")["series"]] == ["Orders", "Amount (¥)"]
    assert chart(en.text, "backlog")["categories"][-2:] == ["Pending review", "Pending payment"]
