"""Orders over HTTP: list with filters and paging, detail, review actions, reveal.

Thin: parse, call one query or service, answer. Scoped users see only their shops'
and warehouses' orders; personal data is masked without ``pii.view``, and every answer that
carries it in plain text leaves a ``pii.reveal`` audit row (ADR 0005).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from lvyue.accounts.api import client_address, require
from lvyue.accounts.roles import Principal
from lvyue.core.errors import NotFound
from lvyue.core.uow import UnitOfWork
from lvyue.orders import queries, service
from lvyue.orders.masking import mask_order

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])


def _visible(principal: Principal, order: dict[str, Any]) -> bool:
    return principal.sees_shop(order["shop"]) and (
        order["warehouse"] is None or principal.sees_warehouse(order["warehouse"])
    )


@router.get("")
def list_orders(
    request: Request,
    principal: Annotated[Principal, Depends(require("orders.read"))],
    status: str | None = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    if phone:
        # Without pii.view a search by phone would confirm the digits a mask hides.
        principal.require("pii.view")
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        page = queries.page_orders(
            uow,
            status=status,
            shops=sorted(principal.shop_codes),
            warehouses=sorted(principal.warehouse_codes),
            phone=phone,
            limit=limit,
            offset=offset,
        )
    return page


def _detail(
    request: Request, principal: Principal, order_id: int, *, answer: bool = True
) -> dict[str, Any]:
    """The order as this principal may see it; ``answer=False`` only checks scope."""
    engine = request.app.state.engine
    with UnitOfWork(engine, readonly=True) as uow:
        order = queries.get_order(uow, order_id)
    if not _visible(principal, order):
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    if not principal.can("pii.view"):
        return mask_order(order)
    if answer:
        ip, agent = client_address(request)
        with UnitOfWork(engine, actor=principal.actor) as uow:
            service.record_reveal(uow, order_id, via="detail", ip=ip, user_agent=agent)
    return order


@router.get("/{order_id}")
def get_order(
    request: Request,
    order_id: int,
    principal: Annotated[Principal, Depends(require("orders.read"))],
) -> dict[str, Any]:
    return _detail(request, principal, order_id)


@router.post("/{order_id}/reveal")
def reveal(
    request: Request,
    order_id: int,
    principal: Annotated[Principal, Depends(require("pii.view"))],
) -> dict[str, Any]:
    """The receiver's name, phone and address in plain text; audited (who, when, from where)."""
    _detail(request, principal, order_id, answer=False)  # existence and scope first
    ip, agent = client_address(request)
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        return service.reveal_receiver(uow, order_id, via="reveal", ip=ip, user_agent=agent)


class Note(BaseModel):
    reason: str = Field(default="", max_length=300)


def _act(request: Request, principal: Principal, order_id: int, action: Any) -> dict[str, Any]:
    _detail(request, principal, order_id, answer=False)  # existence and scope first
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        action(uow)
    return _detail(request, principal, order_id)


@router.post("/{order_id}/approve")
async def approve(
    request: Request,
    order_id: int,
    principal: Annotated[Principal, Depends(require("orders.review"))],
    note: Note | None = None,
) -> dict[str, Any]:
    role = "admin" if principal.role == "admin" else principal.role
    return await run_in_threadpool(
        _act,
        request,
        principal,
        order_id,
        lambda uow: service.approve_order(uow, order_id, role=role, note=(note or Note()).reason),
    )


@router.post("/{order_id}/hold")
async def hold(
    request: Request,
    order_id: int,
    note: Note,
    principal: Annotated[Principal, Depends(require("orders.hold"))],
) -> dict[str, Any]:
    return await run_in_threadpool(
        _act,
        request,
        principal,
        order_id,
        lambda uow: service.hold_order(uow, order_id, note=note.reason),
    )


@router.post("/{order_id}/cancel")
async def cancel(
    request: Request,
    order_id: int,
    note: Note,
    principal: Annotated[Principal, Depends(require("orders.cancel"))],
) -> dict[str, Any]:
    return await run_in_threadpool(
        _act,
        request,
        principal,
        order_id,
        lambda uow: service.cancel_order(uow, order_id, reason=note.reason),
    )
