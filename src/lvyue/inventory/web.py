"""The stock pages: levels per SKU and warehouse (filters, low-stock highlight, keyset paging),
one SKU's levels and ledger, adjustments with a reason and the low-stock threshold.

Thin, like ``api.py``: parse, call one query or service, render. Everything is limited to the
user's warehouses; adjustments need ``stock.adjust`` and are audited as the API audits them.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lvyue.accounts.api import audit, page_require
from lvyue.accounts.roles import Principal
from lvyue.accounts.web import render_page
from lvyue.config import get_settings
from lvyue.core.errors import InsufficientStock, NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import queries, service
from lvyue.web.i18n import N_, translate
from lvyue.web.pages import language_of, toast

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
LEDGER_PAGE_SIZE = 30
REASON_MAX = 200
QUANTITY_MAX = 1_000_000_000

Reader = Annotated[Principal, Depends(page_require("stock.read"))]
Adjuster = Annotated[Principal, Depends(page_require("stock.adjust"))]

MOVE_KINDS = {
    "adjust": N_("Adjustment"),
    "receive": N_("Receipt"),
    "reserve": N_("Reservation"),
    "release": N_("Release"),
    "ship": N_("Shipment"),
}
DOC_TYPES = {"order": N_("Order")}


def _scope(principal: Principal) -> list[str]:
    return sorted(principal.warehouse_codes)


def _warehouses(uow: UnitOfWork, principal: Principal) -> list[dict[str, Any]]:
    return [
        {"code": w["code"], "name": w["name"]}
        for w in queries.list_warehouses(uow)
        if w["active"] and principal.sees_warehouse(w["code"])
    ]


def _param(request: Request, name: str, limit: int = 64) -> str:
    return request.query_params.get(name, "").strip()[:limit]


def sku_href(code: str) -> str:
    return "/stock/" + quote(code, safe="")


# --------------------------------------------------------------------------- the list


def _list_context(request: Request, principal: Principal) -> dict[str, Any]:
    search, warehouse = _param(request, "q"), _param(request, "warehouse", 32)
    low = request.query_params.get("low") in ("1", "on", "true")
    f: dict[str, Any] = {"q": search, "warehouse": warehouse, "low": low}
    after, before = _param(request, "after", 200), _param(request, "before", 200)

    def link(**change: Any) -> str:
        params = {"q": search, "warehouse": warehouse, "low": "1" if low else ""}
        params.update(change)
        query = urlencode({k: v for k, v in params.items() if v})
        return "/stock" + (f"?{query}" if query else "")

    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        page = queries.level_page(
            uow,
            search=search,
            warehouse=warehouse or None,
            scope=_scope(principal),
            low_only=low,
            default_threshold=get_settings().low_stock_threshold,
            after=after or None,
            before=before or None,
            limit=PAGE_SIZE,
        )
        warehouses = _warehouses(uow, principal)
    return {
        "f": f,
        "active": bool(search or warehouse or low),
        "items": page["items"],
        "warehouses": warehouses,
        "next_link": link(after=page["next"]) if page["next"] else "",
        "prev_link": link(before=page["prev"]) if page["prev"] else "",
        "first_link": link() if page["prev"] else "",
        "clear_link": "/stock",
        "list_link": link(after=after, before=before),
        "sku_href": sku_href,
    }


@router.get("/stock", response_class=HTMLResponse)
def stock_list(request: Request, principal: Reader) -> HTMLResponse:
    context = _list_context(request, principal)
    partial = request.headers.get("hx-target") == "stock-list"
    return render_page(
        request, principal, "stock/_levels.html" if partial else "stock/list.html", context
    )


# --------------------------------------------------------------------------- one SKU


def _page_number(request: Request) -> int:
    value = request.query_params.get("page", "1")
    return max(1, min(int(value), 100_000)) if value.isdigit() else 1


def _sku_context(
    request: Request,
    principal: Principal,
    code: str,
    *,
    page: int = 1,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    scope = _scope(principal)
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        sku = queries.sku_card(uow, code)
        levels = queries.sku_levels(
            uow, code, scope=scope, default_threshold=get_settings().low_stock_threshold
        )
        ledger = queries.stock_ledger(
            uow,
            sku=code,
            warehouses=scope,
            limit=LEDGER_PAGE_SIZE,
            offset=(page - 1) * LEDGER_PAGE_SIZE,
        )
        warehouses = _warehouses(uow, principal)
    pages = max(1, -(-ledger["total"] // LEDGER_PAGE_SIZE))
    here = sku_href(code)
    return {
        "sku": sku,
        "here": here,
        "levels": levels,
        "ledger": ledger["items"],
        "ledger_total": ledger["total"],
        "page": page,
        "pages": pages,
        "ledger_link": lambda n: f"{here}?page={n}",
        "warehouses": warehouses,
        "kinds": MOVE_KINDS,
        "doc_types": DOC_TYPES,
        "form": form or {"mode": "delta"},
        "errors": errors or {},
        "reason_max": REASON_MAX,
    }


@router.get("/stock/{sku:path}", response_class=HTMLResponse)
def stock_sku(request: Request, sku: str, principal: Reader) -> HTMLResponse:
    page = _page_number(request)
    context = _sku_context(request, principal, sku, page=page)
    partial = request.headers.get("hx-target") == "ledger"
    return render_page(
        request, principal, "stock/_ledger.html" if partial else "stock/sku.html", context
    )


# --------------------------------------------------------------------------- changes


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0].strip() for k, v in parse_qs(body, keep_blank_values=True).items()}


def _int(value: str) -> int | None:
    text = value.strip().replace(",", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if not digits.isdigit() or len(digits) > 10:
        return None
    return sign * int(digits)


def _check_adjustment(form: dict[str, str], warehouses: list[str]) -> dict[str, str]:
    """What is wrong with the form, by field (English msgids, translated when shown)."""
    errors: dict[str, str] = {}
    if form.get("warehouse", "") not in warehouses:
        errors["warehouse"] = N_("Choose a warehouse.")
    quantity = _int(form.get("quantity", ""))
    if form.get("mode") == "count":
        if quantity is None or not 0 <= quantity <= QUANTITY_MAX:
            errors["quantity"] = N_("Enter the counted quantity: a whole number, 0 or more.")
    elif quantity is None or quantity == 0 or abs(quantity) > QUANTITY_MAX:
        errors["quantity"] = N_("Enter a whole number other than 0 (negative takes away).")
    reason = form.get("reason", "")
    if not reason:
        errors["reason"] = N_("Say why the stock changes: the reason is kept on the ledger.")
    elif len(reason) > REASON_MAX:
        errors["reason"] = N_("The reason is too long (at most 200 characters).")
    return errors


FIELD_NAMES = {
    "warehouse": N_("Warehouse"),
    "quantity": N_("Quantity"),
    "counted": N_("Quantity"),
    "qty": N_("Quantity"),
    "reason": N_("Reason"),
    "threshold": N_("Low-stock threshold"),
}


def _changed(
    request: Request, principal: Principal, code: str, message: str, /, **params: Any
) -> HTMLResponse:
    """The SKU's panel as it is now, with a toast (``message`` with ``params``)."""
    return render_page(
        request,
        principal,
        "stock/_panel.html",
        _sku_context(request, principal, code),
        headers=toast(request, message, **params),
    )


