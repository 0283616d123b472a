"""Sign-in pages and the page frame every capability's pages share.

The session is a bearer token of ``service.log_in`` kept in an HttpOnly, SameSite=Lax cookie
(Secure over https): lock-out, audit of failures and revocation are the token machinery's.
The login form itself is guarded by a double-submit token (a random cookie echoed in a hidden
field); once signed in, unsafe requests carry the session's CSRF token (``api.csrf_token``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine

from lvyue.accounts import service
from lvyue.accounts.api import (
    SESSION_COOKIE,
    PageUser,
    client_address,
    csrf_token,
    session_token,
    token_principal,
)
from lvyue.accounts.roles import Principal, Role
from lvyue.accounts.service import TOKEN_TTL, LoginResult
from lvyue.core.uow import UnitOfWork
from lvyue.web import i18n
from lvyue.web.i18n import N_
from lvyue.web.pages import local_path, navigation, render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "lvyue_login_csrf"
HOME = "/orders"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

# Role names as people read them (the zh-CN catalog holds 管理员, 运营, ...).
ROLE_NAMES: Mapping[Role, str] = {
    Role.ADMIN: N_("Administrator"),
    Role.OPERATIONS: N_("Operations"),
    Role.CUSTOMER_SERVICE: N_("Customer service"),
    Role.WAREHOUSE: N_("Warehouse"),
    Role.FINANCE: N_("Finance"),
    Role.PURCHASING: N_("Purchasing"),
    Role.VIEWER: N_("Viewer"),
}

LOGIN_ERRORS: Mapping[str, str] = {
    "invalid_credentials": N_("Wrong username or password."),
    "account_locked": N_(
        "Too many failed attempts: the account is locked for a while. Try again later "
        "or ask an administrator to unlock it."
    ),
    "account_disabled": N_("This account is disabled. Ask an administrator."),
    "missing": N_("Enter the username and the password."),
    "expired": N_("The sign-in form had expired. Please try again."),
}


def render_page(
    request: Request,
    principal: Principal,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page inside the frame: navigation by permission, the user menu, the CSRF token."""
    token = session_token(request) or ""
    scope = ", ".join(sorted(principal.warehouse_codes | principal.shop_codes))
    frame = {
        "user": {
            "username": principal.username,
            "role": principal.role.value,
            "role_label": ROLE_NAMES[principal.role],
            "scope": scope,
        },
        "nav": navigation(request, principal.can),
        "csrf": csrf_token(token) if token else "",
        "can": principal.can,
    }
    return render(
        request, name, {**frame, **(context or {})}, status_code=status_code, headers=headers
    )


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _login_page(
    request: Request, *, next_url: str, username: str = "", error: str = "", status_code: int = 200
) -> HTMLResponse:
    guard = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "accounts/login.html",
        {
            "next": next_url,
            "username": username,
            "error": error,
            "error_message": LOGIN_ERRORS.get(error, ""),
            "login_csrf": guard,
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, guard, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = HOME) -> Response:
    token = session_token(request)
    signed_in = token is not None and (
        await run_in_threadpool(token_principal, request.app.state.engine, token) is not None
    )
    if signed_in:
        return RedirectResponse(local_path(next, HOME), status_code=303)
    return _login_page(request, next_url=local_path(next, HOME))


def _log_in(engine: Engine, username: str, password: str, ip: str, agent: str) -> LoginResult:
    with UnitOfWork(engine, actor=f"login:{username}") as uow:
        # A failure is returned, not raised, so that it is counted and audited (committed).
        return service.log_in(uow, username=username, password=password, ip=ip, user_agent=agent)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await _form(request)
    next_url = local_path(form.get("next"), HOME)
    username = form.get("username", "").strip()[:64]
    password = form.get("password", "")
    guard = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not guard or not hmac.compare_digest(guard.encode(), form.get("csrf_token", "").encode()):
        return _login_page(
            request, next_url=next_url, username=username, error="expired", status_code=403
        )
    if not username or not password:
        return _login_page(
            request, next_url=next_url, username=username, error="missing", status_code=422
        )
    ip, agent = client_address(request)
    result = await run_in_threadpool(
        _log_in, request.app.state.engine, username, password, ip, agent
    )
    if result.error is not None or result.token is None:
        code = result.error.code if result.error else "invalid_credentials"
        return _login_page(
            request,
            next_url=next_url,
            username=username,
            error=code if code in LOGIN_ERRORS else "invalid_credentials",
            status_code=401,
        )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=int(TOKEN_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _log_out(engine: Engine, token: str, ip: str, agent: str) -> None:
    with UnitOfWork(engine) as uow:
        service.log_out(uow, token=token, ip=ip, user_agent=agent)


@router.post("/logout")
async def logout(request: Request, principal: PageUser) -> Response:
    ip, agent = client_address(request)
    token = session_token(request) or ""
    await run_in_threadpool(_log_out, request.app.state.engine, token, ip, agent)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, next: str = "/") -> Response:
    """Remember the visitor's language (a preference, not a change of data) and go back."""
    chosen = i18n.pick(language)
    response = RedirectResponse(local_path(next, "/"), status_code=303)
    response.set_cookie(
        i18n.COOKIE,
        chosen,
        max_age=LANGUAGE_COOKIE_AGE,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    return response


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse(HOME, status_code=303)
