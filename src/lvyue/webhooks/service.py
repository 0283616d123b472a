"""Webhook use cases: subscribe, disable, publish notices (inside the change's unit of work)
and deliver them (after commit, through the outbox)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lvyue.accounts.service import record
from lvyue.core import eventlog, outbox
from lvyue.core.clock import now
from lvyue.core.crypto import decrypt, encrypt
from lvyue.core.db import table_of
from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.webhooks import delivery, signing
from lvyue.webhooks.models import DeliveryAttempt, Subscription
from lvyue.webhooks.notices import Notice, new_id, parse_event_types

TOPIC = "webhook"
SUB = table_of(Subscription)
ATTEMPT = table_of(DeliveryAttempt)


@dataclass(frozen=True)
class NewSubscription:
    """Shown once: the secret is never displayed again."""

    id: int
    url: str
    description: str
    events: list[str]
    secret: str


class DeliveryFailed(Exception):
    """The receiver did not take the event this time; the outbox tries again later."""


def _clean_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            "url", "an http:// or https:// URL with a host, e.g. https://example.com/hooks"
        )
    if len(url) > 500:
        raise ValidationError("url", "at most 500 characters")
    return url


def _audit_url(url: str) -> str:
    """The URL without its query: receivers sometimes put a token there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def add_subscription(
    uow: UnitOfWork,
    *,
    url: str,
    events: Iterable[str],
    description: str = "",
    ip: str | None = None,
    user_agent: str | None = None,
) -> NewSubscription:
    url = _clean_url(url)
    types = parse_event_types(events)
    description = description.strip()
    if len(description) > 200:
        raise ValidationError("description", "at most 200 characters")
    secret = signing.new_secret()
    at = now()
    result = uow.conn.execute(
        sa.insert(SUB).values(
            url=url,
            description=description,
            event_types=types,
            secret_encrypted=encrypt(secret),
            enabled=True,
            created_at=at,
            created_by=uow.actor[:100],
            disabled_by="",
        )
    )
    assert result.inserted_primary_key is not None
    sid = int(result.inserted_primary_key[0])
    record(
        uow,
        action="webhook.add",
        target_type="webhook",
        target=str(sid),
        details={"url": _audit_url(url), "events": types, "description": description},
        ip=ip,
        user_agent=user_agent,
        at=at,
    )
    return NewSubscription(sid, url, description, types, secret)


def disable_subscription(
    uow: UnitOfWork, subscription_id: int, *, ip: str | None = None, user_agent: str | None = None
) -> None:
    """Stop sending to a subscriber, also what is already queued for it. Disabling twice is
    one change."""
    row = uow.conn.execute(sa.select(SUB).where(SUB.c.id == subscription_id)).first()
    if row is None:
        raise NotFound(f"webhook {subscription_id} does not exist", code="unknown_webhook")
    if not row.enabled:
        return
    at = now()
    uow.conn.execute(
        sa.update(SUB)
        .where(SUB.c.id == subscription_id)
        .values(enabled=False, disabled_at=at, disabled_by=uow.actor[:100])
    )
    record(
        uow,
        action="webhook.disable",
        target_type="webhook",
        target=str(subscription_id),
        details={"url": _audit_url(row.url)},
        ip=ip,
        user_agent=user_agent,
        at=at,
    )


def publish(uow: UnitOfWork, notices: Sequence[Notice]) -> None:
    """Log the notices for live readers and queue one message per notice and enabled subscriber
    that asked for its type: two statements, whatever the batch size."""
    if not notices:
        return
    eventlog.append(uow, [n.log_row() for n in notices])
    subscribers = uow.conn.execute(
        sa.select(SUB.c.id, SUB.c.event_types).where(SUB.c.enabled.is_(True))
    ).all()
    outbox.enqueue_many(
        uow,
        TOPIC,
        [
            (
                f"webhook:{n.id}:{s.id}",
                {"subscription_id": s.id, "delivery_id": new_id("dlv"), "event": n.envelope()},
            )
            for n in notices
            for s in subscribers
            if n.type in s.event_types
        ],
    )


def deliver(
    engine: Engine,
    *,
    limit: int = 100,
    clock: Callable[[], datetime] = now,
    http: httpx.Client | None = None,
) -> outbox.DeliveryReport:
    """Send the webhooks that are due. ``clock`` schedules retries (tests move it); the signed
    timestamp is always the real time."""
    own = http is None
    client = delivery.client() if http is None else http
    try:
        return outbox.deliver(
            engine, {TOPIC: lambda p: _send(engine, client, p)}, limit=limit, clock=clock
        )
    finally:
        if own:
            client.close()


def _send(engine: Engine, client: httpx.Client, message: dict[str, Any]) -> None:
    event = message["event"]
    with UnitOfWork(engine, readonly=True) as uow:
        sub = uow.conn.execute(sa.select(SUB).where(SUB.c.id == message["subscription_id"])).first()
    if sub is None:
        raise outbox.PermanentFailure(f"webhook {message['subscription_id']} does not exist")
    if not sub.enabled:
        result = delivery.Result(None, 0, "subscription disabled: not sent", permanent=True)
    else:
        body = signing.encode(event)
        ts = str(int(now().timestamp()))
        headers = {
            signing.HEADER_EVENT: event["type"],
            signing.HEADER_DELIVERY: message["delivery_id"],
            signing.HEADER_TIMESTAMP: ts,
            signing.HEADER_SIGNATURE: signing.sign(decrypt(sub.secret_encrypted), ts, body),
        }
        result = delivery.post(client, sub.url, body, headers)
    with UnitOfWork(engine, actor="webhooks") as uow:
        _record_attempt(uow, sub.id, message, result)
    if result.ok:
        return
    if result.permanent:
        raise outbox.PermanentFailure(result.error)
    raise DeliveryFailed(result.error)


def _record_attempt(
    uow: UnitOfWork, subscription_id: int, message: dict[str, Any], result: delivery.Result
) -> None:
    before = uow.conn.execute(
        sa.select(sa.func.count()).where(ATTEMPT.c.delivery_id == message["delivery_id"])
    ).scalar_one()
    uow.conn.execute(
        sa.insert(ATTEMPT).values(
            subscription_id=subscription_id,
            event_id=message["event"]["id"],
            event_type=message["event"]["type"],
            delivery_id=message["delivery_id"],
            attempt=int(before) + 1,
            ok=result.ok,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=result.error[:2000],
            at=now(),
        )
    )
