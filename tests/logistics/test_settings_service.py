"""What the settings page needs of logistics: a service added to a carrier, a carrier's rate
table, and reading a rate CSV."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lvyue.core.errors import NotFound, ValidationError
from lvyue.logistics import queries, service
from lvyue.logistics.rates import RateRowError, read_rate_csv
from lvyue.logistics.service import ServiceSpec


def test_a_service_joins_an_existing_carrier_with_the_same_checks(uow):
    with uow() as u:
        service.add_carrier(u, code="SF", name="顺丰", services=[ServiceSpec("SF-STD", "标快")])
        service.add_service(
            u,
            carrier_code="sf",
            spec=ServiceSpec("sf-cold", "冷运", handles=("fresh",), excluded_provinces=("西藏",)),
        )
    with uow(readonly=True) as u:
        (sf,) = queries.list_carriers(u)
    cold = next(s for s in sf["services"] if s["code"] == "SF-COLD")
    assert cold["handles"] == ["fresh"] and cold["excluded_provinces"] == ["西藏自治区"]
    with pytest.raises(ValidationError) as taken, uow() as u:
        service.add_service(u, carrier_code="SF", spec=ServiceSpec("SF-STD", "again"))
    assert taken.value.field == "service[SF-STD].code"
    with pytest.raises(ValidationError) as tag, uow() as u:
        service.add_service(u, carrier_code="SF", spec=ServiceSpec("SF-X", "x", handles=("wet",)))
    assert tag.value.field == "service[SF-X].handles"
    with pytest.raises(NotFound), uow() as u:
        service.add_service(u, carrier_code="ZZ", spec=ServiceSpec("ZZ-1", "x"))


def test_rate_table_is_one_carriers_rows_in_order(uow):
    with uow() as u:
        service.add_carrier(
            u,
            code="SF",
            name="顺丰",
            services=[ServiceSpec("SF-STD", "标快"), ServiceSpec("SF-AIR", "空运")],
        )
        service.add_carrier(u, code="ZTO", name="中通", services=[ServiceSpec("ZTO-STD", "标准")])
        text = (
            "service,origin_province,dest_province,first_weight_g,first_price,"
            "additional_unit_g,additional_price\n"
            "SF-STD,浙江,上海,1000,10,1000,2\n"
            "SF-AIR,*,北京,500,20,500,5.5\n"
            "ZTO-STD,*,北京,1000,5,1000,1\n"
        )
        report = service.import_rates(u, read_rate_csv("\ufeff" + text))
    assert report.imported == 3 and not report.rejected
    with uow(readonly=True) as u:
        rows = queries.rate_table(u, "SF")
    assert [(r["service"], r["origin_province"], r["dest_province"]) for r in rows] == [
        ("SF-AIR", "*", "北京市"),
        ("SF-STD", "浙江省", "上海市"),
    ]
    assert rows[0]["additional_price"] == Decimal("5.50")
    with uow(readonly=True) as u:
        assert queries.rate_table(u, "NONE") == []


def test_read_rate_csv_numbers_lines_and_checks_the_header():
    rows = read_rate_csv(
        "service,origin_province,dest_province,first_weight_g,first_price,additional_unit_g,"
        "additional_price\nA,*,浙江,1,1,1,1\n\nB,*,浙江,1,1,1,1\n"
    )
    assert [(line, r["service"]) for line, r in rows] == [(2, "A"), (4, "B")]
    with pytest.raises(RateRowError) as err:
        read_rate_csv("service,origin_province\nA,*\n")
    assert err.value.field == "header" and "dest_province" in err.value.problem
