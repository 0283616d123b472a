"""`lvyue orders ...` and `lvyue shop ...`"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from lvyue.accounts.service import CLI_AGENT, CLI_ORIGIN, record_cli
from lvyue.config import get_settings
from lvyue.core.cli import DbOption, JsonOption, console, open_uow, print_json
from lvyue.core.errors import ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.orders import queries, rules_service, service, tabular
from lvyue.orders.canonical import CanonicalOrder
from lvyue.orders.holds import HOLD_REASONS
from lvyue.orders.masking import mask_customer, mask_order

app = typer.Typer(help="订单 / orders", no_args_is_help=True)
customer_app = typer.Typer(help="客户 / customers", no_args_is_help=True)
sku_app = typer.Typer(help="平台商品对应 / channel SKU mapping", no_args_is_help=True)


def _audit(uow: UnitOfWork, action: str, order_id: int, details: dict[str, Any]) -> None:
    """The audit row of an order action, named as the API names it (orders/api.py)."""
    record_cli(uow, action=action, target_type="order", target=str(order_id), details=details)


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8-sig") as fh:
        yield from enumerate(fh, start=1)


def _batches(items: Iterator[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    while batch := list(islice(items, size)):
        yield batch


def import_jsonl(
    db: str | None,
    shop: str,
    path: Path,
    *,
    progress: bool = True,
    review: bool | None = None,
) -> service.ImportReport:
    """Stream a JSON-lines file in batches, one transaction per batch: memory stays flat and
    a re-run after a crash is safe because import is idempotent."""
    with path.open("rb") as fh:
        total = sum(1 for _ in fh)
    report = service.ImportReport()
    with Progress(
        TextColumn("导入 import"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=total)
        service.before_batches()
        for batch in _batches(_numbered_lines(path), get_settings().batch_size):
            with open_uow(db) as uow:
                report.add(service.import_orders(uow, shop, batch, review=review))
                engine = uow.engine
            service.between_batches(engine)
            bar.advance(task, len(batch))
    return report


TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")


def import_table(
    db: str | None,
    shop: str,
    path: Path,
    mapping: tabular.ColumnMapping,
    sheet: str | None,
    *,
    review: bool | None = None,
) -> service.ImportReport:
    """Spreadsheet orders in batches, one transaction per batch; bad orders are reported by
    row and column, good ones kept."""
    report = service.ImportReport()
    results = tabular.read_orders(path, mapping, sheet=sheet)
    with Progress(
        TextColumn("导入 import"),
        BarColumn(),
        TextColumn("{task.completed} orders"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=None)
        service.before_batches()
        while batch := list(islice(results, get_settings().batch_size)):
            good = [(n, o) for n, o in batch if isinstance(o, CanonicalOrder)]
            report.rejected += [(n, str(o)) for n, o in batch if isinstance(o, tabular.RowError)]
            with open_uow(db) as uow:
                report.add(service.import_canonical(uow, shop, good, review=review))
                engine = uow.engine
            service.between_batches(engine)
            bar.advance(task, len(batch))
    return report


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="JSON lines (canonical orders), CSV or Excel")],
    shop: Annotated[str, typer.Option(help="shop code")],
    mapping: Annotated[
        Path | None, typer.Option(help="column mapping for CSV/Excel (YAML or JSON)")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name (default: the first)")] = None,
    review: Annotated[
        bool | None,
        typer.Option(
            "--review/--no-review",
            help="review, allocate and reserve new orders as they are imported "
            "(default: the review_on_import setting)",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Import orders; the same file twice changes nothing. Bad lines or rows are listed with
    the field and the problem, good ones are kept."""
    if not file.exists():
        raise ValidationError("FILE", f"{file} does not exist")
    suffix = file.suffix.lower()
    if suffix not in (".jsonl", ".json", ".ndjson", *TABLE_SUFFIXES):
        raise ValidationError(
            "FILE", f"unsupported file type {file.suffix!r}: expected .jsonl, .csv or .xlsx"
        )
    with open_uow(db, readonly=True) as uow:
        service.shop_id(uow, shop)  # fail fast with a clear message before reading the file
    if suffix in TABLE_SUFFIXES:
        columns = tabular.load_mapping(mapping) if mapping else tabular.DEFAULT_MAPPING
        report = import_table(db, shop, file, columns, sheet, review=review)
        where = "row"
    else:
        report = import_jsonl(db, shop, file, review=review)
        where = "line"
    console.print(report.summary())
    for number, reason in report.rejected:
        console.print(f"  {where} {number}: {reason}", style="red", markup=False)


