"""Orders over HTTP: list with filters and paging, detail, review actions, split, merge,
address fixes and the audited reveal of personal data.

Thin: parse, call one query or service, answer. Scoped users see only their shops' and
warehouses' orders (others are 404, as if they did not exist); personal data is masked
without ``pii.view``, and every answer that carries it in plain text leaves a ``pii.reveal``
audit row (ADR 0006). Every action writes an audit row in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from lvyue.accounts.api import audit, client_address, require
from lvyue.accounts.roles import Principal
from lvyue.core.errors import NotFound
from lvyue.core.http import PathId
from lvyue.core.uow import UnitOfWork
from lvyue.orders import queries, service
from lvyue.orders.masking import mask_order
from lvyue.orders.schemas import (
    AddressFix,
    AddressResult,
    CarrierChoice,
    MergeRequest,
    MergeResult,
    Note,
    OrderDetail,
    OrderPage,
    Reason,
    SplitRequest,
    SplitResult,
    WarehouseChoice,
)

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

Code = Annotated[str | None, Query(max_length=64)]


def visible(principal: Principal, shop: str, warehouse: str | None) -> bool:
    return principal.sees_shop(shop) and (warehouse is None or principal.sees_warehouse(warehouse))


def _unknown(order_id: int) -> NotFound:
    return NotFound(f"order {order_id} does not exist", code="unknown_order")


@router.get("", response_model=OrderPage)
def list_orders(
    request: Request,
    principal: Annotated[Principal, Depends(require("orders.read"))],
    status: Code = None,
    shop: Code = None,
    warehouse: Code = None,
    hold: Annotated[str | None, Query(max_length=32, description="hold reason code")] = None,
    created_from: Annotated[
        AwareDatetime | None,
        Query(description="ordered at or after (the channel's created time), with time zone"),
    ] = None,
    created_to: Annotated[AwareDatetime | None, Query(description="ordered before")] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    if phone:
        # Without pii.view a search by phone would confirm the digits a mask hides.
        principal.require("pii.view")
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        return queries.page_orders(
            uow,
            status=status,
            shops=sorted(principal.shop_codes),
            warehouses=sorted(principal.warehouse_codes),
            shop=shop,
            warehouse=warehouse,
            hold=hold,
            ordered_from=created_from,
            ordered_to=created_to,
            phone=phone,
            limit=limit,
            offset=offset,
        )


def _detail(
    request: Request, principal: Principal, order_id: int, *, answer: bool = True
) -> dict[str, Any]:
    """The order as this principal may see it; ``answer=False`` only checks scope."""
    engine = request.app.state.engine
    with UnitOfWork(engine, readonly=True) as uow:
        order = queries.get_order(uow, order_id)
    if not visible(principal, order["shop"], order["warehouse"]):
        raise _unknown(order_id)
    if not principal.can("pii.view"):
        return mask_order(order)
    if answer:
        ip, agent = client_address(request)
        with UnitOfWork(engine, actor=principal.actor) as uow:
            service.record_reveal(uow, order_id, via="detail", ip=ip, user_agent=agent)
    return order


@router.get("/{order_id}", response_model=OrderDetail)
def get_order(
    request: Request,
    order_id: PathId,
    principal: Annotated[Principal, Depends(require("orders.read"))],
) -> dict[str, Any]:
    return _detail(request, principal, order_id)


@router.post("/{order_id}/reveal")
def reveal(
    request: Request,
    order_id: PathId,
    principal: Annotated[Principal, Depends(require("pii.view"))],
) -> dict[str, Any]:
    """The receiver's name, phone and address in plain text; audited (who, when, from where)."""
    _detail(request, principal, order_id, answer=False)  # existence and scope first
    ip, agent = client_address(request)
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        return service.reveal_receiver(uow, order_id, via="reveal", ip=ip, user_agent=agent)


def act(
    request: Request,
    principal: Principal,
    order_id: int,
    action: Callable[[UnitOfWork], Any],
    audited: str,
    details: dict[str, Any],
) -> Any:
    """Check existence and scope, run the service and write the audit row in one
    transaction; return what the service returned."""
    _detail(request, principal, order_id, answer=False)
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        result = action(uow)
        audit(
            uow, request, action=audited, target_type="order", target=str(order_id), details=details
        )
    return result


def _assign(
    request: Request,
    principal: Principal,
    order_id: int,
    assign: Callable[..., service.AssignReport],
    what: str,
    choice: str,
) -> dict[str, Any]:
    """Ship one order from this warehouse or with this carrier (``what``), within the
    principal's warehouses; 409 when refused. Audited as ``order.assign_<what>``."""
    scope = principal.warehouse_codes
    act(
        request,
        principal,
        order_id,
        lambda uow: assign(uow, [order_id], choice, scope=scope).check(order_id),
        f"order.assign_{what}",
        {what: choice},
    )
    return _detail(request, principal, order_id)


