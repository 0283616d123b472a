"""Reference data kept between units of work while its revision token stays the same: the
carrier services and rate tables the pipeline reads at every batch."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lvyue.core import revisions
from lvyue.logistics import queries, service
from lvyue.logistics.service import ServiceSpec
from tests.conftest import _wipe


def _rate(price: str) -> dict[str, str | None]:
    return {
        "service": "SF-STD",
        "origin_province": "浙江省",
        "dest_province": "广东省",
        "first_weight_g": "1000",
        "first_price": price,
        "additional_unit_g": "1000",
        "additional_price": "2.00",
    }


def test_cached_reloads_only_when_the_token_changes(uow) -> None:
    loads = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    def set_token(u, name: str, token: int) -> None:
        u.conn.execute(sa.delete(revisions.REVISION).where(revisions.REVISION.c.name == name))
        u.conn.execute(sa.insert(revisions.REVISION).values(name=name, token=token))

    with uow() as u:
        assert revisions.cached(u, "test.kind", load) == 1
    with uow() as u:
        assert revisions.cached(u, "test.kind", load) == 1  # kept
        set_token(u, "test.kind", 7)
        assert revisions.cached(u, "test.kind", load) == 2  # the writer sees its own change
    with uow() as u:
        assert revisions.cached(u, "test.kind", load) == 2
        set_token(u, "other.kind", 8)
        assert revisions.cached(u, "test.kind", load) == 2  # another kind's change
    assert len(loads) == 2


def test_services_follow_every_carrier_and_rate_change(uow, engine: Engine) -> None:
    with uow() as u:
        service.add_carrier(u, code="SF", name="顺丰", services=[ServiceSpec("SF-STD", "标快")])
        service.import_rates(u, [(2, _rate("12.00"))])
    with uow(readonly=True) as u:
        (sf,) = queries.load_services(u)
    assert sf.rates[("浙江省", "广东省")].first_price == Decimal("12.00")
    with uow(readonly=True) as u:
        assert queries.load_services(u) is queries.load_services(u)  # one copy while unchanged
    with uow() as u:  # a new price, as the settings page or `lvyue rates import` writes it
        service.import_rates(u, [(2, _rate("15.00"))])
    with uow(readonly=True) as u:
        (sf,) = queries.load_services(u)
    assert sf.rates[("浙江省", "广东省")].first_price == Decimal("15.00")
    with uow() as u:
        service.add_service(u, carrier_code="SF", spec=ServiceSpec("SF-COLD", "冷运"))
    with uow(readonly=True) as u:
        assert [s.service_code for s in queries.load_services(u)] == ["SF-COLD", "SF-STD"]
    with uow() as u:  # written by hand, past the services: the triggers still see it
        u.conn.execute(
            sa.text("UPDATE logistics_service SET active = false WHERE code = 'SF-COLD'")
        )
    with uow(readonly=True) as u:
        assert [s.service_code for s in queries.load_services(u)] == ["SF-STD"]
    with uow() as u:
        u.conn.execute(sa.text("DELETE FROM logistics_rate"))
    with uow(readonly=True) as u:
        assert queries.load_services(u)[0].rates == {}
    # Emptied and filled again (a restore): another carrier under another token.
    _wipe(engine)
    with uow() as u:
        assert queries.load_services(u) == []
        service.add_carrier(u, code="ZTO", name="中通", services=[ServiceSpec("ZTO-STD", "标快")])
    with uow(readonly=True) as u:
        assert [s.service_code for s in queries.load_services(u)] == ["ZTO-STD"]
