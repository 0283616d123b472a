from __future__ import annotations

import hashlib
import json

from lvyue.orders import queries, service
from tests.conftest import count
from tests.factories import canonical, import_dicts, setup_world

GOOD = canonical("T1001", [("A", 2)])


def lines_of(*docs: object) -> list[tuple[int, str]]:
    return [
        (i, d if isinstance(d, str) else json.dumps(d, ensure_ascii=False))
        for i, d in enumerate(docs, 1)
    ]


def test_good_lines_are_kept_and_every_bad_line_is_named(uow, engine):
    setup_world(uow, skus={"A": {"HZ": 5}})
    missing_lines = {k: v for k, v in canonical("T3", [("A", 1)]).items() if k != "lines"}
    batch = lines_of(
        GOOD,
        '{"external_id": "T2", "status": "paid", ',  # broken JSON
        missing_lines,
        canonical("T4", [("A", -1)]),  # negative quantity
        canonical("T5", [("A", 1)], status="shipped"),  # unknown status
        canonical("T6", [("A", 1)], created_at="2026-11-11 00:00:05"),  # no time zone
        canonical("T7", [("A", 1)]),
    )
    with uow() as u:
        report = service.import_orders(u, "S1", batch)
    assert (report.imported, report.updated, report.unchanged) == (2, 0, 0)
    rejected = dict(report.rejected)
    assert sorted(rejected) == [2, 3, 4, 5, 6]
    assert rejected[2].startswith("invalid JSON")
    assert "lines: Field required" in rejected[3]
    assert "lines.0.quantity" in rejected[4] and "greater than 0" in rejected[4]
    assert rejected[5].startswith("status:")
    assert rejected[6].startswith("created_at:") and "timezone" in rejected[6]
    assert count(engine, "orders_order") == 2

    with uow() as u:  # the same file again changes nothing
        again = service.import_orders(u, "S1", batch)
    assert (again.imported, again.updated, again.unchanged, len(again.rejected)) == (0, 0, 2, 5)
    assert count(engine, "orders_order") == 2
    assert count(engine, "orders_order_line") == 2
    assert count(engine, "orders_order_history") == 2


def test_canonical_fields_are_stored_with_exact_money_and_utc_times(uow):
    setup_world(uow, skus={"A": {"HZ": 5}})
    import_dicts(uow, [canonical("T1", [("A", 2), ("B", 1)], shipping_fee="8.00", discount="5.00")])
    with uow(readonly=True) as u:
        order = queries.get_order(u, queries.list_orders(u)[0]["id"])
    assert str(order["goods_amount"]) == "177.00"
    assert str(order["total_amount"]) == "180.00"
    assert order["ordered_at"].isoformat() == "2026-11-10T16:00:05+00:00"
    assert order["receiver_address"] == "余杭塘路866号"
    assert [ln["sku"] for ln in order["lines"]] == ["A", "B"]


def test_same_order_twice_in_one_batch_is_one_order(uow, engine):
    setup_world(uow, skus={"A": {"HZ": 5}})
    report = import_dicts(uow, [GOOD, GOOD, {**GOOD, "seller_memo": "加急"}])
    assert (report.imported, report.unchanged, report.updated) == (1, 1, 1)
    assert count(engine, "orders_order") == 1
    with uow(readonly=True) as u:
        assert queries.get_order(u, queries.list_orders(u)[0]["id"])["seller_memo"] == "加急"


def test_unknown_shop_is_a_clear_error(uow):
    setup_world(uow, skus={"A": {}})
    with uow() as u:
        try:
            service.import_orders(u, "NOPE", lines_of(GOOD))
        except Exception as exc:
            assert getattr(exc, "code", "") == "unknown_shop"
        else:
            raise AssertionError("import into an unknown shop must fail")


def test_the_content_hash_of_an_order_never_changes_between_releases():
    # Orders stored by earlier releases carry this digest: a new one for the same content
    # would make every re-pulled order look changed.
    order = service.parse_canonical(json.dumps(GOOD, ensure_ascii=False))
    text = order.model_dump_json()
    assert "余杭塘路866号" in text and '"unit_price":"59.00"' in text
    assert service.content_hash(order) == hashlib.md5(text.encode("utf-8")).hexdigest()
    assert service.content_hash(order.model_copy(update={"seller_memo": "加急"})) != (
        service.content_hash(order)
    )
