"""Split, and the three answers to short stock: wait, partial, cancel the short part."""

from __future__ import annotations

import pytest

from lvyue.config import get_settings
from lvyue.core.errors import ValidationError
from lvyue.inventory import queries as stock
from lvyue.inventory import service as inventory
from lvyue.orders import queries, service
from tests.factories import canonical, import_dicts, process_all, setup_world


def by_ext(uow):
    with uow(readonly=True) as u:
        return {o["external_id"]: queries.get_order(u, o["id"]) for o in queries.list_orders(u)}


def test_split_moves_units_to_a_new_order_and_releases_stock(uow):
    setup_world(uow, skus={"A": {"HZ": 10}, "B": {"HZ": 10}})
    import_dicts(uow, [canonical("S1", [("A", 3), ("B", 1)])])
    process_all(uow)
    oid = by_ext(uow)["S1"]["id"]
    with pytest.raises(ValidationError), uow() as u:
        service.split_order(u, oid, {1: 3, 2: 1})  # everything: refused
    with uow(actor="op") as u:
        child = service.split_order(u, oid, {1: 2, 2: 1})
    got = by_ext(uow)
    assert [ln["quantity"] for ln in got["S1"]["lines"]] == [1]
    assert got["S1-S1"]["id"] == child and got["S1-S1"]["parent_id"] == oid
    assert [(ln["sku"], ln["quantity"]) for ln in got["S1-S1"]["lines"]] == [("A", 2), ("B", 1)]
    assert str(got["S1"]["goods_amount"] + got["S1-S1"]["goods_amount"]) == "236.00"
    assert got["S1"]["status"] == "pending_review"
    process_all(uow)
    got = by_ext(uow)
    assert got["S1"]["status"] == got["S1-S1"]["status"] == "allocated"
    with uow(readonly=True) as u:
        levels = {r["sku"]: r["reserved"] for r in stock.stock_levels(u)}
        assert stock.verify_levels(u) == []
    assert levels == {"A": 3, "B": 1}  # reserved once, not twice
    # The channel resends the original (memo only): the split stays as it is.
    import_dicts(uow, [{**canonical("S1", [("A", 3), ("B", 1)]), "seller_memo": "加急"}])
    assert by_ext(uow)["S1"]["status"] == "allocated"


@pytest.mark.parametrize("policy", ["partial", "cancel_short"])
def test_short_stock_answers(uow, policy):
    setup_world(uow, skus={"A": {"HZ": 2}, "B": {"HZ": 5}})
    import_dicts(uow, [canonical("O1", [("A", 5), ("B", 1)])])
    process_all(uow)
    oid = by_ext(uow)["O1"]["id"]
    assert by_ext(uow)["O1"]["hold_reasons"] == ["out_of_stock"]
    with uow(actor="op") as u:
        service.resolve_shortage(u, oid, policy=policy)
    process_all(uow)
    got = by_ext(uow)
    assert got["O1"]["status"] == "allocated"
    assert [(ln["sku"], ln["quantity"]) for ln in got["O1"]["lines"]] == [("A", 2), ("B", 1)]
    if policy == "partial":
        assert got["O1-S1"]["hold_reasons"] == ["out_of_stock"]  # the rest waits for stock
        assert [(ln["sku"], ln["quantity"]) for ln in got["O1-S1"]["lines"]] == [("A", 3)]
        with uow() as u:
            inventory.adjust_stock(u, sku_code="A", warehouse_code="HZ", quantity=3, reason="in")
        process_all(uow)
        assert by_ext(uow)["O1-S1"]["status"] == "allocated"
    else:
        assert "O1-S1" not in got
        assert any("取消缺货部分 A×3" in h["reason"] for h in got["O1"]["history"])


def test_merchant_default_policy_applies_in_the_pipeline(uow, monkeypatch):
    monkeypatch.setattr(get_settings(), "oversell_policy", "partial")
    setup_world(uow, skus={"A": {"HZ": 1}})
    import_dicts(uow, [canonical("P1", [("A", 3)])])
    process_all(uow)
    process_all(uow)  # the parent went back to review: a second run allocates it
    got = by_ext(uow)
    assert got["P1"]["status"] == "allocated", (got["P1"]["hold_reasons"], got["P1"]["history"])
    assert got["P1"]["lines"][0]["quantity"] == 1
    assert got["P1-S1"]["hold_reasons"] == ["out_of_stock"]
