"""Orders from spreadsheets: CSV and XLSX rows become canonical orders.

Offline stores and wholesale customers send one row per order line; the rows of an order share
its order number and the order-level fields (buyer, receiver, times, fees) come from its first
row. Everything streams: the memory needed is that of the orders still open, not of the file.

    for row_no, result in read_orders(path, load_mapping("mapping.yaml")):
        ...  # result is a CanonicalOrder, or a RowError naming rows and columns
"""

from __future__ import annotations

import codecs
import csv
import json
import pickle
import re
import tempfile
from collections import OrderedDict
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from difflib import get_close_matches
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Final, get_args
from zipfile import BadZipFile
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import ValidationError as PydanticError
from pydantic_core import ErrorDetails

from lvyue.core.errors import ValidationError
from lvyue.orders.canonical import CanonicalOrder, ChannelStatus, OrderType

ORDER_FIELDS: Final = (
    "external_id",
    "status",
    "created_at",
    "paid_at",
    "buyer.id",
    "buyer.nick",
    "receiver.name",
    "receiver.phone",
    "receiver.province",
    "receiver.city",
    "receiver.district",
    "receiver.address",
    "shipping_fee",
    "discount",
    "buyer_message",
    "seller_memo",
    "tags",
    "order_type",
)
LINE_FIELDS: Final = ("line.sku", "line.quantity", "line.unit_price", "line.name", "line.spec")
FIELDS: Final = ORDER_FIELDS + LINE_FIELDS
REQUIRED_FIELDS: Final = ("external_id", "created_at", "line.sku", "line.quantity")

# Headers recognised without a mapping file, best first. Matching ignores case, spaces, `_`,
# `-`, a trailing `*` and a unit in brackets, so "Order No", "单价(元)" and "数量*" match too.
DEFAULT_HEADERS: Final[Mapping[str, tuple[str, ...]]] = {
    "external_id": (
        "订单号", "订单编号", "外部单号", "外部订单号", "原始单号", "平台单号", "单据编号",
        "order_no", "order_number", "order_id", "external_id",
    ),
    "status": ("状态", "订单状态", "付款状态", "支付状态", "status", "order_status"),
    "created_at": (
        "下单时间", "创建时间", "订单创建时间", "下单日期", "订单日期", "日期",
        "created_at", "order_time", "order_date", "date",
    ),
    "paid_at": ("付款时间", "支付时间", "paid_at", "payment_time", "paid_time"),
    "buyer.id": ("买家ID", "买家账号", "客户编码", "客户编号", "buyer_id", "customer_id"),
    "buyer.nick": (
        "买家昵称", "买家", "客户名称", "客户", "buyer_nick", "buyer", "customer_name", "customer",
    ),
    "receiver.name": (
        "收货人", "收件人", "收货人姓名", "收件人姓名", "联系人", "receiver", "receiver_name",
        "consignee",
    ),
    "receiver.phone": (
        "手机", "手机号", "手机号码", "电话", "联系电话", "收货人手机", "收货人电话",
        "收件人手机", "收件人电话", "phone", "mobile", "tel", "receiver_phone",
    ),
    "receiver.province": ("省", "省份", "收货省份", "province", "state"),
    "receiver.city": ("市", "城市", "收货城市", "city"),
    "receiver.district": ("区", "区县", "县区", "区/县", "收货区县", "district", "county"),
    "receiver.address": (
        "详细地址", "收货地址", "收件地址", "地址", "address", "receiver_address",
        "shipping_address", "street",
    ),
    "line.sku": (
        "商家编码", "商品编码", "商家SKU", "SKU编码", "规格编码", "货品编号", "货号", "sku",
        "sku_code", "outer_id", "item_code", "product_code",
    ),
    "line.quantity": ("数量", "购买数量", "商品数量", "件数", "quantity", "qty"),
    "line.unit_price": (
        "单价", "商品单价", "售价", "批发价", "价格", "unit_price", "price",
    ),
    "line.name": (
        "商品名称", "商品名", "货品名称", "品名", "宝贝标题", "名称", "product_name", "item_name",
        "title",
    ),
    "line.spec": ("规格", "商品规格", "规格名称", "销售属性", "颜色尺码", "spec", "variant"),
    "shipping_fee": ("运费", "邮费", "shipping_fee", "shipping", "freight", "postage"),
    "discount": ("优惠", "优惠金额", "折扣", "折扣金额", "discount"),
    "buyer_message": ("买家留言", "买家备注", "客户留言", "buyer_message", "buyer_note"),
    "seller_memo": ("卖家备注", "商家备注", "备注", "seller_memo", "memo", "remark", "note"),
    "tags": ("标签", "订单标签", "tags", "tag"),
    "order_type": ("订单类型", "order_type"),
}  # fmt: skip

