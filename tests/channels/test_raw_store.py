"""Raw payload storage: verbatim, once per content, and safe when another writer races it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lvyue.channels import service
from lvyue.channels.adapters.base import PayloadError, RawOrder
from lvyue.channels.models import RawOrderRecord
from lvyue.core.db import table_of
from lvyue.orders import queries
from lvyue.orders import service as orders_service
from lvyue.orders.canonical import CanonicalOrder
from tests.factories import canonical, setup_world

RAW = table_of(RawOrderRecord)


def _raw(ext: str, note: str = "") -> RawOrder:
    return RawOrder(ext, None, {"tid": ext, "buyer_memo": note, "receiver": "张三 杭州"})


def _unread(raw: RawOrder) -> CanonicalOrder:
    raise PayloadError("not read in these tests")


def _canonical(raw: RawOrder) -> CanonicalOrder:
    return CanonicalOrder.model_validate(raw.payload)


def _store(u, sid: int, raws: list[RawOrder], source: str) -> list[tuple[int, RawOrder]]:
    return service.ingest(u, sid, "TB", raws, source, _unread).stored


def _shop(uow) -> int:
    with uow() as u:
        return orders_service.add_shop(u, code="TB", platform="taobao", name="淘宝店")


def test_same_content_is_stored_once_changed_content_again(uow):
    sid = _shop(uow)
    with uow() as u:
        first = _store(u, sid, [_raw("T1"), _raw("T2"), _raw("T1")], "pull")
    assert [r.external_id for _, r in first] == ["T1", "T2"]  # the repeat in the batch too
    with uow() as u:
        again = _store(u, sid, [_raw("T1"), _raw("T2", "请尽快发货")], "webhook")
    assert [r.external_id for _, r in again] == ["T2"]
    with uow(readonly=True) as u:
        rows = u.conn.execute(sa.select(RAW).order_by(RAW.c.id)).all()
    assert [(r.external_id, r.source) for r in rows] == [
        ("T1", "pull"),
        ("T2", "pull"),
        ("T2", "webhook"),
    ]
    assert [r.id for r in rows] == [first[0][0], first[1][0], again[0][0]]
    assert '"buyer_memo":"请尽快发货"' in rows[2].payload  # verbatim UTF-8 text, sorted keys


def test_a_payload_stored_by_a_racing_writer_is_skipped_not_failed(uow, monkeypatch):
    sid = _shop(uow)
    with uow() as u:
        _store(u, sid, [_raw("T1")], "pull")
    # The racing writer stored T1 after this batch looked for known payloads: the batch's
    # bulk insert then meets the unique key and falls back to skipping the known ones.
    monkeypatch.setattr(service, "_known_payloads", lambda *a, **k: set())
    with uow() as u:
        stored = _store(u, sid, [_raw("T1"), _raw("T3")], "webhook")
    assert [r.external_id for _, r in stored] == ["T3"]
    with uow(readonly=True) as u:
        got = u.conn.execute(
            sa.select(RAW.c.external_id, RAW.c.status, RAW.c.error).order_by(RAW.c.id)
        ).all()
    # Parsed before the fallback stored it: T3 keeps its outcome (here, that it did not parse).
    assert [tuple(r) for r in got] == [
        ("T1", "error", "PayloadError: not read in these tests"),
        ("T3", "error", "PayloadError: not read in these tests"),
    ]


def test_payloads_and_their_orders_commit_together_so_a_retry_after_a_failure_imports(
    uow, monkeypatch
):
    setup_world(uow, skus={"A": {"HZ": 5}})
    payload = canonical("C1", [("A", 1)])
    with uow(readonly=True) as u:
        sid = orders_service.shop_id(u, "S1")

    def failing(*args, **kwargs):
        raise RuntimeError("database went away")

    real = orders_service.import_canonical
    monkeypatch.setattr(orders_service, "import_canonical", failing)
    with pytest.raises(RuntimeError), uow() as u:
        service.ingest(u, sid, "S1", [RawOrder("C1", None, payload)], "webhook", _canonical)
    with uow(readonly=True) as u:  # nothing half done: no payload without its order
        assert u.conn.execute(sa.select(sa.func.count()).select_from(RAW)).scalar() == 0

    # The platform sends it again: the payload is new to us and its order is imported.
    monkeypatch.setattr(orders_service, "import_canonical", real)
    with uow() as u:
        got = service.ingest(u, sid, "S1", [RawOrder("C1", None, payload)], "webhook", _canonical)
    assert len(got.stored) == 1 and got.report.imported == 1
    with uow(readonly=True) as u:
        rows = u.conn.execute(sa.select(RAW.c.status, RAW.c.error)).all()
        orders = queries.list_orders(u)
    assert [tuple(r) for r in rows] == [("imported", "")]
    assert [o["external_id"] for o in orders] == ["C1"]


def test_a_payload_that_does_not_parse_is_stored_with_the_reason_beside_the_good_ones(uow):
    setup_world(uow, skus={"A": {"HZ": 5}})
    with uow(readonly=True) as u:
        sid = orders_service.shop_id(u, "S1")
    raws = [
        RawOrder("G1", None, canonical("G1", [("A", 1)])),
        RawOrder("B1", None, {"external_id": "B1"}),
        RawOrder("G2", None, canonical("G2", [("A", 2)])),
    ]
    with uow() as u:
        got = service.ingest(u, sid, "S1", raws, "pull", _canonical)
    assert got.report.imported == 2
    [(bad_id, reason)] = got.report.rejected
    with uow(readonly=True) as u:
        rows = u.conn.execute(
            sa.select(RAW.c.id, RAW.c.external_id, RAW.c.status, RAW.c.error).order_by(RAW.c.id)
        ).all()
    assert [(r.external_id, r.status) for r in rows] == [
        ("G1", "imported"),
        ("B1", "error"),
        ("G2", "imported"),
    ]
    assert rows[1].id == bad_id and rows[1].error == reason and "status" in reason
