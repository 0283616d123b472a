"""Each warehouse strategy, alone and chained, and the split / no-split rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lvyue.fulfillment.allocation import WarehouseFacts, allocate

HZ, GZ, BJ = (
    WarehouseFacts(1, "HZ", "杭州仓", 10),
    WarehouseFacts(2, "GZ", "广州仓", 20),
    WarehouseFacts(3, "BJ", "北京仓", 30),
)
ALL = [HZ, GZ, BJ]
KM = {"HZ": 1200.0, "GZ": 100.0, "BJ": 2000.0}  # a receiver in Shenzhen
COST = {"HZ": 8.0, "GZ": 12.0, "BJ": 6.0}


def dist(w: WarehouseFacts) -> float:
    return KM[w.code]


def cost(w: WarehouseFacts) -> float:
    return COST[w.code]


def stock(**per_wh: int) -> dict[tuple[int, int], int]:
    ids = {"HZ": 1, "GZ": 2, "BJ": 3}
    return {(100, ids[code]): qty for code, qty in per_wh.items()}


def test_specified_wins_when_it_has_stock_and_says_so_when_not():
    a = allocate({100: 1}, stock(HZ=5, GZ=5), ALL, specified="HZ", distance_km=dist)
    assert (a.warehouse_id, a.why) == (1, "指定仓库 HZ")
    b = allocate({100: 1}, stock(GZ=5), ALL, specified="HZ", distance_km=dist)
    assert b.warehouse_id == 2 and b.why.startswith("指定仓库 HZ 库存不足")


def test_nearest_then_next_nearest_when_it_runs_out():
    assert allocate({100: 2}, stock(HZ=5, GZ=5, BJ=5), ALL, distance_km=dist).warehouse_id == 2
    a = allocate({100: 2}, stock(HZ=5, GZ=1, BJ=5), ALL, distance_km=dist)
    assert a.warehouse_id == 1 and "更近的 GZ 缺货" in a.why


def test_cheapest_most_stock_and_priority():
    s = stock(HZ=5, GZ=50, BJ=9)
    assert allocate({100: 1}, s, ALL, chain=("cheapest",), cost=cost).warehouse_id == 3
    assert allocate({100: 1}, s, ALL, chain=("most_stock",)).warehouse_id == 2
    assert allocate({100: 1}, s, ALL, chain=("priority",)).warehouse_id == 1
    # A strategy without its facts (no distances known) falls through to the next one.
    assert allocate({100: 1}, s, ALL, chain=("nearest", "most_stock")).warehouse_id == 2


def test_split_only_when_allowed_and_only_when_no_single_warehouse_can():
    s = stock(HZ=2, GZ=1, BJ=4)
    refused = allocate({100: 6}, s, ALL, distance_km=dist)
    assert not refused.ok and "不允许拆单" in refused.why
    split = allocate({100: 6}, s, ALL, distance_km=dist, allow_split=True)
    assert split.parts == {2: {100: 1}, 1: {100: 2}, 3: {100: 3}}  # nearest first
    assert allocate({100: 8}, s, ALL, allow_split=True).ok is False  # 7 in total: still short


@given(
    need=st.integers(1, 20),
    levels=st.fixed_dictionaries(
        {"HZ": st.integers(0, 10), "GZ": st.integers(0, 10), "BJ": st.integers(0, 10)}
    ),
    split=st.booleans(),
)
def test_never_allocates_more_than_is_available(need, levels, split):
    s = stock(**levels)
    a = allocate({100: need}, s, ALL, distance_km=dist, allow_split=split)
    if a.warehouse_id is not None:
        assert s[(100, a.warehouse_id)] >= need
    for wh, items in a.parts.items():
        assert 0 < items[100] <= s[(100, wh)]
    if a.parts:
        assert sum(i[100] for i in a.parts.values()) == need
