"""`lvyue shop add`, `lvyue channels ...`"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from lvyue.accounts.service import record_cli
from lvyue.channels import queries, service
from lvyue.channels.adapters.registry import make_adapter
from lvyue.channels.push import push
from lvyue.channels.stockrule import StockRule
from lvyue.channels.sync import SyncReport, sync_shop
from lvyue.core import outbox
from lvyue.core.cli import (
    DbOption,
    JsonOption,
    console,
    engine_for,
    open_uow,
    print_json,
    resolve_url,
)
from lvyue.core.errors import LvyueError, ValidationError
from lvyue.orders.service import PLATFORMS

shop_app = typer.Typer(help="店铺 / shops", no_args_is_help=True)
app = typer.Typer(help="渠道同步 / channel sync and write-back", no_args_is_help=True)


@shop_app.command("add")
def shop_add(
    code: str,
    platform: Annotated[str, typer.Option(help=", ".join(PLATFORMS))],
    name: Annotated[str, typer.Option(help="display name")],
    base_url: Annotated[str, typer.Option(help="API base URL (any server, also a local one)")] = "",
    token: Annotated[str | None, typer.Option(help="access token")] = None,
    app_key: Annotated[str | None, typer.Option(help="app key / client id")] = None,
    app_secret: Annotated[str | None, typer.Option(help="app secret")] = None,
    session: Annotated[str | None, typer.Option(help="session key (Taobao)")] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="webhook signing secret (WooCommerce)")
    ] = None,
    order_type: Annotated[
        str, typer.Option(help="online, livestream, offline, wholesale, distribution")
    ] = "online",
    db: DbOption = None,
) -> None:
    """Add a shop (one account on one platform); credentials are stored encrypted."""
    secrets = {
        "token": token,
        "app_key": app_key,
        "app_secret": app_secret,
        "session": session,
        "webhook_secret": webhook_secret,
    }
    with open_uow(db) as uow:
        sid = service.add_shop(
            uow,
            code=code,
            platform=platform,
            name=name,
            base_url=base_url,
            order_type=order_type,
            secrets=secrets,
        )
        record_cli(
            uow,
            action="shop.create",
            target_type="shop",
            target=code,
            # which secrets were given, never their values
            details={
                "code": code,
                "platform": platform,
                "name": name,
                "order_type": order_type,
                "base_url": queries.without_credentials(base_url),
                "secrets": sorted(k for k, v in secrets.items() if v),
            },
        )
    console.print(f"shop {code} added (id {sid})")


def _parse_time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            field, f"{value!r} is not an ISO time like 2026-11-11T00:00:00+08:00"
        ) from None
    if parsed.tzinfo is None:
        raise ValidationError(field, "needs a time zone, e.g. +08:00")
    return parsed


@app.command("sync")
def sync_cmd(
    shop: Annotated[str | None, typer.Option(help="one shop (default: every API shop)")] = None,
    since: Annotated[
        str | None, typer.Option(help="pull from this ISO time instead of the cursor")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="pull up to this ISO time (default: now)")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Pull new and changed orders from the platforms."""
    start, end = _parse_time(since, "--since"), _parse_time(until, "--until")
    with open_uow(db, readonly=True) as uow:
        shops = [shop] if shop else service.api_shops(uow)
    engine = engine_for(resolve_url(db))
    reports: list[SyncReport] = []
    failed = False
    for code in shops:
        try:
            report = sync_shop(
                engine,
                code,
                lambda a: make_adapter(a.platform, a.credentials),
                since=start,
                until=end,
            )
        except LvyueError as exc:  # one shop's outage must not stop the others
            failed = True
            console.print(f"{code}: sync failed: {exc.message}", style="red", markup=False)
            continue
        reports.append(report)
        if not json_out:
            console.print(report.summary())
            for msg in report.error_messages[:10]:
                console.print(f"  {msg}", style="yellow", markup=False)
    if json_out:
        print_json(
            [
                {
                    "shop": r.shop,
                    "fetched": r.fetched,
                    "new": r.new,
                    "updated": r.updated,
                    "errors": r.errors,
                }
                for r in reports
            ]
        )
    if failed:
        raise typer.Exit(1)


@app.command("errors")
def errors_cmd(
    shop: Annotated[str | None, typer.Option(help="one shop")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Payloads that could not be imported, with the reason (they are kept verbatim)."""
    with open_uow(db, readonly=True) as uow:
        rows = service.raw_errors(uow, shop)
    if json_out:
        print_json(rows)
        return
    table = Table("raw", "shop", "external id", "received", "reason")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["shop"],
            r["external_id"],
            r["received_at"].isoformat(timespec="seconds"),
            r["error"],
        )
    console.print(table)


@app.command("push")
def push_cmd(json_out: JsonOption = False, db: DbOption = None) -> None:
    """Queue changed stock quantities and deliver pending messages (ship-back, stock) to the
    platforms; failures are retried with back-off on later runs."""
    queued, report = push(
        engine_for(resolve_url(db)), lambda a: make_adapter(a.platform, a.credentials)
    )
    if json_out:
        print_json(
            {
                "stock_queued": queued,
                "delivered": report.delivered,
                "failed": report.failed,
                "retrying": report.retrying,
                "errors": report.errors,
            }
        )
        return
    console.print(
        f"stock quantities queued {queued}; delivered {report.delivered}, "
        f"failed {report.failed}, retrying {report.retrying}"
    )
    for err in report.errors[:20]:
        console.print(f"  {err}", style="yellow", markup=False)
    if report.failed:
        raise typer.Exit(1)


@app.command("stock-rule")
def stock_rule_cmd(
    shop: str,
    percent: Annotated[int, typer.Option(help="share of available stock to show, 0-100")] = 100,
    buffer: Annotated[int, typer.Option(help="units held back")] = 0,
    warehouse: Annotated[list[str] | None, typer.Option(help="count only these warehouses")] = None,
    maximum: Annotated[int | None, typer.Option("--max", help="never show more than this")] = None,
    db: DbOption = None,
) -> None:
    """Set how much stock a shop shows; `channels push` then keeps it in sync."""
    with open_uow(db) as uow:
        rule = service.set_stock_rule(
            uow, shop, StockRule(percent, buffer, tuple(warehouse or ()), maximum)
        )
    console.print(f"{shop}: stock rule {rule.to_json()}")


@app.command("outbox")
def outbox_cmd(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, delivered or failed")
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Messages for the platforms and what became of them (failures with the reason)."""
    with open_uow(db, readonly=True) as uow:
        rows = outbox.messages(uow, status)
    if json_out:
        print_json(rows)
        return
    table = Table("id", "topic", "status", "attempts", "next attempt", "last error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["topic"],
            r["status"],
            str(r["attempts"]),
            r["next_attempt_at"].isoformat(timespec="seconds"),
            r["last_error"][:80],
        )
    console.print(table)
