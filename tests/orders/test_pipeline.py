from __future__ import annotations

import pytest

from lvyue.catalog.service import import_catalog
from lvyue.core.errors import InvalidTransition, ValidationError
from lvyue.inventory import queries as stock
from lvyue.inventory import service as inventory
from lvyue.orders import queries, service
from tests.factories import canonical, import_dicts, process_all, setup_world, sku_row


def orders_by_ext(make_uow) -> dict[str, dict]:
    with make_uow(readonly=True) as u:
        return {o["external_id"]: o for o in queries.list_orders(u)}


def levels(make_uow) -> dict[tuple[str, str], tuple[int, int]]:
    with make_uow(readonly=True) as u:
        return {
            (r["sku"], r["warehouse"]): (r["on_hand"], r["reserved"]) for r in stock.stock_levels(u)
        }


def test_minimal_pipeline_outcomes(uow):
    setup_world(uow, skus={"A": {"HZ": 3}, "B": {"GZ": 2}, "C": {"HZ": 1, "GZ": 1}})
    import_dicts(
        uow,
        [
            canonical("OK1", [("A", 2)]),
            canonical("OK2", [("B", 2)]),  # only GZ has B
            canonical("UNPAID", [("A", 1)], status="unpaid"),
            canonical("UNKNOWN", [("A", 1), ("ZZZ", 1)]),
            canonical("SHORT", [("C", 2)]),  # 2 in total but no single warehouse has both
            canonical("LATE", [("A", 2)]),  # A has 1 left after OK1
        ],
    )
    report = process_all(uow)
    assert report.allocated == 2
    got = orders_by_ext(uow)
    assert got["OK1"]["status"] == "allocated" and got["OK1"]["warehouse"] == "HZ"
    assert got["OK1"]["lines"] == [{"sku": "A", "quantity": 2, "reserved": 2}]
    assert got["OK2"]["warehouse"] == "GZ"
    assert got["UNPAID"]["status"] == "pending_payment"
    assert (got["UNKNOWN"]["status"], got["UNKNOWN"]["hold_reasons"]) == ("held", ["unknown_sku"])
    assert got["SHORT"]["hold_reasons"] == ["out_of_stock"]
    assert got["LATE"]["hold_reasons"] == ["out_of_stock"]
    assert levels(uow)[("A", "HZ")] == (3, 2)
    assert levels(uow)[("B", "GZ")] == (2, 2)
    # Running again changes nothing: allocated orders are not reserved twice.
    assert process_all(uow).allocated == 0
    assert levels(uow)[("A", "HZ")] == (3, 2)


def test_held_orders_move_when_their_cause_is_fixed(uow):
    setup_world(uow, skus={"A": {"HZ": 1}})
    import_dicts(uow, [canonical("SHORT", [("A", 3)]), canonical("UNKNOWN", [("NEW", 1)])])
    process_all(uow)
    assert {o["status"] for o in orders_by_ext(uow).values()} == {"held"}
    with uow() as u:  # stock arrives
        inventory.adjust_stock(
            u, sku_code="A", warehouse_code="HZ", quantity=5, reason="purchase in"
        )
    with uow() as u:  # the SKU is created, with stock
        import_catalog(u, [(2, sku_row("NEW"))])
        inventory.adjust_stock(
            u, sku_code="NEW", warehouse_code="GZ", quantity=1, reason="purchase in"
        )
    assert process_all(uow).allocated == 2
    got = orders_by_ext(uow)
    assert got["SHORT"]["status"] == got["UNKNOWN"]["status"] == "allocated"
    assert got["SHORT"]["hold_reasons"] == []
    assert levels(uow)[("A", "HZ")] == (6, 3)


def test_bundles_reserve_their_components(uow):
    setup_world(uow, skus={"A": {"HZ": 4}, "B": {"HZ": 1}}, bundles={"KIT": "A*2;B*1"})
    import_dicts(uow, [canonical("K1", [("KIT", 1)]), canonical("K2", [("KIT", 1)])])
    process_all(uow)
    got = orders_by_ext(uow)
    assert got["K1"]["status"] == "allocated"
    assert got["K2"]["hold_reasons"] == ["out_of_stock"]  # B ran out
    assert levels(uow)[("A", "HZ")] == (4, 2)
    assert levels(uow)[("B", "HZ")] == (1, 1)


