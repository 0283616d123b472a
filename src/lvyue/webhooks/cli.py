"""`lvyue webhook ...` and `lvyue events prune`"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from lvyue.accounts.service import CLI_AGENT, CLI_ORIGIN
from lvyue.core import eventlog
from lvyue.core.cli import (
    DbOption,
    JsonOption,
    console,
    engine_for,
    open_uow,
    print_json,
    resolve_url,
)
from lvyue.core.clock import now
from lvyue.core.errors import ValidationError
from lvyue.webhooks import queries, service
from lvyue.webhooks.notices import EVENT_TYPES

webhook_app = typer.Typer(help="网络钩子 / outgoing webhooks", no_args_is_help=True)
events_app = typer.Typer(help="事件日志 / the live event log", no_args_is_help=True)

_AGE = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_age(value: str) -> timedelta:
    """'7d', '12h' or '30m'."""
    m = _AGE.match(value.lower())
    if m is None:
        raise ValidationError("older-than", f"{value!r} is not an age like 7d, 12h or 30m")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


@webhook_app.command("add")
def webhook_add(
    url: str,
    event: Annotated[list[str], typer.Option("--event", help=" | ".join(EVENT_TYPES))],
    description: Annotated[str, typer.Option(help="what the receiver is")] = "",
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Subscribe URL to events. Prints the signing secret, this once only."""
    with open_uow(db) as uow:
        new = service.add_subscription(
            uow,
            url=url,
            events=event,
            description=description,
            ip=CLI_ORIGIN,
            user_agent=CLI_AGENT,
        )
    if json_out:
        print_json(new)
        return
    typer.echo(f"webhook {new.id} added: {new.url} ({', '.join(new.events)})")
    typer.echo(f"signing secret: {new.secret}")
    typer.echo("保存好密钥，它不会再次显示 / store the secret now: it is not shown again")


@webhook_app.command("list")
def webhook_list(json_out: JsonOption = False, db: DbOption = None) -> None:
    with open_uow(db, readonly=True) as uow:
        rows = queries.list_subscriptions(uow)
    if json_out:
        print_json(rows)
        return
    table = Table("id", "url", "events", "description", "enabled")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["url"],
            ", ".join(r["events"]),
            r["description"],
            "yes" if r["enabled"] else "no",
        )
    console.print(table)


@webhook_app.command("disable")
def webhook_disable(subscription_id: int, db: DbOption = None) -> None:
    """Stop sending to a subscriber (also what is already queued for it)."""
    with open_uow(db) as uow:
        service.disable_subscription(uow, subscription_id, ip=CLI_ORIGIN, user_agent=CLI_AGENT)
    console.print(f"webhook {subscription_id} disabled")


@webhook_app.command("deliveries")
def webhook_deliveries(
    subscription: Annotated[int | None, typer.Option(help="only this webhook id")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="only attempts without a 2xx")] = False,
    limit: Annotated[int, typer.Option(help="newest N attempts")] = 50,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Delivery attempts, newest first."""
    with open_uow(db, readonly=True) as uow:
        rows = queries.list_deliveries(
            uow, subscription_id=subscription, failed=failed, limit=limit
        )
    if json_out:
        print_json(rows)
        return
    table = Table("at", "webhook", "event", "attempt", "status", "ms", "error")
    for r in rows:
        table.add_row(
            r["at"].isoformat(timespec="seconds"),
            str(r["subscription_id"]),
            r["event_type"],
            str(r["attempt"]),
            str(r["status_code"] or "-"),
            str(r["duration_ms"]),
            r["error"][:80],
        )
    console.print(table)


@webhook_app.command("deliver")
def webhook_deliver(
    limit: Annotated[int, typer.Option(help="at most this many messages")] = 100,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Send the webhooks that are due; failures are retried with back-off on later runs."""
    report = service.deliver(engine_for(resolve_url(db)), limit=limit)
    if json_out:
        print_json(report)
        return
    console.print(
        f"webhooks delivered {report.delivered}, failed {report.failed}, retrying {report.retrying}"
    )
    for err in report.errors[:20]:
        console.print(f"  {err}", style="yellow", markup=False)
    if report.failed:
        raise typer.Exit(1)


@events_app.command("prune")
def events_prune(
    older_than: Annotated[str, typer.Option(help="age, e.g. 7d, 12h, 30m")] = "7d",
    db: DbOption = None,
) -> None:
    """Delete event-log entries older than the given age (live readers need only the last
    minutes; webhooks have their own copy in the outbox)."""
    age = parse_age(older_than)
    with open_uow(db) as uow:
        n = eventlog.prune(uow, now() - age)
    console.print(f"{n} event-log entries older than {older_than} deleted")
