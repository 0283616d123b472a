"""The dashboard's reads: a day in the merchant's zone, hour buckets, amounts without the
cancelled orders, held orders by reason, top SKUs and the shop/warehouse scope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lvyue.analytics import queries
from lvyue.orders import queries as order_queries
from lvyue.orders import service as orders
from lvyue.orders.queries import Scope
from tests.factories import canonical, import_dicts, process_all, setup_world

DAY = date(2026, 12, 1)


def make_orders(uow) -> dict[str, int]:
    setup_world(uow, skus={"A": {"HZ": 100}, "B": {"GZ": 100}})
    with uow() as u:
        orders.add_shop(u, code="TB1", platform="taobao", name="淘宝店")
    import_dicts(
        uow,
        [
            canonical("D1", [("A", 2)], created_at="2026-12-01T00:00:00+08:00"),
            canonical("D2", [("A", 1), ("B", 3)], created_at="2026-12-01T09:40:00+08:00"),
            canonical("D3", [("A", 5)], created_at="2026-12-01T23:59:59+08:00"),
            canonical("D4", [("A", 1)], created_at="2026-11-30T23:59:59+08:00"),
            canonical("D5", [("A", 1)], created_at="2026-12-02T00:00:00+08:00"),
        ],
    )
    import_dicts(
        uow, [canonical("T1", [("B", 1)], created_at="2026-12-01T14:05:00+08:00")], shop="TB1"
    )
    process_all(uow)
    with uow(readonly=True) as u:
        ids = {o["external_id"]: o["id"] for o in order_queries.list_orders(u)}
    with uow() as u:
        orders.cancel_order(u, ids["D3"], reason="买家取消")
        orders.hold_order(u, ids["D1"], note="等买家回复")
    return ids


def totals(uow, ids, *keys: str) -> Decimal:
    with uow(readonly=True) as u:
        return sum((order_queries.get_order(u, ids[k])["total_amount"] for k in keys), Decimal())


def test_a_day_in_the_merchants_zone(uow):
    ids = make_orders(uow)
    with uow(readonly=True) as u:
        d = queries.day_figures(u, day=DAY, zone="Asia/Shanghai", scope=Scope())
    assert (d.orders, d.cancelled) == (4, 1)  # D1, D2, D3 (cancelled), T1
    assert d.amount == totals(uow, ids, "D1", "D2", "T1")
    assert d.orders_by_hour[0] == 1 and d.orders_by_hour[9] == 1 and d.orders_by_hour[14] == 1
    assert d.orders_by_hour[23] == 1 and sum(d.orders_by_hour) == 4
    assert d.amount_by_hour[23] == 0  # the cancelled order counts, its amount does not
    assert d.by_status["cancelled"] == 1 and d.by_status["held"] >= 1
    with uow(readonly=True) as u:
        utc = queries.day_figures(u, day=DAY, zone="UTC", scope=Scope())
    # In UTC: D1 is Nov 30 16:00; D4 is Nov 30 15:59; D5 (Dec 1 16:00 UTC) is in.
    assert utc.orders == 4 and utc.orders_by_hour[16] == 1 and utc.orders_by_hour[15] == 1


def test_top_skus_held_reasons_and_scope(uow):
    make_orders(uow)
    with uow(readonly=True) as u:
        top = queries.top_skus(u, day=DAY, zone="Asia/Shanghai", scope=Scope())
        held = queries.held_by_reason(u, scope=Scope())
        only_tb1 = queries.dashboard(
            u, day=DAY, zone="Asia/Shanghai", scope=Scope(shops=("TB1",)), statuses=["held"]
        )
    # B: 3 + 1; A: 2 + 1 (the cancelled D3's five are left out).
    assert [(s["sku"], s["units"], s["amount"]) for s in top] == [
        ("B", 4, Decimal("236.00")),
        ("A", 3, Decimal("177.00")),
    ]
    assert held["operator_hold"] == 1
    assert only_tb1.day.orders == 1 and [s["sku"] for s in only_tb1.top] == ["B"]
