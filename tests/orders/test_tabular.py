"""Spreadsheet order import: files in, canonical orders or errors naming rows and columns out."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from lvyue.orders.canonical import CanonicalOrder
from lvyue.orders.tabular import (
    DEFAULT_MAPPING,
    ColumnMapping,
    MappingError,
    RowError,
    TabularError,
    load_mapping,
    parse_mapping,
    read_orders,
    read_rows,
    rows_to_orders,
    scattered_orders,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"

ZH_HEADER = [
    "订单号", "下单时间", "状态", "收货人", "手机", "省", "市", "区", "详细地址",
    "商家编码", "商品名称", "规格", "数量", "单价", "运费", "优惠", "买家留言", "卖家备注",
]  # fmt: skip
ZH_ROWS = [
    ["D1001", "2026-11-11 10:00:00", "已付款", "张三", "13800138000", "浙江省", "杭州市",
     "余杭区", "文一西路969号", "TEA-LJ", "明前龙井", "250g", "2", "￥1,299.00", "8", "10",
     "请尽快发货", "老客户"],
    ["D1001", "", "", "", "", "", "", "", "", "TEA-BLC", "碧螺春", "100g", "1", "59", "", "",
     "", ""],
    ["D1002", "2026/11/11 10:05", "待付款", "李四", "13900139000", "江苏省", "苏州市",
     "姑苏区", "人民路100号", "TEA-TGY", "铁观音", "", "3", "68.50", "", "", "", ""],
]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def results(path: Path, mapping: ColumnMapping = DEFAULT_MAPPING, **kw: str) -> list:
    return list(read_orders(path, mapping, **kw))


def orders_of(items: list) -> dict[str, CanonicalOrder]:
    return {o.external_id: o for _, o in items if isinstance(o, CanonicalOrder)}


def errors_of(items: list) -> list[tuple[int, RowError]]:
    return [(n, e) for n, e in items if isinstance(e, RowError)]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- default headers and encodings ------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_chinese_headers_in_every_encoding_chinese_excel_writes(tmp_path, encoding):
    path = write_csv(tmp_path / "orders.csv", ZH_HEADER, ZH_ROWS, encoding)
    items = results(path)
    assert [n for n, _ in items] == [2, 4]  # the spreadsheet row of each order's first line
    orders = orders_of(items)
    first = orders["D1001"]
    assert first.status == "paid"
    # A time without a zone is Shanghai time: 10:00 there is 02:00 UTC.
    assert first.created_at == utc(2026, 11, 11, 2, 0)
    assert first.receiver.model_dump(include={"name", "phone", "province", "district"}) == {
        "name": "张三",
        "phone": "13800138000",
        "province": "浙江省",
        "district": "余杭区",
    }
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.spec) for ln in first.lines] == [
        ("TEA-LJ", 2, Decimal("1299.00"), "250g"),
        ("TEA-BLC", 1, Decimal("59.00"), "100g"),
    ]
    assert (first.shipping_fee, first.discount) == (Decimal("8.00"), Decimal("10.00"))
    assert (first.buyer_message, first.seller_memo) == ("请尽快发货", "老客户")
    assert first.total_amount == Decimal("2655.00")
    second = orders["D1002"]
    assert second.status == "unpaid"
    assert second.created_at == utc(2026, 11, 11, 2, 5)
    assert second.lines[0].unit_price == Decimal("68.50")
    assert second.order_type == "online"  # unset: the import gives it the shop's type


def test_english_headers(tmp_path):
    header = ["order_no", "created_at", "status", "receiver", "phone", "province", "city",
              "district", "address", "SKU", "qty", "price", "Shipping Fee", "tags"]  # fmt: skip
    rows = [
        ["E-1", "2026-11-11T10:00:00+00:00", "paid", "Wang Wu", "13700137000", "Guangdong",
         "Shenzhen", "Nanshan", "1 Keji Rd", "A1", "1", "$1,000.00", "0", "vip, 大客户"],
        ["E-2", "2026-11-11", "cancelled", "Zhao Liu", "", "", "", "", "", "A2", "5", "2.5",
         "", ""],
    ]  # fmt: skip
    path = write_csv(tmp_path / "en.csv", header, [r for r in rows], "utf-8")
    items = results(path)
    assert errors_of(items)[0][1].problems[0].column == "price"  # "$" is not a yuan amount
    e1_fixed = [[c.replace("$", "") for c in rows[0]], rows[1]]
    orders = orders_of(results(write_csv(tmp_path / "en2.csv", header, e1_fixed, "utf-8")))
    assert orders["E-1"].created_at == utc(2026, 11, 11, 10, 0)  # its own zone is kept
    assert orders["E-1"].lines[0].unit_price == Decimal("1000.00")
    assert orders["E-1"].tags == ["vip", "大客户"]
    assert orders["E-2"].status == "cancelled"
    assert orders["E-2"].created_at == utc(2026, 11, 10, 16, 0)  # a date is local midnight


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("¥59.00", "59.00"),
        ("￥59", "59.00"),
        ("1,299.00", "1299.00"),
        ("¥ 12,345,678.9", "12345678.90"),
        ("RMB 20", "20.00"),
        ("35元", "35.00"),
        ("0.1", "0.10"),
    ],
)
def test_money_strings_are_exact(tmp_path, cell, amount):
    path = write_csv(
        tmp_path / "m.csv", ["订单号", "下单时间", "SKU", "数量", "单价"],
        [["M1", "2026-11-11 10:00", "A", "1", cell]], "utf-8",
    )  # fmt: skip
    ((_, order),) = results(path)
    assert isinstance(order, CanonicalOrder)
    assert str(order.lines[0].unit_price) == amount


@pytest.mark.parametrize("cell", ["59,5", "1,29.00", "abc", "NaN", "9折"])
def test_money_that_is_not_money_is_an_error(tmp_path, cell):
    path = write_csv(
        tmp_path / "m.csv", ["订单号", "下单时间", "SKU", "数量", "单价"],
        [["M1", "2026-11-11 10:00", "A", "1", cell]], "utf-8",
    )  # fmt: skip
    ((_, error),) = results(path)
    assert isinstance(error, RowError)
    assert str(error).startswith("order M1: row 2, column 单价: not an amount of money")


# --- XLSX -------------------------------------------------------------------------------------


def write_xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_xlsx_with_date_and_number_cells(tmp_path):
    header = ["外部单号", "下单时间", "付款时间", "收件人", "联系电话", "商品编码", "数量",
              "单价(元)", "运费", "订单状态"]  # fmt: skip
    rows: list[Sequence[object]] = [
        [],  # the header is the first row that is not empty
        [None, ""],
        header,
        [202611110001, datetime(2026, 11, 11, 10, 0), datetime(2026, 11, 11, 10, 1), "周七",
         13800138000, 6901234567890, 2, 59.9, 0, "paid"],
        [202611110001, None, None, None, None, "B-2", 1.0, 1299, None, None],
        [],
        [202611110002, date(2026, 11, 12), None, "吴八", "13900139000", "C-3", 3, "¥0.10", 10,
         "已付款"],
        # A date typed into a cell without a date format arrives as Excel's day number.
        [202611110003, 46337.5, None, "郑九", None, "C-3", 1, 0.3, None, None],
    ]  # fmt: skip
    path = write_xlsx(tmp_path / "o.xlsx", {"订单": rows, "说明": [["ignored"]]})
    items = results(path)
    assert [n for n, _ in items] == [4, 7, 8]
    orders = orders_of(items)
    first = orders["202611110001"]  # a number cell becomes the order number, without ".0"
    assert first.created_at == utc(2026, 11, 11, 2, 0)
    assert first.paid_at == utc(2026, 11, 11, 2, 1)
    assert first.receiver.phone == "13800138000"
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in first.lines] == [
        ("6901234567890", 2, Decimal("59.90")),
        ("B-2", 1, Decimal("1299.00")),
    ]
    assert orders["202611110002"].created_at == utc(2026, 11, 11, 16, 0)
    assert orders["202611110002"].lines[0].unit_price == Decimal("0.10")
    assert orders["202611110003"].created_at == utc(2026, 11, 11, 4, 0)
    assert orders["202611110003"].lines[0].unit_price == Decimal("0.30")


def test_xlsx_named_sheet_and_unknown_sheet(tmp_path):
    good: list[Sequence[object]] = [
        ["订单号", "下单时间", "SKU", "数量"],
        ["S1", "2026-11-11 10:00", "A", 1],
    ]
    path = write_xlsx(tmp_path / "o.xlsx", {"封面": [["封面"]], "明细": good})
    assert list(orders_of(results(path, sheet="明细"))) == ["S1"]
    with pytest.raises(TabularError, match="no sheet named '订单'; the sheets: 封面, 明细"):
        results(path, sheet="订单")
    with pytest.raises(TabularError, match="external_id"):
        results(path)  # the first sheet has no order columns


# --- custom mapping ---------------------------------------------------------------------------


def test_custom_mapping_file_yaml_and_json(tmp_path):
    header = ["单据编号", "制单日期", "往来单位", "存货编码", "数量", "含税单价", "审核",
              "类型", "备注"]  # fmt: skip
    rows = [
        ["XS-001", "2026-11-11 10:00", "宁波甬江商贸", "A", "10", "12.5", "已审核", "", "月结"],
        ["XS-002", "2026-11-11 11:00", "温州瓯海百货", "B", "5", "3", "", "门店", ""],
    ]
    path = write_csv(tmp_path / "erp.csv", header, rows, "gbk")
    spec: dict[str, Any] = {
        "columns": {
            "external_id": "单据编号",
            "created_at": ["下单时间", "制单日期"],
            "buyer.nick": "往来单位",
            "line.sku": "存货编码",
            "line.unit_price": "含税单价",
            "status": "审核",
            "order_type": "类型",
        },
        "defaults": {"status": "待付款", "order_type": "wholesale", "timezone": "UTC"},
        "values": {"status": {"已审核": "paid"}},
    }
    (tmp_path / "map.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "map.yaml").write_text(
        "columns:\n"
        + "".join(
            f"  {k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in spec["columns"].items()
        )
        + "defaults: {status: 待付款, order_type: wholesale, timezone: UTC}\n"
        + "values:\n  status:\n    已审核: paid\n",
        encoding="utf-8",
    )
    for name in ("map.json", "map.yaml"):
        orders = orders_of(results(path, load_mapping(tmp_path / name)))
        one, two = orders["XS-001"], orders["XS-002"]
        assert one.created_at == utc(2026, 11, 11, 10, 0)  # read in UTC, as mapped
        assert (one.status, one.order_type, one.buyer.nick) == ("paid", "wholesale", "宁波甬江商贸")
        assert one.seller_memo == "月结"  # not mapped: found by its usual header
        assert (two.status, two.order_type) == ("unpaid", "offline")  # blank: the defaults


def test_mapping_to_a_column_the_file_lacks_is_a_clear_error(tmp_path):
    path = write_csv(tmp_path / "o.csv", ZH_HEADER, ZH_ROWS, "utf-8")
    mapping = parse_mapping({"columns": {"receiver.phone": ["收货电话", "手机号码"]}})
    with pytest.raises(
        TabularError, match=r"receiver\.phone: no column named 收货电话 or 手机号码"
    ):
        results(path, mapping)


def test_missing_required_column_names_the_headers_it_accepts(tmp_path):
    path = write_csv(tmp_path / "o.csv", ["订单号", "商家编码", "数量"], [["1", "A", "1"]], "utf-8")
    with pytest.raises(TabularError) as caught:
        list(rows_to_orders(read_rows(path)))
    assert "created_at: required" in caught.value.message and "下单时间" in caught.value.message
    assert "the file's columns: 订单号, 商家编码, 数量" in caught.value.message


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({"columns": {"line.qty": "数量"}}, "columns.line.qty", "did you mean 'line.quantity'"),
        ({"columns": {"external_id": 5}}, "columns.external_id", "expected a header"),
        ({"columns": {"external_id": ""}}, "columns.external_id", "expected a header"),
        ({"defaults": {"status": "shipped"}}, "defaults.status", "unknown status 'shipped'"),
        ({"defaults": {"order_type": "b2b"}}, "defaults.order_type", "unknown order type"),
        ({"defaults": {"timezone": "Beijing"}}, "defaults.timezone", "unknown time zone"),
        ({"defaults": {"currency": "CNY"}}, "defaults.currency", "unknown key"),
        ({"values": {"status": {"已审核": "ok"}}}, "values.status.已审核", "expected one of"),
        ({"colums": {}}, "colums", "unknown key"),
        (["external_id"], "(top level)", "expected a mapping"),
    ],
)
def test_mapping_errors_name_the_key(data, key, problem):
    with pytest.raises(MappingError) as caught:
        parse_mapping(data, source="m.yaml")
    assert caught.value.field == key
    assert caught.value.message.startswith(f"m.yaml: {key}: ")
    assert problem in caught.value.message


def test_mapping_file_that_does_not_parse(tmp_path):
    (tmp_path / "bad.yaml").write_text("columns: [unclosed\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"bad.yaml: \(file\): not valid YAML"):
        load_mapping(tmp_path / "bad.yaml")
    with pytest.raises(MappingError, match="cannot read"):
        load_mapping(tmp_path / "none.yaml")


def test_a_null_column_ignores_what_the_default_headers_would_pick(tmp_path):
    path = write_csv(tmp_path / "o.csv", ZH_HEADER, ZH_ROWS, "utf-8")
    mapping = parse_mapping({"columns": {"seller_memo": None}})
    assert all(o.seller_memo == "" for o in orders_of(results(path, mapping)).values())


# --- bad rows, conflicts, grouping ------------------------------------------------------------


def test_bad_rows_are_named_and_good_orders_still_come_through(tmp_path):
    header = ["订单号", "下单时间", "商家编码", "数量", "单价", "收货人"]
    rows = [
        ["G1", "2026-11-11 10:00", "A", "1", "10", "甲"],  # 2 good
        ["B1", "2026-11-11 10:00", "A", "0", "10", "乙"],  # 3 zero quantity
        ["B2", "2026-11-11 10:00", "A", "1.5", "10", "丙"],  # 4 not whole
        ["B3", "2026-11-11 10:00", "A", "1", "-5", "丁"],  # 5 negative price
        ["B4", "2026-11-31 10:00", "A", "1", "10", "戊"],  # 6 no such day
        ["", "2026-11-11 10:00", "A", "1", "10", "己"],  # 7 no order number
        ["B5", "", "A", "1", "10", "庚"],  # 8 no order time
        ["B6", "2026-11-11 10:00", "", "", "10", "辛"],  # 9 no SKU, no quantity
        ["G2", "2026-11-11 10:00", "B", "1,000", "¥1", "壬"],  # 10 good
        ["B7", "2026-11-11 10:00", "A", "1", "10", "癸"],  # 11 good line, bad next line
        ["B7", "", "C", "abc", "", ""],  # 12
    ]
    items = results(write_csv(tmp_path / "o.csv", header, rows, "utf-8"))
    assert sorted(orders_of(items)) == ["G1", "G2"]
    assert orders_of(items)["G2"].lines[0].quantity == 1000
    messages = {n: str(e) for n, e in errors_of(items)}
    assert messages == {
        3: "order B1: row 3, column 数量: must be greater than 0",
        4: "order B2: row 4, column 数量: not a whole number: '1.5'",
        5: "order B3: row 5, column 单价: must not be negative",
        6: "order B4: row 6, column 下单时间: not a date and time: '2026-11-31 10:00'",
        7: "row 7, column 订单号: missing",
        8: "order B5: row 8, column 下单时间: missing",
        9: "order B6: row 9, column 商家编码: missing; row 9, column 数量: missing",
        11: "order B7: row 12, column 数量: not a whole number: 'abc'",
    }
    b7 = dict(errors_of(items))[11]
    assert b7.rows == (11, 12)  # the whole order is held back, not its good line alone


def test_order_level_values_must_agree_across_the_orders_rows(tmp_path):
    header = ["订单号", "下单时间", "收货人", "运费", "商家编码", "数量"]
    rows = [
        ["C1", "2026-11-11 10:00", "张三", "8", "A", "1"],
        ["C1", "2026-11-11 10:00:00", "", "8.00", "B", "1"],  # same values, other spelling
        ["C2", "2026-11-11 10:00", "李四", "8", "A", "1"],
        ["C2", "", "王五", "", "B", "1"],  # row 5: another receiver
        ["C2", "2026-11-12 10:00", "", "", "C", "1"],  # row 6: another time
        ["C3", "", "赵六", "", "A", "1"],  # the first non-blank value counts
        ["C3", "2026/11/11 10:00", "", "", "B", "2"],
    ]
    items = results(write_csv(tmp_path / "o.csv", header, rows, "utf-8"))
    orders = orders_of(items)
    assert [len(orders[k].lines) for k in ("C1", "C3")] == [2, 2]
    assert orders["C3"].created_at == utc(2026, 11, 11, 2, 0)
    ((row, error),) = errors_of(items)
    assert row == 4 and error.rows == (4, 5, 6)
    assert [(p.row, p.column) for p in error.problems] == [(5, "收货人"), (6, "下单时间")]
    assert "'王五' differs from '李四' in row 4" in str(error)


def rows_of(*numbers_and_skus: tuple[str, str]) -> list[tuple[int, dict[str, object]]]:
    return [
        (n, {"订单号": no, "下单时间": "2026-11-11 10:00", "商家编码": sku, "数量": "1"})
        for n, (no, sku) in enumerate(numbers_and_skus, start=2)
    ]


def test_rows_of_one_order_apart_are_merged():
    rows = rows_of(("A", "a1"), ("B", "b1"), ("A", "a2"), ("C", "c1"), ("B", "b2"))
    orders = orders_of(list(rows_to_orders(rows)))
    assert {k: [ln.sku for ln in o.lines] for k, o in orders.items()} == {
        "A": ["a1", "a2"],
        "B": ["b1", "b2"],
        "C": ["c1"],
    }


def test_rows_that_come_back_after_the_window_are_reported_not_imported_twice():
    rows = rows_of(("A", "a1"), ("B", "b1"), ("C", "c1"), ("A", "a2"))
    items = list(rows_to_orders(rows, window=1))
    assert [len(o.lines) for _, o in items if isinstance(o, CanonicalOrder)] == [1, 1, 1]
    ((row, error),) = errors_of(items)
    assert row == 5 and "order A (from row 2) was already read" in str(error)
    # With the first pass's index the order stays open until its last row, whatever the window.
    index = scattered_orders(rows)
    assert index == {"A": 5}
    items = list(rows_to_orders(rows, scattered=index, window=0))
    assert [len(o.lines) for _, o in items if isinstance(o, CanonicalOrder)] == [1, 1, 2]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_read_orders_merges_rows_far_apart(tmp_path, kind):
    header = ["订单号", "下单时间", "商家编码", "数量"]
    rows = [["A", "2026-11-11 10:00", "a1", "1"]]
    rows += [[f"N{i}", "2026-11-11 10:00", "n", "1"] for i in range(1500)]
    rows += [["A", "", "a2", "2"]]
    if kind == "csv":
        path = write_csv(tmp_path / "o.csv", header, rows, "utf-8")
    else:
        path = write_xlsx(tmp_path / "o.xlsx", {"orders": [header, *rows]})
    items = results(path)
    assert not errors_of(items) and len(items) == 1501
    assert [ln.sku for ln in orders_of(items)["A"].lines] == ["a1", "a2"]


def test_orders_stream_out_while_rows_stream_in():
    consumed = 0

    def endless() -> Iterator[tuple[int, dict[str, object]]]:
        nonlocal consumed
        for n in range(2, 10**9):
            consumed += 1
            yield n, {"订单号": f"O{n // 2}", "下单时间": "2026-11-11", "SKU": "A", "数量": 1}

    first = list(islice(rows_to_orders(endless(), window=10), 3))
    assert [o.external_id for _, o in first if isinstance(o, CanonicalOrder)] == ["O1", "O2", "O3"]
    assert consumed < 40  # buffered: the open order and the window, not the input


# --- reading files ----------------------------------------------------------------------------


def test_read_rows_numbers_rows_as_the_spreadsheet_does(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(
        '\n,,\n订单号,备注,备注,\n1,"two\nlines",x,\n\n2,,,extra\n', encoding="utf-8-sig"
    )
    assert list(read_rows(path)) == [
        (4, {"订单号": "1", "备注": "two\nlines", "备注 (2)": "x"}),  # a blank line is a row
        (6, {"订单号": "2", "备注": "", "备注 (2)": ""}),
    ]


def test_tab_separated_text_and_utf16(tmp_path):
    path = tmp_path / "o.txt"
    path.write_text("订单号\t下单时间\tSKU\t数量\nT1\t2026-11-11 10:00\tA\t1\n", encoding="utf-16")
    assert list(orders_of(results(path))) == ["T1"]


def test_unreadable_files(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "header-only.csv").write_text("订单号,数量\n", encoding="utf-8")
    with pytest.raises(TabularError, match="created_at: required"):
        results(tmp_path / "header-only.csv")  # checked although there are no rows
    with pytest.raises(TabularError, match="no header row"):
        list(read_rows(tmp_path / "empty.csv"))
    with pytest.raises(TabularError, match=r"\.xls workbooks are not supported"):
        list(read_rows(tmp_path / "old.xls"))
    with pytest.raises(TabularError, match="not a readable XLSX"):
        list(read_rows(tmp_path / "broken.xlsx"))
    with pytest.raises(TabularError, match="cannot read"):
        list(read_rows(tmp_path / "missing.csv"))


# --- the examples in docs/ --------------------------------------------------------------------


def test_example_wholesale_csv():
    items = results(EXAMPLES / "wholesale-orders.csv")
    assert not errors_of(items)
    orders = orders_of(items)
    assert len(orders) == 3
    assert sorted(len(o.lines) for o in orders.values()) == [1, 1, 2]
    assert all(o.receiver.province and o.receiver.phone for o in orders.values())


def test_example_mapping_reads_an_erp_export(tmp_path):
    mapping = load_mapping(EXAMPLES / "mapping-example.yaml")
    assert (mapping.status, mapping.order_type, mapping.timezone) == (
        "paid",
        "wholesale",
        "Asia/Shanghai",
    )
    header = ["单据编号", "单据日期", "往来单位编码", "往来单位", "收货联系人", "收货电话",
              "所在省", "所在市", "所在区县", "收货详细地址", "存货编码", "存货名称", "规格型号",
              "数量", "含税单价", "运费金额", "整单优惠", "审核状态", "摘要", "标签"]  # fmt: skip
    rows = [["XSD-2026-0001", "2026-11-11", "KH0032", "南京金陵商贸", "孙敏", "13951600001",
             "江苏省", "南京市", "秦淮区", "中山南路1号", "HT-01", "黄桃罐头", "425g", "48",
             "8.80", "0", "0", "已审核", "", "A区"]]  # fmt: skip
    path = write_xlsx(tmp_path / "销售单.xlsx", {"销售单": [header, *rows]})
    ((_, order),) = results(path, mapping)
    assert isinstance(order, CanonicalOrder)
    assert (order.status, order.order_type, order.tags) == ("paid", "wholesale", [])
    assert (order.buyer.id, order.buyer.nick) == ("KH0032", "南京金陵商贸")
    assert order.receiver.phone == "13951600001"
    assert order.total_amount == Decimal("422.40")
