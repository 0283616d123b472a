"""`lvyue user ...`, `lvyue apikey ...` and `lvyue audit ...`"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lvyue.accounts import queries, service
from lvyue.accounts.queries import AuditFilter
from lvyue.accounts.roles import ROLE_LABELS, Role
from lvyue.accounts.service import CLI_AGENT, CLI_ORIGIN
from lvyue.core.cli import DbOption, JsonOption, console, open_uow, print_json
from lvyue.core.clock import as_utc

user_app = typer.Typer(help="用户 / users and roles", no_args_is_help=True)
apikey_app = typer.Typer(help="开放接口密钥 / API keys for integrations", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 / audit log", no_args_is_help=True)

ROLE_HELP = "one of " + ", ".join(f"{r.value} ({ROLE_LABELS[r]})" for r in Role)
RoleOption = Annotated[str, typer.Option("--role", help=ROLE_HELP)]
WarehouseOption = Annotated[
    list[str] | None,
    typer.Option("--warehouse", help="limit to this warehouse code (repeat; none = all)"),
]
ShopOption = Annotated[
    list[str] | None, typer.Option("--shop", help="limit to this shop code (repeat; none = all)")
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from the first stdin line")
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("密码 password", hide_input=True, confirmation_prompt=True)
    return value


def _scope(codes: list[str]) -> str:
    return ",".join(codes) if codes else "*"


@user_app.command("add")
def user_add(
    username: str,
    role: RoleOption,
    warehouse: WarehouseOption = None,
    shop: ShopOption = None,
    display_name: Annotated[str, typer.Option(help="shown in the UI, e.g. 张三")] = "",
    password_stdin: PasswordStdin = False,
    db: DbOption = None,
) -> None:
    """Add a user (password prompted twice, hidden, unless --password-stdin)."""
    password = _read_password(password_stdin)
    with open_uow(db) as uow:
        uid = service.add_user(
            uow,
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            warehouse_codes=warehouse or (),
            shop_codes=shop or (),
            ip=CLI_ORIGIN,
            user_agent=CLI_AGENT,
        )
    console.print(f"user {username.strip().lower()} added (id {uid}, role {role})")


@user_app.command("list")
def user_list(json_out: JsonOption = False, db: DbOption = None) -> None:
    with open_uow(db, readonly=True) as uow:
        rows = queries.list_users(uow)
    if json_out:
        print_json(rows)
        return
    table = Table("username", "name", "role", "warehouses", "shops", "active", "locked until")
    for r in rows:
        table.add_row(
            r["username"],
            r["display_name"],
            r["role"],
            _scope(r["warehouse_codes"]),
            _scope(r["shop_codes"]),
            "yes" if r["active"] else "no",
            r["locked_until"].isoformat() if r["locked_until"] else "",
        )
    console.print(table)


@user_app.command("set-password")
def user_set_password(
    username: str, password_stdin: PasswordStdin = False, db: DbOption = None
) -> None:
    """Set a new password for a user (ends their sessions, lifts a lock-out)."""
    password = _read_password(password_stdin)
    with open_uow(db) as uow:
        service.reset_password(
            uow, username=username, new_password=password, ip=CLI_ORIGIN, user_agent=CLI_AGENT
        )
    console.print(f"password of {username} changed")


@user_app.command("unlock")
def user_unlock(username: str, db: DbOption = None) -> None:
    """Lift a lock-out after repeated failed log-ins."""
    with open_uow(db) as uow:
        service.unlock_user(uow, username=username, ip=CLI_ORIGIN, user_agent=CLI_AGENT)
    console.print(f"user {username} unlocked")


@apikey_app.command("create")
def apikey_create(
    name: str,
    role: RoleOption,
    warehouse: WarehouseOption = None,
    shop: ShopOption = None,
    rate: Annotated[int, typer.Option(help="requests allowed per minute")] = 600,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Create an app key and secret. The secret is shown this once only."""
    with open_uow(db) as uow:
        key = service.create_api_key(
            uow,
            name=name,
            role=role,
            warehouse_codes=warehouse or (),
            shop_codes=shop or (),
            rate_limit_per_minute=rate,
            ip=CLI_ORIGIN,
            user_agent=CLI_AGENT,
        )
    if json_out:
        print_json(key)
        return
    typer.echo(f"app key:    {key.app_key}")
    typer.echo(f"app secret: {key.secret}")
    typer.echo("保存好密钥，它不会再次显示 / store the secret now: it is not shown again")


