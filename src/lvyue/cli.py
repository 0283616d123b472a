"""The `lvyue` command: the root of every capability's commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import sqlalchemy as sa
import typer
import uvicorn
from rich.table import Table

from lvyue import bootstrap
from lvyue.accounts import service as accounts
from lvyue.accounts.cli import apikey_app, audit_app, user_app
from lvyue.catalog.cli import app as catalog_app
from lvyue.channels.cli import app as channels_app
from lvyue.channels.cli import shop_app
from lvyue.core import cli as core_cli
from lvyue.core.cli import DbOption, console, err_console, open_uow, resolve_url
from lvyue.core.db import engine_for
from lvyue.core.errors import LvyueError, ValidationError
from lvyue.core.pii import rotate_keys
from lvyue.demo import demo_command, seed_demo_users
from lvyue.geo.cli import app as address_app
from lvyue.inventory.cli import stock_app, warehouse_app
from lvyue.logistics.cli import carrier_app, rates_app
from lvyue.main import create_app
from lvyue.orders.cli import app as orders_app
from lvyue.orders.cli import customer_app, rules_app, sku_app
from lvyue.webhooks.cli import events_app, webhook_app

app = typer.Typer(
    help="lvyue 履约: 多渠道订单与仓储管理 / multi-channel order and warehouse management",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(catalog_app, name="catalog")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(stock_app, name="stock")
app.add_typer(shop_app, name="shop")
app.add_typer(orders_app, name="orders")
app.add_typer(sku_app, name="sku")
app.add_typer(customer_app, name="customer")
app.add_typer(rules_app, name="rules")
app.add_typer(address_app, name="address")
app.add_typer(carrier_app, name="carrier")
app.add_typer(rates_app, name="rates")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(audit_app, name="audit")
app.add_typer(channels_app, name="channels")
app.add_typer(webhook_app, name="webhook")
app.add_typer(events_app, name="events")


@app.command("demo")
def demo(
    orders_n: Annotated[int, typer.Option("--orders", help="how many orders to generate")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same data")] = 11,
    serve_after: Annotated[
        bool,
        typer.Option("--serve", help="then create demo users and serve the workbench"),
    ] = False,
    host: Annotated[str, typer.Option(help="with --serve: address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="with --serve: port", min=0, max=65535)] = 8000,
    db: DbOption = None,
) -> None:
    """Create a FRESH demo database (existing lvyue tables are dropped), import a Double-11
    day of orders from four shops and run the pipeline; with --serve, open the workbench
    with a demo admin and a warehouse user (passwords printed)."""
    demo_command(orders_n=orders_n, seed=seed, db=db)
    if not serve_after:
        return
    url = resolve_url(db)
    users = Table("用户 user", "密码 password", "岗位 role", title="演示账号 / demo sign-ins")
    for username, password, role in seed_demo_users(url):
        users.add_row(username, password, role)
    console.print(users)
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    console.print(f"工作台 workbench: [bold cyan]http://{shown}:{port}/login[/]  (Ctrl+C to stop)")
    uvicorn.run(create_app(url), host=host, port=port, log_level="warning")


pii_app = typer.Typer(help="个人信息加密 / personal data encryption", no_args_is_help=True)
app.add_typer(pii_app, name="pii")


@pii_app.command("rotate")
def pii_rotate(
    batch: Annotated[int, typer.Option(help="rows per transaction")] = 500,
    db: DbOption = None,
) -> None:
    """Re-encrypt personal data and stored secrets with LVYUE_SECRET_KEY and recompute the
    phone hashes; run after moving the old key to LVYUE_OLD_SECRET_KEYS, then drop it there.
    One transaction per batch: safe to interrupt and run again."""
    if batch < 1:
        raise ValidationError("batch", "must be at least 1")
    url = resolve_url(db)
    ensure_schema(url)

    def progress(table: str, examined: int, rewritten: int) -> None:
        console.print(f"  {table}: {examined} rows examined, {rewritten} rewritten", markup=False)

    report = rotate_keys(
        engine_for(url), bootstrap.metadata.sorted_tables, batch_size=batch, progress=progress
    )
    with open_uow(url, actor="cli:pii-rotate") as uow:
        accounts.record(uow, action="pii.rotate", details={"rewritten": report.rewritten})
    total = sum(report.rewritten.values())
    console.print(f"key rotation done: {total} rows rewritten in {len(report.rewritten)} tables")


def ensure_schema(url: str) -> None:
    engine = engine_for(url)
    with engine.connect() as conn:
        current = None
        if sa.inspect(conn).has_table("alembic_version"):
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    if current != bootstrap.head_revision():
        bootstrap.upgrade(url)


core_cli.prepare_database = ensure_schema


@app.command("init")
def init(db: DbOption = None) -> None:
    """Create or upgrade the database schema."""
    url = resolve_url(db)
    bootstrap.upgrade(url)
    console.print(f"database ready: {sa.make_url(url).render_as_string(hide_password=True)}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port", min=0, max=65535)] = 8000,
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate chain (PEM)")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None,
    proxy_headers: Annotated[
        bool, typer.Option(help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips")
    ] = True,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(help="comma-separated proxy addresses (or '*') whose forwarded headers count"),
    ] = "127.0.0.1",
    db: DbOption = None,
) -> None:
    """Run the web application (API, webhooks); HTTPS with --certfile and --keyfile, or
    behind a reverse proxy (docs/deploy.md)."""
    if (certfile is None) != (keyfile is None):
        raise typer.BadParameter(
            "give both --certfile and --keyfile for TLS", param_hint="--certfile"
        )
    for f in (certfile, keyfile):
        if f is not None and not f.is_file():
            raise typer.BadParameter(f"{f} does not exist", param_hint="--certfile/--keyfile")
    url = resolve_url(db)
    ensure_schema(url)
    uvicorn.run(
        create_app(url),
        host=host,
        port=port,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        # The client address in the audit log is the proxy's unless its headers are trusted.
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )


def main(argv: list[str] | None = None) -> int:
    try:
        rc = app(args=argv, standalone_mode=False)
    except LvyueError as exc:
        err_console.print(f"错误 error [{exc.code}]: {exc.message}", markup=False)
        return 2
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 1
    except sa.exc.OperationalError as exc:
        err_console.print(f"错误 error [database]: {exc.orig}", markup=False)
        return 3
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
