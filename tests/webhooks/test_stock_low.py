"""stock.low: raised when available stock falls to or below a threshold, once per crossing."""

from __future__ import annotations

import sqlalchemy as sa

from lvyue.config import get_settings
from lvyue.inventory import service as inventory
from lvyue.inventory.service import Reservation
from tests.factories import setup_world
from tests.webhooks.helpers import log_rows


def ids(uow) -> tuple[int, int]:
    with uow(readonly=True) as u:
        return inventory._sku_id(u, "A"), inventory._warehouse_id(u, "HZ")


def reserve(uow, sku: int, wh: int, qty: int, doc: int) -> None:
    with uow() as u:
        assert inventory.reserve(u, [Reservation("order", doc, wh, {sku: qty})]) == [True]


def lows(engine) -> list[tuple[str, str, int, int]]:
    return [
        (r.sku, r.warehouse, r.payload["available"], r.payload["threshold"])
        for r in log_rows(engine, "stock.low")
    ]


def test_only_the_crossing_alerts(uow, engine):
    setup_world(uow, skus={"A": {"HZ": 5}})
    with uow() as u:
        inventory.set_low_stock_threshold(u, sku_code="A", warehouse_code="HZ", threshold=3)
    sku, wh = ids(uow)
    reserve(uow, sku, wh, 1, 1)  # 4 left: above
    assert lows(engine) == []
    reserve(uow, sku, wh, 1, 2)  # 3 left: at the threshold
    assert lows(engine) == [("A", "HZ", 3, 3)]
    reserve(uow, sku, wh, 1, 3)  # already low: no second alert
    assert len(lows(engine)) == 1
    with uow() as u:
        inventory.release(u, "order", [1, 2, 3], reason="cancelled")
        inventory.adjust_stock(u, sku_code="A", warehouse_code="HZ", quantity=-3, reason="damaged")
    assert lows(engine)[1:] == [("A", "HZ", 2, 3)]  # stock taken away crosses too


def test_a_batch_alerts_once_per_level_and_levels_without_threshold_stay_quiet(uow, engine):
    setup_world(uow, skus={"A": {"HZ": 10}, "B": {"HZ": 10}})
    with uow() as u:
        inventory.set_low_stock_threshold(u, sku_code="A", warehouse_code="HZ", threshold=5)
        a, wh = inventory._sku_id(u, "A"), inventory._warehouse_id(u, "HZ")
        b = inventory._sku_id(u, "B")
        inventory.reserve(u, [Reservation("order", i, wh, {a: 2, b: 3}) for i in range(3)])
    assert lows(engine) == [("A", "HZ", 4, 5)]


def test_the_setting_is_the_default_threshold(uow, engine, monkeypatch):
    setup_world(uow, skus={"A": {"HZ": 5}, "B": {"HZ": 5}})
    monkeypatch.setenv("LVYUE_LOW_STOCK_THRESHOLD", "2")
    get_settings.cache_clear()
    try:
        with uow() as u:
            # B's own threshold wins over the setting.
            inventory.set_low_stock_threshold(u, sku_code="B", warehouse_code="HZ", threshold=0)
            inventory.adjust_stock(u, sku_code="A", warehouse_code="HZ", quantity=-3, reason="x")
            inventory.adjust_stock(u, sku_code="B", warehouse_code="HZ", quantity=-3, reason="x")
    finally:
        get_settings.cache_clear()
    assert lows(engine) == [("A", "HZ", 2, 2)]
    with engine.connect() as conn:
        own = dict(
            conn.execute(
                sa.text(
                    "SELECT s.code, l.low_stock_threshold FROM inventory_stock_level l "
                    "JOIN catalog_sku s ON s.id = l.sku_id"
                )
            ).all()
        )
    assert own == {"A": None, "B": 0}
