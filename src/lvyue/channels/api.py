"""Webhook receivers (POST /webhooks/{platform}/{shop}) and the shops API.

A push is verified against the shop's secret, stored verbatim, then parsed and imported exactly
like a pulled payload, so receiving it twice, or both by push and by pull, is one order.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from lvyue.accounts.api import audit, require
from lvyue.accounts.errors import PermissionDenied
from lvyue.accounts.roles import Principal
from lvyue.channels import queries, service
from lvyue.channels.adapters.base import RawOrder
from lvyue.channels.adapters.registry import WEBHOOK_PLATFORMS, make_adapter
from lvyue.core.uow import UnitOfWork
from lvyue.orders.canonical import OrderType
from lvyue.orders.service import PLATFORMS

Secret = Annotated[str, Field(min_length=1, max_length=500)]

router = APIRouter(tags=["webhooks"])


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "details": {}}, status_code=status)


@router.post("/webhooks/{platform}/{shop}")
async def receive_webhook(platform: str, shop: str, request: Request) -> Any:
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    # Database work runs in the thread pool, off the event loop.
    return await run_in_threadpool(
        _receive, request.app.state.engine, platform, shop, headers, body
    )


def _receive(engine: Engine, platform: str, shop: str, headers: dict[str, str], body: bytes) -> Any:
    if platform not in WEBHOOK_PLATFORMS:
        return _error(404, "no_webhooks", f"{platform} does not push orders by webhook")
    with UnitOfWork(engine, readonly=True) as uow:
        access = service.shop_access(uow, shop)
    if access.platform != platform:
        return _error(404, "unknown_shop", f"shop {shop} is not a {platform} shop")
    adapter = make_adapter(platform, access.credentials)
    if not adapter.verify_webhook(headers, body):  # type: ignore[attr-defined]
        return _error(401, "bad_signature", "webhook signature does not match the shop's secret")
    try:
        payload = json.loads(body)
        raw = RawOrder(str(payload["id"]), None, payload)
    except (ValueError, KeyError, TypeError):
        return _error(400, "bad_payload", "body must be a JSON order object with an id")
    with UnitOfWork(engine, actor=f"webhook:{shop}") as uow:
        got = service.ingest(uow, access.shop_id, shop, [raw], "webhook", adapter.parse)
    if not got.stored:
        return {"received": True, "duplicate": True}
    report = got.report
    return {
        "received": True,
        "duplicate": False,
        "imported": report.imported,
        "updated": report.updated,
        "errors": [reason for _, reason in report.rejected],
    }


# --------------------------------------------------------------------------- shops

shops_router = APIRouter(prefix="/api/v1/shops", tags=["shops"])


class ShopSecrets(BaseModel):
    """Write-only: stored encrypted, never returned by any route."""

    model_config = ConfigDict(extra="forbid")

    app_key: Secret | None = None
    app_secret: Secret | None = None
    token: Secret | None = None
    session: Secret | None = None
    webhook_secret: Secret | None = None
    sign_method: Secret | None = None


class ShopCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    platform: Literal[PLATFORMS]  # type: ignore[valid-type]
    name: str = Field(min_length=1, max_length=100)
    order_type: OrderType = "online"
    base_url: str = Field(default="", max_length=300, pattern=r"^(https?://\S+)?$")
    secrets: ShopSecrets = Field(default_factory=ShopSecrets)


class ShopRead(BaseModel):
    code: str
    platform: str
    name: str
    order_type: str
    active: bool
    created_at: datetime
    base_url: str = Field(description="scheme, host and path only")
    has_credentials: bool
    last_sync_at: datetime | None
    last_sync_status: str


class ShopList(BaseModel):
    items: list[ShopRead]


@shops_router.get("", response_model=ShopList)
def list_shops(
    request: Request, principal: Annotated[Principal, Depends(require("orders.read"))]
) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        rows = queries.list_shops(uow)
    return {"items": [s for s in rows if principal.sees_shop(s["code"])]}


@shops_router.post("", response_model=ShopRead)
def add_shop(
    request: Request,
    body: ShopCreate,
    principal: Annotated[Principal, Depends(require("shops.write"))],
) -> dict[str, Any]:
    """Add a shop; its credentials are stored encrypted and never shown again."""
    if principal.shop_codes:
        raise PermissionDenied(
            f"{principal.actor} is limited to shops {', '.join(sorted(principal.shop_codes))} "
            "and cannot add one",
            permission="shops.write",
        )
    secrets = body.secrets.model_dump(exclude_none=True)
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        service.add_shop(
            uow,
            code=body.code,
            platform=body.platform,
            name=body.name,
            base_url=body.base_url,
            order_type=body.order_type,
            secrets=secrets,
        )
        audit(
            uow,
            request,
            action="shop.create",
            target_type="shop",
            target=body.code,
            # which secrets were given, never their values
            details={
                **body.model_dump(exclude={"secrets"}),
                "base_url": queries.without_credentials(body.base_url),
                "secrets": sorted(secrets),
            },
        )
        return queries.get_shop(uow, body.code)