@apikey_app.command("revoke")
def apikey_revoke(app_key: str, db: DbOption = None) -> None:
    with open_uow(db) as uow:
        service.revoke_api_key(uow, app_key=app_key, ip=CLI_ORIGIN, user_agent=CLI_AGENT)
    console.print(f"API key {app_key} revoked")


@apikey_app.command("list")
def apikey_list(json_out: JsonOption = False, db: DbOption = None) -> None:
    with open_uow(db, readonly=True) as uow:
        rows = queries.list_api_keys(uow)
    if json_out:
        print_json(rows)
        return
    table = Table("app key", "name", "role", "warehouses", "shops", "per min", "revoked")
    for r in rows:
        table.add_row(
            r["app_key"],
            r["name"],
            r["role"],
            _scope(r["warehouse_codes"]),
            _scope(r["shop_codes"]),
            str(r["rate_limit_per_minute"]),
            r["revoked_at"].isoformat() if r["revoked_at"] else "",
        )
    console.print(table)


def _filter(
    actor: str | None,
    action: str | None,
    target: str | None,
    since: datetime | None,
    until: datetime | None,
) -> AuditFilter:
    def utc(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return as_utc(value if value.tzinfo else value.astimezone())

    return AuditFilter(
        actor=actor, action=action, target=target, since=utc(since), until=utc(until)
    )


ActorOption = Annotated[str | None, typer.Option(help="who acted")]
ActionOption = Annotated[str | None, typer.Option(help="action, or a prefix like 'login.*'")]
TargetOption = Annotated[str | None, typer.Option(help="target, e.g. a username or app key")]
SinceOption = Annotated[datetime | None, typer.Option(help="from (local time unless zoned)")]
UntilOption = Annotated[datetime | None, typer.Option(help="until, exclusive")]


@audit_app.command("list")
def audit_list(
    actor: ActorOption = None,
    action: ActionOption = None,
    target: TargetOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(help="newest N entries")] = 50,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The newest audit entries, newest first."""
    with open_uow(db, readonly=True) as uow:
        rows = queries.list_audit(uow, _filter(actor, action, target, since, until), limit=limit)
    if json_out:
        print_json(rows)
        return
    table = Table("at", "actor", "action", "target", "ip", "details")
    for r in rows:
        table.add_row(
            r["at"].isoformat(timespec="seconds"),
            r["actor"],
            r["action"],
            f"{r['target_type']}:{r['target']}" if r["target_type"] else r["target"],
            r["ip"],
            ", ".join(f"{k}={v}" for k, v in sorted(r["details"].items())),
        )
    console.print(table)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV file")] = None,
    actor: ActorOption = None,
    action: ActionOption = None,
    target: TargetOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    db: DbOption = None,
) -> None:
    """Matching audit entries as CSV (oldest first), to a file or stdout. The export itself
    is written to the audit log first."""
    f = _filter(actor, action, target, since, until)
    with open_uow(db) as uow:
        service.record_cli(
            uow,
            action="audit.export",
            target_type="audit",
            details={
                "filters": f.as_details(),
                "rows": queries.count_audit(uow, f),
                "output": str(output) if output else "stdout",
            },
        )
    with open_uow(db, readonly=True) as uow:
        if output is None:
            queries.export_audit_csv(uow, sys.stdout, f)
            return
        with output.open("w", encoding="utf-8-sig", newline="") as out:
            n = queries.export_audit_csv(uow, out, f)
    console.print(f"{n} entries written to {output}")
