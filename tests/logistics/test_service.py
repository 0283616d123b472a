"""Carriers and rate tables against the real database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from lvyue.core.db import table_of
from lvyue.core.errors import ValidationError
from lvyue.logistics import models, queries, service
from lvyue.logistics.demo import demo_rate_rows, seed_demo_logistics
from lvyue.logistics.selection import Shipment, select_service
from lvyue.logistics.service import RowProblem, ServiceSpec
from tests.conftest import count

SF_SERVICES = [
    ServiceSpec("sf-std", "顺丰标快", handles=("fragile",), max_weight_g=50_000),
    ServiceSpec(
        "SF-COLD",
        "顺丰冷运",
        handles=("fresh", "frozen"),
        is_cold_chain=True,
        max_weight_g=30_000,
        excluded_provinces=("西藏", "新疆维吾尔自治区", "西藏自治区"),
    ),
]


def add_sf(uow) -> int:
    with uow() as u:
        return service.add_carrier(u, code="sf", name="顺丰速运", services=SF_SERVICES)


def row(service_code="SF-STD", origin="浙江", dest="北京", fw="1000", fp="12", au="1000", ap="2"):
    return {
        "service": service_code,
        "origin_province": origin,
        "dest_province": dest,
        "first_weight_g": fw,
        "first_price": fp,
        "additional_unit_g": au,
        "additional_price": ap,
    }


def test_add_carrier_with_services(uow) -> None:
    add_sf(uow)
    with uow(readonly=True) as u:
        carriers = queries.list_carriers(u)
    assert [c["code"] for c in carriers] == ["SF"]
    cold, std = carriers[0]["services"]
    assert std == {
        "code": "SF-STD",
        "name": "顺丰标快",
        "handles": ["fragile"],
        "is_cold_chain": False,
        "is_freight": False,
        "max_weight_g": 50_000,
        "excluded_provinces": [],
        "active": True,
        "rates": 0,
    }
    assert cold["code"] == "SF-COLD" and cold["is_cold_chain"]
    assert cold["handles"] == ["fresh", "frozen"]
    assert cold["excluded_provinces"] == ["西藏自治区", "新疆维吾尔自治区"]  # normalised, once


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "S F"}, "code"),
        ({"code": "SF"}, "code"),  # exists already
        ({"name": " "}, "name"),
        ({"services": [ServiceSpec("SF-STD", "x")]}, "service[SF-STD].code"),  # taken
        ({"services": [ServiceSpec("A", "x"), ServiceSpec("a", "y")]}, "service[A].code"),
        ({"services": [ServiceSpec("A B", "x")]}, "service[A B].code"),
        ({"services": [ServiceSpec("A", "")]}, "service[A].name"),
        ({"services": [ServiceSpec("A", "x", handles=("shiny",))]}, "service[A].handles"),
        ({"services": [ServiceSpec("A", "x", max_weight_g=0)]}, "service[A].max_weight_g"),
        (
            {"services": [ServiceSpec("A", "x", excluded_provinces=("火星",))]},
            "service[A].excluded_provinces",
        ),
    ],
)
def test_add_carrier_rejects_bad_input_and_writes_nothing(uow, engine, kwargs, field) -> None:
    add_sf(uow)
    args = {"code": "ZTO", "name": "中通快递", "services": [], **kwargs}
    with pytest.raises(ValidationError) as exc, uow() as u:
        service.add_carrier(u, **args)
    assert exc.value.field == field
    assert count(engine, "logistics_carrier") == 1
    assert count(engine, "logistics_service") == 2


def test_import_rates_keeps_good_rows_and_reports_bad_ones(uow) -> None:
    add_sf(uow)
    rows = [
        (2, row()),
        (3, row(dest="西藏", fp="23", ap="15")),
        (4, row(origin="*", dest="新疆", fp="26", ap="15")),
        (5, row(service_code="ZTO-STD")),
        (6, row(dest="火星")),
        (7, row(fp="abc")),
        (8, row(dest="北京市", fp="13")),  # same route as line 2
        (9, row(au="0")),
        (10, row(service_code="sf-cold", origin="广东省", dest="上海")),
    ]
    with uow() as u:
        report = service.import_rates(u, rows)
    assert (report.imported, report.updated, report.unchanged) == (4, 0, 0)
    assert report.rejected == [
        RowProblem(5, "service", "unknown service ZTO-STD"),
        RowProblem(6, "dest_province", "'火星' is not a mainland province"),
        RowProblem(7, "first_price", "'abc' is not an amount"),
        RowProblem(8, "dest_province", "SF-STD 浙江省 → 北京市 already on line 2"),
        RowProblem(9, "additional_unit_g", "'0' is not a positive whole number of grams"),
    ]
    assert str(report.rejected[0]) == "line 5: service: unknown service ZTO-STD"
    with uow(readonly=True) as u:
        cands = {c.service_code: c for c in queries.load_services(u)}
    std = cands["SF-STD"]
    assert set(std.rates) == {
        ("浙江省", "北京市"),
        ("浙江省", "西藏自治区"),
        ("*", "新疆维吾尔自治区"),
    }
    r = std.rates[("浙江省", "西藏自治区")]
    assert (r.first_weight_g, r.first_price, r.additional_unit_g, r.additional_price) == (
        1000,
        Decimal("23.00"),
        1000,
        Decimal("15.00"),
    )
    assert set(cands["SF-COLD"].rates) == {("广东省", "上海市")}


def test_import_rates_is_an_idempotent_upsert(uow, engine) -> None:
    add_sf(uow)
    rows = [(2, row()), (3, row(dest="上海", fp="10.5"))]
    with uow() as u:
        first = service.import_rates(u, rows)
    with uow() as u:
        again = service.import_rates(u, rows)
    assert (first.imported, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.imported, again.updated, again.unchanged, again.rejected) == (0, 0, 2, [])
    with uow() as u:
        changed = service.import_rates(u, [(2, row(fp="12.80", ap="2.5")), (3, row(dest="江苏"))])
    assert (changed.imported, changed.updated, changed.unchanged) == (1, 1, 0)
    assert count(engine, "logistics_rate") == 3
    with uow(readonly=True) as u:
        rate = queries.load_services(u)[1].rates[("浙江省", "北京市")]
    assert (rate.first_price, rate.additional_price) == (Decimal("12.80"), Decimal("2.50"))


def test_load_services_skips_inactive_and_uses_one_query_per_table(uow, engine) -> None:
    add_sf(uow)
    with uow() as u:
        service.add_carrier(
            u, code="ZTO", name="中通快递", services=[ServiceSpec("ZTO-STD", "中通标快")]
        )
        service.import_rates(
            u,
            [
                (2, row()),
                (3, row("SF-COLD")),
                (4, row("ZTO-STD")),
                (5, row("ZTO-STD", dest="上海")),
            ],
        )
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with uow(readonly=True) as u:
            cands = queries.load_services(u)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    # One per table, and the revision token the copy is kept under (core.revisions).
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 4
    assert [c.service_code for c in cands] == ["SF-COLD", "SF-STD", "ZTO-STD"]
    assert cands[0].excluded_provinces == frozenset({"西藏自治区", "新疆维吾尔自治区"})
    assert cands[0].handles == frozenset({"fresh", "frozen"})
    assert len(cands[2].rates) == 2

    service_t, carrier_t = table_of(models.CarrierService), table_of(models.Carrier)
    with uow() as u:
        u.conn.execute(
            sa.update(service_t).where(service_t.c.code == "SF-COLD").values(active=False)
        )
        u.conn.execute(sa.update(carrier_t).where(carrier_t.c.code == "ZTO").values(active=False))
    with uow(readonly=True) as u:
        assert [c.service_code for c in queries.load_services(u)] == ["SF-STD"]
        listed = queries.list_carriers(u)
    assert [(c["code"], c["active"]) for c in listed] == [("SF", True), ("ZTO", False)]
    assert listed[1]["services"][0]["rates"] == 2


def test_demo_logistics_seeds_and_selects_realistically(uow, engine) -> None:
    with uow(actor="demo") as u:
        report = seed_demo_logistics(u)
    assert report.imported == len(demo_rate_rows()) == count(engine, "logistics_rate")
    assert count(engine, "logistics_carrier") == 6
    with uow(readonly=True) as u:
        cands = queries.load_services(u)
    assert {c.service_code for c in cands} == {
        "SF-STD",
        "SF-COLD",
        "ZTO-STD",
        "YTO-STD",
        "DBL-HEAVY",
        "JD-STD",
        "EMS-STD",
    }
    ems = next(c for c in cands if c.service_code == "EMS-STD")
    assert len(ems.rates) == 3 * 31  # three warehouse provinces to every province

    def pick(origin, dest, weight_g, *tags, forced=None):
        return select_service(Shipment(origin, dest, weight_g, frozenset(tags), forced), cands)

    # A T-shirt within the province goes by the cheapest network courier.
    near = pick("浙江省", "浙江省", 300)
    assert near.service_code in {"YTO-STD", "ZTO-STD"}
    assert near.cost is not None and near.cost < Decimal("5")
    # Crabs from Hangzhou to Beijing need the cold chain.
    crabs = pick("浙江省", "北京市", 2500, "fresh")
    assert crabs.service_code == "SF-COLD"
    # ...and cannot go to Xinjiang at all.
    xj = pick("浙江省", "新疆维吾尔自治区", 2500, "fresh")
    assert xj.chosen is None
    assert "SF-COLD: 不配送新疆维吾尔自治区" in xj.reasons
    # A sofa goes by the special line, even to Tibet.
    sofa = pick("广东省", "西藏自治区", 60_000, "bulky")
    assert sofa.service_code == "DBL-HEAVY"
    # Normal parcels to Tibet: ZTO and YTO do not cover it, EMS or SF do.
    tibet = pick("北京市", "西藏自治区", 1000)
    assert tibet.service_code in {"EMS-STD", "SF-STD", "JD-STD"}
    assert {"ZTO-STD: 不配送西藏自治区", "YTO-STD: 不配送西藏自治区"} <= set(tibet.reasons)
    # Farther costs more.
    assert pick("浙江省", "上海市", 1000).cost < pick("浙江省", "黑龙江省", 1000).cost
