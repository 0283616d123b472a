"""Raw payload storage: verbatim, once per content, and safe when another writer races it."""

from __future__ import annotations

import sqlalchemy as sa

from lvyue.channels import service
from lvyue.channels.adapters.base import RawOrder
from lvyue.channels.models import RawOrderRecord
from lvyue.core.db import table_of
from lvyue.orders import service as orders_service

RAW = table_of(RawOrderRecord)


def _raw(ext: str, note: str = "") -> RawOrder:
    return RawOrder(ext, None, {"tid": ext, "buyer_memo": note, "receiver": "张三 杭州"})


def _shop(uow) -> int:
    with uow() as u:
        return orders_service.add_shop(u, code="TB", platform="taobao", name="淘宝店")


def test_same_content_is_stored_once_changed_content_again(uow):
    sid = _shop(uow)
    with uow() as u:
        first = service.store_raw(u, sid, [_raw("T1"), _raw("T2"), _raw("T1")], "pull")
    assert [r.external_id for _, r in first] == ["T1", "T2"]  # the repeat in the batch too
    with uow() as u:
        again = service.store_raw(u, sid, [_raw("T1"), _raw("T2", "请尽快发货")], "webhook")
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
        service.store_raw(u, sid, [_raw("T1")], "pull")
    # The racing writer stored T1 after this batch looked for known payloads: the batch's
    # bulk insert then meets the unique key and falls back to skipping the known ones.
    monkeypatch.setattr(service, "_known_payloads", lambda *a, **k: set())
    with uow() as u:
        stored = service.store_raw(u, sid, [_raw("T1"), _raw("T3")], "webhook")
    assert [r.external_id for _, r in stored] == ["T3"]
    with uow(readonly=True) as u:
        got = u.conn.execute(sa.select(RAW.c.external_id).order_by(RAW.c.id)).scalars().all()
    assert got == ["T1", "T3"]
