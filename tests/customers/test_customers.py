from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lvyue.customers.identity import BuyerFacts, phone_key
from lvyue.customers.service import link_customers
from tests.factories import canonical, import_dicts, setup_world


@pytest.mark.parametrize(
    ("phone", "key"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("17012345678-1234", None),  # shared privacy number: identifies nobody
        ("17012345678转1234", None),
        ("138****5678", None),
        ("0571-88886666", None),
        ("", None),
    ],
)
def test_phone_key(phone, key):
    assert phone_key(phone) == key


def facts(platform: str, buyer: str | None, phone: str | None, amount: str = "10.00", day: int = 1):
    return BuyerFacts(
        platform, buyer, "nick", phone, datetime(2026, 11, day, tzinfo=UTC), Decimal(amount)
    )


def test_one_profile_per_buyer_across_shops(uow):
    setup_world(uow, skus={})
    with uow() as u:
        ids = link_customers(
            u,
            [
                facts("taobao", "b-1", "13800000001", "10.00", 3),
                facts("jd", "j-9", "13800000001", "20.00", 1),  # same phone on another platform
                facts("taobao", "b-1", None, "5.00", 5),  # same buyer, no phone
                facts("douyin", "d-1", "17012345678-1234"),  # virtual number: a new profile
                facts("manual", None, None),  # nothing to link by
            ],
        )
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] not in (None, ids[0])
    assert ids[4] is None
    with uow(readonly=True) as u:
        row = u.conn.execute(
            sa.text(
                "SELECT order_count, total_amount, first_order_at, last_order_at "
                "FROM customers_customer WHERE id = :i"
            ),
            {"i": ids[0]},
        ).one()
    assert row.order_count == 3 and row.total_amount == 3500
    with uow() as u:  # a later batch adds to the same profile and keeps first/last right
        assert link_customers(u, [facts("jd", "j-9", None, "1.00", 9)]) == [ids[0]]
        row = u.conn.execute(
            sa.text("SELECT order_count, last_order_at FROM customers_customer WHERE id = :i"),
            {"i": ids[0]},
        ).one()
    assert row.order_count == 4
    assert str(row.last_order_at).startswith("2026-11-09")
    with uow() as u:  # an older order moves first_order_at back, not last_order_at
        link_customers(u, [facts("jd", "j-9", None, "1.00", 1)])
        first, last = u.conn.execute(
            sa.text("SELECT first_order_at, last_order_at FROM customers_customer WHERE id = :i"),
            {"i": ids[0]},
        ).one()
    assert str(first).startswith("2026-11-01") and str(last).startswith("2026-11-09")


def test_imported_orders_are_linked_to_customers(uow):
    setup_world(uow, skus={"A": {"HZ": 5}})
    import_dicts(uow, [canonical("O1", [("A", 1)]), canonical("O2", [("A", 1)])])
    with uow(readonly=True) as u:
        cids = {r[0] for r in u.conn.execute(sa.text("SELECT customer_id FROM orders_order"))}
        count = u.conn.execute(sa.text("SELECT order_count FROM customers_customer")).scalar_one()
    assert len(cids) == 1 and None not in cids and count == 2
