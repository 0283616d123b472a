"""Log in and out over HTTP: the OAuth2 password flow for people, bearer tokens after; the
signed-in user's own account (``/me``, password change)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from lvyue.accounts import service
from lvyue.accounts.api import CurrentUser, client_address, request_token
from lvyue.accounts.schemas import PasswordChange, PasswordChanged
from lvyue.core.errors import ValidationError
from lvyue.core.uow import UnitOfWork

router = APIRouter(prefix="/api/v1", tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    token_type: str


class LoggedOut(BaseModel):
    logged_out: bool


class MeRead(BaseModel):
    username: str
    role: str
    permissions: list[str]
    warehouses: list[str]
    shops: list[str]


def _log_in(engine: Engine, username: str, password: str, ip: str, agent: str) -> str:
    with UnitOfWork(engine, actor=f"login:{username}") as uow:
        result = service.log_in(uow, username=username, password=password, ip=ip, user_agent=agent)
    # Raised after the unit of work so that a failure is counted and audited, not rolled back.
    result.raise_for_error()
    assert result.token is not None
    return result.token


@router.post("/auth/token", response_model=TokenRead)
async def token(request: Request) -> dict[str, str]:
    """OAuth2 password flow: form fields ``username`` and ``password``."""
    form = parse_qs((await request.body()).decode("utf-8"))
    username, password = (form.get(k, [""])[0] for k in ("username", "password"))
    if not username or not password:
        raise ValidationError("username/password", "both form fields are required")
    ip, agent = client_address(request)
    value = await run_in_threadpool(
        _log_in, request.app.state.engine, username, password, ip, agent
    )
    return {"access_token": value, "token_type": "bearer"}


def _log_out(engine: Engine, value: str) -> None:
    with UnitOfWork(engine) as uow:
        service.log_out(uow, token=value)


@router.post("/auth/logout", response_model=LoggedOut)
async def logout(request: Request, principal: CurrentUser) -> dict[str, bool]:
    token = request_token(request)[0] or ""  # the bearer token, or the page's session
    await run_in_threadpool(_log_out, request.app.state.engine, token)
    return {"logged_out": True}


@router.get("/me", response_model=MeRead)
async def me(principal: CurrentUser) -> dict[str, Any]:
    return {
        "username": principal.username,
        "role": principal.role.value,
        "permissions": sorted(principal.permissions),
        "warehouses": sorted(principal.warehouse_codes),
        "shops": sorted(principal.shop_codes),
    }


@router.post("/me/password", response_model=PasswordChanged)
def change_password(request: Request, body: PasswordChange, principal: CurrentUser) -> Any:
    """Change the signed-in user's password. This session stays signed in; every other one
    ends. A wrong old password counts towards the log-in lock-out; every refused change is
    audited."""
    ip, agent = client_address(request)
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        result = service.change_password(
            uow,
            username=principal.username,
            old_password=body.old_password,
            new_password=body.new_password,
            keep_token=request_token(request)[0],  # the bearer token or the page session
            ip=ip,
            user_agent=agent,
        )
    # Raised after the unit of work so that a refusal is counted and audited, not rolled back.
    result.raise_for_error()
    return {"changed": True, "sessions_ended": result.sessions_ended}
