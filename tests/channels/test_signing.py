"""The TOP-style signature against the CHANNELS.md §0 test vectors, for the adapters' helper
and for the fakes' independent reference signer, plus the shared gateway helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from lvyue.channels.adapters.base import PayloadError
from lvyue.channels.adapters.common import (
    format_local_time,
    parse_local_time,
    read_pages_backwards,
    split_windows,
)
from lvyue.channels.adapters.fields import Fields
from lvyue.channels.adapters.signing import sign_value, top_style_sign
from tests.channels.fakes.taobao import reference_sign

TOP_PARAMS = {
    "method": "taobao.item.seller.get",
    "app_key": "12345678",
    "session": "test",
    "timestamp": "2016-01-01 12:00:00",
    "format": "json",
    "v": "2.0",
    "fields": "num_iid,title,nick,price,num",
    "num_iid": "11223344",
}
TOP_VECTORS = [
    ("md5", "66987CB115214E59E6EC978214934FB8"),
    ("hmac", "D56D7858309C31B6251083A874D48273"),
    ("hmac-sha256", "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8"),
]


@pytest.mark.parametrize(("method", "expected"), TOP_VECTORS)
def test_top_vectors(method: str, expected: str) -> None:
    params = {**TOP_PARAMS, "sign_method": method}
    assert top_style_sign(params, "helloworld", method) == expected
    assert reference_sign(params, "helloworld", method) == expected


def test_pinduoduo_vector() -> None:
    params = {
        "access_token": "asd78172s8ds9a921j9qqwda12312w1w21211",
        "client_id": "1",
        "data_type": "XML",
        "order_status": "1",
        "page": "1",
        "page_size": "10",
        "timestamp": "1480411125",
        "type": "pdd.order.number.list.get",
    }
    assert top_style_sign(params, "testSecret") == "E4DE3ED21002510DED352819E7AE6775"
    assert reference_sign(params, "testSecret") == "E4DE3ED21002510DED352819E7AE6775"


def test_jd_vector_uses_the_same_function() -> None:
    params = {
        "360buy_param_json": '{"end_date":null,"optional_fields":null,'
        '"order_state":"WAIT_SELLER_STOCK_OUT","page":"1","page_size":"200","start_date":null}',
        "access_token": "yourtoken",
        "app_key": "yourappkey",
        "method": "jingdong.pop.order.search",
        "timestamp": "2021-05-07 09:20:39.683+0800",
        "v": "2.0",
    }
    assert top_style_sign(params, "yourappSecret") == "D70825340F4084360B9362B60DFD7930"


def test_qimen_vector_signs_the_body_after_the_parameters() -> None:
    params = {
        "method": "taobao.qimen.deliveryorder.create",
        "timestamp": "2024-01-01 12:00:00",
        "format": "xml",
        "app_key": "testkey",
        "v": "2.0",
        "sign_method": "md5",
        "customerId": "c1001",
    }
    body = (
        '<?xml version="1.0" encoding="utf-8"?><request><deliveryOrder>'
        "<deliveryOrderCode>DO1</deliveryOrderCode></deliveryOrder></request>"
    )
    assert top_style_sign(params, "testsecret", body=body) == "2518E2D0001299C5A58F60113B6797B4"


def test_sign_and_empty_values_are_left_out() -> None:
    params = {**TOP_PARAMS, "sign_method": "md5"}
    noisy = {**params, "sign": "WHATEVER", "partner_id": "", "": "x"}
    assert top_style_sign(noisy, "helloworld") == top_style_sign(params, "helloworld")


def test_unknown_sign_method_is_refused() -> None:
    with pytest.raises(ValueError, match="sign_method"):
        top_style_sign(TOP_PARAMS, "s", "sha1")


def test_sign_values_use_the_gateways_spelling() -> None:
    assert sign_value(True) == "true"
    assert sign_value(False) == "false"
    assert sign_value(None) == ""
    assert sign_value(1480411125) == "1480411125"
    assert sign_value({"a": 1, "b": ["x", "中"]}) == '{"a":1,"b":["x","中"]}'


def test_local_time_round_trip_is_shanghai() -> None:
    instant = datetime(2024, 5, 1, 3, 40, 2, tzinfo=UTC)
    assert format_local_time(instant) == "2024-05-01 11:40:02"
    assert parse_local_time("2024-05-01 11:40:02") == instant
    with pytest.raises(ValueError):
        format_local_time(datetime(2024, 5, 1))


def test_split_windows_is_contiguous_and_bounded() -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    windows = list(split_windows(start, start + timedelta(minutes=70), timedelta(minutes=30)))
    assert windows == [
        (start, start + timedelta(minutes=30)),
        (start + timedelta(minutes=30), start + timedelta(minutes=60)),
        (start + timedelta(minutes=60), start + timedelta(minutes=70)),
    ]
    assert list(split_windows(start, start, timedelta(minutes=30))) == []


def test_read_pages_backwards_reads_last_page_first() -> None:
    rows = list(range(7))
    asked: list[int] = []

    def page(page_no: int) -> tuple[list[int], int]:
        asked.append(page_no)
        return rows[(page_no - 1) * 3 : page_no * 3], len(rows)

    assert sorted(set(read_pages_backwards(page, 3))) == rows
    assert asked == [1, 3, 2, 1]


def test_read_pages_backwards_repeats_when_the_list_grew() -> None:
    rows = list(range(5))
    asked: list[int] = []

    def page(page_no: int) -> tuple[list[int], int]:
        asked.append(page_no)
        if asked == [1, 2]:  # a new order arrives at the front while we page
            rows.insert(0, 99)
        return rows[(page_no - 1) * 3 : page_no * 3], len(rows)

    assert set(read_pages_backwards(page, 3)) == {99, *range(5)}
    assert asked == [1, 2, 1, 2, 1]


def test_fields_name_the_path_in_errors() -> None:
    data = Fields({"orders": {"order": [{"num": 0, "price": "abc"}]}, "created": "bad"})
    line = data.obj("orders").objects("order")[0]
    with pytest.raises(PayloadError, match=r"orders\.order\[0\]\.num"):
        line.count("num")
    with pytest.raises(PayloadError, match=r"orders\.order\[0\]\.price"):
        line.money("price")
    with pytest.raises(PayloadError, match="created"):
        data.local_time("created")
    with pytest.raises(PayloadError, match="missing"):
        data.text("tid")


def test_float_money_is_read_through_its_text() -> None:
    fields = Fields({"a": 64.1, "b": 0.1 + 0.2, "c": "19.9"})
    assert fields.money("a") == Decimal("64.10")
    assert fields.money("b") == Decimal("0.30")
    assert fields.money("c") == Decimal("19.90")
