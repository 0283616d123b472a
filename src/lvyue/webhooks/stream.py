"""The live event stream (server-sent events): poll the event log by id, pass on what the
reader may see.

Every server process reads the same table, so an event committed by any process (a worker
running the pipeline, another API process) reaches every open stream within a poll interval.
The SSE ``id`` of each event is the reader's resume position; a browser sends it back as
``Last-Event-ID`` when it reconnects, and the stream goes on from there.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import ServerSentEvent
from sqlalchemy.engine import Engine

from lvyue.accounts.roles import Principal
from lvyue.core import eventlog
from lvyue.core.uow import UnitOfWork
from lvyue.webhooks.notices import envelope, visible_to

POLL_SECONDS = 0.5
BATCH = 500
RETRY_MS = 3000  # how long a browser waits before reconnecting
RECHECK_SECONDS = 60.0  # a revoked token or changed scope takes effect within this


def start_position(engine: Engine, requested: int | None) -> int:
    """Resume after ``requested`` (a Last-Event-ID), or start with what happens from now."""
    with UnitOfWork(engine, readonly=True) as uow:
        latest = eventlog.latest_id(uow.conn)
    return latest if requested is None else min(requested, latest)


def _read(engine: Engine, after: int, gaps: list[tuple[int, int]]) -> list[Any]:
    with UnitOfWork(engine, readonly=True) as uow:
        return eventlog.read(uow.conn, after, gaps, BATCH)


async def events(
    engine: Engine,
    principal: Principal,
    start: int,
    *,
    recheck: Callable[[], Principal | None],
    poll: float = POLL_SECONDS,
) -> AsyncIterator[ServerSentEvent]:
    """Events after ``start`` that ``principal`` may see, forever. ``recheck`` returns the
    principal again (None once its sign-in is no longer valid, which ends the stream)."""
    cursor = eventlog.Cursor(start)
    checked = time.monotonic()
    yield ServerSentEvent(comment="lvyue events", retry=RETRY_MS)
    while True:
        if time.monotonic() - checked > RECHECK_SECONDS:
            fresh = await run_in_threadpool(recheck)
            if fresh is None:
                return
            principal, checked = fresh, time.monotonic()
        rows = await run_in_threadpool(_read, engine, cursor.last, cursor.open_gaps)
        by_id = {r.id: r for r in rows}
        for i, resume in cursor.accept(by_id, time.monotonic()):
            r = by_id[i]
            if visible_to(principal, r.type, r.shop, r.warehouse):
                yield ServerSentEvent(
                    event=r.type,
                    id=str(resume),
                    data=envelope(r.event_id, r.type, r.at, r.payload),
                )
        if len(rows) < BATCH:
            await anyio.sleep(poll)
