"""`lvyue carrier ...` and `lvyue rates ...`"""

from __future__ import annotations

import csv
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lvyue.accounts.service import record_cli
from lvyue.core.cli import DbOption, JsonOption, console, open_uow, print_json
from lvyue.core.errors import ValidationError
from lvyue.geo import divisions
from lvyue.logistics import queries, service
from lvyue.logistics.rates import RATE_COLUMNS, format_kg, official_province
from lvyue.logistics.selection import Shipment, select_service

carrier_app = typer.Typer(help="快递公司与服务 / carriers and their services", no_args_is_help=True)
rates_app = typer.Typer(help="运费价格表 / shipping rate tables", no_args_is_help=True)

SERVICE_SYNTAX = """\
CODE:NAME[:FIELD]... where each FIELD, in any order, is one of:
fresh,frozen,bulky,fragile = handling tags the service takes;
cold = cold chain (冷链); freight = freight / special line (专线, 大件);
max=KG (or KGkg, or a bare number) = maximum parcel weight in kg;
exclude=PROVINCE,... = provinces it does not deliver to (short names like 西藏 are fine).
Repeat --service for each service."""


def parse_service_option(text: str) -> service.ServiceSpec:
    """``SF-COLD:顺丰冷运:fresh,frozen:cold:max=30`` → a ServiceSpec (see SERVICE_SYNTAX)."""
    parts = [p.strip() for p in text.replace("：", ":").replace("，", ",").split(":")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise typer.BadParameter(f"{text!r}: expected {SERVICE_SYNTAX}", param_hint="--service")
    handles: list[str] = []
    excluded: list[str] = []
    cold = freight = False
    max_weight_g: int | None = None
    for part in parts[2:]:
        low = part.lower()
        if not part:
            continue
        if low in ("cold", "冷链"):
            cold = True
        elif low in ("freight", "专线"):
            freight = True
        elif low.startswith(("exclude=", "no=")):
            excluded += [p for p in part.split("=", 1)[1].split(",") if p.strip()]
        elif low.startswith("max=") or low.removesuffix("kg").replace(".", "", 1).isdigit():
            raw = low.removeprefix("max=").removesuffix("kg").strip()
            try:
                grams = Decimal(raw) * 1000
            except InvalidOperation:
                raise typer.BadParameter(
                    f"{part!r}: max weight must be kg, e.g. max=30", param_hint="--service"
                ) from None
            if grams <= 0 or grams != grams.to_integral_value():
                raise typer.BadParameter(
                    f"{part!r}: max weight must be a positive number of kg (to the gram)",
                    param_hint="--service",
                )
            max_weight_g = int(grams)
        else:
            handles += [t for t in low.split(",") if t.strip()]
    return service.ServiceSpec(
        code=parts[0],
        name=parts[1],
        handles=tuple(handles),
        is_cold_chain=cold,
        is_freight=freight,
        max_weight_g=max_weight_g,
        excluded_provinces=tuple(excluded),
    )


@carrier_app.command("add")
def carrier_add(
    code: Annotated[str, typer.Argument(help="carrier code, e.g. SF, ZTO, DBL")],
    name: Annotated[str, typer.Option(help="display name, e.g. 顺丰速运")],
    services: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help=SERVICE_SYNTAX, show_default=False),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a carrier with its services.

    Example: lvyue carrier add SF --name 顺丰速运
    --service "SF-STD:顺丰标快:fragile:max=50"
    --service "SF-COLD:顺丰冷运:fresh,frozen:cold:max=30:exclude=西藏,新疆"
    """
    specs = [parse_service_option(s) for s in services or []]
    with open_uow(db) as uow:
        cid = service.add_carrier(uow, code=code, name=name, services=specs)
        record_cli(
            uow,
            action="carrier.create",
            target_type="carrier",
            target=code.strip().upper(),
            details={"code": code, "name": name, "services": [asdict(s) for s in specs]},
        )
    codes = ", ".join(s.code.strip().upper() for s in specs) or "no services"
    console.print(f"carrier {code.strip().upper()} added (id {cid}): {codes}", markup=False)


@carrier_app.command("list")
def carrier_list(json_out: JsonOption = False, db: DbOption = None) -> None:
    """Carriers and their services, with how many rate rows each service has."""
    with open_uow(db, readonly=True) as uow:
        rows = queries.list_carriers(uow)
    if json_out:
        print_json(rows)
        return
    table = Table("service", "name", "takes", "max", "not to", "rates")
    for c in rows:
        off = "" if c["active"] else " (停用 inactive)"
        table.add_row(c["code"], c["name"] + off, "", "", "", "", style="bold")
        for s in c["services"]:
            takes = [*s["handles"]]
            takes += [
                k for k, on in (("cold", s["is_cold_chain"]), ("freight", s["is_freight"])) if on
            ]
            table.add_row(
                "  " + s["code"],
                s["name"] + ("" if s["active"] else " (停用 inactive)"),
                ",".join(takes),
                format_kg(s["max_weight_g"]) if s["max_weight_g"] else "",
                ",".join(_short(p) for p in s["excluded_provinces"]),
                str(s["rates"]),
            )
    console.print(table)


def _short(province: str) -> str:
    found = divisions.find(province)
    return found[0].short_name if len(found) == 1 else province


@rates_app.command("import")
def rates_import(
    file: Annotated[Path, typer.Argument(help="CSV: " + ",".join(RATE_COLUMNS))],
    db: DbOption = None,
) -> None:
    """Import or update rates from CSV, keyed by service + origin + destination province.

    origin_province may be '*' (from any warehouse). Provinces may be short (浙江 → 浙江省).
    Weights in grams, prices in yuan. Bad rows are listed and skipped (exit 1); good rows kept.
    """
    if not file.exists():
        raise ValidationError("FILE", f"{file} does not exist")
    with file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in RATE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValidationError("header", f"missing column(s): {', '.join(missing)}")
        rows = [(reader.line_num, row) for row in reader]
    with open_uow(db) as uow:
        report = service.import_rates(uow, rows)
        record_cli(
            uow,
            action="rates.import",
            target_type="rates",
            target=file.name,
            details={
                "imported": report.imported,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len(report.rejected),
            },
        )
    line = f"imported {report.imported}, updated {report.updated}, rejected {len(report.rejected)}"
    if report.unchanged:
        line += f", unchanged {report.unchanged}"
    console.print(line)
    for problem in report.rejected:
        console.print(f"  {problem}", style="red", markup=False)
    if report.rejected:
        raise typer.Exit(1)


def _province_arg(value: str, field: str) -> str:
    name = official_province(value)
    if name is None:
        raise ValidationError(field, f"{value!r} is not a mainland province")
    return name


@rates_app.command("quote")
def rates_quote(
    origin: Annotated[str, typer.Option("--from", help="warehouse province, e.g. 浙江")],
    dest: Annotated[str, typer.Option("--to", help="destination province, e.g. 西藏")],
    weight_g: Annotated[int, typer.Option("--weight-g", help="parcel weight in grams", min=0)],
    tags: Annotated[str, typer.Option(help="item handling tags, e.g. fresh or bulky,fragile")] = "",
    force: Annotated[str | None, typer.Option(help="forced carrier or service code")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Which service would ship this parcel, at what cost, and why not the others."""
    shipment = Shipment(
        origin_province=_province_arg(origin, "--from"),
        dest_province=_province_arg(dest, "--to"),
        weight_g=weight_g,
        tags=frozenset(t.strip().lower() for t in tags.replace("，", ",").split(",") if t.strip()),
        forced=force,
    )
    with open_uow(db, readonly=True) as uow:
        candidates = queries.load_services(uow)
    result = select_service(shipment, candidates)
    if json_out:
        print_json(
            {
                "service_code": result.service_code,
                "carrier_code": result.carrier_code,
                "cost": result.cost,
                "forced": result.forced,
                "quotes": list(result.quotes),
                "rejected": list(result.rejected),
            }
        )
    else:
        console.print(
            f"{shipment.origin_province} → {shipment.dest_province}, "
            f"{format_kg(weight_g)}: {result.summary()}",
            markup=False,
        )
        for q in result.quotes:
            console.print(f"  ok  {q.service_code} ({q.carrier_code}) ¥{q.cost}", markup=False)
        for reason in result.reasons:
            console.print(f"  no  {reason}", markup=False)
    if result.chosen is None:
        raise typer.Exit(1)
