"""Carrier selection, rule by rule: a specification of which service ships and why not others."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lvyue.logistics.rates import RateCard
from lvyue.logistics.selection import Candidate, Shipment, select_service

ZJ, BJ, XZ, XJ, GD = "浙江省", "北京市", "西藏自治区", "新疆维吾尔自治区", "广东省"


def rates(first: str, extra: str, *dests: str, origin: str = ZJ) -> dict:
    return {
        (origin, d): RateCard(origin, d, 1000, Decimal(first), 1000, Decimal(extra)) for d in dests
    }


def service(code: str, first: str, extra: str = "2", dests=(BJ, XZ, XJ), **kw) -> Candidate:
    return Candidate(
        service_code=code,
        carrier_code=code.split("-")[0],
        rates=kw.pop("rates", None) or rates(first, extra, *dests),
        **kw,
    )


SF_STD = service("SF-STD", "12", max_weight_g=50_000)
SF_COLD = service("SF-COLD", "20", "5", is_cold_chain=True, handles=frozenset({"fresh", "frozen"}))
ZTO = service("ZTO-STD", "5", "1", max_weight_g=40_000, excluded_provinces=frozenset({XZ, XJ}))
YTO = service("YTO-STD", "4.5", "1", max_weight_g=30_000, dests=(BJ, XZ))  # no rate to 新疆
DBL = service(
    "DBL-HEAVY",
    "",
    rates={(ZJ, BJ): RateCard(ZJ, BJ, 10_000, Decimal("30"), 1000, Decimal("1.5"))},
    is_freight=True,
    handles=frozenset({"bulky"}),
    max_weight_g=200_000,
)
ALL = [SF_STD, SF_COLD, ZTO, YTO, DBL]


def ship(dest: str = BJ, weight_g: int = 800, tags=(), forced: str | None = None) -> Shipment:
    return Shipment(ZJ, dest, weight_g, frozenset(tags), forced)


def test_cheapest_eligible_wins_and_others_are_quoted() -> None:
    s = select_service(ship(), ALL)
    assert (s.service_code, s.carrier_code, s.cost) == ("YTO-STD", "YTO", Decimal("4.50"))
    assert [q.service_code for q in s.quotes] == [
        "YTO-STD",
        "ZTO-STD",
        "SF-STD",
        "SF-COLD",
        "DBL-HEAVY",
    ]
    assert s.rejected == ()
    assert s.summary() == "YTO-STD ¥4.50 (5 个可用服务中最便宜)"


def test_ties_go_to_the_lower_service_code() -> None:
    a = service("B-STD", "6")
    b = service("A-STD", "6")
    assert select_service(ship(), [a, b]).service_code == "A-STD"


def test_fresh_goods_need_cold_chain() -> None:
    s = select_service(ship(tags={"fresh"}), ALL)
    assert s.service_code == "SF-COLD"
    assert s.cost == Decimal("20.00")
    assert "SF-STD: 无冷链, 不能发生鲜" in s.reasons
    assert "ZTO-STD: 无冷链, 不能发生鲜" in s.reasons
    assert {r.code for r in s.rejected} == {"no_cold_chain"}


def test_cold_chain_that_names_its_cold_tags_takes_only_those() -> None:
    chilled = service("CH-COLD", "15", is_cold_chain=True, handles=frozenset({"fresh"}))
    any_cold = service("AC-COLD", "19", is_cold_chain=True)
    assert select_service(ship(tags={"fresh"}), [chilled, any_cold]).service_code == "CH-COLD"
    s = select_service(ship(tags={"frozen"}), [chilled, any_cold])
    assert s.service_code == "AC-COLD"
    assert s.reasons == ["CH-COLD: 此冷链不收冷冻品"]


def test_bulky_goods_need_freight_or_a_service_handling_bulky() -> None:
    s = select_service(ship(weight_g=25_000, tags={"bulky"}), ALL)
    assert s.service_code == "DBL-HEAVY"
    assert s.cost == Decimal("52.50")  # ¥30 for 10 kg, then 15 started kilos at ¥1.50
    assert "SF-STD: 非快运或专线, 不能发大件" in s.reasons
    handles_bulky = service("JD-BIG", "20", handles=frozenset({"bulky"}))
    assert select_service(ship(tags={"bulky"}), [SF_STD, handles_bulky]).service_code == "JD-BIG"


def test_weight_over_max_excludes() -> None:
    s = select_service(ship(weight_g=45_000), [SF_STD, ZTO, YTO])
    assert s.service_code == "SF-STD"
    assert s.reasons == ["YTO-STD: 45 kg 超过上限 30 kg", "ZTO-STD: 45 kg 超过上限 40 kg"]
    assert select_service(ship(weight_g=30_000), [YTO]).service_code == "YTO-STD"  # at max: ok


def test_excluded_province_is_not_covered() -> None:
    s = select_service(ship(dest=XZ), [SF_STD, ZTO, YTO])
    assert s.service_code == "YTO-STD"
    assert s.reasons == ["ZTO-STD: 不配送西藏自治区"]


def test_route_without_rate_is_rejected() -> None:
    s = select_service(ship(dest=XJ), [SF_STD, YTO])
    assert s.service_code == "SF-STD"
    assert s.reasons == ["YTO-STD: 没有 浙江省 → 新疆维吾尔自治区 的运价"]
    other_origin = Shipment(GD, BJ, 500)
    assert select_service(other_origin, [YTO]).reasons == ["YTO-STD: 没有 广东省 → 北京市 的运价"]


def test_rate_from_any_origin_applies_when_no_exact_one() -> None:
    star = service("EMS-STD", "", rates=rates("9", "2", BJ, origin="*"))
    exact_and_star = Candidate(
        "X-STD", "X", rates={**rates("9", "2", BJ, origin="*"), **rates("7", "2", BJ)}
    )
    assert select_service(Shipment(GD, BJ, 500), [star]).cost == Decimal("9.00")
    assert select_service(ship(), [exact_and_star]).cost == Decimal("7.00")


def test_every_failure_of_a_candidate_is_reported() -> None:
    s = select_service(ship(dest=XZ, weight_g=45_000, tags={"fresh", "bulky"}), [ZTO])
    assert s.chosen is None
    assert [r.code for r in s.rejected] == [
        "no_cold_chain",
        "not_bulky",
        "overweight",
        "no_coverage",
    ]
    assert s.reasons == [
        "ZTO-STD: 无冷链, 不能发生鲜; 非快运或专线, 不能发大件; "
        "45 kg 超过上限 40 kg; 不配送西藏自治区"
    ]


def test_forced_service_wins_when_eligible_even_if_dearer() -> None:
    s = select_service(ship(forced="SF-STD"), ALL)
    assert (s.service_code, s.cost, s.forced) == ("SF-STD", Decimal("12.00"), True)
    assert s.summary() == "SF-STD ¥12.00 (规则指定)"


def test_forced_carrier_takes_its_cheapest_eligible_service() -> None:
    assert select_service(ship(forced="sf"), ALL).service_code == "SF-STD"
    assert select_service(ship(forced="SF", tags={"fresh"}), ALL).service_code == "SF-COLD"


def test_forced_but_ineligible_explains_and_falls_back() -> None:
    s = select_service(ship(dest=XZ, forced="ZTO-STD"), ALL)
    assert (s.service_code, s.forced) == ("YTO-STD", False)
    assert s.reasons == [
        "ZTO-STD: 规则指定的服务不能发这单; 改用 YTO-STD",
        "DBL-HEAVY: 没有 浙江省 → 西藏自治区 的运价",
        "ZTO-STD: 不配送西藏自治区",
    ]
    assert s.rejected[0].code == "forced_ineligible"


def test_forced_unknown_code_explains_and_falls_back() -> None:
    s = select_service(ship(forced="STO"), ALL)
    assert s.service_code == "YTO-STD"
    assert s.reasons == ["STO: 规则指定的服务不存在或已停用; 改用 YTO-STD"]
    assert s.rejected[0].code == "forced_unknown"


def test_no_eligible_service_gives_none_and_every_reason() -> None:
    s = select_service(ship(dest=XJ, weight_g=60_000, tags={"fresh"}), [SF_STD, ZTO, YTO])
    assert (s.chosen, s.service_code, s.carrier_code, s.cost) == (None, None, None, None)
    assert s.quotes == ()
    assert s.summary() == "没有可用的快递服务"
    assert s.reasons == [
        "SF-STD: 无冷链, 不能发生鲜; 60 kg 超过上限 50 kg",
        "YTO-STD: 无冷链, 不能发生鲜; 60 kg 超过上限 30 kg; 没有 浙江省 → 新疆维吾尔自治区 的运价",
        "ZTO-STD: 无冷链, 不能发生鲜; 60 kg 超过上限 40 kg; 不配送新疆维吾尔自治区",
    ]
    s = select_service(ship(forced="SF-STD"), [])
    assert s.reasons == ["SF-STD: 规则指定的服务不存在或已停用; 无可替代"]


def test_negative_weight_is_refused() -> None:
    with pytest.raises(ValueError):
        select_service(ship(weight_g=-1), ALL)


@given(
    weight_g=st.integers(0, 250_000),
    tags=st.sets(st.sampled_from(["fresh", "frozen", "bulky", "fragile", "battery"])),
    dest=st.sampled_from([BJ, XZ, XJ, GD]),
    forced=st.sampled_from([None, "SF", "SF-COLD", "ZTO-STD", "DBL", "STO"]),
)
def test_every_candidate_is_either_quoted_or_rejected(weight_g, tags, dest, forced) -> None:
    s = select_service(Shipment(ZJ, dest, weight_g, frozenset(tags), forced), ALL)
    quoted = {q.service_code for q in s.quotes}
    rejected = {r.service_code for r in s.rejected if not r.code.startswith("forced")}
    assert quoted | rejected == {c.service_code for c in ALL}
    assert not quoted & rejected
    if s.chosen is None:
        assert not s.quotes
    elif not s.forced:
        assert s.chosen == s.quotes[0]
        assert all(s.chosen.cost <= q.cost for q in s.quotes)
