from __future__ import annotations

import pytest
import sqlalchemy as sa

from lvyue.core.errors import InsufficientStock, NotFound, ValidationError
from lvyue.inventory import queries, service
from lvyue.inventory.ledger import Level, MoveKind, deltas
from lvyue.inventory.models import StockLevel
from tests.factories import setup_world


def ids(make_uow, sku: str, wh: str) -> tuple[int, int]:
    with make_uow() as uow:
        return service._sku_id(uow, sku), service._warehouse_id(uow, wh)


def level(make_uow, sku: str) -> dict[str, dict[str, int]]:
    with make_uow(readonly=True) as uow:
        return {r["warehouse"]: r for r in queries.stock_levels(uow, sku)}


def test_deltas_and_levels_are_pure_rules():
    assert deltas(MoveKind.RESERVE, 3) == (0, 3)
    assert deltas(MoveKind.SHIP, 2) == (-2, -2)
    assert deltas(MoveKind.ADJUST, -4) == (-4, 0)
    with pytest.raises(ValueError):
        deltas(MoveKind.RELEASE, 0)
    assert Level(5, 2).apply(0, 3).available == 0
    assert not Level(1, 2).valid


def test_adjust_writes_ledger_and_never_goes_below_zero_or_reserved(uow):
    setup_world(uow, skus={"A": {"HZ": 10}})
    with uow() as u:
        assert service.adjust_stock(
            u, sku_code="A", warehouse_code="HZ", quantity=-4, reason="damaged"
        ) == {"on_hand": 6, "reserved": 0}
    with pytest.raises(InsufficientStock) as exc, uow() as u:
        service.adjust_stock(u, sku_code="A", warehouse_code="HZ", quantity=-7, reason="count")
    assert exc.value.details["on_hand"] == 6
    sku, wh = ids(uow, "A", "HZ")
    with uow() as u:
        assert service.reserve(u, [service.Reservation("order", 1, wh, {sku: 5})]) == [True]
    with pytest.raises(InsufficientStock), uow() as u:
        service.adjust_stock(u, sku_code="A", warehouse_code="HZ", quantity=-2, reason="count")
    assert level(uow, "A")["HZ"] == {
        "sku": "A",
        "warehouse": "HZ",
        "on_hand": 6,
        "reserved": 5,
        "available": 1,
    }
    with uow(readonly=True) as u:
        assert queries.verify_levels(u) == []


def test_adjust_rejects_bad_input_with_named_field(uow):
    setup_world(uow, skus={"A": {}})
    with pytest.raises(ValidationError) as exc, uow() as u:
        service.adjust_stock(u, sku_code="A", warehouse_code="HZ", quantity=3, reason=" ")
    assert exc.value.field == "reason"
    with pytest.raises(NotFound) as nf, uow() as u:
        service.adjust_stock(u, sku_code="NOPE", warehouse_code="HZ", quantity=3, reason="x")
    assert nf.value.code == "unknown_sku"
    with pytest.raises(NotFound) as nf, uow() as u:
        service.adjust_stock(u, sku_code="A", warehouse_code="XX", quantity=3, reason="x")
    assert nf.value.code == "unknown_warehouse"


def test_reserve_is_all_or_nothing_per_request_and_in_order(uow):
    setup_world(uow, skus={"A": {"HZ": 3}, "B": {"HZ": 1}})
    a, wh = ids(uow, "A", "HZ")
    b, _ = ids(uow, "B", "HZ")
    reqs = [
        service.Reservation("order", 1, wh, {a: 2, b: 1}),
        service.Reservation("order", 2, wh, {a: 1, b: 1}),  # B is gone: nothing taken
        service.Reservation("order", 3, wh, {a: 1}),
        service.Reservation("order", 4, wh, {a: 1}),  # A is gone
    ]
    with uow() as u:
        assert service.reserve(u, reqs) == [True, False, True, False]
    levels = level(uow, "A")["HZ"], level(uow, "B")["HZ"]
    assert [(x["on_hand"], x["reserved"]) for x in levels] == [(3, 3), (1, 1)]
    with uow() as u:
        assert service.outstanding(u, "order", [1, 2, 3]) == {
            1: {(a, wh): 2, (b, wh): 1},
            3: {(a, wh): 1},
        }
        assert service.release(u, "order", [1], reason="cancel") == 3
        assert service.release(u, "order", [1], reason="cancel again") == 0  # nothing twice
    assert level(uow, "A")["HZ"]["reserved"] == 1
    with uow(readonly=True) as u:
        assert queries.verify_levels(u) == []


def test_database_refuses_an_oversold_level_whatever_the_code_does(uow, engine):
    setup_world(uow, skus={"A": {"HZ": 1}})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.update(StockLevel.__table__).values(reserved=2))


def test_a_plan_on_stale_levels_is_refused_by_the_conditional_update(uow):
    # The pipeline plans on levels it locked; were they stale, the update itself refuses
    # (one statement per level on SQLite, one for the batch on PostgreSQL) and nothing of
    # the batch stays, while an exact plan for several levels goes through.
    setup_world(uow, skus={"A": {"HZ": 3, "GZ": 2}, "B": {"HZ": 4}})
    a_hz, b_hz, a_gz = ids(uow, "A", "HZ"), ids(uow, "B", "HZ"), ids(uow, "A", "GZ")
    stale = {a_hz: 9, b_hz: 4}
    with pytest.raises(InsufficientStock) as exc, uow() as u:
        service.reserve(
            u,
            [
                service.Reservation("order", 1, a_hz[1], {a_hz[0]: 2, b_hz[0]: 1}),
                service.Reservation("order", 2, a_hz[1], {a_hz[0]: 5}),
            ],
            locked=stale,
        )
    assert exc.value.details == {"expected": 2, "updated": 1}
    assert level(uow, "A")["HZ"]["reserved"] == 0 and level(uow, "B")["HZ"]["reserved"] == 0
    with uow() as u:
        done = service.reserve(
            u,
            [
                service.Reservation("order", 3, a_hz[1], {a_hz[0]: 3, b_hz[0]: 4}),
                service.Reservation("order", 4, a_gz[1], {a_gz[0]: 2}),
            ],
            locked={a_hz: 3, b_hz: 4, a_gz: 2},
        )
    assert done == [True, True]
    assert [level(uow, "A")[w]["available"] for w in ("HZ", "GZ")] == [0, 0]
    assert level(uow, "B")["HZ"]["available"] == 0
    with uow(readonly=True) as u:
        assert queries.verify_levels(u) == []


def test_verify_reports_a_level_that_drifted_from_the_ledger(uow, engine):
    setup_world(uow, skus={"A": {"HZ": 5}})
    with engine.begin() as conn:  # simulate a bad write that bypassed the ledger
        conn.execute(sa.update(StockLevel.__table__).values(on_hand=7))
    with uow(readonly=True) as u:
        diffs = queries.verify_levels(u)
    assert [(d.sku, d.on_hand, d.ledger_on_hand) for d in diffs] == [("A", 7, 5)]
