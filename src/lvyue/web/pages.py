"""Server-rendered pages: the Jinja2 environment, rendering with the visitor's language, the
navigation, toasts and the small htmx conventions every capability's ``web.py`` uses.

Templates live in each capability as ``<package>/templates/<capability>/<page>.html`` and are
addressed as ``<capability>/<page>.html``; the shared layout, macros and error page are here,
in ``lvyue/web/templates``. Static files (our CSS and JS, vendored htmx and ECharts) are served
from ``lvyue/web/static`` under ``/static``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.routing import Route

from lvyue import __version__
from lvyue.config import get_settings
from lvyue.web import i18n
from lvyue.web.i18n import N_

STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation: shown to whoever holds ``permission`` (or, for a
    tuple, any one of them); a link once a page answers at ``href``, a greyed "coming soon"
    entry before."""

    key: str
    href: str
    label: str
    permission: str | tuple[str, ...]

    def shown_to(self, can: Callable[[str], bool]) -> bool:
        wanted = (self.permission,) if isinstance(self.permission, str) else self.permission
        return any(can(p) for p in wanted)


# Settings is where operations set up shops and carriers and admins everything else; a
# warehouse user's own warehouse page is reached from the stock pages, not from here.
SETTINGS_AREA = ("settings.write", "shops.write", "logistics.write")


# The capabilities in the order operators use them.
NAV: tuple[NavItem, ...] = (
    NavItem("dashboard", "/dashboard", N_("Dashboard"), "reports.read"),
    NavItem("orders", "/orders", N_("Orders"), "orders.read"),
    NavItem("held", "/held", N_("Held orders"), "orders.read"),
    NavItem("rules", "/rules", N_("Review rules"), "rules.write"),
    NavItem("stock", "/stock", N_("Stock"), "stock.read"),
    NavItem("settings", "/settings", N_("Settings"), SETTINGS_AREA),
    NavItem("users", "/settings/users", N_("Users and roles"), "users.admin"),
)


def _money(value: Decimal | int | float | str | None) -> str:
    if value is None or value == "":
        return ""
    return f"¥{Decimal(str(value)):,.2f}"


def _local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time in the merchant's zone (Asia/Shanghai by default)."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(get_settings().timezone)).strftime(fmt)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def local_path(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site, else ``default``: no open redirects."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def language_of(request: Request) -> str:
    return i18n.pick(request.cookies.get(i18n.COOKIE))


def trigger(events: Mapping[str, Any]) -> dict[str, str]:
    """The ``HX-Trigger`` header that fires ``events`` in the browser after the response.
    ASCII only: headers are Latin-1, so Chinese text travels as JSON escapes."""
    return {"HX-Trigger": json.dumps(events, ensure_ascii=True, default=str)}


def toast(
    request: Request,
    message: str,
    *,
    level: str = "success",
    detail: Sequence[str] = (),
    events: Mapping[str, Any] | None = None,
    **params: Any,
) -> dict[str, str]:
    """Headers for a toast in the visitor's language (``message`` is an English msgid,
    marked with ``N_``), plus any other ``events`` to fire."""
    text = i18n.translate(language_of(request), message, **params)
    return trigger({**(events or {}), "toast": {"level": level, "message": text, "detail": detail}})


def page_paths(routers: Iterable[Any]) -> frozenset[str]:
    """The paths the page routers answer with a GET (the navigation's "ready" entries)."""
    return frozenset(
        r.path
        for router in routers
        for r in router.routes
        if isinstance(r, Route) and "GET" in (r.methods or ())
    )


def navigation(request: Request, can: Callable[[str], bool]) -> list[dict[str, Any]]:
    ready: frozenset[str] = getattr(request.app.state, "page_paths", frozenset())
    here = request.url.path
    shown = [item for item in NAV if item.shown_to(can)]
    # The entry whose path holds this page most closely is the active one (/settings/users is
    # "users", not "settings").
    matches = [i.href for i in shown if here == i.href or here.startswith(i.href + "/")]
    active = max(matches, key=len, default=None)
    return [
        {
            "key": item.key,
            "href": item.href,
            "label": item.label,
            "ready": item.href in ready,
            "active": item.href == active,
        }
        for item in shown
    ]


class Pages:
    """The template environment of the app (one per app, kept on ``app.state.pages``)."""

    def __init__(self, packages: Iterable[str]) -> None:
        loaders = [PackageLoader("lvyue.web", "templates")]
        loaders += [PackageLoader(p, "templates") for p in packages]
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.install_gettext_callables(  # type: ignore[attr-defined]
            i18n.gettext, i18n.ngettext, newstyle=True
        )
        self.env.filters["money"] = _money
        self.env.filters["local_time"] = _local_time
        self.env.globals["version"] = __version__
        self.env.globals["static"] = lambda path: f"/static/{path}?v={__version__}"
        self.env.globals["languages"] = {tag: name for tag, (_, name) in i18n.LANGUAGES.items()}

    def render_text(self, name: str, context: Mapping[str, Any], language: str) -> str:
        with i18n.use_language(language):
            return self.env.get_template(name).render(context)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render ``name`` in the visitor's language. Every template sees ``request``, ``lang``,
    ``htmx`` (a partial request) and ``path``."""
    language = language_of(request)
    base = {
        "request": request,
        "lang": language,
        "htmx": is_htmx(request),
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    pages: Pages = request.app.state.pages
    html = pages.render_text(name, {**base, **(context or {})}, language)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Vary", "HX-Request, Cookie")
    return response
