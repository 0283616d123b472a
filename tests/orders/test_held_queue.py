"""What the held-order queue relies on: how each hold is resolved, the address suggestion and
district choices (pure), the region correction that keeps the door on file, the suggestion
applied, the re-check after a fix, and the queue's reads (counts per reason, scope, paging)."""

from __future__ import annotations

import pytest

from lvyue.core.errors import ValidationError
from lvyue.orders import queries, service
from lvyue.orders.holds import FIX_OF, HOLD_REASONS, fix_of
from lvyue.orders.normalise import district_choices, suggest_address
from tests.factories import canonical, import_dicts, process_all, setup_world


def receiver(district: str, address: str, phone: str = "13812345678") -> dict[str, str]:
    return {
        "name": "张三",
        "phone": phone,
        "province": "浙江省",
        "city": "杭州市",
        "district": district,
        "address": address,
    }


def test_every_hold_reason_has_a_way_to_resolve_it():
    assert set(FIX_OF) == set(HOLD_REASONS)
    assert fix_of("district_not_in_city") == "address" and fix_of("address_changed") == "address"
    assert fix_of("invalid_phone") == fix_of("missing_phone") == "phone"
    assert fix_of("unknown_sku") == "sku" and fix_of("out_of_stock") == "stock"
    assert fix_of("manual_review") == "review" and fix_of("operator_hold") == "release"
    assert fix_of("channel_cancelled") == "cancel"
    assert fix_of("a_merchant_rule_code") == "detail"  # a rule's own code: the order's page


def test_the_suggestion_leaves_out_the_field_that_contradicts():
    typed = suggest_address("西湖区文三路90号", province="浙江省", city="杭州市", district="朝阳区")
    assert typed is not None and typed.region == ("浙江省", "杭州市", "西湖区")
    assert typed.district is None and typed.reading.issues == ()
    # Free text on the detail line with empty region fields reads as it is: nothing better.
    assert suggest_address("浙江省杭州市西湖区文三路90号") is None
    # A district of another city and nothing else to go by: no suggestion, a person decides.
    assert (
        suggest_address("余杭塘路866号", province="浙江省", city="杭州市", district="朝阳区")
        is None
    )
    assert suggest_address("", province="浙江省", city="杭州市", district="朝阳区") is None


def test_district_choices():
    assert "西湖区" in district_choices("浙江省", "杭州市")
    assert "朝阳区" not in district_choices("浙江省", "杭州市")
    assert "朝阳区" in district_choices("北京市", "北京市") == district_choices("北京市", None)
    assert district_choices("广东省", "杭州市") == []  # a city of another province
    assert district_choices("广东省", "东莞市") == []  # a city without districts
    assert district_choices(None, "杭州市") == []


@pytest.fixture
def held(uow) -> dict[str, int]:
    setup_world(uow, skus={"A": {"HZ": 10}})
    import_dicts(
        uow,
        [
            canonical("D1", [("A", 1)], receiver=receiver("朝阳区", "余杭塘路866号")),
            canonical("D2", [("A", 1)], receiver=receiver("朝阳区", "西湖区文三路90号")),
            canonical("P1", [("A", 1)], receiver=receiver("西湖区", "文三路90号", phone="1")),
            canonical("S1", [("A", 50)], receiver=receiver("西湖区", "文三路91号")),
            canonical("OK", [("A", 1)], receiver=receiver("西湖区", "文三路92号")),
        ],
    )
    process_all(uow)
    with uow(readonly=True) as u:
        return {o["external_id"]: o["id"] for o in queries.list_orders(u)}


def get(uow, oid: int) -> dict:
    with uow(readonly=True) as u:
        return queries.get_order(u, oid)


def test_correcting_the_region_keeps_the_door_and_review_moves_the_order_on(uow, held):
    oid = held["D1"]
    with pytest.raises(ValidationError) as err, uow() as u:
        service.correct_address(u, oid, province="浙江省", city="  ")
    assert err.value.field == "city"
    with uow() as u:
        assert service.correct_address(
            u, oid, province="浙江省", city="杭州市", district="海淀区"
        ) == ["district_not_in_city"]
        assert service.review_if_ready(u, oid) == "held"  # a person must still decide
    with uow(actor="ops") as u:
        assert (
            service.correct_address(u, oid, province="浙江省", city="杭州市", district="西湖区")
            == []
        )
        assert service.review_if_ready(u, oid) == "allocated"
    got = get(uow, oid)
    assert (got["addr_district"], got["addr_detail"]) == ("西湖区", "余杭塘路866号")
    assert got["receiver_district"] == "朝阳区"  # the buyer's original stays as sent
    assert any(h["actor"] == "ops" and "地址已修正" in h["reason"] for h in got["history"])


def test_a_typed_detail_replaces_the_one_on_file(uow, held):
    oid = held["D1"]
    with uow() as u:
        service.correct_address(
            u, oid, province="浙江省", city="杭州市", district="西湖区", detail="文一路100号"
        )
    assert get(uow, oid)["addr_detail"] == "文一路100号"


def test_accepting_the_suggestion(uow, held):
    with uow() as u:
        assert service.accept_address_suggestion(u, held["D2"]) == []
        assert service.review_if_ready(u, held["D2"]) == "allocated"
    assert get(uow, held["D2"])["addr_district"] == "西湖区"
    with pytest.raises(ValidationError), uow() as u:
        service.accept_address_suggestion(u, held["D1"])


def test_review_if_ready_leaves_what_a_person_must_decide_and_what_moved_on(uow, held):
    with uow() as u:
        assert service.review_if_ready(u, held["P1"]) == "held"  # invalid phone
        assert service.review_if_ready(u, held["S1"]) == "held"  # re-checked: still short
        assert service.review_if_ready(u, held["OK"]) == "allocated"  # not waiting: unchanged


def test_queue_counts_pages_and_scope(uow, held):
    everyone = queries.Scope()
    with uow(readonly=True) as u:
        counts = queries.held_counts(u, scope=everyone)
        assert counts == {
            "total": 4,
            "reasons": {"district_not_in_city": 2, "invalid_phone": 1, "out_of_stock": 1},
        }
        page = queries.held_page(u, scope=everyone, limit=3)
        assert [o["id"] for o in page["items"]] == [held[k] for k in ("D1", "D2", "P1")]
        rest = queries.held_page(u, scope=everyone, after=page["next"], limit=3)
        assert [o["id"] for o in rest["items"]] == [held["S1"]] and rest["next"] is None
        only = queries.held_page(u, scope=everyone, hold="invalid_phone")["items"]
        assert [o["id"] for o in only] == [held["P1"]]
        assert only[0]["holds"] == [{"code": "invalid_phone", "detail": ""}]
        assert queries.held_order(u, held["OK"], scope=everyone) is None  # not held
        other_shop = queries.Scope(shops=("NOPE",))
        assert queries.held_counts(u, scope=other_shop) == {"total": 0, "reasons": {}}
        assert queries.held_order(u, held["D1"], scope=other_shop) is None
