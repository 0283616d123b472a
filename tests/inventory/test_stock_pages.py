"""The stock pages' reads (levels paged by keyset, a SKU's levels) and the count-to
adjustment."""

from __future__ import annotations

import pytest

from lvyue.core.errors import InsufficientStock, NotFound, ValidationError
from lvyue.inventory import queries, service
from tests.factories import setup_world


def test_count_stock_books_the_difference_on_the_ledger(uow):
    setup_world(uow, skus={"A": {"HZ": 10}})
    with uow(actor="wh") as u:
        level = service.count_stock(
            u, sku_code="A", warehouse_code="HZ", counted=7, reason="月度盘点"
        )
    assert level == {"on_hand": 7, "reserved": 0, "delta": -3}
    with uow(readonly=True) as u:
        newest = queries.stock_ledger(u, sku="A", limit=1)["items"][0]
        assert queries.verify_levels(u) == []
    assert (newest["on_hand_delta"], newest["reason"], newest["actor"]) == (-3, "月度盘点", "wh")
    # A SKU with no level yet in a warehouse: counted from zero.
    with uow() as u:
        level = service.count_stock(u, sku_code="A", warehouse_code="GZ", counted=4, reason="found")
    assert level["delta"] == 4 and level["on_hand"] == 4


def test_count_stock_refuses_what_it_cannot_book(uow):
    setup_world(uow, skus={"A": {"HZ": 5}})
    for counted, reason, field in ((-1, "x", "counted"), (3, " ", "reason"), (5, "x", "counted")):
        with pytest.raises(ValidationError) as exc, uow() as u:
            service.count_stock(
                u, sku_code="A", warehouse_code="HZ", counted=counted, reason=reason
            )
        assert exc.value.field == field
    with uow() as u:
        sku = service._sku_id(u, "A")
        wh = service._warehouse_id(u, "HZ")
        service.reserve(u, [service.Reservation("order", 1, wh, {sku: 4})])
    with pytest.raises(InsufficientStock), uow() as u:
        service.count_stock(u, sku_code="A", warehouse_code="HZ", counted=2, reason="count")
    with pytest.raises(NotFound), uow() as u:
        service.count_stock(u, sku_code="NOPE", warehouse_code="HZ", counted=2, reason="count")


def test_level_pages_walk_by_sku_code_both_ways_with_filters(uow):
    skus = {f"K{n:02d}": {"HZ": n, "GZ": 100} for n in range(1, 8)}
    setup_world(uow, skus=skus)
    with uow() as u:
        service.set_low_stock_threshold(u, sku_code="K03", warehouse_code="HZ", threshold=5)
        service.set_low_stock_threshold(u, sku_code="K06", warehouse_code="HZ", threshold=5)

    def page(**kw):
        with uow(readonly=True) as u:
            return queries.level_page(u, limit=4, **kw)

    first = page()
    assert [(r["sku"], r["warehouse"]) for r in first["items"]] == [
        ("K01", "HZ"),
        ("K01", "GZ"),
        ("K02", "HZ"),
        ("K02", "GZ"),
    ]
    assert first["prev"] is None and first["next"]
    second = page(after=first["next"])
    assert [r["sku"] for r in second["items"]] == ["K03", "K03", "K04", "K04"]
    assert second["prev"] and second["next"]
    back = page(before=second["prev"])
    assert back["items"] == first["items"]
    assert back["prev"] is None and back["next"] == first["next"]
    third = page(after=second["next"])
    fourth = page(after=third["next"])
    assert [r["sku"] for r in fourth["items"]] == ["K07", "K07"] and fourth["next"] is None
    # Low stock: K03 (3 <= 5) is low, K06 (6 > 5) is not; no default threshold elsewhere.
    low = page(low_only=True)["items"]
    assert [(r["sku"], r["warehouse"], r["low"]) for r in low] == [("K03", "HZ", True)]
    k06 = page(search="K06")["items"]
    assert {r["warehouse"]: (r["threshold"], r["low"]) for r in k06} == {
        "HZ": (5, False),
        "GZ": (None, False),
    }
    # A merchant default applies where a level has none of its own.
    assert {
        r["sku"] for r in page(low_only=True, default_threshold=2, warehouse="HZ")["items"]
    } == {
        "K01",
        "K02",
        "K03",
    }
    # Search: the start of the code or part of the name; scope and warehouse narrow.
    assert {r["sku"] for r in page(search="商品 K07")["items"]} == {"K07"}
    assert {r["warehouse"] for r in page(scope=["GZ"])["items"]} == {"GZ"}
    assert page(search="100%")["items"] == []
    with pytest.raises(ValidationError):
        page(after="garbage")


def test_sku_card_and_levels(uow):
    setup_world(uow, skus={"A": {"HZ": 3, "GZ": 9}})
    with uow(readonly=True) as u:
        assert queries.sku_card(u, "A")["name"] == "商品 A"
        levels = queries.sku_levels(u, "A", default_threshold=5)
        assert [(r["warehouse"], r["available"], r["low"]) for r in levels] == [
            ("HZ", 3, True),
            ("GZ", 9, False),
        ]
        assert [r["warehouse"] for r in queries.sku_levels(u, "A", scope=["GZ"])] == ["GZ"]
        with pytest.raises(NotFound):
            queries.sku_card(u, "NOPE")
