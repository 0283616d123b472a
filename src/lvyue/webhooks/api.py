"""Webhooks and the live event stream over HTTP.

``/api/v1/webhooks...``: subscriptions and their delivery log, for admins (settings.write).
``/api/v1/events``: server-sent events for any signed-in user with orders.read or stock.read,
filtered by the user's shops and warehouses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from lvyue.accounts import service as accounts
from lvyue.accounts.api import CurrentUser, client_address, request_token, require
from lvyue.accounts.errors import PermissionDenied
from lvyue.accounts.roles import Principal
from lvyue.core.errors import ValidationError
from lvyue.core.http import PathId
from lvyue.core.uow import UnitOfWork
from lvyue.webhooks import queries, service, stream
from lvyue.webhooks.schemas import SubscriptionCreate

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
events_router = APIRouter(prefix="/api/v1", tags=["events"])

Admin = Annotated[Principal, Depends(require("settings.write"))]


@router.get("")
def list_webhooks(request: Request, principal: Admin) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        items = queries.list_subscriptions(uow)
    return {"items": items, "total": len(items)}


@router.post("", status_code=201)
def add_webhook(request: Request, body: SubscriptionCreate, principal: Admin) -> dict[str, Any]:
    """Subscribe a URL to event types. The answer carries the signing secret, this once."""
    ip, agent = client_address(request)
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        new = service.add_subscription(
            uow,
            url=body.url,
            events=body.events,
            description=body.description,
            ip=ip,
            user_agent=agent,
        )
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        return {**queries.get_subscription(uow, new.id), "secret": new.secret}


@router.post("/{subscription_id}/disable")
def disable_webhook(request: Request, subscription_id: PathId, principal: Admin) -> dict[str, Any]:
    ip, agent = client_address(request)
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        service.disable_subscription(uow, subscription_id, ip=ip, user_agent=agent)
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        return queries.get_subscription(uow, subscription_id)


@router.get("/{subscription_id}/deliveries")
def webhook_deliveries(
    request: Request,
    subscription_id: PathId,
    principal: Admin,
    failed: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        queries.get_subscription(uow, subscription_id)  # 404 for an unknown id
        items = queries.list_deliveries(
            uow, subscription_id=subscription_id, failed=failed, limit=limit
        )
    return {"items": items, "total": len(items)}


async def _viewer(principal: CurrentUser) -> Principal:
    if not (principal.can("orders.read") or principal.can("stock.read")):
        raise PermissionDenied(
            f"{principal.actor} ({principal.role.value}) lacks orders.read and stock.read",
            permission="orders.read",
        )
    return principal


async def _start(
    request: Request,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0, description="resume after this event id")] = None,
) -> int:
    """Where the stream starts: after the Last-Event-ID header (sent by a reconnecting
    browser), else ``?after=``, else from now on."""
    requested = after
    if last_event_id is not None and last_event_id.strip():
        try:
            requested = int(last_event_id)
        except ValueError:
            raise ValidationError("Last-Event-ID", "must be an event id from this stream") from None
        if requested < 0:
            raise ValidationError("Last-Event-ID", "must be an event id from this stream")
    return await run_in_threadpool(stream.start_position, request.app.state.engine, requested)


@events_router.get("/events", response_class=EventSourceResponse)
async def live_events(
    request: Request,
    principal: Annotated[Principal, Depends(_viewer)],
    start: Annotated[int, Depends(_start)],
) -> AsyncIterator[ServerSentEvent]:
    """Order and stock events as server-sent events (``text/event-stream``): ``event`` is the
    type, ``data`` the same JSON a webhook carries, ``id`` the position to resume from."""
    engine = request.app.state.engine
    token = request_token(request)[0] or ""  # a bearer token or the page's session

    def recheck() -> Principal | None:
        with UnitOfWork(engine, readonly=True) as uow:
            return accounts.user_for_token(uow, token)

    async for event in stream.events(engine, principal, start, recheck=recheck):
        yield event
