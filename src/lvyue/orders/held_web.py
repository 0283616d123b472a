"""The held-order queue (/held): held orders grouped by reason, each row saying what is wrong
and what to do, with an inline fix per reason (address, phone, SKU mapping, short stock,
manual review, release, cancel) done with htmx.

Thin like ``web.py``: parse, call one service per fix (with its audit row, in one
transaction), then re-check the order as the services do (``review_if_ready``, a second
transaction) and render the row again, or remove it when the order left the queue, with the
counts swapped out of band and a toast. Permissions are the API's: ``orders.edit`` to correct
the receiver or map a SKU, ``orders.review`` to approve, release or review again,
``orders.cancel`` to cancel or drop short units (a rejection needs both), ``orders.hold`` to
keep waiting for stock and ``orders.split_merge`` to ship part. Personal data is masked for
everyone, as on the order list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lvyue.accounts.api import page_require
from lvyue.accounts.roles import Principal
from lvyue.accounts.web import ROLE_NAMES, render_page
from lvyue.catalog import queries as catalog_queries
from lvyue.core.errors import LvyueError, NotFound, ValidationError
from lvyue.core.http import PathId
from lvyue.core.uow import UnitOfWork
from lvyue.orders import queries, service
from lvyue.orders.api import act
from lvyue.orders.holds import (
    FIX_ADDRESS,
    FIX_CANCEL,
    FIX_DETAIL,
    FIX_PHONE,
    FIX_RECHECK,
    FIX_RELEASE,
    FIX_REVIEW,
    FIX_SKU,
    FIX_STOCK,
    HOLD_REASONS,
    fix_of,
)
from lvyue.orders.masking import mask_order
from lvyue.orders.normalise import district_choices, suggest_address
from lvyue.orders.web import PLATFORM_NAMES, STATUS_LABELS
from lvyue.web.i18n import N_, translate
from lvyue.web.pages import language_of, toast

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(page_require("orders.read"))]

PAGE_SIZE = 50
REASON = re.compile(r"[a-z][a-z0-9_]{0,31}")

# The order in which the kinds of fix are offered on a row.
FIX_ORDER = (
    FIX_ADDRESS,
    FIX_PHONE,
    FIX_SKU,
    FIX_STOCK,
    FIX_REVIEW,
    FIX_RELEASE,
    FIX_RECHECK,
    FIX_CANCEL,
    FIX_DETAIL,
)
# What to do, in plain words, per kind of fix (a few reasons say it their own way).
HINTS: dict[str, str] = {
    FIX_ADDRESS: N_("Correct the address: accept the suggestion, or fix the region below."),
    FIX_PHONE: N_("Enter the receiver's correct phone number."),
    FIX_SKU: N_("Map the channel's SKU code to one of our SKUs."),
    FIX_STOCK: N_(
        "Not enough stock: ship what is in stock now, wait for stock, or cancel the short units."
    ),
    FIX_REVIEW: N_("A rule asks a person to look at this order: approve it, or reject it."),
    FIX_RELEASE: N_("Check the order, then release it so that it goes on."),
    FIX_RECHECK: N_(
        "The system checks this again by itself; review it again now if you changed something."
    ),
    FIX_CANCEL: N_("The order changed on the channel: cancel it here, or wait for the channel."),
    FIX_DETAIL: N_("Open the order and complete what is missing."),
}
CODE_HINTS: dict[str, str] = {
    "unpaid": N_("The buyer has not paid: wait for the payment, or cancel the order."),
    "missing_phone": N_("The receiver has no phone number: enter one."),
    "address_changed": N_("The buyer changed the address: check it, then accept or correct it."),
}
# Which field of the address form an address issue points at.
ISSUE_FIELD = {
    "unknown_region": "province",
    "ambiguous_region": "province",
    "city_not_in_province": "city",
    "missing_city": "city",
    "district_not_in_city": "district",
    "missing_district": "district",
    "region_conflict": "district",
    "missing_detail": "detail",
    "invalid_phone": "phone",
    "missing_phone": "phone",
}
# Toast wording of each fix, once done.
DONE = {
    "suggestion": N_("suggested address accepted"),
    "address": N_("address corrected"),
    "phone": N_("phone corrected"),
    "sku": N_("SKU mapped"),
    "wait": N_("waiting for stock"),
    "partial": N_("the short units split off into their own order"),
    "cancel_short": N_("the short units cancelled"),
    "approve": N_("approved"),
    "reject": N_("rejected"),
    "release": N_("released"),
    "review": N_("reviewed again"),
    "cancel": N_("cancelled"),
}
STOCK_PERMISSION = {
    "wait": "orders.hold",
    "partial": "orders.split_merge",
    "cancel_short": "orders.cancel",
}


def _scope(principal: Principal) -> queries.Scope:
    return queries.Scope(
        tuple(sorted(principal.shop_codes)), tuple(sorted(principal.warehouse_codes))
    )


def _label(code: str, language: str) -> str:
    reason = HOLD_REASONS.get(code)
    if reason is None:
        return code
    return reason.zh if language == "zh-CN" else reason.en


def _reason(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not REASON.fullmatch(value):
        raise ValidationError("reason", f"{value!r} is not a hold reason")
    return value


def _link(reason: str | None = None, after: int | None = None) -> str:
    query = urlencode({k: v for k, v in {"reason": reason, "after": after}.items() if v})
    return "/held" + (f"?{query}" if query else "")


def _counts(counts: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """The reasons with held orders, in the catalogue's order, then any rule's own codes."""
    known = [c for c in HOLD_REASONS if counts["reasons"].get(c)]
    other = sorted(c for c in counts["reasons"] if c not in HOLD_REASONS)
    return [
        {"code": c, "label": _label(c, language), "count": counts["reasons"][c], "link": _link(c)}
        for c in known + other
    ]


def _row(
    item: dict[str, Any],
    language: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    open_form: str = "",
) -> dict[str, Any]:
    """A held order as its row shows it: masked receiver, each reason with what to do, and
    what the fixes need (the address suggestion, the form's values, the unmapped lines)."""
    holds = [
        {
            **h,
            "label": _label(h["code"], language),
            "fix": fix_of(h["code"]),
            "hint": CODE_HINTS.get(h["code"]) or HINTS[fix_of(h["code"])],
        }
        for h in item["holds"]
    ]
    fixes = [f for f in FIX_ORDER if any(h["fix"] == f for h in holds)]
    row = mask_order(item)
    row["holds"] = holds
    row["fixes"] = fixes
    if FIX_ADDRESS in fixes:
        suggestion = suggest_address(
            item["receiver_address"],
            province=item["receiver_province"],
            city=item["receiver_city"],
            district=item["receiver_district"],
        )
        row["suggestion"] = suggestion.region if suggestion else None
        province = item["addr_province"] or item["receiver_province"] or ""
        city = item["addr_city"] or item["receiver_city"] or ""
        form = {
            "province": province,
            "city": city,
            "district": item["addr_district"] or "",
            "detail": "",
            **(values or {}),
        }
        row["form"] = form
        row["districts"] = district_choices(form["province"], form["city"])
        open_form = open_form or ("address" if not row["suggestion"] else "")
    # Each issue the address and phone checks still find, on the field it points at.
    issues = item["address_issues"] or []
    errors = {**{ISSUE_FIELD[i]: i for i in issues if i in ISSUE_FIELD}, **(errors or {})}
    row["errors"] = {
        field: _label(e, language) if e in HOLD_REASONS else e
        for field, e in (errors or {}).items()
    }
    row["open_form"] = open_form
    row["unmapped"] = sorted({ln["sku_code"] for ln in item["lines"] if ln["sku"] is None})
    row["rules"] = [
        {
            "name": e["source"].split(":", 1)[-1].rsplit("@", 1)[0],
            "detail": e.get("detail", ""),
        }
        for e in (item["review_log"] or [])
        if e.get("outcome") == "manual_review"
    ]
    step = (item["review_steps"] or [None])[0]
    # The role's English msgid (the template translates it); a code we do not know stays as is.
    row["next_step"] = ROLE_NAMES.get(step, step) if step else None
    return row


def _queue(
    request: Request, principal: Principal, reason: str | None, after: int | None
) -> dict[str, Any]:
    scope = _scope(principal)
    language = language_of(request)
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        page = queries.held_page(uow, scope=scope, hold=reason, after=after, limit=PAGE_SIZE)
        counts = queries.held_counts(uow, scope=scope)
    return {
        "reason": reason,
        "reason_label": _label(reason, language) if reason else "",
        "items": [_row(item, language) for item in page["items"]],
        "next_link": _link(reason, page["next"]) if page["next"] else "",
        "first_link": _link(reason) if after else "",
        "total": counts["total"],
        "groups": _counts(counts, language),
        "all_link": _link(),
        "statuses": STATUS_LABELS,
        "platforms_named": PLATFORM_NAMES,
    }


@router.get("/held", response_class=HTMLResponse)
def held_queue(request: Request, principal: Reader) -> HTMLResponse:
    reason = _reason(request.query_params.get("reason"))
    after_text = request.query_params.get("after") or ""
    if after_text and not after_text.isdigit():
        raise ValidationError("after", f"{after_text!r} is not a page position")
    context = _queue(request, principal, reason, int(after_text) if after_text else None)
    partial = request.headers.get("hx-target") == "held-queue"
    return render_page(
        request, principal, "orders/held_queue.html" if partial else "orders/held.html", context
    )


@router.get("/held/counts", response_class=HTMLResponse)
def held_counts(request: Request, principal: Reader) -> HTMLResponse:
    """The reasons with their counts alone, for live refreshes."""
    reason = _reason(request.query_params.get("reason"))
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        counts = queries.held_counts(uow, scope=_scope(principal))
    return render_page(
        request,
        principal,
        "orders/held_counts.html",
        {
            "reason": reason,
            "total": counts["total"],
            "groups": _counts(counts, language_of(request)),
            "all_link": _link(),
            "oob": False,
        },
    )


@router.get("/held/skus", response_class=HTMLResponse)
def sku_options(
    request: Request, principal: Annotated[Principal, Depends(page_require("orders.edit"))]
) -> HTMLResponse:
    """Our SKUs matching ``q`` (code, name or barcode), as options for the mapping's picker."""
    params = request.query_params
    q = (params.get("q") or params.get("sku") or "").strip()[:64]
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        found = catalog_queries.page_skus(uow, search=q or None, limit=20)["items"]
    return render_page(request, principal, "orders/held_skus.html", {"skus": found})


# --------------------------------------------------------------------------- fixes


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0].strip() for k, v in parse_qs(body, keep_blank_values=True).items()}


