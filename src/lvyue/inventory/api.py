"""Stock and warehouses over HTTP, scoped to the user's warehouses: levels, the ledger,
adjustments (audited), and the list and creation of warehouses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from lvyue.accounts.api import audit, require
from lvyue.accounts.errors import PermissionDenied
from lvyue.accounts.roles import Principal
from lvyue.core.errors import NotFound
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import queries, service
from lvyue.inventory.schemas import (
    LedgerPage,
    StockAdjust,
    StockLevelRead,
    StockLevels,
    WarehouseCreate,
    WarehouseList,
    WarehouseRead,
)

router = APIRouter(prefix="/api/v1/stock", tags=["stock"])
warehouses_router = APIRouter(prefix="/api/v1/warehouses", tags=["warehouses"])

Code = Annotated[str | None, Query(max_length=64)]


@router.get("", response_model=StockLevels)
def stock_levels(
    request: Request,
    principal: Annotated[Principal, Depends(require("stock.read"))],
    sku: Code = None,
) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        rows = [
            r for r in queries.stock_levels(uow, sku) if principal.sees_warehouse(r["warehouse"])
        ]
    return {"items": rows, "total": len(rows)}


@router.get("/ledger", response_model=LedgerPage)
def stock_ledger(
    request: Request,
    principal: Annotated[Principal, Depends(require("stock.read"))],
    sku: Code = None,
    warehouse: Code = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Every stock change, newest first: who, why, which document."""
    if warehouse and not principal.sees_warehouse(warehouse):
        return {"items": [], "total": 0}
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        return queries.stock_ledger(
            uow,
            sku=sku,
            warehouse=warehouse,
            warehouses=sorted(principal.warehouse_codes),
            limit=limit,
            offset=offset,
        )


@router.post("/adjust", response_model=StockLevelRead)
def adjust(
    request: Request,
    body: StockAdjust,
    principal: Annotated[Principal, Depends(require("stock.adjust"))],
) -> dict[str, Any]:
    """Add or take away units (a count difference, damage...), written to the ledger."""
    if not principal.sees_warehouse(body.warehouse):
        raise NotFound(f"warehouse {body.warehouse} does not exist", code="unknown_warehouse")
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        level = service.adjust_stock(
            uow,
            sku_code=body.sku,
            warehouse_code=body.warehouse,
            quantity=body.delta,
            reason=body.reason,
        )
        audit(
            uow,
            request,
            action="stock.adjust",
            target_type="stock",
            target=f"{body.sku}@{body.warehouse}",
            details={"delta": body.delta, "reason": body.reason, **level},
        )
    return {
        "sku": body.sku,
        "warehouse": body.warehouse,
        **level,
        "available": level["on_hand"] - level["reserved"],
    }


@warehouses_router.get("", response_model=WarehouseList)
def list_warehouses(
    request: Request, principal: Annotated[Principal, Depends(require("stock.read"))]
) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        rows = queries.list_warehouses(uow)
    return {"items": [w for w in rows if principal.sees_warehouse(w["code"])]}


@warehouses_router.post("", response_model=WarehouseRead)
def add_warehouse(
    request: Request,
    body: WarehouseCreate,
    principal: Annotated[Principal, Depends(require("warehouses.write"))],
) -> dict[str, Any]:
    if principal.warehouse_codes:
        # A user limited to some warehouses manages those, and cannot widen the scope.
        raise PermissionDenied(
            f"{principal.actor} is limited to warehouses "
            f"{', '.join(sorted(principal.warehouse_codes))} and cannot add one",
            permission="warehouses.write",
        )
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        service.add_warehouse(uow, **body.model_dump())
        audit(
            uow,
            request,
            action="warehouse.create",
            target_type="warehouse",
            target=body.code,
            details=body.model_dump(),
        )
    return {**body.model_dump(), "active": True}
