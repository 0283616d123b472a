"""Settings → webhooks: subscriptions (URL, events, active), adding one (its signing secret
shown once), disabling, and each subscription's recent delivery log. ``settings.write`` and
the service's audit rows (``webhook.add``, ``webhook.disable``), as in the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lvyue.accounts.api import page_require
from lvyue.accounts.roles import Principal
from lvyue.accounts.settings_web import Partial, form_fields, one, render_settings, where
from lvyue.core.errors import ValidationError
from lvyue.core.http import PathId
from lvyue.core.uow import UnitOfWork
from lvyue.web.i18n import N_
from lvyue.webhooks import queries, service
from lvyue.webhooks.notices import EVENT_TYPES

router = APIRouter(include_in_schema=False)

WebhookAdmin = Annotated[Principal, Depends(page_require("settings.write"))]

DELIVERY_LOG = 20
EVENT_LABELS: dict[str, str] = {
    "order.status_changed": N_("Order status changed"),
    "order.shipped": N_("Order shipped"),
    "order.held": N_("Order held"),
    "stock.low": N_("Stock low"),
}
WEBHOOK_FIELDS: dict[str, str] = {
    "url": N_("URL"),
    "events": N_("Events"),
    "description": N_("Description"),
}
WEBHOOKS = Partial("webhooks", "settings/_webhooks.html", WEBHOOK_FIELDS)


def _context(request: Request, new: service.NewSubscription | None = None) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        subs = queries.list_subscriptions(uow)
    return {
        "subscriptions": subs,
        "event_types": [(t, EVENT_LABELS.get(t, t)) for t in EVENT_TYPES],
        "event_labels": EVENT_LABELS,
        "new_subscription": new,
    }


@router.get("/settings/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, principal: WebhookAdmin) -> HTMLResponse:
    return WEBHOOKS.render(request, principal, _context(request))


@router.post("/settings/webhooks", response_class=HTMLResponse)
async def add_webhook(request: Request, principal: WebhookAdmin) -> HTMLResponse:
    form = await form_fields(request)
    url, description = one(form, "url", limit=600), one(form, "description", limit=300)
    events = form.get("events", [])
    values = {"url": url, "description": description, "events": events}
    try:
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            new = service.add_subscription(
                uow, url=url, events=events, description=description, **where(request)
            )
    except ValidationError as exc:
        return WEBHOOKS.refused(request, principal, _context(request), exc, values=values)
    return WEBHOOKS.render(
        request, principal, _context(request, new), N_("Webhook %(id)s added."), id=new.id
    )


@router.post("/settings/webhooks/{subscription_id}/disable", response_class=HTMLResponse)
def disable_webhook(
    request: Request, subscription_id: PathId, principal: WebhookAdmin
) -> HTMLResponse:
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        service.disable_subscription(uow, subscription_id, **where(request))
    return WEBHOOKS.render(
        request, principal, _context(request), N_("Webhook %(id)s disabled."), id=subscription_id
    )


@router.get("/settings/webhooks/{subscription_id}", response_class=HTMLResponse)
def deliveries_page(
    request: Request, subscription_id: PathId, principal: WebhookAdmin
) -> HTMLResponse:
    """The subscription and its most recent delivery attempts."""
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        sub = queries.get_subscription(uow, subscription_id)
        deliveries = queries.list_deliveries(
            uow, subscription_id=subscription_id, limit=DELIVERY_LOG
        )
    return render_settings(
        request,
        principal,
        "webhooks",
        "settings/_deliveries.html",
        {"sub": sub, "deliveries": deliveries, "event_labels": EVENT_LABELS, "limit": DELIVERY_LOG},
    )
