"""Products and SKUs over HTTP: search, detail, create or update (audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from lvyue.accounts.api import audit, require
from lvyue.accounts.roles import Principal
from lvyue.catalog import queries, service
from lvyue.catalog.schemas import SkuPage, SkuRead, SkuWrite
from lvyue.core.uow import UnitOfWork

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])


@router.get("/skus", response_model=SkuPage)
def list_skus(
    request: Request,
    principal: Annotated[Principal, Depends(require("catalog.read"))],
    q: Annotated[
        str | None, Query(max_length=64, description="exact barcode, or part of code or name")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        return queries.page_skus(uow, search=q, limit=limit, offset=offset)


@router.get("/skus/{code}", response_model=SkuRead)
def get_sku(
    request: Request,
    code: Annotated[str, Path(max_length=64)],
    principal: Annotated[Principal, Depends(require("catalog.read"))],
) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        return queries.get_sku(uow, code)


@router.post("/skus", response_model=SkuRead)
def save_sku(
    request: Request,
    body: SkuWrite,
    principal: Annotated[Principal, Depends(require("catalog.write"))],
) -> dict[str, Any]:
    """Create the SKU, or replace its fields when the code exists."""
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        created = service.save_sku(uow, body.as_row())
        audit(
            uow,
            request,
            action="catalog.sku_create" if created else "catalog.sku_update",
            target_type="sku",
            target=body.sku,
            details=body.model_dump(mode="json"),
        )
        return queries.get_sku(uow, body.sku)
