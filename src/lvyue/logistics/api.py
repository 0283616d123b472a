"""Carriers over HTTP: the list, a rate quote for a parcel, adding a carrier (audited)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from lvyue.accounts.api import audit, require
from lvyue.accounts.roles import Principal
from lvyue.core.errors import ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.logistics import queries, service
from lvyue.logistics.rates import official_province
from lvyue.logistics.selection import Shipment, select_service

router = APIRouter(prefix="/api/v1/carriers", tags=["carriers"])

Text = Annotated[str, Field(min_length=1, max_length=32)]


class ServiceRead(BaseModel):
    code: str
    name: str
    handles: list[str]
    is_cold_chain: bool
    is_freight: bool
    max_weight_g: int | None
    excluded_provinces: list[str]
    active: bool
    rates: int = Field(description="rows in its rate table")


class CarrierRead(BaseModel):
    code: str
    name: str
    active: bool
    services: list[ServiceRead]


class CarrierList(BaseModel):
    items: list[CarrierRead]


class ServiceCreate(BaseModel):
    code: str = Field(min_length=1, max_length=24, description="e.g. SF-COLD")
    name: str = Field(min_length=1, max_length=100)
    handles: list[Text] = Field(default_factory=list, max_length=20)
    is_cold_chain: bool = False
    is_freight: bool = False
    max_weight_g: int | None = Field(default=None, ge=1, le=1_000_000_000)
    excluded_provinces: list[Text] = Field(default_factory=list, max_length=40)


class CarrierCreate(BaseModel):
    code: str = Field(min_length=1, max_length=16, description="e.g. SF, ZTO, DBL")
    name: str = Field(min_length=1, max_length=100)
    services: list[ServiceCreate] = Field(default_factory=list, max_length=50)


class QuoteRead(BaseModel):
    service_code: str
    carrier_code: str
    cost: Decimal


class RejectionRead(BaseModel):
    service_code: str
    code: str
    detail: str


class QuoteResult(BaseModel):
    service_code: str | None = Field(description="the choice; null when nothing can ship it")
    carrier_code: str | None
    cost: Decimal | None
    forced: bool
    quotes: list[QuoteRead] = Field(description="eligible services, cheapest first")
    rejected: list[RejectionRead]


@router.get("", response_model=CarrierList)
def list_carriers(
    request: Request, principal: Annotated[Principal, Depends(require("logistics.read"))]
) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        return {"items": queries.list_carriers(uow)}


def _province(value: str, field: str) -> str:
    name = official_province(value)
    if name is None:
        raise ValidationError(field, f"{value!r} is not a mainland province")
    return name


@router.get("/rates/quote", response_model=QuoteResult)
def quote(
    request: Request,
    principal: Annotated[Principal, Depends(require("logistics.read"))],
    origin: Annotated[str, Query(min_length=1, max_length=32, description="e.g. 浙江")],
    dest: Annotated[str, Query(min_length=1, max_length=32, description="e.g. 西藏")],
    weight_g: Annotated[int, Query(ge=0, le=1_000_000_000)],
    tags: Annotated[str, Query(max_length=200, description="e.g. fresh or bulky,fragile")] = "",
    force: Annotated[str | None, Query(max_length=24, description="carrier or service")] = None,
) -> dict[str, Any]:
    """Which service would ship this parcel, at what cost, and why not the others."""
    shipment = Shipment(
        origin_province=_province(origin, "origin"),
        dest_province=_province(dest, "dest"),
        weight_g=weight_g,
        tags=frozenset(t.strip().lower() for t in tags.replace("，", ",").split(",") if t.strip()),
        forced=force,
    )
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        candidates = queries.load_services(uow)
    result = select_service(shipment, candidates)
    return {
        "service_code": result.service_code,
        "carrier_code": result.carrier_code,
        "cost": result.cost,
        "forced": result.forced,
        "quotes": [asdict(q) for q in result.quotes],
        "rejected": [asdict(r) for r in result.rejected],
    }


@router.post("", response_model=CarrierRead)
def add_carrier(
    request: Request,
    body: CarrierCreate,
    principal: Annotated[Principal, Depends(require("logistics.write"))],
) -> dict[str, Any]:
    """Add a carrier with its services (rate tables come from `lvyue rates import`)."""
    specs = [
        service.ServiceSpec(
            code=s.code,
            name=s.name,
            handles=tuple(s.handles),
            is_cold_chain=s.is_cold_chain,
            is_freight=s.is_freight,
            max_weight_g=s.max_weight_g,
            excluded_provinces=tuple(s.excluded_provinces),
        )
        for s in body.services
    ]
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        service.add_carrier(uow, code=body.code, name=body.name, services=specs)
        code = body.code.strip().upper()
        audit(
            uow,
            request,
            action="carrier.create",
            target_type="carrier",
            target=code,
            details=body.model_dump(),
        )
        return next(c for c in queries.list_carriers(uow) if c["code"] == code)