def test_cancel_releases_stock_and_every_change_is_in_history(uow):
    setup_world(uow, skus={"A": {"HZ": 2}})
    import_dicts(uow, [canonical("C1", [("A", 2)], status="unpaid")])
    process_all(uow)
    import_dicts(uow, [canonical("C1", [("A", 2)])])  # the buyer paid
    process_all(uow)
    oid = orders_by_ext(uow)["C1"]["id"]
    assert levels(uow)[("A", "HZ")] == (2, 2)
    with pytest.raises(ValidationError), uow(actor="op-li") as u:
        service.cancel_order(u, oid, reason="")
    with uow(actor="op-li") as u:
        service.cancel_order(u, oid, reason="买家电话要求取消")
    assert levels(uow)[("A", "HZ")] == (2, 0)
    with uow(readonly=True) as u:
        order = queries.get_order(u, oid)
        assert stock.verify_levels(u) == []
    steps = [(h["from"], h["to"]) for h in order["history"]]
    assert steps == [
        (None, "pending_payment"),
        ("pending_payment", "pending_review"),
        ("pending_review", "approved"),
        ("approved", "allocated"),
        ("allocated", "cancelled"),
    ]
    # Staff read the reasons in the timeline: the first one too is in Chinese.
    assert order["history"][0]["reason"] == "导入"
    last = order["history"][-1]
    assert (last["actor"], last["reason"]) == ("op-li", "买家电话要求取消")
    assert all(h["at"].tzinfo is not None and h["actor"] and h["reason"] for h in order["history"])
    with pytest.raises(InvalidTransition), uow() as u:
        service.cancel_order(u, oid, reason="twice")


def test_channel_changes_after_import(uow):
    setup_world(uow, skus={"A": {"HZ": 5}})
    base = canonical("X1", [("A", 2)])
    import_dicts(uow, [base, canonical("X2", [("A", 1)]), canonical("X3", [("A", 1)])])
    process_all(uow)
    assert levels(uow)[("A", "HZ")] == (5, 4)
    moved = {**base, "receiver": {**base["receiver"], "address": "文三路90号"}}
    report = import_dicts(
        uow,
        [
            moved,  # address edited after allocation: release and hold
            canonical("X2", [("A", 1)], status="cancelled"),  # cancelled on the channel
            {**canonical("X3", [("A", 1)]), "seller_memo": "送礼"},  # memo only: stays allocated
        ],
    )
    assert report.updated == 3
    got = orders_by_ext(uow)
    assert (got["X1"]["status"], got["X1"]["hold_reasons"]) == ("held", ["address_changed"])
    assert got["X2"]["status"] == "cancelled"
    assert got["X3"]["status"] == "allocated"
    assert levels(uow)[("A", "HZ")] == (5, 1)
    assert process_all(uow).allocated == 0  # address_changed waits for an operator
    import_dicts(uow, [moved])  # the same payload again is not applied twice
    assert orders_by_ext(uow)["X1"]["status"] == "held"
    with uow(readonly=True) as u:
        assert stock.verify_levels(u) == []


