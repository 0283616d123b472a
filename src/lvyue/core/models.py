"""Tables of the shared kernel: the outbox and the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lvyue.core.clock import now
from lvyue.core.db import Base, BigId, UTCDateTime


class OutboxMessage(Base):
    """A message for the outside world, written in the transaction that caused it and
    delivered after commit by ``lvyue channels push`` (DESIGN §7)."""

    __tablename__ = "core_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(64))
    # The same fact enqueued twice is one message.
    dedup_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(
        sa.String(16), default="pending"
    )  # pending|sending|delivered|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_core_outbox_due", "status", "next_attempt_at"),)


class EventLogEntry(Base):
    """A compact, append-only record of what happened, written in the transaction that made it
    happen, so that every server process can stream it live (DESIGN §7): readers poll by id.

    AUTOINCREMENT on SQLite: ids are never reused, even after pruning every row, so a reader's
    position (an SSE ``Last-Event-ID``) always stays meaningful.
    """

    __tablename__ = "core_event_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The public id of the event, the same one a webhook delivery carries.
    event_id: Mapped[str] = mapped_column(sa.String(40))
    type: Mapped[str] = mapped_column(sa.String(40))
    # Codes, not ids, because readers filter by the user's shop and warehouse codes.
    shop: Mapped[str | None] = mapped_column(sa.String(32))
    warehouse: Mapped[str | None] = mapped_column(sa.String(32))
    order_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    sku: Mapped[str | None] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)

    __table_args__ = ({"sqlite_autoincrement": True},)


class Revision(Base):
    """A token per kind of reference data, replaced by every write to it, so that a process
    may keep what it loaded for as long as the token it read it under stays the same
    (``core.revisions``)."""

    __tablename__ = "core_revision"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    token: Mapped[int] = mapped_column(sa.BigInteger)
