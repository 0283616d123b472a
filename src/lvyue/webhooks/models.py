"""Webhook subscriptions and the log of every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lvyue.core.clock import now
from lvyue.core.db import Base, BigId, UTCDateTime


class Subscription(Base):
    __tablename__ = "webhooks_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    event_types: Mapped[list[Any]] = mapped_column(sa.JSON)
    # Fernet (core.crypto); the plain secret is shown once, when the subscription is added.
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by: Mapped[str] = mapped_column(sa.String(100), default="")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_by: Mapped[str] = mapped_column(sa.String(100), default="")


class DeliveryAttempt(Base):
    """One try to deliver one event to one subscriber. Bodies stay out: the event is in the
    outbox and the event log; this says what happened on the wire."""

    __tablename__ = "webhooks_delivery"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("webhooks_subscription.id"))
    event_id: Mapped[str] = mapped_column(sa.String(40))
    event_type: Mapped[str] = mapped_column(sa.String(40))
    # X-Lvyue-Delivery: the same for every attempt of one event to one subscriber.
    delivery_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    attempt: Mapped[int] = mapped_column()
    ok: Mapped[bool] = mapped_column()
    status_code: Mapped[int | None] = mapped_column()
    duration_ms: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (sa.Index("ix_webhooks_delivery_subscription", "subscription_id", "id"),)