@router.post("/{order_id}/approve", response_model=OrderDetail)
def approve(
    request: Request,
    order_id: PathId,
    principal: Annotated[Principal, Depends(require("orders.review"))],
    note: Note | None = None,
) -> dict[str, Any]:
    reason = (note or Note()).reason
    act(
        request,
        principal,
        order_id,
        lambda uow: service.approve_order(uow, order_id, role=principal.role.value, note=reason),
        "order.approve",
        {"note": reason},
    )
    return _detail(request, principal, order_id)


@router.post("/{order_id}/hold", response_model=OrderDetail)
def hold(
    request: Request,
    order_id: PathId,
    note: Reason,
    principal: Annotated[Principal, Depends(require("orders.hold"))],
) -> dict[str, Any]:
    act(
        request,
        principal,
        order_id,
        lambda uow: service.hold_order(uow, order_id, note=note.reason),
        "order.hold",
        {"reason": note.reason},
    )
    return _detail(request, principal, order_id)


@router.post("/{order_id}/cancel", response_model=OrderDetail)
def cancel(
    request: Request,
    order_id: PathId,
    note: Reason,
    principal: Annotated[Principal, Depends(require("orders.cancel"))],
) -> dict[str, Any]:
    act(
        request,
        principal,
        order_id,
        lambda uow: service.cancel_order(uow, order_id, reason=note.reason),
        "order.cancel",
        {"reason": note.reason},
    )
    return _detail(request, principal, order_id)


@router.post("/{order_id}/split", response_model=SplitResult)
def split(
    request: Request,
    order_id: PathId,
    body: SplitRequest,
    principal: Annotated[Principal, Depends(require("orders.split_merge"))],
) -> dict[str, Any]:
    """Move units of some lines into a new order that ships on its own."""
    parts: dict[int, int] = {}
    for line in body.lines:
        parts[line.line_no] = parts.get(line.line_no, 0) + line.quantity
    new_id = act(
        request,
        principal,
        order_id,
        lambda uow: service.split_order(uow, order_id, parts, reason=body.reason),
        "order.split",
        {"lines": {str(k): v for k, v in sorted(parts.items())}},
    )
    return {
        "order": _detail(request, principal, order_id),
        "new_order": _detail(request, principal, new_id),
    }


@router.post("/merge", response_model=MergeResult)
def merge(
    request: Request,
    body: MergeRequest,
    principal: Annotated[Principal, Depends(require("orders.split_merge"))],
) -> dict[str, Any]:
    """Ship orders of one shop and one receiver as one parcel."""
    ids = sorted(set(body.order_ids))
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        places = queries.order_places(uow, ids)
        hidden = [i for i in ids if i not in places or not visible(principal, *places[i])]
        if hidden:
            raise NotFound(
                f"order(s) {', '.join(map(str, hidden))} do not exist", code="unknown_order"
            )
        group = service.merge_orders(uow, ids)
        audit(
            uow,
            request,
            action="order.merge",
            target_type="order",
            target=str(group),
            details={"order_ids": ids},
        )
    return {"merge_group": group, "order_ids": ids}


@router.post("/{order_id}/address", response_model=AddressResult)
def fix_address(
    request: Request,
    order_id: PathId,
    body: AddressFix,
    principal: Annotated[Principal, Depends(require("orders.edit"))],
) -> dict[str, Any]:
    """Correct the receiver's address or phone before approval; returns what is still wrong."""
    issues = act(
        request,
        principal,
        order_id,
        lambda uow: service.fix_address(uow, order_id, **body.model_dump()),
        "order.address_fix",
        # which parts changed, never the personal data itself
        {"fields": sorted(k for k, v in body.model_dump().items() if v)},
    )
    return {"issues": issues, "order": _detail(request, principal, order_id)}


@router.post("/{order_id}/warehouse", response_model=OrderDetail)
def assign_warehouse(
    request: Request,
    order_id: PathId,
    body: WarehouseChoice,
    principal: Annotated[Principal, Depends(require("orders.review"))],
) -> dict[str, Any]:
    """Ship the order from this warehouse: its reservation moves there (409 when the
    warehouse cannot fill it; nothing changes then)."""
    if not principal.sees_warehouse(body.warehouse):
        raise NotFound(f"warehouse {body.warehouse} does not exist", code="unknown_warehouse")
    return _assign(
        request, principal, order_id, service.assign_warehouse, "warehouse", body.warehouse
    )


@router.post("/{order_id}/carrier", response_model=OrderDetail)
def assign_carrier(
    request: Request,
    order_id: PathId,
    body: CarrierChoice,
    principal: Annotated[Principal, Depends(require("orders.review"))],
) -> dict[str, Any]:
    """Ship the order with this carrier (its cheapest service that can take the parcel; 409
    when none can)."""
    return _assign(request, principal, order_id, service.assign_carrier, "carrier", body.carrier)
