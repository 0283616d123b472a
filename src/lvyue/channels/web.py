"""Settings → shops: the list with each shop's last sync, adding and editing a shop with
write-only credentials, and "test connection" (one real signed call to the platform).

Same permission (``shops.write``) and audit rows (``shop.create``, ``shop.update``) as the
API and the CLI; credentials are never rendered back, only whether each one is set.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from lvyue.accounts.api import audit, page_require
from lvyue.accounts.errors import PermissionDenied
from lvyue.accounts.roles import Principal
from lvyue.accounts.settings_web import Partial, done, form_fields, one, render_settings
from lvyue.channels import queries, service, sync
from lvyue.channels.adapters.registry import ADAPTERS
from lvyue.core.errors import ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.orders.service import PLATFORMS
from lvyue.orders.web import PLATFORM_NAMES
from lvyue.web.i18n import N_
from lvyue.web.pages import toast

router = APIRouter(include_in_schema=False)

ShopAdmin = Annotated[Principal, Depends(page_require("shops.write"))]

SECRET_LABELS: dict[str, str] = {
    "app_key": N_("App key / client ID"),
    "app_secret": N_("App secret"),
    "token": N_("Access token"),
    "session": N_("Session key (Taobao)"),
    "webhook_secret": N_("Webhook secret"),
    "sign_method": N_("Sign method"),
}
ORDER_TYPE_LABELS: dict[str, str] = {
    "online": N_("Online"),
    "livestream": N_("Livestream"),
    "offline": N_("Offline store"),
    "wholesale": N_("Wholesale"),
    "distribution": N_("Distribution"),
}
SHOP_FIELDS: dict[str, str] = {
    "code": N_("Code"),
    "platform": N_("Platform"),
    "name": N_("Shop name"),
    "order_type": N_("Order type"),
    "base_url": N_("API endpoint"),
    "secrets": N_("Credentials"),
    **SECRET_LABELS,
}
SHOPS = Partial("shops", "settings/_shops.html", SHOP_FIELDS)
SHOP_EDIT = Partial("shops", "settings/_shop_edit.html", SHOP_FIELDS)
SYNC_STATUS: dict[str, str] = {
    "never": N_("never synced"),
    "ok": N_("OK"),
    "partial": N_("with errors"),
    "error": N_("failed"),
}


def _scoped(principal: Principal) -> None:
    """Shops are added and changed by people who see every shop (as in the API)."""
    if principal.shop_codes:
        raise PermissionDenied(
            f"{principal.actor} is limited to shops {', '.join(sorted(principal.shop_codes))} "
            "and cannot manage shops",
            permission="shops.write",
        )


def _common() -> dict[str, Any]:
    return {
        "platforms": [(p, PLATFORM_NAMES.get(p, p)) for p in PLATFORMS],
        "api_platforms": sorted(ADAPTERS),
        "platform_names": PLATFORM_NAMES,
        "order_types": ORDER_TYPE_LABELS,
        "secret_labels": SECRET_LABELS,
        "sync_status": SYNC_STATUS,
    }


def _list_context(request: Request) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        shops = queries.shop_overview(uow)
    return {"shops": shops, **_common()}


@router.get("/settings/shops", response_class=HTMLResponse)
def shops_page(request: Request, principal: ShopAdmin) -> HTMLResponse:
    return SHOPS.render(request, principal, _list_context(request))


def _secrets(form: dict[str, list[str]]) -> dict[str, str | None]:
    return {k: (form.get(k) or [""])[0].strip() or None for k in service.SECRET_FIELDS}


@router.post("/settings/shops", response_class=HTMLResponse)
async def add_shop(request: Request, principal: ShopAdmin) -> HTMLResponse:
    _scoped(principal)
    form = await form_fields(request)
    values = {
        "code": one(form, "code", limit=32),
        "platform": one(form, "platform", limit=16),
        "name": one(form, "name", limit=100),
        "order_type": one(form, "order_type", limit=16) or "online",
        "base_url": one(form, "base_url", limit=300),
    }
    secrets = _secrets(form)
    try:
        if not values["code"] or not values["code"].replace("-", "").replace("_", "").isalnum():
            raise ValidationError("code", "letters, digits, '-' or '_', e.g. TMALL-1")
        if not values["name"]:
            raise ValidationError("name", "is required")
        if values["order_type"] not in ORDER_TYPE_LABELS:
            raise ValidationError("order_type", f"one of {', '.join(ORDER_TYPE_LABELS)}")
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            service.add_shop(uow, secrets=secrets, **values)
            audit(
                uow,
                request,
                action="shop.create",
                target_type="shop",
                target=values["code"],
                # which secrets were given, never their values
                details={
                    **values,
                    "base_url": queries.without_credentials(values["base_url"]),
                    "secrets": sorted(k for k, v in secrets.items() if v),
                    "via": "web",
                },
            )
    except ValidationError as exc:
        return SHOPS.refused(request, principal, _list_context(request), exc, values=values)
    return SHOPS.render(
        request, principal, _list_context(request), N_("Shop %(code)s added."), code=values["code"]
    )


def _edit_context(request: Request, code: str) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        shop = queries.get_shop(uow, code)
        stored = service.secret_names(uow, code)
    return {"shop": shop, "stored": stored, **_common()}


@router.get("/settings/shops/{code}", response_class=HTMLResponse)
def shop_page(request: Request, code: str, principal: ShopAdmin) -> HTMLResponse:
    return SHOP_EDIT.render(request, principal, _edit_context(request, code))


@router.post("/settings/shops/{code}")
async def update_shop(request: Request, code: str, principal: ShopAdmin) -> Response:
    _scoped(principal)
    form = await form_fields(request)
    values = {
        "name": one(form, "name", limit=100),
        "order_type": one(form, "order_type", limit=16),
        "base_url": one(form, "base_url", limit=300),
    }
    active = one(form, "active") == "on"
    clear = [k for k in form.get("clear", []) if k in service.SECRET_FIELDS]
    try:
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            change = service.update_shop(
                uow,
                code,
                name=values["name"],
                order_type=values["order_type"] or None,
                base_url=values["base_url"],
                active=active,
                secrets=_secrets(form),
                clear_secrets=clear,
            )
            details = change.audit_details()
            if "base_url" in details:
                details["base_url"] = queries.without_credentials(details["base_url"])
            audit(
                uow,
                request,
                action="shop.update",
                target_type="shop",
                target=code,
                details={**details, "via": "web"},
            )
    except ValidationError as exc:
        return SHOP_EDIT.refused(
            request, principal, _edit_context(request, code), exc, {**values, "active": active}
        )
    return done(request, "/settings/shops", N_("Shop %(code)s saved."), code=code)


def _test(request: Request, principal: Principal, code: str) -> sync.ConnectionCheck:
    engine = request.app.state.engine
    result = sync.test_connection(engine, code)
    with UnitOfWork(engine, actor=principal.actor) as uow:
        audit(
            uow,
            request,
            action="shop.test_connection",
            target_type="shop",
            target=code,
            details={"ok": result.ok, "code": result.code, "elapsed_ms": result.elapsed_ms},
        )
    return result


@router.post("/settings/shops/{code}/test", response_class=HTMLResponse)
async def test_shop(request: Request, code: str, principal: ShopAdmin) -> HTMLResponse:
    """One real signed call to the platform with the stored credentials; OK or the error."""
    result = await run_in_threadpool(_test, request, principal, code)
    headers = (
        toast(request, N_("Connection to %(code)s works."), code=code)
        if result.ok
        else toast(
            request,
            N_("Connection to %(code)s failed."),
            level="error",
            detail=[result.error],
            code=code,
        )
    )
    return render_settings(
        request,
        principal,
        "shops",
        "settings/_connection.html",
        {"result": result},
        headers=headers,
        page="settings/connection.html",
    )
