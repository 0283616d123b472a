"""Shared pieces of the command line: the ``--db`` option, units of work, JSON output."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console

from lvyue.config import get_settings
from lvyue.core.db import engine_for
from lvyue.core.uow import UnitOfWork

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (overrides LVYUE_DATABASE_URL), e.g. sqlite:///lvyue.db"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]

# Set by the root CLI: brings a database to the current schema before first use, so that
# a user who forgot `lvyue init` is not met with "no such table".
prepare_database: Callable[[str], None] | None = None
_prepared: set[str] = set()


def resolve_url(db: str | None) -> str:
    return db or get_settings().database_url


def cli_actor() -> str:
    """Who acts on the command line, for history and audit rows: ``cli:<os user>``."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor the password database
        user = "unknown"
    return f"cli:{user}"


@contextmanager
def open_uow(
    db: str | None, *, readonly: bool = False, actor: str | None = None
) -> Iterator[UnitOfWork]:
    """A unit of work on the database of ``--db``; its actor is ``cli_actor()`` by default."""
    url = resolve_url(db)
    if prepare_database is not None and url not in _prepared:
        prepare_database(url)
        _prepared.add(url)
    with UnitOfWork(engine_for(url), readonly=readonly, actor=actor or cli_actor()) as uow:
        yield uow


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=_default)


def print_json(data: Any) -> None:
    typer.echo(dumps(data))
