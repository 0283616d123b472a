"""Webhook receivers: POST /webhooks/{platform}/{shop}.

A push is verified against the shop's secret, stored verbatim, then parsed and imported exactly
like a pulled payload, so receiving it twice, or both by push and by pull, is one order.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from lvyue.channels import service
from lvyue.channels.adapters.base import RawOrder
from lvyue.channels.adapters.registry import WEBHOOK_PLATFORMS, make_adapter
from lvyue.core.uow import UnitOfWork

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
        stored = service.store_raw(uow, access.shop_id, [raw], "webhook")
    if not stored:
        return {"received": True, "duplicate": True}
    with UnitOfWork(engine, actor=f"webhook:{shop}") as uow:
        report = service.import_raw(uow, shop, stored, adapter.parse)
    return {
        "received": True,
        "duplicate": False,
        "imported": report.imported,
        "updated": report.updated,
        "errors": [reason for _, reason in report.rejected],
    }