def test_unknown_channel_sku_is_held_until_mapped_and_specs_match(uow):
    from lvyue.catalog.specs import spec_key

    assert spec_key("颜色:白色;尺码:M") == spec_key("白色 M码") == spec_key("M;白")
    setup_world(uow, skus={"A": {"HZ": 5}})
    with uow() as u:
        import_catalog(
            u,
            [
                (2, sku_row("TEE-M-W", name="纯棉T恤", spec="颜色:白色;尺码:M")),
                (3, sku_row("TEE-L-W", name="纯棉T恤", spec="颜色:白色;尺码:L")),
            ],
        )
        inventory.adjust_stock(u, sku_code="TEE-M-W", warehouse_code="HZ", quantity=3, reason="in")
    by_spec = canonical("SPEC", [("", 1)])
    by_spec["lines"] = [
        {
            "sku": "tb-889",
            "quantity": 1,
            "unit_price": "59.00",
            "name": "【双11】纯棉T恤 男女同款",
            "spec": "白色 M码",
        }
    ]
    import_dicts(uow, [by_spec, canonical("OUTER", [("OLD-CODE-1", 2)])])
    process_all(uow)
    got = orders_by_ext(uow)
    assert got["SPEC"]["status"] == "allocated"  # matched through the spec
    assert got["OUTER"]["hold_reasons"] == ["unknown_sku"]
    with uow(actor="op") as u:
        assert service.map_sku(u, shop_code="S1", channel_sku="OLD-CODE-1", sku_code="A") == 1
    process_all(uow)
    assert orders_by_ext(uow)["OUTER"]["status"] == "allocated"
    import_dicts(uow, [canonical("AGAIN", [("OLD-CODE-1", 1)])])  # the mapping sticks
    process_all(uow)
    assert orders_by_ext(uow)["AGAIN"]["status"] == "allocated"


def test_refund_on_a_line_intercepts_and_resumes_when_closed(uow):
    setup_world(uow, skus={"A": {"HZ": 5}, "B": {"HZ": 5}})
    doc = canonical("R1", [("A", 1), ("B", 2)])
    import_dicts(uow, [doc])
    process_all(uow)
    assert levels(uow)[("B", "HZ")] == (5, 2)
    asking = {**doc, "lines": [doc["lines"][0], {**doc["lines"][1], "refund_status": "refunding"}]}
    import_dicts(uow, [asking])
    got = orders_by_ext(uow)["R1"]
    assert (got["status"], got["hold_reasons"]) == ("held", ["channel_refund"])
    assert levels(uow)[("B", "HZ")] == (5, 0)  # released while the refund is open
    assert process_all(uow).allocated == 0  # waits for the channel
    refunded = {**doc, "lines": [doc["lines"][0], {**doc["lines"][1], "refund_status": "refunded"}]}
    import_dicts(uow, [refunded])  # refund done: ship the rest
    process_all(uow)
    got = orders_by_ext(uow)["R1"]
    assert got["status"] == "allocated"
    assert levels(uow)[("A", "HZ")] == (5, 1) and levels(uow)[("B", "HZ")] == (5, 0)


def test_an_order_the_channel_reports_unpaid_again_is_held_unpaid(uow):
    from lvyue.orders.review import LineFacts, OrderFacts, review

    assert review(OrderFacts(1, [LineFacts("A", 1, 1)], paid=False)).holds == {
        "unpaid": "平台显示未付款"
    }
    setup_world(uow, skus={"A": {"HZ": 5}})
    import_dicts(uow, [canonical("U1", [("A", 1)], status="unpaid")])
    assert process_all(uow).examined == 0  # unpaid orders wait outside review
    assert orders_by_ext(uow)["U1"]["status"] == "pending_payment"


def test_the_next_batch_walks_the_review_queue_index_on_sqlite(uow, engine):
    """With a million orders' statistics SQLite's planner preferred the (status, ordered_at)
    index and sorted every waiting order on each batch; the queue's partial index is pinned."""
    import sqlalchemy as sa

    setup_world(uow, skus={"A": {"HZ": 5}})
    import_dicts(uow, [canonical(f"Q{i}", [("A", 1)]) for i in range(3)])
    plans: list[tuple[str, tuple]] = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        if "INDEXED BY" in statement or ("'pending_review', 'held'" in statement):
            plans.append((statement, tuple(parameters)))

    sa.event.listen(engine, "before_cursor_execute", explain)
    try:
        with uow() as u:
            report = service.process_orders(u, limit=500)
    finally:
        sa.event.remove(engine, "before_cursor_execute", explain)
    assert report.examined == 3
    queue = [(s, p) for s, p in plans if "LIMIT" in s]
    assert queue, "the candidate query did not run"
    sql, params = queue[0]
    pinned = "INDEXED BY ix_orders_order_review_queue" in sql
    assert pinned == (engine.dialect.name == "sqlite")
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            detail = " ".join(
                str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            )
        assert "USING INDEX ix_orders_order_review_queue" in detail
        assert "TEMP B-TREE" not in detail
