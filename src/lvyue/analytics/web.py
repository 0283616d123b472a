"""The dashboard page: today's orders and amount (in the merchant's zone), orders per hour,
held orders by reason, the backlog by status and today's best-selling SKUs, refreshed live.

Thin: parse the day, call ``queries.dashboard`` once, render. The charts (Apache ECharts,
vendored) are drawn in the browser from the figures the fragment carries as JSON, with every
label already in the visitor's language; each chart has its numbers as a table next to it.
The page listens to the event stream (``app.js`` fires ``orders-changed`` on order events)
and reloads the figures fragment at most once every two seconds (``dashboard.js``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lvyue.accounts.api import page_require
from lvyue.accounts.roles import Principal
from lvyue.accounts.web import render_page
from lvyue.analytics import queries
from lvyue.config import get_settings
from lvyue.core.clock import now
from lvyue.core.errors import ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.orders.holds import HOLD_REASONS
from lvyue.orders.queries import Scope
from lvyue.orders.web import STATUS_TABS
from lvyue.web.i18n import N_, translate
from lvyue.web.pages import language_of

router = APIRouter(include_in_schema=False)

Reporter = Annotated[Principal, Depends(page_require("reports.read"))]

# The backlog: statuses an operator works through, in the order's way through the system.
BACKLOG = ("pending_payment", "pending_review", "held", "approved", "allocated", "in_fulfillment")
STATUS_LABELS = dict(STATUS_TABS)


def _day(request: Request, zone: str) -> tuple[date, bool]:
    """The day asked for (``?day=YYYY-MM-DD``), else today in the merchant's zone; and
    whether it is today (only today's figures change live)."""
    current = queries.today(zone, now())
    text = request.query_params.get("day", "").strip()
    if not text:
        return current, True
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationError("day", "a date like 2026-11-11") from None
    return day, day == current


def _hold_label(code: str, language: str) -> str:
    reason = HOLD_REASONS.get(code)
    if reason is None:
        return code
    return reason.zh if language == "zh-CN" else reason.en


def _count(n: int, cap: int) -> str:
    return f"{cap:,}+" if n > cap else f"{n:,}"


def _context(request: Request, principal: Principal) -> dict[str, Any]:
    zone = get_settings().timezone
    day, is_today = _day(request, zone)
    scope = Scope(tuple(sorted(principal.shop_codes)), tuple(sorted(principal.warehouse_codes)))
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        figures = queries.dashboard(uow, day=day, zone=zone, scope=scope, statuses=list(BACKLOG))
    language = language_of(request)

    def t(message: str, **params: Any) -> str:
        return translate(language, message, **params)

    d = figures.day
    hours = [f"{h:02d}:00" for h in range(24)]
    by_status = [
        (code, t(label), d.by_status[code]) for code, label in STATUS_TABS if d.by_status.get(code)
    ]
    backlog = [
        (code, t(STATUS_LABELS[code]), n, _count(n, figures.cap))
        for code, n in ((c, figures.backlog.get(c, 0)) for c in BACKLOG)
    ]
    held = [(code, _hold_label(code, language), n) for code, n in figures.held.items()]
    charts = {
        "hourly": {
            "kind": "bar",
            "categories": hours,
            "series": [
                {"name": t(N_("Orders")), "type": "bar", "values": d.orders_by_hour},
                {
                    "name": t(N_("Amount (¥)")),
                    "type": "line",
                    "axis": 1,
                    "values": [str(a) for a in d.amount_by_hour],
                },
            ],
        },
        # Horizontal bars, drawn bottom-up: the first status on top.
        "backlog": {
            "kind": "hbar",
            "categories": [b[1] for b in reversed(backlog)],
            "series": [
                {
                    "name": t(N_("Orders")),
                    "type": "bar",
                    "values": [b[2] for b in reversed(backlog)],
                }
            ],
        },
        "top": {
            "kind": "hbar",
            "categories": [s["sku"] for s in reversed(figures.top)],
            "series": [
                {
                    "name": t(N_("Units")),
                    "type": "bar",
                    "values": [s["units"] for s in reversed(figures.top)],
                }
            ],
        },
    }
    return {
        "day": day,
        "is_today": is_today,
        "zone": zone,
        "figures_link": "/dashboard/figures" + ("" if is_today else f"?day={day.isoformat()}"),
        "d": d,
        "hours": hours,
        "by_status": by_status,
        "backlog": backlog,
        "held": held,
        "held_total": sum(n for *_, n in held),
        "top": figures.top,
        "charts": charts,
        "updated_at": now(),
    }


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, principal: Reporter) -> HTMLResponse:
    return render_page(request, principal, "analytics/dashboard.html", _context(request, principal))


@router.get("/dashboard/figures", response_class=HTMLResponse)
def dashboard_figures(request: Request, principal: Reporter) -> HTMLResponse:
    """The figures alone, for the live refresh."""
    return render_page(request, principal, "analytics/_figures.html", _context(request, principal))
