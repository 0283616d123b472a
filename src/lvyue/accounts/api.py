"""FastAPI dependencies that authenticate a request and check permissions (no routes yet).

- ``CurrentUser``: ``Authorization: Bearer <token>`` from ``service.log_in`` / ``issue_token``.
- ``ApiClient``: a request signed per ``docs/api-signing.md`` (``X-Lvyue-*`` headers).
- ``require("orders.read")``: a dependency that also checks one permission.

They raise ``AccessError`` subclasses; the app's error handler should answer with
``exc.http_status`` (401, 403 or 429) and ``exc.to_dict()``. The engine is taken from
``request.app.state.engine`` as in ``lvyue.main``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from lvyue.accounts import service, signing
from lvyue.accounts.errors import AuthenticationFailed, SignatureError
from lvyue.accounts.roles import PERMISSIONS, Principal
from lvyue.core.uow import UnitOfWork


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


def _token_principal(engine: Engine, token: str) -> Principal | None:
    with UnitOfWork(engine, readonly=True) as uow:
        return service.user_for_token(uow, token)


async def bearer_principal(request: Request) -> Principal:
    token = bearer_token(request)
    principal = None
    if token:
        principal = await run_in_threadpool(_token_principal, request.app.state.engine, token)
    if principal is None:
        raise AuthenticationFailed("missing, expired or revoked bearer token", code="invalid_token")
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
