"""Issue 3 in the pipeline: bad receivers are held with the right reasons until fixed."""

from __future__ import annotations

import pytest

from lvyue.core.errors import InvalidTransition
from lvyue.orders import queries, service
from tests.factories import canonical, import_dicts, process_all, setup_world


def receiver(province, city, district, address, phone="13812345678"):
    return {
        "name": "张三",
        "phone": phone,
        "province": province,
        "city": city,
        "district": district,
        "address": address,
    }


CASES = {
    "OK": (receiver("浙江省", "杭州市", "西湖区", "余杭塘路866号"), []),
    "FREE": (receiver(None, None, None, "张三 13812345678 广东省深圳市南山区深南大道10000号"), []),
    "MASKED": (receiver("浙江省", "杭州市", "西湖区", "文三路90号", phone="138****5678"), []),
    "AMBIG": (receiver(None, None, None, "朝阳区建国路88号"), ["ambiguous_region"]),
    "NODETAIL": (receiver("浙江省", "杭州市", "西湖区", ""), ["missing_detail"]),
    "WRONGCITY": (receiver("广东省", "广州市", "南山区", "科苑路15号"), ["district_not_in_city"]),
    "PHONE": (
        receiver("浙江省", "杭州市", "西湖区", "余杭塘路866号", phone="1381234567"),
        ["invalid_phone"],
    ),
}


def by_ext(make_uow):
    with make_uow(readonly=True) as u:
        return {o["external_id"]: o for o in queries.list_orders(u)}


def test_bad_receivers_are_held_with_the_right_reasons_and_approved_once_fixed(uow):
    setup_world(uow, skus={"A": {"HZ": 20}})
    import_dicts(uow, [canonical(ext, [("A", 1)], receiver=r) for ext, (r, _) in CASES.items()])
    process_all(uow)
    got = by_ext(uow)
    for ext, (_, expected) in CASES.items():
        assert got[ext]["hold_reasons"] == expected, ext
        assert got[ext]["status"] == ("held" if expected else "allocated"), ext
    with uow(readonly=True) as u:
        free = queries.get_order(u, got["FREE"]["id"])
    # Parsed and completed next to what the buyer wrote, which stays untouched.
    assert (free["addr_province"], free["addr_city"], free["addr_district"]) == (
        "广东省",
        "深圳市",
        "南山区",
    )
    assert free["receiver_address"].startswith("张三 13812345678")
    assert free["region"] == "华南"

    with uow(actor="op-wang") as u:
        still = service.fix_address(u, got["AMBIG"]["id"], text="北京市朝阳区建国路")
    assert still == ["missing_detail"]  # checked again: still no door number
    assert by_ext(uow)["AMBIG"]["hold_reasons"] == ["missing_detail"]
    with uow(actor="op-wang") as u:
        assert service.fix_address(u, got["AMBIG"]["id"], text="北京市朝阳区建国路88号") == []
        assert (
            service.fix_address(
                u,
                got["NODETAIL"]["id"],
                text="文三路90号",
                province="浙江省",
                city="杭州市",
                district="西湖区",
            )
            == []
        )
        assert (
            service.fix_address(u, got["WRONGCITY"]["id"], text="广东省深圳市南山区科苑路15号")
            == []
        )
        assert service.fix_address(u, got["PHONE"]["id"], phone="13812345678") == []
    process_all(uow)
    got = by_ext(uow)
    assert {got[e]["status"] for e in CASES} == {"allocated"}
    with uow(readonly=True) as u:
        order = queries.get_order(u, got["PHONE"]["id"])
    assert order["receiver_phone"] == "1381234567"  # the original is kept
    assert order["phone_number"] == "13812345678"
    assert ("op-wang", "地址已修正, 重新审核") in [
        (h["actor"], h["reason"]) for h in order["history"]
    ]
    with pytest.raises(InvalidTransition), uow() as u:  # too late once allocated
        service.fix_address(u, got["PHONE"]["id"], phone="13900000000")