STATUS_WORDS: Final[Mapping[str, ChannelStatus]] = {
    **dict.fromkeys(
        ("paid", "已付款", "已支付", "已付", "付款", "买家已付款", "待发货", "已付款待发货"), "paid"
    ),
    **dict.fromkeys(
        ("unpaid", "pending", "待付款", "未付款", "待支付", "未支付", "等待买家付款"), "unpaid"
    ),
    **dict.fromkeys(
        ("cancelled", "canceled", "closed", "已取消", "取消", "已关闭", "交易关闭"), "cancelled"
    ),
}
ORDER_TYPE_WORDS: Final[Mapping[str, OrderType]] = {
    **dict.fromkeys(("online", "线上", "网店", "电商"), "online"),
    **dict.fromkeys(("livestream", "直播"), "livestream"),
    **dict.fromkeys(("offline", "线下", "门店"), "offline"),
    **dict.fromkeys(("wholesale", "批发"), "wholesale"),
    **dict.fromkeys(("distribution", "分销", "代发"), "distribution"),
}

# Closed orders held back this long, so rows of one order a little apart are still merged.
DEFAULT_WINDOW: Final = 1000


class TabularError(ValidationError):
    """The file or its header as a whole is unusable; no order was read from it."""

    code = "invalid_spreadsheet"


class MappingError(TabularError):
    """A mapping is invalid; ``field`` is the key path, e.g. ``columns.line.qty``."""

    code = "invalid_mapping"

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(key, problem, source=source)
        self.source = source
        self.message = f"{source}: {key}: {problem}"
        self.args = (self.message,)


