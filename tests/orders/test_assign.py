"""An operator assigns a warehouse or a carrier: the reservation moves (never oversold), the
carrier is quoted again, history and status events are written, and an order the choice
cannot serve is refused with the reason and left as it was."""

from __future__ import annotations

import pytest

from lvyue.core.errors import NotFound, ValidationError
from lvyue.inventory import queries as stock_queries
from lvyue.inventory import service as inventory
from lvyue.logistics.demo import seed_demo_logistics
from lvyue.orders import queries, service
from lvyue.orders.events import OrderStatusChanged
from tests.factories import canonical, import_dicts, process_all, setup_world

RECEIVER = canonical("x", [])["receiver"]


@pytest.fixture
def placed(uow) -> dict[str, int]:
    """A1 (A×1) and A5 (A×5) allocated in HZ; GZ has 3 A. B2 (B×2) held for stock (no B)."""
    setup_world(uow, skus={"A": {"HZ": 20, "GZ": 3}, "B": {}})
    with uow() as u:
        seed_demo_logistics(u)
    import_dicts(
        uow,
        [
            canonical("A1", [("A", 1)]),
            canonical("A5", [("A", 5)], receiver={**RECEIVER, "phone": "13812340005"}),
            canonical("B2", [("B", 2)], receiver={**RECEIVER, "phone": "13812340006"}),
        ],
    )
    process_all(uow)
    with uow(readonly=True) as u:
        return {o["external_id"]: o["id"] for o in queries.list_orders(u)}


def order(uow, oid: int) -> dict:
    with uow(readonly=True) as u:
        return queries.get_order(u, oid)


def levels(uow) -> dict[tuple[str, str], tuple[int, int]]:
    with uow(readonly=True) as u:
        assert stock_queries.verify_levels(u) == []
        return {
            (r["sku"], r["warehouse"]): (r["on_hand"], r["reserved"])
            for r in stock_queries.stock_levels(u)
        }


def test_reallocation_moves_the_reservation_and_refuses_what_the_warehouse_cannot_fill(uow, placed):
    a1, a5 = placed["A1"], placed["A5"]
    assert order(uow, a1)["status"] == order(uow, a5)["status"] == "allocated"
    before = levels(uow)
    assert before[("A", "HZ")] == (20, 6) and before[("A", "GZ")] == (3, 0)
    with uow(actor="ops") as u:
        report = service.assign_warehouse(u, [a1, a5], "GZ")
        events = [e for e in u.published if isinstance(e, OrderStatusChanged)]
    assert report.done == [a1]
    assert "not enough stock in GZ: A needs 5, available 2" in report.refused[a5]
    after = levels(uow)
    assert after[("A", "HZ")] == (20, 5) and after[("A", "GZ")] == (3, 1)
    moved, kept = order(uow, a1), order(uow, a5)
    assert (moved["status"], moved["warehouse"]) == ("allocated", "GZ")
    assert moved["service_code"]  # quoted again from GZ
    assert kept["warehouse"] == "HZ" and len(kept["history"]) == len(order(uow, a5)["history"])
    last = moved["history"][-1]
    assert (last["from"], last["to"], last["actor"]) == ("allocated", "allocated", "ops")
    assert last["reason"] == "人工指定仓库: HZ → GZ"
    assert [(c.order_id, c.old, c.new) for e in events for c in e.changes] == [
        (a1, "allocated", "allocated")
    ]
    # The same warehouse again: refused, nothing written.
    with uow() as u:
        again = service.assign_warehouse(u, [a1], "GZ")
    assert again.done == [] and "already ships from GZ" in again.refused[a1]
    assert levels(uow) == after


