"""Settings → warehouses: the list, adding and editing a warehouse (``warehouses.write``,
audited as ``warehouse.create`` / ``warehouse.update`` like the API)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from lvyue.accounts.api import audit, page_require
from lvyue.accounts.errors import PermissionDenied
from lvyue.accounts.roles import Principal
from lvyue.accounts.settings_web import Partial, done, form_fields, one
from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import queries, service
from lvyue.web.i18n import N_

router = APIRouter(include_in_schema=False)

WarehouseAdmin = Annotated[Principal, Depends(page_require("warehouses.write"))]

WAREHOUSE_FIELDS: dict[str, str] = {
    "code": N_("Code"),
    "name": N_("Warehouse name"),
    "province": N_("Province"),
    "city": N_("City"),
    "district": N_("District"),
    "address": N_("Address"),
    "priority": N_("Priority"),
    "province/city": N_("Province and city"),
}
WAREHOUSES = Partial("warehouses", "settings/_warehouses.html", WAREHOUSE_FIELDS)
WAREHOUSE_EDIT = Partial("warehouses", "settings/_warehouse_edit.html", WAREHOUSE_FIELDS)


def _list_context(request: Request, principal: Principal) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        rows = queries.list_warehouses(uow)
    return {
        "warehouses": [w for w in rows if principal.sees_warehouse(w["code"])],
        "can_add": not principal.warehouse_codes,
    }


def _priority(text: str) -> int:
    if not text.isdigit() or int(text) > 1_000_000:
        raise ValidationError("priority", "a whole number from 0 to 1000000 (lower ships first)")
    return int(text)


def _values(form: dict[str, list[str]]) -> dict[str, str]:
    return {
        "name": one(form, "name", limit=100),
        "province": one(form, "province", limit=32),
        "city": one(form, "city", limit=32),
        "district": one(form, "district", limit=32),
        "address": one(form, "address", limit=200),
        "priority": one(form, "priority", limit=8) or "100",
    }


@router.get("/settings/warehouses", response_class=HTMLResponse)
def warehouses_page(request: Request, principal: WarehouseAdmin) -> HTMLResponse:
    return WAREHOUSES.render(request, principal, _list_context(request, principal))


@router.post("/settings/warehouses", response_class=HTMLResponse)
async def add_warehouse(request: Request, principal: WarehouseAdmin) -> HTMLResponse:
    if principal.warehouse_codes:
        # A user limited to some warehouses manages those, and cannot widen the scope.
        raise PermissionDenied(
            f"{principal.actor} is limited to warehouses "
            f"{', '.join(sorted(principal.warehouse_codes))} and cannot add one",
            permission="warehouses.write",
        )
    form = await form_fields(request)
    values = {"code": one(form, "code", limit=32), **_values(form)}
    try:
        code = values["code"]
        if not code or not code.replace("-", "").replace("_", "").isalnum():
            raise ValidationError("code", "letters, digits, '-' or '_', e.g. HZ")
        if not values["name"]:
            raise ValidationError("name", "is required")
        created: dict[str, Any] = {
            **values,
            "district": values["district"] or None,
            "priority": _priority(values["priority"]),
        }
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            service.add_warehouse(uow, **created)
            audit(
                uow,
                request,
                action="warehouse.create",
                target_type="warehouse",
                target=code,
                details={**created, "via": "web"},
            )
    except ValidationError as exc:
        context = _list_context(request, principal)
        return WAREHOUSES.refused(request, principal, context, exc, values=values)
    return WAREHOUSES.render(
        request,
        principal,
        _list_context(request, principal),
        N_("Warehouse %(code)s added."),
        code=code,
    )


def _edit_context(request: Request, principal: Principal, code: str) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        found = [w for w in queries.list_warehouses(uow) if w["code"] == code]
    if not found or not principal.sees_warehouse(code):
        raise NotFound(f"warehouse {code} does not exist", code="unknown_warehouse")
    return {"w": found[0]}


@router.get("/settings/warehouses/{code}", response_class=HTMLResponse)
def warehouse_page(request: Request, code: str, principal: WarehouseAdmin) -> HTMLResponse:
    return WAREHOUSE_EDIT.render(request, principal, _edit_context(request, principal, code))


@router.post("/settings/warehouses/{code}")
async def update_warehouse(request: Request, code: str, principal: WarehouseAdmin) -> Response:
    context = _edit_context(request, principal, code)  # existence and scope first
    form = await form_fields(request)
    values: dict[str, Any] = _values(form)
    values["active"] = one(form, "active") == "on"
    try:
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            changed = service.update_warehouse(
                uow, code, **{**values, "priority": _priority(values["priority"])}
            )
            if changed:
                audit(
                    uow,
                    request,
                    action="warehouse.update",
                    target_type="warehouse",
                    target=code,
                    details={**changed, "via": "web"},
                )
    except ValidationError as exc:
        return WAREHOUSE_EDIT.refused(request, principal, context, exc, values=values)
    return done(request, "/settings/warehouses", N_("Warehouse %(code)s saved."), code=code)