def _fix(
    request: Request,
    principal: Principal,
    order_id: int,
    action: Callable[[UnitOfWork], Any],
    audited: str,
    details: dict[str, Any],
) -> Any:
    """Check the order exists in the person's scope, run the fix with its audit row in one
    transaction (as the API does), then re-check the order in another (left to a pipeline
    worker that has it meanwhile)."""
    result = act(request, principal, order_id, action, audited, details)
    try:
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            service.review_if_ready(uow, order_id)
    except LvyueError:
        pass  # reviewed by a pipeline worker meanwhile: the row shows what it decided
    return result


def _answer(
    request: Request,
    principal: Principal,
    order_id: int,
    done: str,
    current: str | None,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    open_form: str = "",
    level: str | None = None,
    message: str | None = None,
) -> HTMLResponse:
    """The row again (or nothing when the order left the queue), the counts out of band and
    a toast naming the outcome; the empty list in its place when the last row left."""
    scope = _scope(principal)
    language = language_of(request)
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        item = queries.held_order(uow, order_id, scope=scope)
        counts = queries.held_counts(uow, scope=scope)
        status = item["status"] if item else queries.get_order(uow, order_id)["status"]
    done_text = translate(language, DONE[done])
    if item is None:
        headers = toast(
            request,
            message or N_("Order #%(id)s: %(done)s. It is %(status)s now."),
            level=level or "success",
            id=order_id,
            done=done_text,
            status=translate(language, STATUS_LABELS.get(status, status)),
        )
    else:
        reasons = "、".join(_label(h["code"], language) for h in item["holds"])
        headers = toast(
            request,
            message or N_("Order #%(id)s: %(done)s. Still held: %(reasons)s."),
            level=level or "info",
            id=order_id,
            done=done_text,
            reasons=reasons,
        )
    left = counts["reasons"].get(current, 0) if current else counts["total"]
    context: dict[str, Any] = {
        "reason": current,
        "total": counts["total"],
        "groups": _counts(counts, language),
        "all_link": _link(),
        "statuses": STATUS_LABELS,
        "platforms_named": PLATFORM_NAMES,
    }
    if item is None and not left:
        # The last row left: the list shows its empty state instead.
        headers.update({"HX-Retarget": "#held-queue", "HX-Reswap": "outerHTML"})
        context.update(
            items=[],
            reason_label=_label(current, language) if current else "",
            next_link="",
            first_link="",
            oob=False,
        )
        return render_page(request, principal, "orders/held_queue.html", context, headers=headers)
    row = _row(item, language, values=values, errors=errors, open_form=open_form) if item else None
    context.update(row=row, oob=True)
    return render_page(request, principal, "orders/held_result.html", context, headers=headers)


