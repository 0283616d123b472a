"""Errors on pages: the API's one error body, turned into what a person sees.

The app's exception handlers (``core.http``) answer ``{"code","message","details"}``. For a
page request the same answer becomes: a redirect to the login page when the visitor is not
signed in (401); for an htmx request, an empty error response whose ``HX-Trigger`` header
shows a toast; for a full page, the error page. JSON routes are left as they are.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from lvyue.web import i18n
from lvyue.web.i18n import N_
from lvyue.web.pages import is_htmx, language_of, render, trigger

NOT_PAGES = ("/api/", "/webhooks/", "/healthz", "/openapi.json", "/docs", "/redoc", "/static/")

# What a person is told, by error code (else by status); the technical message follows.
TITLES: dict[str, str] = {
    "forbidden": N_("You do not have permission for this."),
    "csrf_failed": N_("The page has expired. Reload it and try again."),
    "invalid_input": N_("Please check the input."),
    "invalid_transition": N_("The order's status does not allow this."),
    "concurrent_change": N_("Someone else changed this meanwhile. Reload and try again."),
    "conflict": N_("This conflicts with existing data."),
    "not_found": N_("Not found."),
    "unknown_order": N_("This order does not exist."),
    "method_not_allowed": N_("This action is not available here."),
}
BY_STATUS: dict[int, str] = {
    401: N_("Please sign in."),
    403: TITLES["forbidden"],
    404: TITLES["not_found"],
    409: TITLES["concurrent_change"],
    422: TITLES["invalid_input"],
    429: N_("Too many requests. Wait a moment and try again."),
}
SOMETHING_WRONG = N_("Something went wrong.")

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(NOT_PAGES)


def title_for(code: str, status: int) -> str:
    return TITLES.get(code) or BY_STATUS.get(status) or SOMETHING_WRONG


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(here, safe="/")


def page_error(request: Request, status: int, code: str, message: str) -> Response:
    if status == 401:
        if is_htmx(request):  # htmx follows this with a full page load
            return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
        return RedirectResponse(login_url(request), status_code=303)
    title = i18n.translate(language_of(request), title_for(code, status))
    if is_htmx(request):
        events = {"toast": {"level": "error", "message": title, "detail": [message]}}
        return Response(status_code=status, headers=trigger(events))
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message, "code": code},
        status_code=status,
    )


def _wrap(handler: Handler) -> Handler:
    async def handle(request: Request, exc: Any) -> Response:
        response = handler(request, exc)
        if not isinstance(response, Response):
            response = await response
        if not is_page(request) or response.status_code < 400:
            return response
        try:
            body = json.loads(bytes(response.body))
        except (ValueError, AttributeError):
            body = {}
        return page_error(
            request,
            response.status_code,
            str(body.get("code", "")),
            str(body.get("message", "")),
        )

    return handle


def install_page_errors(app: FastAPI) -> None:
    """Call after ``core.http.install_error_handlers``: wraps each of its handlers."""
    for key, handler in list(app.exception_handlers.items()):
        if not (isinstance(key, type) and key.__name__.startswith("WebSocket")):
            app.exception_handlers[key] = _wrap(handler)
    if HTTPException not in app.exception_handlers:  # pragma: no cover - installed by core
        raise RuntimeError("install core.http error handlers first")
