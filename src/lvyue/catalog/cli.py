"""`lvyue catalog ...`"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from lvyue.catalog.service import import_catalog
from lvyue.core.cli import DbOption, console, open_uow
from lvyue.core.errors import ValidationError

app = typer.Typer(help="商品与SKU / products and SKUs", no_args_is_help=True)

REQUIRED = ["sku", "name", "spec", "barcode", "category", "price", "cost", "weight_g", "tags"]


@app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="CSV: sku,name,spec,barcode,category,price,cost,weight_g,tags")
    ],
    db: DbOption = None,
) -> None:
    """Import or update SKUs from CSV; bad rows are listed and skipped, good rows kept."""
    if not file.exists():
        raise ValidationError("FILE", f"{file} does not exist")
    with file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValidationError("header", f"missing column(s): {', '.join(missing)}")
        rows = [(reader.line_num, row) for row in reader]
    with open_uow(db) as uow:
        report = import_catalog(uow, rows)
    console.print(
        f"created {report.created}, updated {report.updated}, rejected {len(report.rejected)}"
    )
    for line_no, reason in report.rejected:
        console.print(f"  line {line_no}: {reason}", style="red", markup=False)
    if report.rejected:
        raise typer.Exit(1)
