"""The event log: live readers see every committed row once, even when ids commit out of
order, and the bulk pipeline writes it with one statement per batch."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from lvyue.core import eventlog
from lvyue.core.clock import now
from lvyue.core.eventlog import Cursor
from lvyue.orders import service as orders
from tests.factories import canonical, import_dicts, setup_world


def test_a_cursor_passes_ids_on_in_order():
    c = Cursor(0)
    assert c.accept([1, 2, 3], now=0) == [(1, 1), (2, 2), (3, 3)]
    assert c.accept([3, 2], now=1) == []  # seen before
    assert c.resume_id == 3 and c.open_gaps == []


def test_a_late_commit_is_picked_up_and_resume_never_passes_a_gap():
    c = Cursor(10)
    # 12 and 14 committed; 11 and 13 are still in flight.
    assert c.accept([12, 14], now=0) == [(12, 10), (14, 10)]
    assert c.open_gaps == [(11, 11), (13, 13)]
    assert c.accept([13], now=1) == [(13, 10)]
    assert c.accept([11, 15], now=2) == [(11, 14), (15, 15)]
    assert c.open_gaps == [] and c.resume_id == 15


def test_a_gap_that_never_fills_expires():
    c = Cursor(0, grace=10)
    assert c.accept([1, 5], now=0) == [(1, 1), (5, 1)]
    assert c.open_gaps == [(2, 4)]
    assert c.accept([3], now=5) == [(3, 1)]
    assert c.open_gaps == [(2, 2), (4, 4)]
    assert c.accept([], now=11) == []
    assert c.open_gaps == [] and c.resume_id == 5


def _entry(n: int, at=None) -> dict:
    return {
        "event_id": f"evt_{n}",
        "type": "order.status_changed",
        "shop": "S1",
        "warehouse": None,
        "order_id": n,
        "sku": None,
        "payload": {"n": n},
        "at": at or now(),
    }


def test_read_returns_new_rows_and_late_ones_in_gaps(uow, engine):
    with uow() as u:
        eventlog.append(u, [_entry(n) for n in range(1, 6)])
    with engine.connect() as conn:
        ids = [r.id for r in eventlog.read(conn, 0)]
        assert len(ids) == 5
        first = ids[0]
        got = eventlog.read(conn, first + 3, gaps=[(first + 1, first + 1)])
        assert [r.id for r in got] == [first + 1, first + 4]
        assert [r.id for r in eventlog.read(conn, first, limit=2)] == [first + 1, first + 2]
        assert eventlog.latest_id(conn) == first + 4


def test_prune_keeps_recent_rows_and_ids_are_never_reused(uow, engine):
    old = now() - timedelta(days=8)
    with uow() as u:
        eventlog.append(u, [_entry(1, old), _entry(2, old), _entry(3)])
    with engine.connect() as conn:
        top = eventlog.latest_id(conn)
    with uow() as u:
        assert eventlog.prune(u, now() - timedelta(days=7)) == 2
        assert eventlog.prune(u, now() + timedelta(seconds=1)) == 1  # now empty
        eventlog.append(u, [_entry(4)])
    with engine.connect() as conn:
        assert eventlog.latest_id(conn) > top  # a reader at `top` still sees the new row


def test_the_pipeline_writes_the_log_with_one_statement_per_status_batch(uow, engine, monkeypatch):
    setup_world(uow, skus={"A": {"HZ": 20}})
    import_dicts(uow, [canonical(f"E{i}", [("A", 1)]) for i in range(30)])
    writes: list[int] = []
    real = eventlog.insert_many

    def counting(conn, table, rows):  # the real bulk write (INSERT, or COPY on PostgreSQL)
        writes.append(len(rows))
        real(conn, table, rows)

    monkeypatch.setattr(eventlog, "insert_many", counting)
    with uow() as u:
        report = orders.process_orders(u, limit=500)
    assert (report.allocated, report.held) == (20, 10)
    # One statement for the whole batch (the 20 allocated, the 10 held, their status changes
    # and order.held notices together): the count does not grow with the batch.
    assert writes == [40]
    with engine.connect() as conn:
        types = conn.execute(
            sa.text("SELECT type, count(*) FROM core_event_log GROUP BY type ORDER BY type")
        ).all()
    assert [tuple(t) for t in types] == [("order.held", 10), ("order.status_changed", 60)]
