"""Notices name each order by shop, external id and warehouse. The bulk paths (import and the
pipeline) carry these in the event; every other path has them read. Both must name the order
as it stands after the change."""

from __future__ import annotations

import sqlalchemy as sa

from lvyue.orders import service as orders
from lvyue.webhooks import handlers
from tests.factories import canonical, import_dicts, setup_world
from tests.webhooks.helpers import log_rows


def _orders_table(engine) -> dict[int, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT o.id, o.external_id, w.code FROM orders_order o "
                "LEFT JOIN inventory_warehouse w ON w.id = o.warehouse_id"
            )
        ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_bulk_paths_carry_the_order_refs_and_need_no_read_back(uow, engine, monkeypatch):
    # A only in HZ, B only in GZ (the second warehouse), C nowhere: allocated to HZ, to GZ, held.
    setup_world(uow, skus={"A": {"HZ": 5}, "B": {"GZ": 5}, "C": {}})
    read: list[int] = []
    real = handlers._orders

    def counting(u, ids):
        read.extend(ids)
        return real(u, ids)

    monkeypatch.setattr(handlers, "_orders", counting)
    import_dicts(uow, [canonical("H1", [("A", 1)]), canonical("G1", [("B", 2)])])
    import_dicts(uow, [canonical("X1", [("C", 1)])])
    with uow() as u:
        report = orders.process_orders(u, limit=500)
    assert (report.allocated, report.held) == (2, 1)
    assert read == []  # neither the import nor the pipeline read their orders back

    now_ = _orders_table(engine)
    by_ext = {ext: oid for oid, (ext, _) in now_.items()}
    changed = [r for r in log_rows(engine, "order.status_changed")]
    seen = {(r.payload["external_id"], r.payload["to"]): r for r in changed}
    assert set(seen) == {
        ("H1", "pending_review"),
        ("G1", "pending_review"),
        ("X1", "pending_review"),
        ("H1", "allocated"),
        ("G1", "allocated"),
        ("X1", "held"),
    }
    for (ext, to), row in seen.items():
        assert row.shop == row.payload["shop"] == "S1"
        assert row.order_id == row.payload["order_id"] == by_ext[ext]
        # On import no warehouse yet; once allocated the one chosen; held: none.
        want = now_[by_ext[ext]][1] if to == "allocated" else None
        assert row.warehouse == row.payload["warehouse"] == want
    assert seen[("H1", "allocated")].warehouse == "HZ"
    assert seen[("G1", "allocated")].warehouse == "GZ"
    [held] = log_rows(engine, "order.held")
    assert held.payload["external_id"] == "X1" and held.payload["holds"]


def test_other_paths_have_the_refs_read(uow, engine, monkeypatch):
    setup_world(uow, skus={"A": {"HZ": 5}})
    import_dicts(uow, [canonical("H1", [("A", 1)])])
    with uow() as u:
        orders.process_orders(u, limit=500)
    oid = next(iter(_orders_table(engine)))
    read: list[int] = []
    real = handlers._orders
    monkeypatch.setattr(handlers, "_orders", lambda u, ids: read.extend(ids) or real(u, ids))
    with uow() as u:
        orders.cancel_order(u, oid, reason="买家取消")
    assert read == [oid]
    last = log_rows(engine, "order.status_changed")[-1]
    assert last.payload["to"] == "cancelled"
    # Cancelling releases the stock; the notice names where the order had been allocated.
    assert (last.payload["external_id"], last.shop, last.warehouse) == ("H1", "S1", "HZ")
