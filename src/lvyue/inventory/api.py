"""Stock over HTTP: levels per SKU and warehouse, scoped to the user's warehouses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from lvyue.accounts.api import require
from lvyue.accounts.roles import Principal
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import queries

router = APIRouter(prefix="/api/v1/stock", tags=["stock"])


@router.get("")
def stock_levels(
    request: Request,
    principal: Annotated[Principal, Depends(require("stock.read"))],
    sku: str | None = None,
) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        rows = [
            r for r in queries.stock_levels(uow, sku) if principal.sees_warehouse(r["warehouse"])
        ]
    return {"items": rows, "total": len(rows)}
