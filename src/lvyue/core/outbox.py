"""Enqueue messages inside a unit of work; deliver them after commit, with retries.

Delivery never holds a transaction open across a network call: a batch is claimed (status
``sending`` with a lease), committed, sent, and each result recorded in its own short
transaction. A worker that dies mid-send leaves a lease that expires, so the message is sent
again later (at least once); handlers make the remote call idempotent where the platform allows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from lvyue.core.clock import now
from lvyue.core.db import table_of
from lvyue.core.models import OutboxMessage
from lvyue.core.uow import UnitOfWork

OUTBOX = table_of(OutboxMessage)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


class PermanentFailure(Exception):
    """The remote side refused the message for good (bad credentials, unknown order)."""


def enqueue(uow: UnitOfWork, topic: str, dedup_key: str, payload: dict[str, Any]) -> None:
    enqueue_many(uow, topic, [(dedup_key, payload)])


def enqueue_many(
    uow: UnitOfWork, topic: str, messages: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Enqueue (dedup key, payload) pairs with one statement; a key already queued is skipped."""
    if not messages:
        return
    insert = postgresql.insert if uow.is_postgres else sqlite.insert
    ts = now()
    uow.conn.execute(
        insert(OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"]),
        [
            {
                "topic": topic,
                "dedup_key": key[:200],
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": ts,
                "last_error": "",
                "created_at": ts,
            }
            for key, payload in messages
        ],
    )


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)


def deliver(
    engine: Engine,
    handlers: Mapping[str, Callable[[dict[str, Any]], None]],
    *,
    limit: int = 100,
    clock: Callable[[], datetime] = now,
) -> DeliveryReport:
    report = DeliveryReport()
    ts = clock()
    with UnitOfWork(engine, actor="outbox") as uow:
        due = (
            sa.select(OUTBOX.c.id, OUTBOX.c.topic, OUTBOX.c.payload, OUTBOX.c.attempts)
            .where(
                OUTBOX.c.status.in_(["pending", "sending"]),
                OUTBOX.c.next_attempt_at <= ts,
                OUTBOX.c.topic.in_(sorted(handlers)),
            )
            .order_by(OUTBOX.c.id)
            .limit(limit)
        )
        if uow.is_postgres:
            due = due.with_for_update(skip_locked=True)
        batch = list(uow.conn.execute(due))
        if batch:
            uow.conn.execute(
                sa.update(OUTBOX)
                .where(OUTBOX.c.id.in_([m.id for m in batch]))
                .values(
                    status="sending", next_attempt_at=ts + LEASE, attempts=OUTBOX.c.attempts + 1
                )
            )
    for msg in batch:
        attempts = msg.attempts + 1
        try:
            handlers[msg.topic](msg.payload)
        except Exception as exc:  # every failure is recorded, none stops the others
            permanent = isinstance(exc, PermanentFailure) or attempts >= MAX_ATTEMPTS
            values: dict[str, Any] = {"last_error": f"{type(exc).__name__}: {exc}"[:2000]}
            if permanent:
                values["status"] = "failed"
                report.failed += 1
            else:
                values.update(status="pending", next_attempt_at=clock() + backoff(attempts))
                report.retrying += 1
            report.errors.append(f"#{msg.id} {msg.topic}: {values['last_error']}")
        else:
            values = {"status": "delivered", "delivered_at": clock(), "last_error": ""}
            report.delivered += 1
        with UnitOfWork(engine, actor="outbox") as uow:
            uow.conn.execute(sa.update(OUTBOX).where(OUTBOX.c.id == msg.id).values(**values))
    return report


def messages(uow: UnitOfWork, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Outbox messages, newest first, for the operator to see what was not delivered."""
    stmt = sa.select(OUTBOX).order_by(OUTBOX.c.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(OUTBOX.c.status == status)
    return [dict(r._mapping) for r in uow.conn.execute(stmt)]
