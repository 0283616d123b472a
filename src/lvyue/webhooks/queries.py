"""Reads for webhook lists and the delivery log. Never returns a secret."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lvyue.core.db import table_of
from lvyue.core.errors import NotFound
from lvyue.core.uow import UnitOfWork
from lvyue.webhooks.models import DeliveryAttempt, Subscription

SUB = table_of(Subscription)
ATTEMPT = table_of(DeliveryAttempt)


def _public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "description": row.description,
        "events": list(row.event_types),
        "enabled": row.enabled,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "disabled_at": row.disabled_at,
        "disabled_by": row.disabled_by,
    }


def list_subscriptions(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [_public(r) for r in uow.conn.execute(sa.select(SUB).order_by(SUB.c.id))]


def get_subscription(uow: UnitOfWork, subscription_id: int) -> dict[str, Any]:
    row = uow.conn.execute(sa.select(SUB).where(SUB.c.id == subscription_id)).first()
    if row is None:
        raise NotFound(f"webhook {subscription_id} does not exist", code="unknown_webhook")
    return _public(row)


def list_deliveries(
    uow: UnitOfWork,
    *,
    subscription_id: int | None = None,
    failed: bool = False,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Delivery attempts, newest first; ``failed`` keeps those that did not get a 2xx."""
    stmt = sa.select(ATTEMPT).order_by(ATTEMPT.c.id.desc()).limit(limit)
    if subscription_id is not None:
        stmt = stmt.where(ATTEMPT.c.subscription_id == subscription_id)
    if failed:
        stmt = stmt.where(ATTEMPT.c.ok.is_(False))
    return [
        {
            "id": r.id,
            "subscription_id": r.subscription_id,
            "event_id": r.event_id,
            "event_type": r.event_type,
            "delivery_id": r.delivery_id,
            "attempt": r.attempt,
            "ok": r.ok,
            "status_code": r.status_code,
            "duration_ms": r.duration_ms,
            "error": r.error,
            "at": r.at,
        }
        for r in uow.conn.execute(stmt)
    ]