def test_a_held_for_stock_order_is_allocated_where_the_stock_now_is(uow, placed):
    b2 = placed["B2"]
    assert order(uow, b2)["hold_reasons"] == ["out_of_stock"]
    with uow() as u:
        refused = service.assign_warehouse(u, [b2], "GZ")
    assert "B needs 2, available 0" in refused.refused[b2]
    assert order(uow, b2)["status"] == "held"
    with uow() as u:
        inventory.adjust_stock(u, sku_code="B", warehouse_code="GZ", quantity=2, reason="in")
        report = service.assign_warehouse(u, [b2], "GZ")
    assert report.done == [b2]
    o = order(uow, b2)
    assert (o["status"], o["warehouse"], o["hold_reasons"]) == ("allocated", "GZ", [])
    assert [(h["from"], h["to"]) for h in o["history"][-2:]] == [
        ("held", "approved"),
        ("approved", "allocated"),
    ]
    assert levels(uow)[("B", "GZ")] == (2, 2)


def test_orders_a_person_must_decide_and_scope_are_respected(uow, placed):
    a1, a5 = placed["A1"], placed["A5"]
    with uow() as u:
        service.hold_order(u, a5, note="等买家")
    with uow() as u:
        report = service.assign_warehouse(u, [a5, 999_999], "GZ")
    assert "held for operator_hold" in report.refused[a5]
    assert "does not exist" in report.refused[999_999]
    with pytest.raises(ValidationError, match="outside your warehouses"), uow() as u:
        service.assign_warehouse(u, [a1], "GZ", scope=("HZ",))
    with uow() as u:
        report = service.assign_warehouse(u, [a1], "GZ", scope=("GZ",))
    assert "outside your warehouses" in report.refused[a1]
    with pytest.raises(NotFound), uow() as u:
        service.assign_warehouse(u, [a1], "NOPE")
    assert order(uow, a1)["warehouse"] == "HZ"
    levels(uow)


def test_assign_carrier_quotes_the_carrier_or_refuses(uow, placed):
    a1, b2 = placed["A1"], placed["B2"]
    first = order(uow, a1)
    assert first["carrier"] != "SF"
    with uow(actor="ops") as u:
        report = service.assign_carrier(u, [a1, b2], "SF")
        events = [e for e in u.published if isinstance(e, OrderStatusChanged)]
    assert report.done == [a1] and "only approved or allocated" in report.refused[b2]
    o = order(uow, a1)
    assert (o["carrier"], o["service_code"], o["status"]) == ("SF", "SF-STD", "allocated")
    assert o["shipping_cost"] > 0 and o["history"][-1]["reason"].endswith("→ SF-STD")
    assert [c.order_id for e in events for c in e.changes] == [a1]
    with pytest.raises(NotFound), uow() as u:
        service.assign_carrier(u, [a1], "NOPE")
    with uow() as u:
        # A service code names the same choice: already used, so nothing to change.
        again = service.assign_carrier(u, [a1], "SF-STD")
    assert "already ships with SF-STD" in again.refused[a1]
    levels(uow)


def test_orders_that_fit_one_by_one_but_not_together_are_not_oversold(uow):
    """GZ has 3 A; two orders want 2 each: the first moves, the second is refused."""
    setup_world(uow, skus={"A": {"HZ": 20, "GZ": 3}})
    with uow() as u:
        seed_demo_logistics(u)
    import_dicts(
        uow,
        [
            canonical("X2", [("A", 2)]),
            canonical("Y2", [("A", 2)], receiver={**RECEIVER, "phone": "13812340007"}),
        ],
    )
    process_all(uow)
    with uow(readonly=True) as u:
        ids = {o["external_id"]: o["id"] for o in queries.list_orders(u)}
    with uow(actor="ops") as u:
        report = service.assign_warehouse(u, [ids["X2"], ids["Y2"]], "GZ")
    assert report.done == [ids["X2"]]
    assert "not enough stock in GZ" in report.refused[ids["Y2"]]
    assert levels(uow)[("A", "GZ")] == (3, 2)
    assert order(uow, ids["Y2"])["warehouse"] == "HZ"