def run_pipeline(
    db: str | None, *, progress: bool = True, recheck_waiting: bool = False
) -> service.ProcessReport:
    """Every order that can move, in batches (one transaction each). Orders an oversell
    policy sent back to review get another pass. Orders waiting for stock come back when stock
    became available, or all of them with ``recheck_waiting``."""
    total = service.ProcessReport()
    with open_uow(db, readonly=True) as uow:
        todo = sum(queries.status_counts(uow).get(s, 0) for s in ("pending_review", "held"))
    with Progress(
        TextColumn("处理 process"),
        BarColumn(),
        TaskProgressColumn(),
        console=console,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("process", total=max(todo, 1))
        service.before_batches()
        for _ in range(3):
            after, requeued = 0, 0
            while True:
                with open_uow(db) as uow:
                    batch = service.process_orders(
                        uow,
                        after_id=after,
                        limit=get_settings().batch_size,
                        recheck_waiting=recheck_waiting,
                    )
                service.between_batches(uow.engine)
                if not batch.examined:
                    break
                after = batch.last_id
                requeued += batch.requeued
                total.add(batch)
                bar.advance(task, batch.examined)
            if not requeued:
                break
    return total


def print_status_table(db: str | None) -> None:
    with open_uow(db, readonly=True) as uow:
        counts = queries.status_counts(uow)
        holds = queries.hold_counts(uow)
    table = Table("状态 status", "订单数 orders", title="订单状态 / orders by status")
    for status, n in sorted(counts.items()):
        table.add_row(status, str(n))
    console.print(table)
    if holds:
        ht = Table("挂起原因 hold reason", "订单数 orders", title="异常原因 / hold reasons")
        for code, n in sorted(holds.items(), key=lambda kv: -kv[1]):
            r = HOLD_REASONS.get(code)
            ht.add_row(f"{code} ({r.zh})" if r else code, str(n))
        console.print(ht)


@app.command("process")
def process_cmd(
    db: DbOption = None,
    json_out: JsonOption = False,
    recheck_waiting: Annotated[
        bool,
        typer.Option(
            "--recheck-waiting",
            help="also re-check every order waiting for stock (after changing split or "
            "oversell settings); by default they come back when stock becomes available",
        ),
    ] = False,
) -> None:
    """Review, allocate and reserve every order that can move."""
    report = run_pipeline(db, progress=not json_out, recheck_waiting=recheck_waiting)
    if json_out:
        with open_uow(db, readonly=True) as uow:
            print_json(
                {
                    "examined": report.examined,
                    "allocated": report.allocated,
                    "held": report.held,
                    "status_counts": queries.status_counts(uow),
                }
            )
        return
    console.print(
        f"examined {report.examined}: allocated {report.allocated}, newly held {report.held}, "
        f"still held {report.still_held}"
    )
    print_status_table(db)


@app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="filter by status")] = None,
    phone: Annotated[str | None, typer.Option(help="the receiver's phone")] = None,
    limit: Annotated[int | None, typer.Option(help="at most this many")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    with open_uow(db, readonly=True) as uow:
        rows = queries.list_orders(uow, status=status, phone=phone, limit=limit)
    if json_out:
        print_json(rows)
        return
    table = Table("id", "shop", "external_id", "status", "hold", "warehouse", "lines")
    for r in rows:
        lines = ", ".join(f"{ln['sku']}×{ln['quantity']}" for ln in r["lines"])
        table.add_row(
            str(r["id"]),
            r["shop"],
            r["external_id"],
            r["status"],
            ",".join(r["hold_reasons"]),
            r["warehouse"] or "",
            lines,
        )
    console.print(table)


RevealOption = Annotated[
    bool,
    typer.Option(
        "--reveal", help="show the buyer's personal data in plain text (written to the audit log)"
    ),
]


@app.command("show")
def show_cmd(
    order_id: int, reveal: RevealOption = False, json_out: JsonOption = False, db: DbOption = None
) -> None:
    """An order with its holds, lines and history; personal data masked unless --reveal."""
    with open_uow(db, readonly=True) as uow:
        order = queries.get_order(uow, order_id)
    if reveal:
        with open_uow(db) as uow:
            service.record_reveal(uow, order_id, via="cli", ip=CLI_ORIGIN, user_agent=CLI_AGENT)
    else:
        order = mask_order(order)
    if json_out:
        print_json(order)
        return
    console.print(
        f"[bold]订单 {order['id']}[/] {order['shop']}/{order['external_id']}  "
        f"状态 {order['status']}"
    )
    region = "".join(order[k] or "" for k in ("addr_province", "addr_city", "addr_district"))
    console.print(
        f"  收件人 {order['receiver_name'] or ''} {order['receiver_phone'] or ''}  "
        f"{region} {order['addr_detail'] or order['receiver_address'] or ''}",
        markup=False,
    )
    for h in order["holds"]:
        console.print(f"  挂起 {h['code']}: {h['detail']}", style="yellow", markup=False)
    for ln in order["lines"]:
        console.print(f"  {ln['sku']} ×{ln['quantity']} (reserved {ln['reserved']})", markup=False)
    table = Table(
        "时间 at", "从 from", "到 to", "操作人 actor", "原因 reason", title="历史 / history"
    )
    for h in order["history"]:
        table.add_row(
            h["at"].isoformat(timespec="seconds"), h["from"] or "", h["to"], h["actor"], h["reason"]
        )
    console.print(table)


@app.command("cancel")
def cancel_cmd(
    order_id: int,
    reason: Annotated[str, typer.Option(help="why: written to the history")],
    db: DbOption = None,
) -> None:
    """Cancel an order and release its reserved stock."""
    with open_uow(db) as uow:
        service.cancel_order(uow, order_id, reason=reason)
        _audit(uow, "order.cancel", order_id, {"reason": reason})
    console.print(f"order {order_id} cancelled")


@sku_app.command("map")
def sku_map(
    channel_sku: Annotated[str, typer.Argument(help="the channel's outer code or SKU id")],
    sku: Annotated[str, typer.Argument(help="our SKU code")],
    shop: Annotated[str, typer.Option(help="shop code")],
    item: Annotated[
        str | None, typer.Option(help="the platform's product id, for stock pushes")
    ] = None,
    db: DbOption = None,
) -> None:
    """Map a channel SKU to ours; waiting orders with it are re-checked at once."""
    with open_uow(db) as uow:
        attached = service.map_sku(
            uow, shop_code=shop, channel_sku=channel_sku, sku_code=sku, channel_item=item
        )
    console.print(f"{shop}: {channel_sku} → {sku}; {attached} waiting order line(s) updated")
    if attached:
        report = run_pipeline(db, progress=False)
        console.print(f"re-checked: allocated {report.allocated}, still held {report.still_held}")


@app.command("ship")
def ship_cmd(
    order_id: int,
    carrier: Annotated[str, typer.Option(help="carrier code: SF, ZTO, YTO, STO, YUNDA, JD, EMS")],
    tracking: Annotated[str, typer.Option(help="tracking number")],
    db: DbOption = None,
) -> None:
    """Mark an order shipped; its stock leaves the ledger and the channel is told on push."""
    with open_uow(db) as uow:
        service.ship_order(uow, order_id, carrier_code=carrier, tracking_no=tracking)
    console.print(f"order {order_id} shipped with {carrier} {tracking}")


@customer_app.command("show")
def customer_show(
    customer_id: int,
    reveal: RevealOption = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """A customer profile with its orders from every shop; masked unless --reveal."""
    with open_uow(db, readonly=True) as uow:
        profile = queries.customer_profile(uow, customer_id)
    if reveal:
        with open_uow(db) as uow:
            service.record_reveal(
                uow,
                customer_id,
                via="cli",
                target_type="customer",
                ip=CLI_ORIGIN,
                user_agent=CLI_AGENT,
            )
    else:
        profile = mask_customer(profile)
    if json_out:
        print_json(profile)
        return
    console.print(
        f"[bold]客户 {profile['id']}[/] {profile['display_name']}  订单 {profile['order_count']}  "
        f"金额 ¥{profile['total_amount']}  ({', '.join(profile['identities'])})"
    )
    table = Table("id", "shop", "external_id", "status", "ordered_at", "amount")
    for o in profile["orders"]:
        table.add_row(
            str(o["id"]),
            o["shop"],
            o["external_id"],
            o["status"],
            o["ordered_at"].isoformat(timespec="minutes"),
            str(o["total_amount"]),
        )
    console.print(table)


@app.command("fix-address")
def fix_address_cmd(
    order_id: int,
    text: Annotated[
        str | None, typer.Argument(help="corrected address (free text or detail)")
    ] = None,
    province: Annotated[str | None, typer.Option(help="e.g. 浙江省")] = None,
    city: Annotated[str | None, typer.Option(help="e.g. 杭州市")] = None,
    district: Annotated[str | None, typer.Option(help="e.g. 西湖区")] = None,
    phone: Annotated[str | None, typer.Option(help="corrected phone")] = None,
    db: DbOption = None,
) -> None:
    """Correct a held order's address or phone; it is checked again and, if clean, reviewed."""
    with open_uow(db) as uow:
        issues = service.fix_address(
            uow, order_id, text=text, province=province, city=city, district=district, phone=phone
        )
        given = {"text": text, "province": province, "city": city, "district": district}
        # which parts changed, never the personal data itself
        fields = sorted(k for k, v in {**given, "phone": phone}.items() if v)
        _audit(uow, "order.address_fix", order_id, {"fields": fields})
    if issues:
        console.print(f"order {order_id}: still {', '.join(issues)}", style="yellow")
        raise typer.Exit(1)
    report = run_pipeline(db, progress=False)
    with open_uow(db, readonly=True) as uow:
        status = queries.get_order(uow, order_id)["status"]
    console.print(f"order {order_id}: address fixed; now {status} (allocated {report.allocated})")


rules_app = typer.Typer(help="审单规则 / review rules", no_args_is_help=True)


@rules_app.command("load")
def rules_load(
    file: Annotated[Path, typer.Argument(help="rules as YAML or JSON")], db: DbOption = None
) -> None:
    """Make FILE the active rule book (changed rules get a new version)."""
    document = rules_service.read_document(file)
    with open_uow(db) as uow:
        report = rules_service.load_rules(uow, document)
        version = rules_service.rule_book(uow)["version"]
        record_cli(
            uow,
            action="rules.change",
            target_type="rules",
            target=version,
            details={"version": version, **report.__dict__, "file": file.name},
        )
    console.print(
        f"rules: added {len(report.added)}, changed {len(report.changed)}, "
        f"unchanged {len(report.unchanged)}, retired {len(report.retired)}"
    )
    for label, names in (
        ("added", report.added),
        ("changed", report.changed),
        ("retired", report.retired),
    ):
        for name in names:
            console.print(f"  {label}: {name}", markup=False)


@rules_app.command("list")
def rules_list(
    history: Annotated[bool, typer.Option(help="include retired versions")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    with open_uow(db, readonly=True) as uow:
        rows = rules_service.list_rules(uow, history=history)
    if json_out:
        print_json(rows)
        return
    table = Table("priority", "name", "version", "enabled", "then")
    for r in rows:
        then = ", ".join(
            a["action"] + (f":{a.get('code') or a.get('reason') or ''}") for a in r["then"]
        )
        table.add_row(
            str(r["priority"]), r["name"], str(r["version"]), "yes" if r["enabled"] else "no", then
        )
    console.print(table)


@rules_app.command("dry-run")
def rules_dry_run(
    file: Annotated[Path, typer.Argument(help="rules as YAML or JSON")],
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show which current orders FILE's rules would treat differently; nothing is saved."""
    rules = rules_service.checked_rules(rules_service.read_document(file))
    with open_uow(db, readonly=True) as uow:
        examined, changes = service.dry_run_rules(uow, rules)
    if json_out:
        print_json({"examined": examined, "changes": changes})
        return
    console.print(f"examined {examined} orders; {len(changes)} would change")
    table = Table("id", "external_id", "status", "now", "with these rules")
    for c in changes[:200]:
        table.add_row(str(c.order_id), c.external_id, c.status, c.before, c.after)
    console.print(table)


@app.command("approve")
def approve_cmd(
    order_id: int,
    role: Annotated[
        str, typer.Option(help="your review role: customer_service, finance, admin")
    ] = "admin",
    note: Annotated[str, typer.Option(help="why")] = "",
    db: DbOption = None,
) -> None:
    """Approve a held order after looking at it (manual review, suspected duplicate...)."""
    with open_uow(db) as uow:
        status = service.approve_order(uow, order_id, role=role, note=note)
        _audit(uow, "order.approve", order_id, {"note": note, "role": role})
    report = run_pipeline(db, progress=False)
    with open_uow(db, readonly=True) as uow:
        now_status = queries.get_order(uow, order_id)["status"]
    console.print(
        f"order {order_id}: approved by {role} ({status}); "
        f"now {now_status}, allocated {report.allocated}"
    )


@app.command("reject")
def reject_cmd(
    order_id: int,
    reason: Annotated[str, typer.Option(help="why: written to the history")],
    db: DbOption = None,
) -> None:
    """Reject an order at review: it is cancelled and its stock released."""
    with open_uow(db) as uow:
        service.reject_order(uow, order_id, reason=reason)
        _audit(uow, "order.reject", order_id, {"reason": reason})
    console.print(f"order {order_id} rejected")


@app.command("split")
def split_cmd(
    order_id: int,
    parts: Annotated[
        list[str], typer.Argument(help="LINE:QTY to move to the new order, e.g. 1:2 3:1")
    ],
    reason: Annotated[str, typer.Option(help="why: written to the history")] = "",
    db: DbOption = None,
) -> None:
    """Split units off an order into a new order that ships on its own."""
    moves: dict[int, int] = {}
    for part in parts:
        line, _, qty = part.partition(":")
        if not (line.isdigit() and qty.isdigit()):
            raise ValidationError("parts", f"{part!r} is not LINE:QTY, e.g. 1:2")
        moves[int(line)] = moves.get(int(line), 0) + int(qty)
    with open_uow(db) as uow:
        child = service.split_order(uow, order_id, moves, reason=reason or "人工拆单")
        lines = {str(k): v for k, v in sorted(moves.items())}
        _audit(uow, "order.split", order_id, {"lines": lines})
    console.print(f"order {order_id} split: new order {child}")


@app.command("oversell")
def oversell_cmd(
    order_id: int,
    policy: Annotated[str, typer.Option(help="wait, partial or cancel_short")],
    db: DbOption = None,
) -> None:
    """Decide for an order held for short stock: wait, ship what is there, or drop the rest."""
    with open_uow(db) as uow:
        outcome = service.resolve_shortage(uow, order_id, policy=policy)
    report = run_pipeline(db, progress=False)
    console.print(f"order {order_id}: {outcome}; allocated {report.allocated}")


@app.command("merge")
def merge_cmd(
    order_ids: Annotated[list[int], typer.Argument(help="two or more order ids")],
    db: DbOption = None,
) -> None:
    """Ship orders of one receiver as one parcel."""
    with open_uow(db) as uow:
        group = service.merge_orders(uow, order_ids)
        record_cli(
            uow,
            action="order.merge",
            target_type="order",
            target=str(group),
            details={"order_ids": sorted(set(order_ids))},
        )
    report = run_pipeline(db, progress=False)
    console.print(f"merged into group {group}; allocated {report.allocated}")


@app.command("hold")
def hold_cmd(
    order_id: int,
    reason: Annotated[str, typer.Option(help="why: shown in the held queue")],
    db: DbOption = None,
) -> None:
    """Stop an order before the warehouse; `orders approve` lets it go again."""
    with open_uow(db) as uow:
        service.hold_order(uow, order_id, note=reason)
        _audit(uow, "order.hold", order_id, {"reason": reason})
    console.print(f"order {order_id} held: {reason}")
