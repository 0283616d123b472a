"""`lvyue warehouse ...` and `lvyue stock ...`"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lvyue.accounts.service import record_cli
from lvyue.core.cli import DbOption, JsonOption, console, err_console, open_uow, print_json
from lvyue.inventory import queries, service

warehouse_app = typer.Typer(help="仓库 / warehouses", no_args_is_help=True)
stock_app = typer.Typer(help="库存 / stock levels and ledger", no_args_is_help=True)


@warehouse_app.command("add")
def warehouse_add(
    code: str,
    name: Annotated[str, typer.Option(help="Display name, e.g. 杭州仓")],
    province: Annotated[str, typer.Option(help="e.g. 浙江省")],
    city: Annotated[str, typer.Option(help="e.g. 杭州市")],
    district: Annotated[str | None, typer.Option(help="e.g. 余杭区")] = None,
    address: Annotated[str, typer.Option(help="street and number")] = "",
    priority: Annotated[int, typer.Option(help="lower is preferred")] = 100,
    db: DbOption = None,
) -> None:
    """Add a warehouse."""
    with open_uow(db) as uow:
        wid = service.add_warehouse(
            uow,
            code=code,
            name=name,
            province=province,
            city=city,
            district=district,
            address=address,
            priority=priority,
        )
        record_cli(
            uow,
            action="warehouse.create",
            target_type="warehouse",
            target=code,
            details={
                "code": code,
                "name": name,
                "province": province,
                "city": city,
                "district": district,
                "address": address,
                "priority": priority,
            },
        )
    console.print(f"warehouse {code} added (id {wid})")


@warehouse_app.command("list")
def warehouse_list(json_out: JsonOption = False, db: DbOption = None) -> None:
    with open_uow(db, readonly=True) as uow:
        rows = queries.list_warehouses(uow)
    if json_out:
        print_json(rows)
        return
    table = Table("code", "name", "province", "city", "district", "priority")
    for r in rows:
        table.add_row(
            r["code"], r["name"], r["province"], r["city"], r["district"] or "", str(r["priority"])
        )
    console.print(table)


@stock_app.command("adjust")
def stock_adjust(
    sku: str,
    warehouse: Annotated[str, typer.Option(help="warehouse code")],
    qty: Annotated[int, typer.Option(help="units to add (negative to remove)")],
    reason: Annotated[str, typer.Option(help="why: written to the ledger")],
    db: DbOption = None,
) -> None:
    """Add or remove stock; on hand never drops below zero or below what is reserved."""
    with open_uow(db) as uow:
        level = service.adjust_stock(
            uow, sku_code=sku, warehouse_code=warehouse, quantity=qty, reason=reason
        )
        record_cli(
            uow,
            action="stock.adjust",
            target_type="stock",
            target=f"{sku}@{warehouse}",
            details={"delta": qty, "reason": reason, **level},
        )
    console.print(
        f"{sku}@{warehouse}: on hand {level['on_hand']}, reserved {level['reserved']}, "
        f"available {level['on_hand'] - level['reserved']}"
    )


@stock_app.command("threshold")
def stock_threshold(
    sku: str,
    warehouse: Annotated[str, typer.Option(help="warehouse code")],
    qty: Annotated[
        int | None, typer.Option(help="alert at or below this many available; omit to clear")
    ] = None,
    db: DbOption = None,
) -> None:
    """Set the low-stock threshold of a SKU in a warehouse (stock.low events and webhooks)."""
    with open_uow(db) as uow:
        service.set_low_stock_threshold(uow, sku_code=sku, warehouse_code=warehouse, threshold=qty)
    shown = "cleared (LVYUE_LOW_STOCK_THRESHOLD applies)" if qty is None else f"set to {qty}"
    console.print(f"{sku}@{warehouse}: low-stock threshold {shown}")


@stock_app.command("show")
def stock_show(
    sku: Annotated[str | None, typer.Argument()] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Stock levels per SKU and warehouse."""
    with open_uow(db, readonly=True) as uow:
        rows = queries.stock_levels(uow, sku)
    if json_out:
        print_json(rows)
        return
    table = Table("SKU", "仓库 warehouse", "实际 on hand", "锁定 reserved", "可用 available")
    for r in rows:
        table.add_row(
            r["sku"], r["warehouse"], str(r["on_hand"]), str(r["reserved"]), str(r["available"])
        )
    console.print(table)


@stock_app.command("verify")
def stock_verify(json_out: JsonOption = False, db: DbOption = None) -> None:
    """Recompute every level from the ledger; exit 1 and list differences if any."""
    with open_uow(db, readonly=True) as uow:
        diffs = queries.verify_levels(uow)
    if json_out:
        print_json({"ok": not diffs, "differences": diffs})
    elif not diffs:
        console.print("stock verify: every level equals the ledger")
    else:
        err_console.print(f"stock verify: {len(diffs)} level(s) differ from the ledger")
        for d in diffs:
            err_console.print(
                f"  {d.sku}@{d.warehouse}: level on_hand={d.on_hand} reserved={d.reserved}, "
                f"ledger on_hand={d.ledger_on_hand} reserved={d.ledger_reserved}"
            )
    if diffs:
        raise typer.Exit(1)
