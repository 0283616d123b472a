"""`lvyue demo`: a fresh database with a realistic merchant, pushed through the pipeline."""

from __future__ import annotations

import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.table import Table

from lvyue import bootstrap, demo_data
from lvyue.accounts import service as accounts
from lvyue.catalog.service import import_catalog
from lvyue.channels import service as channels
from lvyue.core.cli import DbOption, console, open_uow, resolve_url
from lvyue.core.db import table_of
from lvyue.inventory import queries as stock_queries
from lvyue.inventory import service as inventory
from lvyue.inventory.models import Warehouse
from lvyue.logistics.demo import seed_demo_logistics
from lvyue.orders import service as orders
from lvyue.orders.cli import import_jsonl, print_status_table, run_pipeline
from lvyue.orders.models import Order
from lvyue.orders.rules_service import load_rules

SHOP_WEIGHTS = {"TB01": 0.4, "JD01": 0.2, "DY01": 0.25, "PDD01": 0.15}


def seed_reference_data(db: str | None, *, seed: int) -> list[demo_data.DemoSku]:
    skus = demo_data.catalog()
    with open_uow(db, actor="demo") as uow:
        report = import_catalog(uow, [(i, s.csv_row()) for i, s in enumerate(skus, start=2)])
        if report.rejected:
            raise RuntimeError(f"demo catalogue rejected: {report.rejected[:3]}")
        for code, name, prov, city, dist, prio in demo_data.WAREHOUSES:
            inventory.add_warehouse(
                uow, code=code, name=name, province=prov, city=city, district=dist, priority=prio
            )
        for code, platform, name in demo_data.SHOPS:
            channels.add_shop(
                uow,
                code=code,
                platform=platform,
                name=name,
                order_type="livestream" if platform == "douyin" else "online",
            )
        load_rules(uow, demo_data.RULES)
        seed_demo_logistics(uow)
        for sku, wh, qty in demo_data.stock_plan(skus, seed=seed):
            inventory.adjust_stock(
                uow, sku_code=sku, warehouse_code=wh, quantity=qty, reason="期初库存 opening stock"
            )
    return skus


def demo_command(
    orders_n: Annotated[int, typer.Option("--orders", help="how many orders to generate")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same data")] = 11,
    db: DbOption = None,
) -> None:
    """Create a FRESH demo database (existing lvyue tables are dropped), import a Double-11
    day of orders from four shops and run the pipeline."""
    if orders_n < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--orders")
    url = resolve_url(db)
    shown = sa.make_url(url).render_as_string(hide_password=True)
    console.print(f"[bold]lvyue demo[/] → {shown} (fresh database)")
    bootstrap.reset(url)
    skus = seed_reference_data(url, seed=seed)
    console.print(
        f"catalogue: {len(skus)} SKUs · {len(demo_data.WAREHOUSES)} warehouses · "
        f"{len(demo_data.SHOPS)} shops"
    )

    t0 = time.perf_counter()
    report = orders.ImportReport()
    with tempfile.TemporaryDirectory() as tmp:
        start = 1
        for shop, weight in SHOP_WEIGHTS.items():
            n = max(1, round(orders_n * weight)) if shop != "PDD01" else orders_n - (start - 1)
            if n <= 0:
                continue
            path = Path(tmp) / f"{shop}.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                for o in demo_data.orders(n, skus, shop, seed=seed, start=start):
                    fh.write(json.dumps(o, ensure_ascii=False) + "\n")
            start += n
            report.add(import_jsonl(url, shop, path))
    t_import = time.perf_counter() - t0
    console.print(f"import: {report.summary()} in {t_import:.2f}s")
    t1 = time.perf_counter()
    processed = run_pipeline(url)
    t_process = time.perf_counter() - t1
    console.print(
        f"pipeline: {processed.examined} orders reviewed in {t_process:.2f}s "
        f"({processed.examined / max(t_process, 1e-9):,.0f} orders/s)"
    )
    print_status_table(url)
    _print_warehouse_table(url)
    with open_uow(url, readonly=True) as uow:
        diffs = stock_queries.verify_levels(uow)
    console.print(
        "stock verify: "
        + (
            "[green]every level equals the ledger[/]"
            if not diffs
            else f"[red]{len(diffs)} differences[/]"
        )
    )
    console.print(
        "next: [cyan]lvyue orders list --status held[/] · [cyan]lvyue orders show 1[/] · "
        "[cyan]lvyue stock show DOWN-M-WHITE[/]"
    )


def _print_warehouse_table(url: str) -> None:
    order, wh = table_of(Order), table_of(Warehouse)
    with open_uow(url, readonly=True) as uow:
        rows = uow.conn.execute(
            sa.select(
                wh.c.code, wh.c.name, sa.func.count(order.c.id), sa.func.sum(order.c.total_amount)
            )
            .outerjoin(order, order.c.warehouse_id == wh.c.id)
            .group_by(wh.c.code, wh.c.name)
            .order_by(wh.c.code)
        ).all()
    table = Table("仓库 warehouse", "订单 orders", "金额 amount (¥)", title="分仓结果 / allocation")
    for code, name, n, amount in rows:
        amount = amount or 0
        table.add_row(f"{code} {name}", str(n), f"{amount:,.2f}")
    console.print(table)


# Who signs in to the demo workbench: an administrator, and a warehouse clerk of the
# Hangzhou warehouse who sees personal data masked.
DEMO_USERS = (("admin", "admin", ()), ("warehouse", "warehouse", ("HZ01",)))


def seed_demo_users(url: str) -> list[tuple[str, str, str]]:
    """Create the demo's users with fresh random passwords; returns (user, password, role)."""
    created = []
    with open_uow(url, actor="demo") as uow:
        for username, role, warehouses in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            accounts.add_user(
                uow,
                username=username,
                password=password,
                role=role,
                display_name=f"demo {role}",
                warehouse_codes=warehouses,
            )
            created.append((username, password, role))
    return created
