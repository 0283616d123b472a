"""Account reads: users and API keys for the admin pages, the audit log and its CSV export.

Never returns password hashes, token hashes or secrets.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TextIO

import sqlalchemy as sa

from lvyue.accounts.models import ApiKey, ApiRate, AuditEntry, User
from lvyue.core.db import table_of
from lvyue.core.errors import NotFound
from lvyue.core.uow import UnitOfWork

USER = table_of(User)
API_KEY = table_of(ApiKey)
RATE = table_of(ApiRate)
AUDIT = table_of(AuditEntry)

_USER_COLUMNS = (
    USER.c.id,
    USER.c.username,
    USER.c.display_name,
    USER.c.role,
    USER.c.warehouse_codes,
    USER.c.shop_codes,
    USER.c.active,
    USER.c.failed_logins,
    USER.c.locked_until,
    USER.c.last_login_at,
    USER.c.password_changed_at,
    USER.c.created_at,
)


def list_users(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = uow.conn.execute(sa.select(*_USER_COLUMNS).order_by(USER.c.username))
    return [dict(r._mapping) for r in rows]


def get_user(uow: UnitOfWork, username: str) -> dict[str, Any]:
    row = uow.conn.execute(
        sa.select(*_USER_COLUMNS).where(USER.c.username == username.strip().lower())
    ).first()
    if row is None:
        raise NotFound(f"user {username} does not exist", code="unknown_user")
    return dict(row._mapping)


def list_api_keys(uow: UnitOfWork, *, include_revoked: bool = True) -> list[dict[str, Any]]:
    """Every key (never its secret), with ``last_used_at``: the start of the last minute in
    which it signed an accepted request (the rate counter's window), or None."""
    last_used = (
        sa.select(sa.func.max(RATE.c.window_start))
        .where(RATE.c.api_key_id == API_KEY.c.id)
        .scalar_subquery()
    )
    stmt = sa.select(
        API_KEY.c.id,
        API_KEY.c.name,
        API_KEY.c.app_key,
        API_KEY.c.role,
        API_KEY.c.warehouse_codes,
        API_KEY.c.shop_codes,
        API_KEY.c.rate_limit_per_minute,
        API_KEY.c.created_at,
        API_KEY.c.created_by,
        API_KEY.c.revoked_at,
        API_KEY.c.revoked_by,
        last_used.label("last_used_at"),
    ).order_by(API_KEY.c.id)
    if not include_revoked:
        stmt = stmt.where(API_KEY.c.revoked_at.is_(None))
    return [dict(r._mapping) for r in uow.conn.execute(stmt)]


@dataclass(frozen=True)
class AuditFilter:
    """All given fields must match. ``action`` is exact, or a prefix when it ends in ``*``
    (``login.*``). ``since`` is inclusive, ``until`` exclusive."""

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target: str | None = None
    ip: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_details(self) -> dict[str, str]:
        """The filters that are set, as text (for the audit row of an export)."""
        return {
            k: v.isoformat() if isinstance(v, datetime) else str(v)
            for k, v in asdict(self).items()
            if v is not None
        }


def _where(stmt: sa.Select[Any], f: AuditFilter) -> sa.Select[Any]:
    if f.actor:
        stmt = stmt.where(AUDIT.c.actor == f.actor)
    if f.action:
        if f.action.endswith("*"):
            prefix = f.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(AUDIT.c.action.like(prefix + "%", escape="\\"))
        else:
            stmt = stmt.where(AUDIT.c.action == f.action)
    if f.target_type:
        stmt = stmt.where(AUDIT.c.target_type == f.target_type)
    if f.target:
        stmt = stmt.where(AUDIT.c.target == f.target)
    if f.ip:
        stmt = stmt.where(AUDIT.c.ip == f.ip)
    if f.since:
        stmt = stmt.where(AUDIT.c.at >= f.since)
    if f.until:
        stmt = stmt.where(AUDIT.c.at < f.until)
    return stmt


def list_audit(
    uow: UnitOfWork,
    f: AuditFilter | None = None,
    *,
    limit: int = 100,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first. Page on with ``before_id`` = the last id of the previous page."""
    stmt = _where(sa.select(AUDIT), f or AuditFilter()).order_by(AUDIT.c.id.desc())
    if before_id is not None:
        stmt = stmt.where(AUDIT.c.id < before_id)
    rows = uow.conn.execute(stmt.limit(max(1, min(limit, 1000))))
    return [dict(r._mapping) for r in rows]


def count_audit(uow: UnitOfWork, f: AuditFilter | None = None) -> int:
    stmt = _where(sa.select(sa.func.count()).select_from(AUDIT), f or AuditFilter())
    return int(uow.conn.execute(stmt).scalar_one())


def iter_audit(
    uow: UnitOfWork, f: AuditFilter | None = None, *, batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every matching entry, oldest first, read in batches (for exports)."""
    after = 0
    while True:
        stmt = (
            _where(sa.select(AUDIT), f or AuditFilter())
            .where(AUDIT.c.id > after)
            .order_by(AUDIT.c.id)
            .limit(batch)
        )
        rows = [dict(r._mapping) for r in uow.conn.execute(stmt)]
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1]["id"]


CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "target_type",
    "target",
    "details",
    "ip",
    "user_agent",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    # A spreadsheet would run a cell that starts like a formula (CSV injection).
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _csv_row(entry: dict[str, Any]) -> list[str]:
    return [_cell(entry[c]) for c in CSV_COLUMNS]


def audit_csv_chunks(
    uow: UnitOfWork, f: AuditFilter | None = None, *, rows_per_chunk: int = 500
) -> Iterator[str]:
    """The CSV of ``export_audit_csv`` in pieces of text, for streaming."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for n, entry in enumerate(iter_audit(uow, f), start=1):
        writer.writerow(_csv_row(entry))
        if n % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_audit_csv(uow: UnitOfWork, out: TextIO, f: AuditFilter | None = None) -> int:
    """Write matching entries as CSV (header row, oldest first) to ``out``; return the count."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    n = 0
    for entry in iter_audit(uow, f):
        writer.writerow(_csv_row(entry))
        n += 1
    return n
