"""The stock pages over HTTP: levels with filters, scope and low-stock highlight, a SKU's
levels and ledger, adjustments (delta and count) with their validation and audit, and the
low-stock threshold."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from lvyue.accounts.models import AuditEntry
from lvyue.core.db import table_of
from lvyue.inventory import queries
from lvyue.inventory import service as inventory
from tests.web.conftest import login

AUDIT = table_of(AuditEntry)


def levels_on(html: str) -> list[str]:
    return re.findall(r'<tr data-level="([^"]+)"', html)


def cell(html: str, level: str, col: str) -> str:
    row = re.search(rf'<tr data-level="{re.escape(level)}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, level
    value = re.search(rf'data-col="{col}">\s*([^<\s]*)', row.group(1))
    assert value, (level, col)
    return value.group(1)


def level(uow, sku: str, wh: str) -> dict[str, Any]:
    with uow(readonly=True) as u:
        return {r["warehouse"]: r for r in queries.stock_levels(u, sku)}[wh]


def adjust(client, csrf, **form: str):
    return client.post(
        "/stock/adjust", data=form, headers={"X-CSRF-Token": csrf, "HX-Request": "true"}
    )


def test_levels_list_with_numbers_filters_and_the_warehouse_scope(client, world, uow):
    login(client, "admin")
    page = client.get("/stock")
    assert page.status_code == 200
    assert levels_on(page.text) == ["A@HZ", "B@GZ"]
    a = level(uow, "A", "HZ")
    assert a["reserved"] > 0  # the pipeline reserved stock for the orders
    assert cell(page.text, "A@HZ", "on_hand") == str(a["on_hand"])
    assert cell(page.text, "A@HZ", "reserved") == str(a["reserved"])
    assert cell(page.text, "A@HZ", "available") == str(a["available"])
    assert 'data-nav="stock"' in page.text and 'href="/stock"' in page.text
    assert levels_on(client.get("/stock?warehouse=GZ").text) == ["B@GZ"]
    assert levels_on(client.get("/stock?q=b").text) == ["B@GZ"]
    assert levels_on(client.get("/stock?q=商品 A").text) == ["A@HZ"]
    empty = client.get("/stock?q=NOTHING")
    assert 'data-testid="empty"' in empty.text and "清除筛选" in empty.text
    # htmx asks for the list alone.
    part = client.get("/stock?q=A", headers={"HX-Request": "true", "HX-Target": "stock-list"})
    assert part.text.lstrip().startswith('<div id="stock-list"') and "<html" not in part.text
    # The warehouse user sees HZ only, whatever the URL asks.
    client.cookies.clear()
    login(client, "wh")
    assert levels_on(client.get("/stock").text) == ["A@HZ"]
    assert levels_on(client.get("/stock?warehouse=GZ").text) == []
    sku_b = client.get("/stock/B")
    assert sku_b.status_code == 200 and 'data-testid="sku-levels"' not in sku_b.text
    assert 'data-move="' not in sku_b.text  # B's ledger is in GZ only


def test_low_stock_rows_are_marked_and_filtered(client, world, uow):
    with uow() as u:
        inventory.set_low_stock_threshold(u, sku_code="B", warehouse_code="GZ", threshold=500)
    login(client, "admin")
    page = client.get("/stock")
    assert re.search(r'<tr data-level="B@GZ" class="low-stock" data-low="1"', page.text)
    assert re.search(r'<tr data-level="A@HZ">', page.text)
    assert cell(page.text, "B@GZ", "threshold") == "500"
    assert levels_on(client.get("/stock?low=1").text) == ["B@GZ"]


def test_paging_by_keyset(client, world, uow, monkeypatch):
    import lvyue.inventory.web as web

    monkeypatch.setattr(web, "PAGE_SIZE", 1)
    login(client, "admin")
    first = client.get("/stock")
    assert levels_on(first.text) == ["A@HZ"]
    nxt = re.search(r'href="([^"]+)"[^>]*rel="next"', first.text).group(1).replace("&amp;", "&")
    second = client.get(nxt)
    assert levels_on(second.text) == ["B@GZ"] and 'rel="next"' not in second.text
    prev = re.search(r'href="([^"]+)"[^>]*rel="prev"', second.text).group(1).replace("&amp;", "&")
    assert levels_on(client.get(prev).text) == ["A@HZ"]


def test_sku_page_shows_levels_and_the_ledger(client, world, uow):
    login(client, "admin")
    page = client.get("/stock/A")
    assert page.status_code == 200
    assert "商品 A" in page.text
    assert cell(page.text, "HZ", "on_hand") == str(level(uow, "A", "HZ")["on_hand"])
    with uow(readonly=True) as u:
        moves = queries.stock_ledger(u, sku="A", limit=100)
    assert len(re.findall(r'<tr data-move="', page.text)) == min(moves["total"], 30)
    assert "opening" in page.text and "调整" in page.text and "预占" in page.text
    assert re.search(r'href="/orders/\d+"', page.text)  # reservations link their order
    assert client.get("/stock/NOPE").status_code == 404


def test_adjust_with_a_reason_is_booked_and_audited(client, world, uow):
    csrf = login(client, "wh")
    before = level(uow, "A", "HZ")
    r = adjust(client, csrf, sku="A", warehouse="HZ", mode="delta", quantity="-3", reason="破损")
    assert r.status_code == 200
    assert level(uow, "A", "HZ")["on_hand"] == before["on_hand"] - 3
    assert cell(r.text, "HZ", "on_hand") == str(before["on_hand"] - 3)
    assert "破损" in r.text and '<tr data-move="' in r.text
    assert "toast" in r.headers["HX-Trigger"] and "success" in r.headers["HX-Trigger"]
    # Count to a value: the difference is booked.
    r = adjust(client, csrf, sku="A", warehouse="HZ", mode="count", quantity="90", reason="盘点")
    assert r.status_code == 200 and level(uow, "A", "HZ")["on_hand"] == 90
    with uow(readonly=True) as u:
        rows = list(
            u.conn.execute(
                sa.select(AUDIT).where(AUDIT.c.action == "stock.adjust").order_by(AUDIT.c.id)
            )
        )
    assert [(a.actor, a.target, a.details["delta"], a.details["reason"]) for a in rows] == [
        ("wh", "A@HZ", -3, "破损"),
        ("wh", "A@HZ", 90 - (before["on_hand"] - 3), "盘点"),
    ]
    assert rows[1].details["counted"] == 90


def test_adjust_names_the_fields_that_are_wrong(client, world, uow):
    csrf = login(client, "admin")
    before = level(uow, "A", "HZ")
    r = adjust(client, csrf, sku="A", warehouse="", mode="delta", quantity="0", reason="")
    assert r.status_code == 200
    errors = dict(re.findall(r'data-error="(\w+)">([^<]+)<', r.text))
    assert set(errors) == {"warehouse", "quantity", "reason"}
    assert "原因" in errors["reason"]
    assert 'aria-invalid="true"' in r.text and "error" in r.headers["HX-Trigger"]
    # More than available (stock reserved for orders cannot be taken away).
    r = adjust(client, csrf, sku="A", warehouse="HZ", mode="delta", quantity="-100", reason="x")
    errors = dict(re.findall(r'data-error="(\w+)">([^<]+)<', r.text))
    assert list(errors) == ["quantity"] and "库存不足" in errors["quantity"]
    assert 'value="-100"' in r.text  # the form keeps what was typed
    assert level(uow, "A", "HZ") == before


def test_adjust_needs_the_permission_and_the_warehouse_in_scope(client, world, uow):
    csrf = login(client, "fin")  # finance reads stock, does not adjust it
    r = adjust(client, csrf, sku="A", warehouse="HZ", mode="delta", quantity="1", reason="x")
    assert r.status_code == 403
    assert "adjust-form" not in client.get("/stock/A").text
    client.cookies.clear()
    csrf = login(client, "wh")
    r = adjust(client, csrf, sku="B", warehouse="GZ", mode="delta", quantity="1", reason="x")
    assert 'data-error="warehouse"' in r.text
    assert level(uow, "B", "GZ")["on_hand"] == 100
    # Without the CSRF token the session cannot change stock.
    r = client.post("/stock/adjust", data={"sku": "A", "warehouse": "HZ", "quantity": "1"})
    assert r.status_code == 403


def test_threshold_is_set_inline_and_cleared(client, world, uow):
    csrf = login(client, "wh")
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    r = client.post(
        "/stock/threshold",
        data={"sku": "A", "warehouse": "HZ", "threshold": "1000"},
        headers=headers,
    )
    assert r.status_code == 200
    assert re.search(r'<tr data-level="HZ" class="low-stock"', r.text)
    with uow(readonly=True) as u:
        assert queries.sku_levels(u, "A")[0]["own_threshold"] == 1000
        audit = u.conn.execute(sa.select(AUDIT).where(AUDIT.c.action == "stock.threshold")).one()
    assert audit.details["threshold"] == 1000 and audit.target == "A@HZ"
    r = client.post(
        "/stock/threshold", data={"sku": "A", "warehouse": "HZ", "threshold": "-1"}, headers=headers
    )
    assert 'data-error="threshold"' in r.text
    r = client.post(
        "/stock/threshold", data={"sku": "A", "warehouse": "HZ", "threshold": ""}, headers=headers
    )
    with uow(readonly=True) as u:
        assert queries.sku_levels(u, "A")[0]["own_threshold"] is None
    r = client.post(
        "/stock/threshold", data={"sku": "B", "warehouse": "GZ", "threshold": "1"}, headers=headers
    )
    assert r.status_code == 404


def test_english_stock_pages(client, world):
    login(client, "admin")
    client.cookies.set("lvyue_lang", "en")
    page = client.get("/stock")
    assert "<h1>Stock</h1>" in page.text and "On hand" in page.text
    sku = client.get("/stock/A")
    assert "Adjust stock" in sku.text and "Reservation" in sku.text