def _refused(
    request: Request,
    principal: Principal,
    code: str,
    form: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:
    """The SKU's panel again with the form as typed and the messages by field, and a toast
    naming the fields."""
    language = language_of(request)
    shown = {k: translate(language, v) for k, v in errors.items()}
    fields = ", ".join(translate(language, FIELD_NAMES.get(k, k)) for k in errors)
    return render_page(
        request,
        principal,
        "stock/_panel.html",
        _sku_context(request, principal, code, form=form, errors=shown),
        headers=toast(
            request,
            N_("Please check: %(fields)s."),
            level="error",
            detail=list(shown.values()),
            fields=fields,
        ),
    )


@router.post("/stock/adjust", response_class=HTMLResponse)
async def adjust(request: Request, principal: Adjuster) -> HTMLResponse:
    """Add or take away units, or set on hand to a counted quantity; written to the ledger
    with the reason and audited (``stock.adjust``, as the API does)."""
    form = await _form(request)
    code = form.get("sku", "")
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        queries.sku_card(uow, code)  # 404 for an unknown SKU
        allowed = [w["code"] for w in _warehouses(uow, principal)]
    errors = _check_adjustment(form, allowed)
    if errors:
        return _refused(request, principal, code, form, errors)
    warehouse, reason = form["warehouse"], form["reason"]
    quantity = _int(form["quantity"])
    assert quantity is not None
    counted = form.get("mode") == "count"
    try:
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            if counted:
                level = service.count_stock(
                    uow, sku_code=code, warehouse_code=warehouse, counted=quantity, reason=reason
                )
                delta = level.pop("delta")
            else:
                delta = quantity
                level = service.adjust_stock(
                    uow, sku_code=code, warehouse_code=warehouse, quantity=delta, reason=reason
                )
            details: dict[str, Any] = {"delta": delta, "reason": reason, **level, "via": "web"}
            if counted:
                details["counted"] = quantity
            audit(
                uow,
                request,
                action="stock.adjust",
                target_type="stock",
                target=f"{code}@{warehouse}",
                details=details,
            )
    except ValidationError as exc:
        field = "quantity" if exc.field in ("qty", "counted") else exc.field
        message = exc.problem
        if exc.field == "counted" and counted:
            message = translate(
                language_of(request),
                N_("On hand is already %(n)s: nothing to change."),
                n=quantity,
            )
        return _refused(request, principal, code, form, {field: message})
    except InsufficientStock as exc:
        message = translate(
            language_of(request),
            N_(
                "Not enough stock to take away: on hand %(on_hand)s, of which %(reserved)s "
                "reserved for orders."
            ),
            on_hand=exc.details.get("on_hand", "?"),
            reserved=exc.details.get("reserved", "?"),
        )
        return _refused(request, principal, code, form, {"quantity": message})
    return _changed(
        request,
        principal,
        code,
        N_("%(sku)s in %(warehouse)s: %(delta)s, on hand now %(on_hand)s."),
        sku=code,
        warehouse=warehouse,
        delta=f"{delta:+d}",
        on_hand=level["on_hand"],
    )


@router.post("/stock/threshold", response_class=HTMLResponse)
async def threshold(request: Request, principal: Adjuster) -> HTMLResponse:
    """Set (or, left empty, clear) one level's low-stock threshold; audited."""
    form = await _form(request)
    code, warehouse = form.get("sku", ""), form.get("warehouse", "")
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        queries.sku_card(uow, code)
        allowed = [w["code"] for w in _warehouses(uow, principal)]
    if warehouse not in allowed:
        raise NotFound(f"warehouse {warehouse} does not exist", code="unknown_warehouse")
    text = form.get("threshold", "")
    value = _int(text) if text else None
    if text and (value is None or not 0 <= value <= QUANTITY_MAX):
        return _refused(
            request,
            principal,
            code,
            {"mode": "delta"},
            {"threshold": N_("The threshold is a whole number, 0 or more (empty: the default).")},
        )
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        service.set_low_stock_threshold(
            uow, sku_code=code, warehouse_code=warehouse, threshold=value
        )
        audit(
            uow,
            request,
            action="stock.threshold",
            target_type="stock",
            target=f"{code}@{warehouse}",
            details={"threshold": value, "via": "web"},
        )
    return _changed(
        request,
        principal,
        code,
        N_("Low-stock threshold of %(sku)s in %(warehouse)s saved."),
        sku=code,
        warehouse=warehouse,
    )
