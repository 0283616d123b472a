"""The audit log over HTTP, for holders of ``audit.read`` (admins): a filtered, paged list and
a streamed CSV export, which is itself audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from lvyue.accounts import queries
from lvyue.accounts.api import audit, require
from lvyue.accounts.queries import AuditFilter
from lvyue.accounts.roles import Principal
from lvyue.accounts.schemas import AuditPage
from lvyue.core.clock import as_utc, now
from lvyue.core.errors import ValidationError
from lvyue.core.http import BIGINT_MAX
from lvyue.core.uow import UnitOfWork

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require("audit.read"))]


def _utc(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return as_utc(value)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past the last representable instant
        raise ValidationError(field, "out of the range of dates") from None


def audit_filter(
    actor: Annotated[str | None, Query(max_length=100, description="who acted")] = None,
    action: Annotated[
        str | None,
        Query(max_length=65, description="exact, or a prefix ending in * (login.*)"),
    ] = None,
    target_type: Annotated[str | None, Query(max_length=32, description="e.g. user")] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    ip: Annotated[str | None, Query(max_length=64, description="client address, or cli")] = None,
    since: Annotated[
        AwareDatetime | None, Query(alias="from", description="at or after, with time zone")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(alias="to", description="before (exclusive), with time zone")
    ] = None,
) -> AuditFilter:
    return AuditFilter(
        actor=actor,
        action=action,
        target_type=target_type,
        target=target,
        ip=ip,
        since=_utc(since, "from"),
        until=_utc(until, "to"),
    )


Filter = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("", response_model=AuditPage)
def list_audit(
    request: Request,
    principal: Auditor,
    f: Filter,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="next_before_id of the last page")
    ] = None,
) -> dict[str, Any]:
    """Audit entries, newest first, paged by id."""
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        rows = queries.list_audit(uow, f, limit=limit + 1, before_id=before_id)
        total = queries.count_audit(uow, f)
    items = rows[:limit]
    return {
        "items": items,
        "total": total,
        "next_before_id": items[-1]["id"] if len(rows) > limit else None,
    }


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "CSV (UTF-8 with a byte order mark), oldest first",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get("/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_audit(request: Request, principal: Auditor, f: Filter) -> StreamingResponse:
    """Matching audit entries as CSV, streamed. The export is written to the audit log
    (with its filters and row count) before the first byte leaves."""
    engine = request.app.state.engine
    with UnitOfWork(engine, actor=principal.actor) as uow:
        rows = queries.count_audit(uow, f)
        audit(
            uow,
            request,
            action="audit.export",
            target_type="audit",
            details={"filters": f.as_details(), "rows": rows},
        )

    def body() -> Iterator[str]:
        yield "\ufeff"  # spreadsheets then read the UTF-8 (Chinese reasons, names) as such
        with UnitOfWork(engine, readonly=True) as uow:
            yield from queries.audit_csv_chunks(uow, f)

    name = f"audit-{now():%Y%m%dT%H%M%SZ}.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
