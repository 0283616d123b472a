"""FastAPI dependencies that authenticate a request and check permissions (no routes yet).

- ``CurrentUser``: ``Authorization: Bearer <token>`` from ``service.log_in`` / ``issue_token``,
  or the same kind of token in the pages' session cookie (``lvyue_session``). A request signed
  in by the cookie must carry the session's CSRF token (header ``X-CSRF-Token`` or form field
  ``csrf_token``) unless its method is safe; a bearer header needs none (a browser never adds
  it by itself).
- ``PageUser``: the session cookie only, for pages; without it pages send the login page.
- ``ApiClient``: a request signed per ``docs/api-signing.md`` (``X-Lvyue-*`` headers).
- ``require("orders.read")``: a dependency that also checks one permission.

They raise ``AccessError`` subclasses; the app's error handler should answer with
``exc.http_status`` (401, 403 or 429) and ``exc.to_dict()``. The engine is taken from
``request.app.state.engine`` as in ``lvyue.main``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from lvyue.accounts import service, signing
from lvyue.accounts.errors import AuthenticationFailed, CsrfFailed, LoginRequired, SignatureError
from lvyue.accounts.roles import PERMISSIONS, Principal
from lvyue.config import get_settings
from lvyue.core.uow import UnitOfWork

SESSION_COOKIE = "lvyue_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPE = "application/x-www-form-urlencoded"


def client_address(request: Request) -> tuple[str, str]:
    """(ip, user agent) to pass to services for the audit log."""
    ip = request.client.host if request.client else ""
    return ip, request.headers.get("user-agent", "")


def audit(
    uow: UnitOfWork,
    request: Request,
    *,
    action: str,
    target_type: str = "",
    target: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """One audit row for an API action, in the action's own transaction: who (the unit of
    work's actor), what, when, and from where."""
    ip, agent = client_address(request)
    service.record(
        uow,
        action=action,
        target_type=target_type,
        target=target,
        details=details,
        ip=ip,
        user_agent=agent,
    )


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def request_token(request: Request) -> tuple[str | None, bool]:
    """The token that signs the request in, and whether it came from the session cookie.
    An ``Authorization`` header wins over the cookie."""
    token = bearer_token(request)
    if token:
        return token, False
    cookie = session_token(request)
    return cookie, cookie is not None


def csrf_token(token: str) -> str:
    """The CSRF token of a session: a keyed hash of the session token, so it needs no storage,
    ends with the session and tells nothing about the token."""
    key = hashlib.sha256(b"lvyue-csrf:" + get_settings().secret_key.encode("utf-8")).digest()
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


async def submitted_csrf(request: Request) -> str:
    """The CSRF token a request carries: the header (htmx, scripts) or a form field."""
    sent = request.headers.get(CSRF_HEADER)
    if sent:
        return sent
    if request.headers.get("content-type", "").split(";")[0].strip() == FORM_TYPE:
        # Starlette keeps the body, so the route can read it again.
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        return form.get(CSRF_FIELD, [""])[0]
    return ""


async def check_csrf(request: Request, token: str) -> None:
    if request.method in SAFE_METHODS:
        return
    if not hmac.compare_digest(
        (await submitted_csrf(request)).encode(), csrf_token(token).encode()
    ):
        raise CsrfFailed(
            "this request is signed in by the session cookie but lacks its CSRF token "
            f"(header X-CSRF-Token or form field {CSRF_FIELD})"
        )


def token_principal(engine: Engine, token: str) -> Principal | None:
    with UnitOfWork(engine, readonly=True) as uow:
        return service.user_for_token(uow, token)


async def bearer_principal(request: Request) -> Principal:
    token, via_cookie = request_token(request)
    principal = None
    if token:
        principal = await run_in_threadpool(token_principal, request.app.state.engine, token)
    if principal is None:
        raise AuthenticationFailed(
            "missing, expired or revoked bearer token or session", code="invalid_token"
        )
    if via_cookie:
        assert token is not None
        await check_csrf(request, token)
    return principal


async def page_principal(request: Request) -> Principal:
    """The signed-in person of a page request (session cookie), CSRF-checked when unsafe."""
    token = session_token(request)
    principal = None
    if token:
        principal = await run_in_threadpool(token_principal, request.app.state.engine, token)
    if principal is None:
        raise LoginRequired("sign in to see this page")
    assert token is not None
    await check_csrf(request, token)
    return principal


def _verify(engine: Engine, request: dict[str, Any]) -> Principal:
    with UnitOfWork(engine, actor="api") as uow:
        return service.verify_request(uow, **request)


async def signed_principal(request: Request) -> Principal:
    headers = request.headers
    app_key = headers.get(signing.HEADER_KEY)
    if not app_key:
        raise SignatureError(f"header {signing.HEADER_KEY} is missing", code="unknown_key")
    body = await request.body()
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    signed = {
        "app_key": app_key,
        "signature": headers.get(signing.HEADER_SIGNATURE, ""),
        "method": request.method,
        "path": path,
        "query": request.scope.get("query_string", b"").decode("latin-1"),
        "body": body,
        "timestamp": headers.get(signing.HEADER_TIMESTAMP, ""),
        "nonce": headers.get(signing.HEADER_NONCE, ""),
    }
    return await run_in_threadpool(_verify, request.app.state.engine, signed)


CurrentUser = Annotated[Principal, Depends(bearer_principal)]
ApiClient = Annotated[Principal, Depends(signed_principal)]
PageUser = Annotated[Principal, Depends(page_principal)]


def require(
    permission: str, *, signed: bool = False
) -> Callable[[Principal], Awaitable[Principal]]:
    """``Depends(require("orders.review"))``: the principal, if it holds the permission."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def check_user(principal: CurrentUser) -> Principal:
        principal.require(permission)
        return principal

    async def check_client(principal: ApiClient) -> Principal:
        principal.require(permission)
        return principal

    return check_client if signed else check_user


def page_require(permission: str) -> Callable[[Principal], Awaitable[Principal]]:
    """``Depends(page_require("orders.read"))`` for pages: signed in by the session cookie."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def check(principal: PageUser) -> Principal:
        principal.require(permission)
        return principal

    return check