@dataclass(frozen=True)
class Problem:
    """One thing wrong, at a spreadsheet row and (when known) a column header."""

    row: int
    column: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, column {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class RowError:
    """An order (or an orphan row) that was not imported, and every reason why."""

    external_id: str | None
    rows: tuple[int, ...]
    problems: tuple[Problem, ...]

    def __str__(self) -> str:
        reasons = "; ".join(str(p) for p in self.problems)
        return f"order {self.external_id}: {reasons}" if self.external_id else reasons


def _norm_header(name: str) -> str:
    name = re.sub(r"[(（][^()（）]*[)）]$", "", name.strip())
    return re.sub(r"[\s_\-*:：]", "", name).casefold()


def _norm_word(word: str) -> str:
    return re.sub(r"\s", "", word).casefold()


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds which canonical field, and the defaults for what no column says.

    ``columns`` holds explicit choices (field path → header candidates, best first; an empty
    tuple ignores the field); every other field is found through ``DEFAULT_HEADERS``.
    ``order_type`` None leaves the canonical default, which the import replaces by the shop's.
    """

    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    status: ChannelStatus = "paid"
    order_type: OrderType | None = None
    timezone: str = "Asia/Shanghai"
    status_values: Mapping[str, ChannelStatus] = field(default_factory=dict)
    order_type_values: Mapping[str, OrderType] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = "ColumnMapping"
        for key, names in self.columns.items():
            if key not in FIELDS:
                raise MappingError(src, f"columns.{key}", "unknown field" + _suggest(key, FIELDS))
            if not isinstance(names, tuple | list):
                raise MappingError(src, f"columns.{key}", "expected a tuple of headers")
        statuses, types = get_args(ChannelStatus), get_args(OrderType)
        if self.status not in statuses:
            raise MappingError(src, "defaults.status", f"expected one of {', '.join(statuses)}")
        if self.order_type is not None and self.order_type not in types:
            raise MappingError(src, "defaults.order_type", f"expected one of {', '.join(types)}")
        for word, status in self.status_values.items():
            if status not in statuses:
                expected = ", ".join(statuses)
                raise MappingError(src, f"values.status.{word}", f"expected one of {expected}")
        for word, kind in self.order_type_values.items():
            if kind not in types:
                expected = ", ".join(types)
                raise MappingError(src, f"values.order_type.{word}", f"expected one of {expected}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problem = f"unknown time zone {self.timezone!r}"
            raise MappingError(src, "defaults.timezone", problem) from None

    def resolve(self, headers: Iterable[str]) -> dict[str, str]:
        """Field path → the header in this file. Explicit columns may share a header; default
        headers never take one already chosen. Raises TabularError for required fields no
        column provides and for explicit columns the file does not have."""
        present: dict[str, str] = {}
        for header in headers:
            present.setdefault(_norm_header(header), header)
        found: dict[str, str] = {}
        problems: list[str] = []
        for key, names in self.columns.items():
            hit = next((present[n] for n in map(_norm_header, names) if n in present), None)
            if hit is not None:
                found[key] = hit
            elif names:
                problems.append(f"{key}: no column named {' or '.join(names)}")
        claimed = set(found.values())
        for key in FIELDS:
            if key in self.columns:
                continue
            for name in map(_norm_header, DEFAULT_HEADERS[key]):
                if name in present and present[name] not in claimed:
                    found[key] = present[name]
                    claimed.add(present[name])
                    break
        for key in REQUIRED_FIELDS:
            if key in found or self.columns.get(key):
                continue  # found, or its explicit header is already reported missing
            accepted = ", ".join(DEFAULT_HEADERS[key])
            problems.append(f"{key}: required, but no column has it (accepted: {accepted})")
        if problems:
            have = ", ".join(present.values()) or "none"
            raise TabularError(
                "columns", "; ".join(problems) + f"; the file's columns: {have}", columns=problems
            )
        return found

    @cached_property
    def _statuses(self) -> dict[str, ChannelStatus]:
        words = {**STATUS_WORDS, **self.status_values}
        return {_norm_word(k): v for k, v in words.items()}

    @cached_property
    def _order_types(self) -> dict[str, OrderType]:
        words = {**ORDER_TYPE_WORDS, **self.order_type_values}
        return {_norm_word(k): v for k, v in words.items()}

    def status_of(self, word: str) -> ChannelStatus | None:
        """The status a cell's word means (built-in words plus ``status_values``), or None."""
        return self._statuses.get(_norm_word(word))

    def order_type_of(self, word: str) -> OrderType | None:
        return self._order_types.get(_norm_word(word))


DEFAULT_MAPPING: Final = ColumnMapping()


def _str_map(data: object, key: str, source: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MappingError(source, key, f"expected a mapping, got {type(data).__name__}")
    return {str(k): v for k, v in data.items()}


def _word_map(data: object, key: str, source: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    words = _str_map(data, key, source)
    for word, value in words.items():
        if value not in allowed:
            raise MappingError(source, f"{key}.{word}", f"expected one of {', '.join(allowed)}")
    return words


def parse_mapping(data: object, *, source: str = "mapping") -> ColumnMapping:
    """Build a mapping from parsed YAML/JSON; errors name the key, e.g. ``defaults.status``."""
    top = _str_map(data, "(top level)", source)
    for key in top:
        if key not in ("columns", "defaults", "values"):
            raise MappingError(source, key, "unknown key; expected columns, defaults or values")
    columns: dict[str, tuple[str, ...]] = {}
    for key, value in _str_map(top.get("columns"), "columns", source).items():
        if key not in FIELDS:
            raise MappingError(source, f"columns.{key}", "unknown field" + _suggest(key, FIELDS))
        names = [value] if isinstance(value, str) else [] if value is None else value
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise MappingError(
                source, f"columns.{key}", "expected a header, a list of headers, or null"
            )
        columns[key] = tuple(names)
    values = _str_map(top.get("values"), "values", source)
    for key in values:
        if key not in ("status", "order_type"):
            raise MappingError(
                source, f"values.{key}", "unknown key; expected status or order_type"
            )
    defaults = _str_map(top.get("defaults"), "defaults", source)
    for key, value in defaults.items():
        if key not in ("status", "order_type", "timezone"):
            raise MappingError(
                source, f"defaults.{key}", "unknown key; expected status, order_type or timezone"
            )
        if not isinstance(value, str):
            raise MappingError(source, f"defaults.{key}", "expected text")
    try:
        mapping = ColumnMapping(
            columns=columns,
            status_values=_word_map(
                values.get("status"), "values.status", source, get_args(ChannelStatus)
            ),
            order_type_values=_word_map(
                values.get("order_type"), "values.order_type", source, get_args(OrderType)
            ),
            timezone=defaults.get("timezone", "Asia/Shanghai"),
        )
    except MappingError as exc:
        raise MappingError(source, exc.field, exc.problem) from None
    # Defaults may be written in the sheet's own words, e.g. 已付款 or 批发.
    if (word := defaults.get("status")) is not None:
        if (status := mapping.status_of(word)) is None:
            raise MappingError(source, "defaults.status", f"unknown status {word!r}")
        mapping = replace(mapping, status=status)
    if (word := defaults.get("order_type")) is not None:
        if (kind := mapping.order_type_of(word)) is None:
            raise MappingError(source, "defaults.order_type", f"unknown order type {word!r}")
        mapping = replace(mapping, order_type=kind)
    return mapping


def load_mapping(path: str | Path) -> ColumnMapping:
    """Read a mapping file: JSON for ``.json``, YAML otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(path.name, "(file)", f"cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise MappingError(path.name, "(file)", f"not valid {kind}: {exc}") from None
    return parse_mapping(data, source=path.name)


# --- reading files ----------------------------------------------------------------------------


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_row(cells: Sequence[object]) -> list[str | None]:
    """Header names by position; empty headers drop their column, repeats get a number."""
    seen: dict[str, int] = {}
    names: list[str | None] = []
    for cell in cells:
        name = _text(cell)
        if not name:
            names.append(None)
            continue
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def _records(records: Iterable[Sequence[object]]) -> Iterator[tuple[int, dict[str, object]]]:
    headers: list[str | None] | None = None
    for row_no, cells in enumerate(records, start=1):
        if all(_blank(c) for c in cells):
            continue
        if headers is None:
            headers = _header_row(cells)
            continue
        yield (
            row_no,
            {h: (cells[i] if i < len(cells) else None) for i, h in enumerate(headers) if h},
        )
    if headers is None:
        raise TabularError("file", "no header row: the file or sheet is empty")


def _encoding(path: Path) -> str:
    """UTF-8 if every byte decodes as UTF-8, else GB18030 (a superset of GBK, which Chinese
    Excel uses for CSV). A strict check beats guessing: GBK text is never valid UTF-8 in
    practice, while statistical detectors misread short Chinese text."""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _delimiter(sample: str) -> str:
    first = next((ln for ln in sample.splitlines() if ln.strip()), "")
    return max((",", "\t", ";"), key=first.count) if first else ","


def _csv_records(path: Path) -> Iterator[list[str]]:
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        try:
            delimiter = _delimiter(fh.read(1 << 16))
            fh.seek(0)
            reader = csv.reader(fh, delimiter=delimiter)
            yield from reader
        except UnicodeDecodeError as exc:
            raise TabularError("file", f"cannot decode as {encoding}: {exc.reason}") from None
        except csv.Error as exc:
            raise TabularError("file", f"row {reader.line_num}: {exc}") from None


def _xlsx_records(path: Path, sheet: str | None) -> Iterator[tuple[object, ...]]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError) as exc:
        raise TabularError("file", f"not a readable XLSX workbook: {exc}") from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            names = ", ".join(book.sheetnames)
            raise TabularError("sheet", f"no sheet named {sheet!r}; the sheets: {names}")
        # Some writers record a wrong sheet size, which would cut rows or columns off.
        ws.reset_dimensions()
        yield from ws.iter_rows(values_only=True)
    finally:
        book.close()


def _is_xlsx(path: Path) -> bool:
    """By content, not name: a CSV saved as .xlsx or the other way round still reads."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise TabularError("file", f"cannot read {path}: {exc.strerror}") from None
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise TabularError("file", "old binary .xls workbooks are not supported; save as .xlsx")
    return magic.startswith(b"PK\x03\x04")


def _raw_records(path: Path, sheet: str | None) -> Generator[Sequence[object]]:
    if _is_xlsx(path):
        yield from _xlsx_records(path, sheet)
        return
    if sheet is not None:
        raise TabularError("sheet", "a CSV file has no sheets")
    yield from _csv_records(path)


def read_rows(
    path: str | Path, *, sheet: str | None = None
) -> Iterator[tuple[int, dict[str, object]]]:
    """Stream (row number as the spreadsheet shows it, {header: cell}) for each non-empty row
    after the header, which is the first non-empty row. XLSX cells keep their types (numbers,
    datetimes); CSV cells are text. ``sheet`` picks an XLSX sheet by name (default: first)."""
    yield from _records(_raw_records(Path(path), sheet))


def read_header(path: str | Path, *, sheet: str | None = None) -> list[str]:
    """The column headers, reading no further than the header row."""
    records = _raw_records(Path(path), sheet)
    try:
        for cells in records:
            if not all(_blank(c) for c in cells):
                return [h for h in _header_row(cells) if h]
    finally:
        records.close()  # closes the workbook at once
    raise TabularError("file", "no header row: the file or sheet is empty")


# --- reading cells ----------------------------------------------------------------------------

_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.S)  # ="0123" keeps leading zeros in Excel CSVs
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d*)?$")
_CURRENCY = re.compile(r"^(RMB|CNY)|[¥￥\s]|元$", re.I)
_CN_DATE = re.compile(r"^(\d{4})(?:[/.年])(\d{1,2})(?:[/.月])(\d{1,2})日?")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M", "%Y-%m-%d")
# Excel day numbers for 1990-01-01 and 2100-01-01: a number outside is no order date.
_EXCEL_DAYS = (32874, 73051)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        quoted = _EXCEL_TEXT.match(text)
        return quoted.group(1).strip() if quoted else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phones and order numbers stored as numbers: no ".0"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _number(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"not {what}: {value}")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # repr is the shortest exact text: 59.9 stays 59.9
    text = _CURRENCY.sub("", _text(value)).replace("，", ",")
    if "," in text:
        if not _THOUSANDS.match(text):
            raise ValueError(f"not {what}: {_text(value)!r}")
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not {what}: {_text(value)!r}") from None
    if not number.is_finite():
        raise ValueError(f"not {what}: {_text(value)!r}")
    return number


def _whole(value: object) -> int:
    number = _number(value, "a whole number")
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {_text(value)!r}")
    return int(number)


def _when(value: object, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not _EXCEL_DAYS[0] <= value < _EXCEL_DAYS[1]:
            raise ValueError(f"not a date and time: {value!r}")
        moment = from_excel(value)  # a date cell without date format: days since 1900
    else:
        text = re.sub(r"\s+", " ", _text(value))
        moment = _parse_time(_CN_DATE.sub(r"\1-\2-\3", text), text)
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _parse_time(text: str, original: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _TIME_FORMATS:  # strptime also takes unpadded 2026-1-5 9:05, as Excel writes
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date and time: {original!r}")


def _tags(value: object) -> list[str]:
    return [t for t in (s.strip() for s in re.split(r"[,，;；、|]", _text(value))) if t]


def _message(err: ErrorDetails) -> str:
    ctx = err.get("ctx", {})
    kind = err["type"]
    if kind == "missing":
        return "missing"
    if kind == "greater_than_equal" and ctx.get("ge") == 0:
        return "must not be negative"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "too_short" and err["loc"] == ("lines",):
        return "no order lines"
    msg = err["msg"].replace("Input should be", "must be").replace("Value error, ", "")
    return msg.replace("String should have", "must have")


def _by_row(problem: Problem) -> int:
    return problem.row


# --- rows to orders ---------------------------------------------------------------------------


@dataclass
class _Draft:
    """An order being collected: order-level values with where they came from, and lines."""

    key: str
    rows: list[int] = field(default_factory=list)
    values: dict[str, tuple[object, int, str]] = field(default_factory=dict)
    lines: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _Reader:
    def __init__(self, mapping: ColumnMapping, headers: Iterable[str]) -> None:
        self.mapping = mapping
        self.columns = mapping.resolve(headers)
        self.id_column = self.columns["external_id"]
        self.tz = ZoneInfo(mapping.timezone)

    def key(self, cells: Mapping[str, object]) -> str:
        return _text(cells.get(self.id_column))

    def _parse(self, key: str, value: object) -> object:
        match key:
            case "created_at" | "paid_at":
                return _when(value, self.tz)
            case "shipping_fee" | "discount" | "line.unit_price":
                return _number(value, "an amount of money")
            case "line.quantity":
                return _whole(value)
            case "tags":
                return _tags(value)
            case "status":
                if (status := self.mapping.status_of(_text(value))) is None:
                    hint = "已付款/待付款/已取消 or paid/unpaid/cancelled"
                    raise ValueError(f"unknown status {_text(value)!r} (use {hint})")
                return status
            case "order_type":
                if (kind := self.mapping.order_type_of(_text(value))) is None:
                    expected = ", ".join(get_args(OrderType))
                    raise ValueError(f"unknown order type {_text(value)!r} (use {expected})")
                return kind
            case _:
                return _text(value)

    def add(self, draft: _Draft, row_no: int, cells: Mapping[str, object]) -> None:
        draft.rows.append(row_no)
        line: dict[str, object] = {}
        for key, column in self.columns.items():
            raw = cells.get(column)
            if key == "external_id" or _blank(raw):
                continue
            try:
                value = self._parse(key, raw)
            except ValueError as exc:
                draft.problems.append(Problem(row_no, column, key, str(exc)))
                continue
            if key.startswith("line."):
                line[key.removeprefix("line.")] = value
                continue
            first = draft.values.get(key)
            if first is None:
                draft.values[key] = (value, row_no, _text(raw))
            elif first[0] != value:  # compared parsed, so 8 and 8.00 agree
                problem = f"{_text(raw)!r} differs from {first[2]!r} in row {first[1]}"
                draft.problems.append(Problem(row_no, column, key, problem))
        draft.lines.append((row_no, line))

    def _locate(self, draft: _Draft, loc: tuple[int | str, ...]) -> tuple[int, str]:
        if loc[0] == "lines" and len(loc) > 1 and isinstance(loc[1], int):
            row, key = draft.lines[loc[1]][0], f"line.{loc[2]}" if len(loc) > 2 else "line.sku"
        else:
            dotted = ".".join(str(p) for p in loc[:2])
            key = dotted if dotted in FIELDS else str(loc[0])
            row = draft.values[key][1] if key in draft.values else draft.rows[0]
        return row, key

    def build(self, draft: _Draft) -> CanonicalOrder | RowError:
        data: dict[str, Any] = {"external_id": draft.key, "status": self.mapping.status}
        if self.mapping.order_type:
            data["order_type"] = self.mapping.order_type
        for key, (value, _, _) in draft.values.items():
            group, _, name = key.rpartition(".")
            (data.setdefault(group, {}) if group else data)[name] = value
        data["lines"] = [line for _, line in draft.lines]
        problems = list(draft.problems)
        try:
            order = CanonicalOrder.model_validate(data)
        except PydanticError as exc:
            # A cell that did not parse was left out; don't report it again as missing.
            bad_cells = {(p.row, p.field) for p in problems}
            bad_fields = {p.field for p in problems if p.field in ORDER_FIELDS}
            for err in exc.errors():
                row, key = self._locate(draft, err["loc"])
                if (row, key) in bad_cells or key in bad_fields:
                    continue
                problems.append(Problem(row, self.columns.get(key), key, _message(err)))
        else:
            if not problems:
                return order
        return RowError(draft.key, tuple(draft.rows), tuple(sorted(problems, key=_by_row)))


def rows_to_orders(
    rows: Iterable[tuple[int, Mapping[str, object]]],
    mapping: ColumnMapping = DEFAULT_MAPPING,
    *,
    scattered: Mapping[str, int] | None = None,
    window: int = DEFAULT_WINDOW,
) -> Iterator[tuple[int, CanonicalOrder | RowError]]:
    """Group rows by order number and yield (first row, order or error) per order.

    An order closes when the order number changes. Closed orders wait in a window of
    ``window`` orders, so rows that come back to one of them are still merged; rows that come
    back later are reported, never imported as a second order. ``scattered`` (from
    ``scattered_orders``) gives the last row of each order whose rows are apart: those stay open
    until that row, which makes any ordering exact. Headers are resolved on the first row.
    """
    reader: _Reader | None = None
    open_: dict[str, _Draft] = {}
    parked: OrderedDict[str, _Draft] = OrderedDict()
    emitted: dict[str, int] = {}  # only without an index: to name orders whose rows return
    current: str | None = None
    last_rows = scattered or {}

    def close(key: str) -> None:
        if key in open_:
            parked[key] = open_.pop(key)

    def flush(keep: int) -> Iterator[tuple[int, CanonicalOrder | RowError]]:
        assert reader is not None
        while len(parked) > keep:
            key, draft = parked.popitem(last=False)
            if scattered is None:
                emitted[key] = draft.rows[0]
            yield draft.rows[0], reader.build(draft)

    for row_no, cells in rows:
        if reader is None:
            reader = _Reader(mapping, cells.keys())
        if all(_blank(v) for v in cells.values()):
            continue
        key = reader.key(cells)
        if not key:
            problem = Problem(row_no, reader.id_column, "external_id", "missing")
            yield row_no, RowError(None, (row_no,), (problem,))
            continue
        if key != current:
            if current is not None and current not in last_rows:
                close(current)
            current = key
        draft = open_.get(key) or parked.pop(key, None)
        if draft is None and key in emitted:
            problem = Problem(
                row_no,
                reader.id_column,
                "external_id",
                f"order {key} (from row {emitted[key]}) was already read; keep its rows together",
            )
            yield row_no, RowError(key, (row_no,), (problem,))
            continue
        open_[key] = draft or _Draft(key)
        reader.add(open_[key], row_no, cells)
        if last_rows.get(key) == row_no:
            close(key)
        yield from flush(window)
    for key in list(open_):
        close(key)
    if reader is not None:
        yield from flush(0)


def scattered_orders(
    rows: Iterable[tuple[int, Mapping[str, object]]], mapping: ColumnMapping = DEFAULT_MAPPING
) -> dict[str, int]:
    """First pass for ``rows_to_orders``: the last row of every order whose rows are not all
    together. Keeps only order numbers in memory, never order contents."""
    seen: set[str] = set()
    last: dict[str, int] = {}
    current: str | None = None
    reader: _Reader | None = None
    for row_no, cells in rows:
        reader = reader or _Reader(mapping, cells.keys())
        key = reader.key(cells)
        if not key:
            continue
        if key != current:
            if key in seen:
                last[key] = row_no
            seen.add(key)
            current = key
        if key in last:
            last[key] = row_no
    return last


def read_orders(
    path: str | Path,
    mapping: ColumnMapping = DEFAULT_MAPPING,
    *,
    sheet: str | None = None,
) -> Iterator[tuple[int, CanonicalOrder | RowError]]:
    """Orders from a CSV or XLSX file, exact for any row order: a first pass finds the orders
    whose rows are apart (``scattered_orders``), the second builds the orders. The header is
    checked first, so a wrong file or sheet fails even when it has no data rows."""
    path = Path(path)
    mapping.resolve(read_header(path, sheet=sheet))
    if not _is_xlsx(path):  # the csv module is fast enough to read the file twice
        scattered = scattered_orders(read_rows(path), mapping)
        yield from rows_to_orders(read_rows(path), mapping, scattered=scattered)
        return
    # Parsing XLSX costs ten times more than pickling, so the first pass keeps the rows in a
    # temporary file for the second instead of parsing the workbook again.
    with tempfile.TemporaryFile() as spool:
        scattered = scattered_orders(_spooled(read_rows(path, sheet=sheet), spool), mapping)
        spool.seek(0)
        yield from rows_to_orders(_unspooled(spool), mapping, scattered=scattered)


Row = tuple[int, dict[str, object]]


def _spooled(rows: Iterable[Row], spool: IO[bytes]) -> Iterator[Row]:
    for row in rows:
        pickle.dump(row, spool, protocol=pickle.HIGHEST_PROTOCOL)
        yield row


def _unspooled(spool: IO[bytes]) -> Iterator[Row]:
    while True:
        try:
            yield pickle.load(spool)  # our own file, written just now: safe to unpickle
        except EOFError:
            return
