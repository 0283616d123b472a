"""`lvyue address ...`: check receiver addresses and phones from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.table import Table

from lvyue.core.cli import DbOption
from lvyue.core.errors import ValidationError
from lvyue.geo.address import AddressResult, parse_address

app = typer.Typer(help="地址与电话校验 / address and phone checks", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """地址与电话校验 / address and phone checks."""
    # A callback keeps `check` a subcommand even while it is the only one.


ISSUE_LABELS = {
    "unknown_region": "无法识别省市",
    "ambiguous_region": "地区有歧义",
    "city_not_in_province": "城市不属于该省",
    "district_not_in_city": "区县不属于该市",
    "missing_city": "缺少城市",
    "missing_district": "缺少区县",
    "missing_detail": "缺少街道门牌",
    "invalid_phone": "电话无效",
}
LEVEL_LABELS = {"province": "省", "city": "市", "district": "区县"}
FIELDS = (
    ("province", "省份"),
    ("city", "城市"),
    ("district", "区县"),
    ("street", "街道/乡镇"),
    ("detail", "详细地址"),
    ("name", "收货人"),
    ("phone", "电话"),
    ("extension", "分机"),
)


def _parse_line(line: str, line_no: int) -> AddressResult:
    """A line is either the address text or a JSON object {"text", "phone", ...}."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return parse_address(stripped)
    try:
        obj: Any = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"line {line_no}", f"not valid JSON: {exc.msg}") from exc
    if not isinstance(obj, dict):
        raise ValidationError(f"line {line_no}", "expected a JSON object")

    def text(key: str) -> str | None:
        value = obj.get(key)
        return None if value is None else str(value)

    return parse_address(
        text("text"),
        province=text("province"),
        city=text("city"),
        district=text("district"),
        phone=text("phone"),
    )


def _results(lines: Iterable[str]) -> Iterator[AddressResult | ValidationError]:
    """One result per input line, in order; a line that cannot be read yields its error."""
    for n, line in enumerate(lines, start=1):
        try:
            yield _parse_line(line, n)
        except ValidationError as exc:
            yield exc


def _issue_text(result: AddressResult, *, codes: bool = False) -> str:
    if not result.issues:
        return "通过"
    return "；".join(
        f"{ISSUE_LABELS.get(code, code)} {code}" if codes else ISSUE_LABELS.get(code, code)
        for code in result.issues
    )


def _print_one(console: Console, result: AddressResult) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, label in FIELDS:
        value = getattr(result, key)
        table.add_row(label, "" if value is None else str(value))
    if result.completed:
        table.add_row("补全", "、".join(LEVEL_LABELS[lvl] for lvl in result.completed))
    table.add_row("检查", _issue_text(result, codes=True), style="green" if result.ok else "red")
    console.print(table)


def _print_many(console: Console, results: Iterable[AddressResult | ValidationError]) -> None:
    table = Table("行", "省份", "城市", "区县", "街道/乡镇", "详细地址", "电话", "检查")
    for n, r in enumerate(results, start=1):
        if isinstance(r, ValidationError):
            table.add_row(str(n), "", "", "", "", "", "", r.message, style="red")
            continue
        table.add_row(
            str(n),
            *("" if v is None else v for v in (r.province, r.city, r.district, r.street)),
            r.detail or "",
            r.phone or "",
            _issue_text(r),
            style=None if r.ok else "red",
        )
    console.print(table)


def _open(file: Path) -> TextIO:
    if str(file) == "-":
        return sys.stdin
    if not file.exists():
        raise ValidationError("--file", f"{file} does not exist")
    return file.open(encoding="utf-8-sig")


@app.command("check")
def check(
    text: Annotated[str | None, typer.Argument(help="地址全文 / the address, as pasted")] = None,
    phone: Annotated[str | None, typer.Option(help="电话 / phone, if not in the text")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help='每行一个地址或 {"text","phone"} JSON / one per line, - for stdin'
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
    db: DbOption = None,  # every command takes --db; the division data needs no database
) -> None:
    """校验地址与电话 / parse, complete and check receiver addresses."""
    del db
    if (text is None) == (file is None):
        raise ValidationError("TEXT", "give either an address or --file, not both")
    if file is None:
        result = parse_address(text, phone=phone)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            _print_one(Console(), result)
        return
    if phone is not None:
        raise ValidationError("--phone", "with --file, put the phone in each line's JSON")
    handle = _open(file)
    try:
        if as_json:
            out = sys.stdout
            dumps = json.dumps
            for item in _results(handle):  # streamed: one line in, one line out
                row = (
                    item.to_dict() if isinstance(item, AddressResult) else {"error": item.to_dict()}
                )
                out.write(dumps(row, ensure_ascii=False))
                out.write("\n")
            out.flush()
        else:
            _print_many(Console(), _results(handle))
    finally:
        if handle is not sys.stdin:
            handle.close()
