"""`lvyue carrier ...` and `lvyue rates ...` through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lvyue.core.errors import ValidationError
from lvyue.logistics.cli import carrier_app, parse_service_option, rates_app
from lvyue.logistics.service import ServiceSpec

runner = CliRunner()


def test_service_option_syntax() -> None:
    assert parse_service_option("SF-COLD:顺丰冷运:fresh,frozen:cold:max=30") == ServiceSpec(
        "SF-COLD", "顺丰冷运", handles=("fresh", "frozen"), is_cold_chain=True, max_weight_g=30_000
    )
    assert parse_service_option(
        "DBL-HEAVY:德邦大件:freight:bulky:200kg:exclude=西藏,新疆"
    ) == ServiceSpec(
        "DBL-HEAVY",
        "德邦大件",
        handles=("bulky",),
        is_freight=True,
        max_weight_g=200_000,
        excluded_provinces=("西藏", "新疆"),
    )
    # full-width colon and comma from a Chinese keyboard; a bare number is kg
    assert parse_service_option("EMS-STD：EMS标准快递：fragile：40.5") == ServiceSpec(
        "EMS-STD", "EMS标准快递", handles=("fragile",), max_weight_g=40_500
    )
    assert parse_service_option("ZTO-STD:中通标快") == ServiceSpec("ZTO-STD", "中通标快")
    for bad in ("ZTO-STD", ":x", "A:b:max=abc", "A:b:max=0", "A:b:max=0.0001"):
        with pytest.raises(typer.BadParameter):
            parse_service_option(bad)


def add_carriers(db: str) -> None:
    result = runner.invoke(
        carrier_app,
        [
            "add",
            "sf",
            "--name",
            "顺丰速运",
            "--service",
            "SF-STD:顺丰标快:fragile:max=50",
            "-s",
            "SF-COLD:顺丰冷运:fresh,frozen:cold:max=30:exclude=西藏,新疆",
            "--db",
            db,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "carrier SF added" in result.output
    assert "SF-STD, SF-COLD" in result.output
    result = runner.invoke(
        carrier_app,
        ["add", "ZTO", "--name", "中通快递", "-s", "ZTO-STD:中通标快:40kg:no=西藏", "--db", db],
    )
    assert result.exit_code == 0, result.output


def test_carrier_add_and_list(db: str) -> None:
    add_carriers(db)
    result = runner.invoke(carrier_app, ["list", "--db", db])
    assert result.exit_code == 0, result.output
    for text in ("SF-COLD", "顺丰冷运", "fresh,frozen", "cold", "30 kg", "ZTO-STD", "40 kg"):
        assert text in result.output
    result = runner.invoke(carrier_app, ["list", "--json", "--db", db])
    data = json.loads(result.output)
    assert [c["code"] for c in data] == ["SF", "ZTO"]
    cold = data[0]["services"][0]
    assert cold["code"] == "SF-COLD"
    assert cold["excluded_provinces"] == ["西藏自治区", "新疆维吾尔自治区"]
    assert data[1]["services"][0]["max_weight_g"] == 40_000


def test_carrier_add_errors(db: str) -> None:
    result = runner.invoke(carrier_app, ["add", "X", "--name", "x", "-s", "nocolon", "--db", db])
    assert result.exit_code == 2
    assert "CODE:NAME" in result.output
    result = runner.invoke(
        carrier_app, ["add", "X", "--name", "x", "-s", "X-1:x:shiny", "--db", db]
    )
    assert isinstance(result.exception, ValidationError)
    assert result.exception.field == "service[X-1].handles"


def test_carrier_add_help_documents_the_service_syntax() -> None:
    result = runner.invoke(carrier_app, ["add", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("CODE:NAME", "cold", "freight", "max=KG", "exclude=PROVINCE"):
        assert text in result.output


RATES = (
    "service,origin_province,dest_province,first_weight_g,first_price,additional_unit_g,"
    "additional_price\n"
    "SF-STD,浙江,北京,1000,12,1000,2\n"
    "SF-COLD,浙江省,北京市,1000,20,1000,5\n"
    "ZTO-STD,*,北京,1000,5,1000,1\n"
    "SF-STD,浙江,火星,1000,12,1000,2\n"
    "YTO-STD,浙江,北京,1000,4,1000,1\n"
    "SF-STD,浙江,上海,1000,abc,1000,2\n"
)


def test_rates_import_and_quote(db: str, tmp_path: Path) -> None:
    add_carriers(db)
    csv = tmp_path / "rates.csv"
    csv.write_text(RATES, encoding="utf-8")
    result = runner.invoke(rates_app, ["import", str(csv), "--db", db])
    assert result.exit_code == 1  # some rows rejected, the good ones kept
    assert "imported 3, updated 0, rejected 3" in result.output
    assert "line 5: dest_province: '火星' is not a mainland province" in result.output
    assert "line 6: service: unknown service YTO-STD" in result.output
    assert "line 7: first_price: 'abc' is not an amount" in result.output
    result = runner.invoke(rates_app, ["import", str(csv), "--db", db])
    assert "imported 0, updated 0, rejected 3, unchanged 3" in result.output

    result = runner.invoke(
        rates_app,
        ["quote", "--from", "浙江", "--to", "北京", "--weight-g", "2500", "--db", db],
    )
    assert result.exit_code == 0, result.output
    assert "浙江省 → 北京市, 2.5 kg: ZTO-STD ¥7.00 (3 个可用服务中最便宜)" in result.output
    result = runner.invoke(
        rates_app,
        [
            *("quote", "--from", "浙江", "--to", "北京", "--weight-g", "800"),
            *("--tags", "fresh", "--force", "ZTO", "--json", "--db", db),
        ],
    )
    data = json.loads(result.output)
    assert (data["service_code"], data["carrier_code"], data["cost"]) == ("SF-COLD", "SF", "20.00")
    assert data["rejected"][0] == {
        "service_code": "ZTO",
        "code": "forced_ineligible",
        "detail": "规则指定的服务不能发这单; 改用 SF-COLD",
    }
    result = runner.invoke(
        rates_app,
        ["quote", "--from", "浙江", "--to", "西藏", "--weight-g", "800", "--db", db],
    )
    assert result.exit_code == 1
    assert "没有可用的快递服务" in result.output
    assert "ZTO-STD: 不配送西藏自治区" in result.output
    assert "SF-STD: 没有 浙江省 → 西藏自治区 的运价" in result.output


def test_rates_import_checks_file_and_header(db: str, tmp_path: Path) -> None:
    result = runner.invoke(rates_app, ["import", str(tmp_path / "none.csv"), "--db", db])
    assert isinstance(result.exception, ValidationError)
    bad = tmp_path / "bad.csv"
    bad.write_text("service,origin_province\nSF-STD,浙江\n", encoding="utf-8")
    result = runner.invoke(rates_app, ["import", str(bad), "--db", db])
    assert isinstance(result.exception, ValidationError)
    assert result.exception.field == "header"
    assert "dest_province" in result.exception.problem
