"""Tables of the shared kernel: the outbox."""

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
