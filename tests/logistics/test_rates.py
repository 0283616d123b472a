"""Pure rate rules: first weight + started additional units, and rate-row checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lvyue.logistics.rates import (
    RateCard,
    RateRowError,
    format_kg,
    official_province,
    parse_rate_row,
    shipping_cost,
)

RATE = RateCard("浙江省", "北京市", 1000, Decimal("12.00"), 1000, Decimal("2.00"))


@pytest.mark.parametrize(
    ("weight_g", "cost"),
    [
        (0, "12.00"),  # not weighed yet: the first weight price
        (1, "12.00"),
        (1000, "12.00"),
        (1001, "14.00"),  # a started unit counts whole
        (2000, "14.00"),
        (2001, "16.00"),
        (10_500, "32.00"),
    ],
)
def test_cost_is_first_weight_then_each_started_unit(weight_g: int, cost: str) -> None:
    assert shipping_cost(RATE, weight_g) == Decimal(cost)


def test_cost_with_heavy_first_weight_and_small_units() -> None:
    heavy = RateCard("*", "四川省", 10_000, Decimal("38.00"), 500, Decimal("1.10"))
    assert shipping_cost(heavy, 9_999) == Decimal("38.00")
    assert shipping_cost(heavy, 12_250) == Decimal("43.50")  # 2250 g → 5 half-kilo units


def test_cost_refuses_negative_weight() -> None:
    with pytest.raises(ValueError):
        shipping_cost(RATE, -1)


def test_format_kg() -> None:
    assert format_kg(45_000) == "45 kg"
    assert format_kg(30_500) == "30.5 kg"
    assert format_kg(1_250) == "1.25 kg"


def test_official_province_accepts_short_names() -> None:
    assert official_province("浙江") == "浙江省"
    assert official_province("北京") == "北京市"
    assert official_province("新疆") == "新疆维吾尔自治区"
    assert official_province("广西省") == "广西壮族自治区"
    assert official_province("西藏自治区") == "西藏自治区"
    assert official_province("香港") is None  # not mainland
    assert official_province("杭州市") is None  # a city, not a province


GOOD = {
    "service": "sf-std",
    "origin_province": "浙江",
    "dest_province": "西藏",
    "first_weight_g": "1000",
    "first_price": "23",
    "additional_unit_g": "1000",
    "additional_price": "15.5",
}


def test_parse_rate_row_normalises() -> None:
    row = parse_rate_row(GOOD)
    assert row.service == "SF-STD"
    assert row.rate == RateCard(
        "浙江省", "西藏自治区", 1000, Decimal("23.00"), 1000, Decimal("15.50")
    )
    assert parse_rate_row({**GOOD, "origin_province": "*"}).rate.origin_province == "*"


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("service", "", "is required"),
        ("origin_province", "火星", "'火星' is not a mainland province"),
        ("dest_province", "*", "'*' is allowed only as origin_province"),
        ("dest_province", "", "is required"),
        ("first_weight_g", "1.5", "'1.5' is not a positive whole number of grams"),
        ("first_weight_g", "0", "'0' is not a positive whole number of grams"),
        ("first_price", "abc", "'abc' is not an amount"),
        ("additional_unit_g", "", "'' is not a positive whole number of grams"),
        ("additional_price", "-1", "must not be negative"),
    ],
)
def test_parse_rate_row_names_the_bad_field(column: str, value: str, problem: str) -> None:
    with pytest.raises(RateRowError) as exc:
        parse_rate_row({**GOOD, column: value})
    assert (exc.value.field, exc.value.problem) == (column, problem)