FIELD_LABELS = {
    "province": N_("Province"),
    "city": N_("City"),
    "district": N_("District"),
    "detail": N_("Street and door"),
    "phone": N_("Phone"),
    "sku": N_("Our SKU"),
    "reason": N_("Reason"),
}
REQUIRED = N_("Required.")


def _invalid(
    request: Request,
    principal: Principal,
    order_id: int,
    current: str | None,
    form_name: str,
    errors: dict[str, str],
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The row again with the form open and the wrong fields named; nothing was changed."""
    scope = _scope(principal)
    language = language_of(request)
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        item = queries.held_order(uow, order_id, scope=scope)
        counts = queries.held_counts(uow, scope=scope)
    if item is None:
        raise NotFound(f"order {order_id} is not held", code="unknown_order")
    shown = {f: translate(language, e) for f, e in errors.items()}
    headers = toast(
        request,
        N_("Order #%(id)s not changed: check %(fields)s."),
        level="error",
        detail=[f"{translate(language, FIELD_LABELS.get(f, f))}: {e}" for f, e in shown.items()],
        id=order_id,
        fields="、".join(translate(language, FIELD_LABELS.get(f, f)) for f in errors),
    )
    row = _row(item, language, values=values, errors=shown, open_form=form_name)
    context = {
        "row": row,
        "reason": current,
        "total": counts["total"],
        "groups": _counts(counts, language),
        "all_link": _link(),
        "statuses": STATUS_LABELS,
        "platforms_named": PLATFORM_NAMES,
        "oob": False,
    }
    return render_page(request, principal, "orders/held_result.html", context, headers=headers)


Editor = Annotated[Principal, Depends(page_require("orders.edit"))]
Reviewer = Annotated[Principal, Depends(page_require("orders.review"))]
Canceller = Annotated[Principal, Depends(page_require("orders.cancel"))]
ADDRESS_FIELDS = ("province", "city", "district", "detail")


@router.post("/held/{order_id}/address", response_class=HTMLResponse)
async def fix_address(request: Request, order_id: PathId, principal: Editor) -> HTMLResponse:
    """Accept the suggested address (``accept=1``) or correct the region (and the street and
    door, if typed); a field that is still wrong is named on the row."""
    form = await _form(request)
    current = _reason(form.get("current"))
    values = {k: form.get(k, "") for k in ADDRESS_FIELDS}
    run: Callable[[UnitOfWork], Any]
    details: dict[str, Any]
    if form.get("accept"):
        done, details = "suggestion", {"suggestion": True}
        run = lambda uow: service.accept_address_suggestion(uow, order_id)  # noqa: E731
    else:
        missing = {f: REQUIRED for f in ("province", "city") if not values[f]}
        if missing:
            return _invalid(request, principal, order_id, current, "address", missing, values)
        # Which parts changed, never the personal data itself.
        done, details = "address", {"fields": sorted(k for k, v in values.items() if v)}
        run = lambda uow: service.correct_address(uow, order_id, **values)  # noqa: E731
    try:
        issues = _fix(request, principal, order_id, run, "order.address_fix", details)
    except ValidationError as exc:
        if exc.field not in ADDRESS_FIELDS:
            raise
        errors = {exc.field: exc.problem}
        return _invalid(request, principal, order_id, current, "address", errors, values)
    still = bool(issues) and not form.get("accept")
    return _answer(
        request,
        principal,
        order_id,
        done,
        current,
        values=values if still else None,
        open_form="address" if issues else "",
    )


@router.post("/held/{order_id}/phone", response_class=HTMLResponse)
async def fix_phone(request: Request, order_id: PathId, principal: Editor) -> HTMLResponse:
    """Correct the receiver's phone; the address stays as it is."""
    form = await _form(request)
    current = _reason(form.get("current"))
    phone = form.get("phone", "")
    if not phone:
        return _invalid(request, principal, order_id, current, "phone", {"phone": REQUIRED})
    if len(phone) > 40:
        errors = {"phone": N_("At most 40 characters.")}
        return _invalid(request, principal, order_id, current, "phone", errors)
    issues = _fix(
        request,
        principal,
        order_id,
        lambda uow: service.fix_address(uow, order_id, phone=phone),
        "order.address_fix",
        {"fields": ["phone"]},
    )
    return _answer(
        request, principal, order_id, "phone", current, open_form="phone" if issues else ""
    )


@router.post("/held/{order_id}/sku", response_class=HTMLResponse)
async def map_sku(request: Request, order_id: PathId, principal: Editor) -> HTMLResponse:
    """Map the channel's SKU code of a line to one of our SKUs, for the order's shop; every
    waiting order of that shop with the code is attached too."""
    form = await _form(request)
    current = _reason(form.get("current"))
    channel_sku, sku = form.get("channel_sku", ""), form.get("sku", "")
    if not sku:
        return _invalid(request, principal, order_id, current, "sku", {"sku": REQUIRED})
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        places = queries.order_places(uow, [order_id])
    if order_id not in places:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    shop = places[order_id][0]
    try:
        _fix(
            request,
            principal,
            order_id,
            lambda uow: service.map_sku(uow, shop_code=shop, channel_sku=channel_sku, sku_code=sku),
            "order.sku_map",
            {"shop": shop, "channel_sku": channel_sku, "sku": sku},
        )
    except NotFound as exc:
        if exc.code != "unknown_sku":
            raise
        errors = {"sku": N_("No SKU has this code.")}
        return _invalid(request, principal, order_id, current, "sku", errors)
    return _answer(request, principal, order_id, "sku", current)


@router.post("/held/{order_id}/stock", response_class=HTMLResponse)
async def resolve_stock(request: Request, order_id: PathId, principal: Reader) -> HTMLResponse:
    """Short stock: wait (``orders.hold``), ship what is there and split off the rest
    (``orders.split_merge``), or cancel the short units (``orders.cancel``)."""
    form = await _form(request)
    current = _reason(form.get("current"))
    policy = form.get("policy", "")
    if policy not in STOCK_PERMISSION:
        raise ValidationError("policy", "choose wait, partial or cancel_short")
    principal.require(STOCK_PERMISSION[policy])
    _fix(
        request,
        principal,
        order_id,
        lambda uow: service.resolve_shortage(uow, order_id, policy=policy),
        "order.oversell",
        {"policy": policy},
    )
    return _answer(request, principal, order_id, policy, current)


@router.post("/held/{order_id}/approve", response_class=HTMLResponse)
async def approve(request: Request, order_id: PathId, principal: Reviewer) -> HTMLResponse:
    """Approve a manual review (one role's step at a time) or release a hold a person may
    wave through (operator hold, blacklist, buyer message, suspected duplicate)."""
    form = await _form(request)
    current = _reason(form.get("current"))
    note = form.get("note", "")[:300]
    done = "release" if form.get("release") else "approve"
    role = principal.role.value
    _fix(
        request,
        principal,
        order_id,
        lambda uow: service.approve_order(uow, order_id, role=role, note=note),
        "order.approve",
        {"note": note},
    )
    return _answer(request, principal, order_id, done, current)


@router.post("/held/{order_id}/reject", response_class=HTMLResponse)
async def reject(request: Request, order_id: PathId, principal: Reviewer) -> HTMLResponse:
    """Reject at review: the order is cancelled with the reason (needs ``orders.cancel``
    too)."""
    principal.require("orders.cancel")
    return await _with_reason(request, principal, order_id, "reject", service.reject_order)


@router.post("/held/{order_id}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, order_id: PathId, principal: Canceller) -> HTMLResponse:
    return await _with_reason(request, principal, order_id, "cancel", service.cancel_order)


async def _with_reason(
    request: Request,
    principal: Principal,
    order_id: int,
    done: str,
    act: Callable[..., Any],
) -> HTMLResponse:
    """Reject or cancel (``done``) with the reason the form gives (required), audited as
    ``order.<done>``."""
    form = await _form(request)
    current = _reason(form.get("current"))
    reason = form.get("reason", "")[:300]
    if not reason:
        return _invalid(request, principal, order_id, current, done, {"reason": REQUIRED})
    _fix(
        request,
        principal,
        order_id,
        lambda uow: act(uow, order_id, reason=reason),
        f"order.{done}",
        {"reason": reason},
    )
    return _answer(request, principal, order_id, done, current)


@router.post("/held/{order_id}/review", response_class=HTMLResponse)
async def review(request: Request, order_id: PathId, principal: Reviewer) -> HTMLResponse:
    """Run the checks, rules, warehouse choice and reservation on the order again now."""
    form = await _form(request)
    current = _reason(form.get("current"))
    _fix(
        request,
        principal,
        order_id,
        lambda uow: service.review_again(uow, order_id),
        "order.review",
        {},
    )
    return _answer(request, principal, order_id, "review", current)
