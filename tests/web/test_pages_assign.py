"""The workbench's bulk "assign warehouse" and "assign carrier" over HTTP: the reservation
moves, an order the warehouse cannot fill is refused in the toast and keeps its stock, each
done order is audited, and the warehouse scope and the permission hold."""

from __future__ import annotations

import json

from lvyue.accounts import service as accounts
from lvyue.inventory import queries as stock_queries
from lvyue.inventory import service as inventory
from lvyue.logistics.demo import seed_demo_logistics
from lvyue.orders import queries
from tests.web.conftest import PASSWORD, login
from tests.web.test_pages import audit_rows, bulk


def place(uow, oid: int) -> tuple[str, str | None, str | None]:
    with uow(readonly=True) as u:
        o = queries.get_order(u, oid)
    return o["status"], o["warehouse"], o["carrier"]


def reserved(uow) -> dict[tuple[str, str], int]:
    with uow(readonly=True) as u:
        assert stock_queries.verify_levels(u) == []
        return {(r["sku"], r["warehouse"]): r["reserved"] for r in stock_queries.stock_levels(u)}


def test_bulk_assign_warehouse_moves_what_fits_and_names_what_does_not(client, world, uow):
    with uow() as u:
        inventory.adjust_stock(u, sku_code="A", warehouse_code="GZ", quantity=3, reason="in")
    page = client.get("/orders")
    assert page.status_code == 303  # signed out
    csrf = login(client, "ops")
    html = client.get("/orders").text
    assert 'data-testid="bulk-warehouse"' in html and 'name="warehouse"' in html
    w1, w4 = world["W1"], world["W4"]
    r = client.post(
        "/orders/bulk/warehouse",
        data={"ids": [str(w1), str(w4)], "warehouse": "GZ"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status_code == 204
    events = json.loads(r.headers["HX-Trigger"])
    assert events["orders-reload"] and events["toast"]["level"] == "info"
    assert events["toast"]["message"] == "已将 1 单（共 2 单）指定到该仓库。"
    [line] = events["toast"]["detail"]
    assert line.startswith(f"#{w4}: ") and "not enough stock in GZ: A needs 4, available 2" in line
    assert place(uow, w1)[:2] == ("allocated", "GZ") and place(uow, w4)[:2] == ("allocated", "HZ")
    assert reserved(uow)[("A", "GZ")] == 1
    rows = audit_rows(uow, "order.assign_warehouse")
    assert [(int(a.target), a.actor, a.details["warehouse"]) for a in rows] == [(w1, "ops", "GZ")]
    # The JSON API answers the same refusal with 409 and its code.
    api = client.post(
        f"/api/v1/orders/{w4}/warehouse", json={"warehouse": "GZ"}, headers={"X-CSRF-Token": csrf}
    )
    assert api.status_code == 409 and api.json()["code"] == "assignment_refused"
    assert "A needs 4, available 2" in api.json()["message"]
    # No warehouse picked: refused whole, named.
    r = bulk(client, csrf, "warehouse", [w4])
    assert r.status_code == 400 and "warehouse" in r.headers["HX-Trigger"]


def test_bulk_assign_carrier_and_who_may(client, world, uow):
    with uow() as u:
        seed_demo_logistics(u)
        accounts.add_user(
            u, username="hz-ops", password=PASSWORD, role="operations", warehouse_codes=["HZ"]
        )
    w1 = world["W1"]
    csrf = login(client, "fin")
    assert "bulk-carrier" not in client.get("/orders").text
    r = client.post(
        "/orders/bulk/carrier",
        data={"ids": [str(w1)], "carrier": "SF"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status_code == 403
    client.cookies.clear()
    csrf = login(client, "hz-ops")
    html = client.get("/orders").text
    assert 'data-testid="bulk-carrier"' in html and 'value="SF"' in html
    assert 'value="GZ"' not in html.split('name="warehouse"')[1].split("</select>")[0]
    r = client.post(
        "/orders/bulk/carrier",
        data={"ids": [str(w1)], "carrier": "SF"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status_code == 204, r.headers
    assert place(uow, w1) == ("allocated", "HZ", "SF")
    assert [a.details["carrier"] for a in audit_rows(uow, "order.assign_carrier")] == ["SF"]
    # Outside the user's warehouses: refused before any order is touched.
    r = client.post(
        "/orders/bulk/warehouse",
        data={"ids": [str(w1)], "warehouse": "GZ"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status_code == 400 and place(uow, w1)[1] == "HZ"
    assert reserved(uow)[("A", "HZ")] > 0
