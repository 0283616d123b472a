"""Parsing the next batch while the database writes this one (``channels.lookahead``): the
orders come out as they would without it, parse errors included, and nothing done ahead
outlives its batch."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from lvyue.channels import service
from lvyue.channels.adapters.base import PayloadError, RawOrder
from lvyue.channels.lookahead import ParseAhead
from lvyue.channels.models import RawOrderRecord
from lvyue.core import waiting
from lvyue.core.db import table_of
from lvyue.orders import normalise
from lvyue.orders import service as orders_service
from lvyue.orders.canonical import CanonicalOrder
from lvyue.orders.models import Order
from tests.factories import canonical, setup_world

RAW = table_of(RawOrderRecord)
ORDER = table_of(Order)


def _parse(raw: RawOrder) -> CanonicalOrder:
    if "lines" not in raw.payload:
        raise PayloadError("lines: the order has no lines")
    return CanonicalOrder.model_validate(raw.payload)


def _batches() -> list[list[RawOrder]]:
    """Three pulls' worth: good orders with varied receivers, a bad phone, a bad address, a
    payload that does not parse, and an order sent again unchanged in a later batch."""
    receivers: list[dict[str, Any]] = [
        {"province": "浙江省", "city": "杭州市", "district": "西湖区", "address": "文三路1号"},
        {"province": "广东省", "city": "广州市", "district": "天河区", "address": "体育西路2号"},
        {"address": "北京市朝阳区建国路3号"},
        {"province": "浙江省", "city": "杭州市", "district": "西湖区", "address": ""},
    ]
    batches = []
    for b in range(3):
        batch = []
        for i in range(6):
            doc = canonical(f"E{b}{i}", [("A", 1 + i % 2)])
            doc["receiver"] = {"name": "张三", "phone": "13812345678", **receivers[i % 4]}
            if i == 4:
                doc["receiver"]["phone"] = "12345"
            batch.append(RawOrder(doc["external_id"], None, doc))
        batch.append(RawOrder(f"BAD{b}", None, {"external_id": f"BAD{b}", "status": "paid"}))
        if b:
            batch.append(batches[0][0])  # known already: stored once, imported once
        batches.append(batch)
    return batches


def _outcome(uow, shop_id: int) -> dict[str, Any]:
    cols = [
        ORDER.c.external_id,
        ORDER.c.status,
        ORDER.c.addr_province,
        ORDER.c.addr_city,
        ORDER.c.addr_district,
        ORDER.c.addr_detail,
        ORDER.c.phone_number,
        ORDER.c.receiver_phone_hash,
        ORDER.c.address_issues,
        ORDER.c.content_hash,
    ]
    with uow(readonly=True) as u:
        orders = u.conn.execute(sa.select(*cols).where(ORDER.c.shop_id == shop_id)).all()
        raws = u.conn.execute(
            sa.select(RAW.c.external_id, RAW.c.status, RAW.c.error).where(RAW.c.shop_id == shop_id)
        ).all()
    return {
        "orders": sorted(tuple(r) for r in orders),
        "raws": sorted(tuple(r) for r in raws),
    }


def test_orders_parsed_ahead_are_the_orders_parsed_in_their_batch(uow, engine):
    setup_world(uow, skus={"A": {"HZ": 1000}}, shop="S1")
    with uow() as u:
        plain = orders_service.add_shop(u, code="S2", platform="taobao", name="对照店")
        ahead_shop = orders_service.shop_id(u, "S1")
    for batch in _batches():
        with uow() as u:
            service.ingest(u, plain, "S2", batch, "pull", _parse)
    with ParseAhead() as ahead:
        parse = ahead.parser(_parse)
        for batch in ahead.over(_batches(), lambda b: ((raw, _parse) for raw in b)):
            with uow() as u:
                service.ingest(u, ahead_shop, "S1", batch, "pull", parse)
    got, want = _outcome(uow, ahead_shop), _outcome(uow, plain)
    assert got == want
    assert len(got["orders"]) == 18 and sum(r[1] == "error" for r in got["raws"]) == 3
    assert not normalise._AHEAD  # nothing read ahead is left behind


def _wait_is_over() -> None:
    """Run the tasks handed to the waits, as a long enough wait would."""
    queue = waiting.work()
    while queue:
        queue.popleft()()


def test_what_is_done_ahead_is_taken_once_and_a_parse_error_is_raised_at_its_turn():
    good = RawOrder("E1", None, canonical("E1", [("A", 1)]))
    bad = RawOrder("BAD", None, {"external_id": "BAD"})
    known = RawOrder("E2", None, canonical("E2", [("A", 1)], receiver={"address": "上海市"}))
    with ParseAhead() as ahead:
        ahead.prepare((raw, _parse) for raw in (good, bad, known))
        _wait_is_over()
        parse = ahead.parser(_parse)
        first = parse(good)
        # The order parsed ahead, and its receiver's reading, each handed out once.
        reading = normalise._AHEAD[normalise._reading_key(first.receiver)]
        assert normalise.normalise_receiver(first.receiver) is reading
        again = normalise.normalise_receiver(first.receiver)
        assert again is not reading and again == reading
        assert parse(good) is not first and parse(good) == first
        with pytest.raises(PayloadError, match="lines"):
            parse(bad)
        ahead.forget([good, bad, known])  # E2 was known already: its reading goes
        assert not normalise._AHEAD
        ahead.prepare([(good, _parse)])
    assert waiting.work() is None and not normalise._AHEAD  # the end drops what is left
