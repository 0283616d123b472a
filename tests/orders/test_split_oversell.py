"""Split, and the three answers to short stock: wait, partial, cancel the short part."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lvyue.config import get_settings
from lvyue.core.errors import ValidationError
from lvyue.inventory import queries as stock
from lvyue.inventory import service as inventory
from lvyue.orders import queries, service
from lvyue.orders.models import Order
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


def test_orders_of_one_buyer_and_address_ship_as_one_parcel(uow):
    setup_world(uow, skus={"A": {"HZ": 1, "GZ": 5}, "B": {"HZ": 5, "GZ": 5}})
    same = {
        "name": "王五",
        "phone": "13600001111",
        "province": "广东省",
        "city": "广州市",
        "district": "天河区",
        "address": "天河路385号",
    }
    import_dicts(
        uow,
        [
            canonical("M1", [("A", 1)], receiver=same),
            canonical("M2", [("B", 1)], receiver=same),
            canonical(
                "M3", [("A", 1)], receiver={**same, "address": "天河路1号"}
            ),  # another address
            canonical("M4", [("B", 1)], receiver=same, tags=["不合单"]),  # the buyer asked not to
        ],
    )
    process_all(uow)
    got = by_ext(uow)
    assert got["M1"]["merge_group"] == got["M2"]["merge_group"] == got["M1"]["id"]
    assert got["M1"]["warehouse"] == got["M2"]["warehouse"]
    assert "合单发货 (2 单)" in got["M2"]["history"][-1]["reason"]
    assert got["M3"]["merge_group"] is None and got["M4"]["merge_group"] is None
    # A later order of the same buyer joins the parcel still waiting in the warehouse.
    import_dicts(uow, [canonical("M5", [("B", 2)], receiver=same)])
    process_all(uow)
    got = by_ext(uow)
    assert got["M5"]["merge_group"] == got["M1"]["id"]
    assert got["M5"]["warehouse"] == got["M1"]["warehouse"]
    # One that cannot join it nor ship alone is held, its shortage noted once.
    import_dicts(uow, [canonical("M6", [("A", 50)], receiver=same)])
    process_all(uow)
    got = by_ext(uow)
    assert got["M6"]["status"] == "held"
    with uow(readonly=True) as u:
        log = u.conn.execute(
            sa.select(Order.review_log).where(Order.external_id == "M6")
        ).scalar_one()
    assert [e["outcome"] for e in log] == ["hold:out_of_stock"]


def test_an_order_shipped_from_another_warehouse_does_not_join_the_parcel(uow):
    setup_world(uow, skus={"A": {"HZ": 5}, "C": {"GZ": 5}})
    import_dicts(uow, [canonical("P1", [("A", 1)], buyer={"id": "b-same", "nick": "小王"})])
    process_all(uow)
    # Same buyer and address, but what P2 wants is only in GZ: a parcel of its own.
    import_dicts(uow, [canonical("P2", [("C", 1)], buyer={"id": "b-same", "nick": "小王"})])
    process_all(uow)
    got = by_ext(uow)
    assert (got["P1"]["warehouse"], got["P2"]["warehouse"]) == ("HZ", "GZ")
    assert got["P1"]["merge_group"] is None and got["P2"]["merge_group"] is None
    # One that HZ can ship joins P1's parcel.
    import_dicts(uow, [canonical("P3", [("A", 2)], buyer={"id": "b-same", "nick": "小王"})])
    process_all(uow)
    got = by_ext(uow)
    assert got["P3"]["warehouse"] == "HZ"
    assert got["P3"]["merge_group"] == got["P1"]["merge_group"] == got["P1"]["id"]


def test_operator_merge_brings_orders_to_one_warehouse(uow):
    setup_world(uow, skus={"A": {"HZ": 5}, "B": {"GZ": 5}})
    r1 = {
        "name": "赵六",
        "phone": "13600002222",
        "province": "广东省",
        "city": "广州市",
        "district": "天河区",
        "address": "天河路385号",
    }
    import_dicts(uow, [canonical("N1", [("B", 1)], receiver=r1)])
    process_all(uow)
    import_dicts(uow, [canonical("N2", [("A", 1)], receiver={**r1, "phone": "13600003333"})])
    process_all(uow)
    got = by_ext(uow)
    # Two phones: two customers, so no automatic merge.
    assert (got["N1"]["warehouse"], got["N2"]["warehouse"]) == ("GZ", "HZ")
    with pytest.raises(ValidationError), uow() as u:
        service.merge_orders(u, [got["N1"]["id"]])
    with uow(actor="op") as u:  # B arrives in HZ too: now one warehouse can ship both
        inventory.adjust_stock(
            u, sku_code="B", warehouse_code="HZ", quantity=5, reason="transfer in"
        )
        service.merge_orders(u, [got["N1"]["id"], got["N2"]["id"]])
    process_all(uow)
    got = by_ext(uow)
    assert got["N1"]["warehouse"] == got["N2"]["warehouse"] == "HZ"
    with uow(readonly=True) as u:
        assert stock.verify_levels(u) == []


def test_split_across_warehouses_only_when_allowed(uow, monkeypatch):
    setup_world(uow, skus={"A": {"HZ": 2, "GZ": 2}, "B": {"GZ": 1}})
    import_dicts(uow, [canonical("W1", [("A", 3), ("B", 1)])])
    process_all(uow)
    assert by_ext(uow)["W1"]["hold_reasons"] == ["out_of_stock"]  # no split by default
    monkeypatch.setattr(get_settings(), "allow_split", True)
    process_all(uow)  # no stock came in: an automatic pass leaves the waiting order alone
    assert by_ext(uow)["W1"]["hold_reasons"] == ["out_of_stock"]
    process_all(uow, recheck_waiting=True)  # after a settings change: look at them all again
    process_all(uow)
    got = by_ext(uow)
    parts = [o for ext, o in got.items() if ext.startswith("W1")]
    assert {o["status"] for o in parts} == {"allocated"}
    shipped = {(o["warehouse"], ln["sku"], ln["quantity"]) for o in parts for ln in o["lines"]}
    assert sum(q for _, sku, q in shipped if sku == "A") == 3
    assert {w for w, _, _ in shipped} == {"HZ", "GZ"}
    with uow(readonly=True) as u:
        assert stock.verify_levels(u) == []


def test_operator_hold_releases_and_approve_lets_it_go(uow):
    setup_world(uow, skus={"A": {"HZ": 2}})
    import_dicts(uow, [canonical("H1", [("A", 2)])])
    process_all(uow)
    oid = by_ext(uow)["H1"]["id"]
    with uow(actor="cs") as u:
        service.hold_order(u, oid, note="买家要求改颜色, 等回复")
    got = by_ext(uow)["H1"]
    assert (got["status"], got["hold_reasons"]) == ("held", ["operator_hold"])
    with uow(readonly=True) as u:
        assert stock.stock_levels(u, "A")[0]["reserved"] == 0
    assert process_all(uow).allocated == 0  # it waits for a person
    with uow(actor="cs") as u:
        service.approve_order(u, oid, note="买家确认原颜色")
    process_all(uow)
    assert by_ext(uow)["H1"]["status"] == "allocated"
