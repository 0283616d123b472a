"""The settings area: its index, the helpers every section's page shares, and the sections
of this capability: users and roles, API keys (both ``users.admin``).

A section page is ``settings/<section>.html`` (the layout with its sub-navigation) around the
partial ``settings/_<section>.html``; htmx requests aimed at ``#settings-section`` get the
partial alone. Mutations answer with the section again and a toast; a refused input answers
with the form, the field named in the visitor's language, and an error toast. The services
write the audit rows (``user.created``, ``apikey.created``, ...), with the client's address.
Secrets (an API key's secret) are shown once, in the answer that created them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypedDict
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lvyue.accounts import queries, service
from lvyue.accounts.api import PageUser, client_address, page_require
from lvyue.accounts.roles import PERMISSIONS, ROLES, Principal, Role
from lvyue.accounts.web import ROLE_NAMES, render_page
from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.web.i18n import N_, translate
from lvyue.web.pages import is_htmx, language_of, toast
from lvyue.web.settings import (
    SECTIONS_BY_KEY,
    SETTINGS_PERMISSIONS,
    settings_navigation,
    visible_sections,
)

router = APIRouter(include_in_schema=False)

SECTION_TARGET = "settings-section"

# --------------------------------------------------------------------------- shared helpers


async def form_fields(request: Request) -> dict[str, list[str]]:
    """An url-encoded form's fields, each with all its values (check boxes repeat)."""
    body = (await request.body()).decode("utf-8", "replace")
    return parse_qs(body, keep_blank_values=True)


def one(form: Mapping[str, list[str]], name: str, *, limit: int = 500) -> str:
    return (form.get(name) or [""])[0].strip()[:limit]


def codes(text: str) -> list[str]:
    """``"HZ, GZ"`` (or with Chinese commas, spaces) → ``["HZ", "GZ"]``."""
    return [c for c in text.replace("，", ",").replace(" ", ",").split(",") if c.strip()]


def render_settings(
    request: Request,
    principal: Principal,
    section: str,
    partial: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    page: str | None = None,
) -> HTMLResponse:
    """The partial for an htmx request (it names its target), else the full page (``page``,
    by default the partial's name without its underscore)."""
    name = partial if is_htmx(request) else (page or partial.replace("/_", "/"))
    frame = {
        "section": SECTIONS_BY_KEY[section],
        "settings_nav": settings_navigation(principal.can, section),
        "section_partial": partial,
        "errors": {},
        "error_message": "",
        "values": {},
        "me": principal.username,
    }
    return render_page(
        request,
        principal,
        name,
        {**frame, **(context or {})},
        status_code=status_code,
        headers=headers,
    )


def refused(
    request: Request,
    principal: Principal,
    section: str,
    partial: str,
    context: Mapping[str, Any],
    exc: ValidationError,
    labels: Mapping[str, str],
    *,
    values: Mapping[str, Any] | None = None,
    page: str | None = None,
) -> HTMLResponse:
    """The form again with the refused field named (in the visitor's language) and the input
    kept, plus an error toast. htmx swaps only successful answers, so it gets 200; a plain
    form post gets 422."""
    language = language_of(request)
    field = exc.field.split(".")[-1] if exc.field not in labels else exc.field
    label = translate(language, labels[field]) if field in labels else exc.field
    message = f"{label}: {exc.problem}"
    headers = toast(request, N_("Please check the input."), level="error", detail=[message])
    return render_settings(
        request,
        principal,
        section,
        partial,
        {
            **context,
            "errors": {field: exc.problem},
            "error_message": message,
            "values": values or {},
        },
        status_code=200 if is_htmx(request) else 422,
        headers=headers,
        page=page,
    )


@dataclass(frozen=True)
class Partial:
    """One partial of a settings section with the labels of its form's fields: the answers
    its handlers give (the partial again, with a toast or with the refused field)."""

    section: str
    name: str
    labels: Mapping[str, str]

    def render(
        self,
        request: Request,
        principal: Principal,
        context: Mapping[str, Any],
        message: str | None = None,
        /,
        **params: Any,
    ) -> HTMLResponse:
        """The partial (or its page) with ``context``; with a toast when ``message`` is
        given (``params`` go to :func:`toast`)."""
        headers = toast(request, message, **params) if message else None
        return render_settings(
            request, principal, self.section, self.name, context, headers=headers
        )

    def refused(
        self,
        request: Request,
        principal: Principal,
        context: Mapping[str, Any],
        exc: ValidationError,
        /,
        values: Mapping[str, Any] | None = None,
    ) -> HTMLResponse:
        return refused(
            request, principal, self.section, self.name, context, exc, self.labels, values=values
        )


def done(request: Request, path: str, message: str, **params: Any) -> Response:
    """After a change made on a page of its own (an edit page): back to the section's list,
    with the toast (htmx) or a plain redirect."""
    if is_htmx(request):
        headers = toast(request, message, **params)
        headers["HX-Location"] = json.dumps({"path": path, "target": f"#{SECTION_TARGET}"})
        return Response(status_code=204, headers=headers)
    return RedirectResponse(path, status_code=303)


class Where(TypedDict):
    """Where an action came from, for the services' audit rows."""

    ip: str
    user_agent: str


def where(request: Request) -> Where:
    ip, agent = client_address(request)
    return {"ip": ip, "user_agent": agent}


# --------------------------------------------------------------------------- the index


@router.get("/settings")
def settings_index(request: Request, principal: PageUser) -> Response:
    """The first section the visitor may see; 403 without any of the settings area's
    permissions."""
    if not any(principal.can(p) for p in SETTINGS_PERMISSIONS):
        principal.require(SETTINGS_PERMISSIONS[0])
    sections = visible_sections(principal.can)
    return RedirectResponse(sections[0].href, status_code=303)


# --------------------------------------------------------------------------- users and roles

Admin = Annotated[Principal, Depends(page_require("users.admin"))]

USER_FIELDS: dict[str, str] = {
    "username": N_("Username"),
    "display_name": N_("Display name"),
    "password": N_("Password"),
    "new_password": N_("New password"),
    "role": N_("Role"),
    "warehouses": N_("Warehouses"),
    "shops": N_("Shops"),
    "user": N_("User"),
    "name": N_("Key name"),
    "rate_limit_per_minute": N_("Requests per minute"),
}


ROLE_LABEL_BY_VALUE: dict[str, str] = {r.value: label for r, label in ROLE_NAMES.items()}

USERS = Partial("users", "settings/_users.html", USER_FIELDS)
USER_EDIT = Partial("users", "settings/_user_edit.html", USER_FIELDS)
API_KEYS = Partial("api-keys", "settings/_api_keys.html", USER_FIELDS)


def _language_part(text: str, language: str) -> str:
    """``"查看订单 / see orders"`` in one language."""
    zh, _, en = text.partition(" / ")
    return zh if language == "zh-CN" or not en else en


def _role_table(language: str) -> list[dict[str, Any]]:
    return [
        {
            "role": role.value,
            "label": ROLE_NAMES[role],
            "permissions": [
                (name, _language_part(PERMISSIONS[name], language))
                for name in PERMISSIONS
                if name in ROLES[role]
            ],
        }
        for role in Role
    ]


def _users_context(request: Request) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        users = queries.list_users(uow)
    at = datetime.now(UTC)
    for u in users:
        u["locked"] = u["locked_until"] is not None and u["locked_until"] > at
        u["role_label"] = ROLE_LABEL_BY_VALUE.get(u["role"], "")
    return {
        "users": users,
        "roles": [(r.value, ROLE_NAMES[r]) for r in Role],
        "role_table": _role_table(language_of(request)),
    }


@router.get("/settings/users", response_class=HTMLResponse)
def users_page(request: Request, principal: Admin) -> HTMLResponse:
    return USERS.render(request, principal, _users_context(request))


@router.post("/settings/users", response_class=HTMLResponse)
async def add_user(request: Request, principal: Admin) -> HTMLResponse:
    form = await form_fields(request)
    values = {
        "username": one(form, "username", limit=64),
        "display_name": one(form, "display_name", limit=100),
        "role": one(form, "role", limit=32),
        "warehouses": one(form, "warehouses"),
        "shops": one(form, "shops"),
    }
    password = (form.get("password") or [""])[0]
    try:
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            service.add_user(
                uow,
                username=values["username"],
                password=password,
                role=values["role"],
                display_name=values["display_name"],
                warehouse_codes=codes(values["warehouses"]),
                shop_codes=codes(values["shops"]),
                **where(request),
            )
    except ValidationError as exc:
        return USERS.refused(request, principal, _users_context(request), exc, values=values)
    return USERS.render(
        request,
        principal,
        _users_context(request),
        N_("User %(name)s added."),
        name=values["username"].lower(),
    )


def _user_context(request: Request, username: str) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        user = queries.get_user(uow, username)
    user["locked"] = user["locked_until"] is not None and user["locked_until"] > datetime.now(UTC)
    return {"u": user, "roles": [(r.value, ROLE_NAMES[r]) for r in Role]}


@router.get("/settings/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, username: str, principal: Admin) -> HTMLResponse:
    return USER_EDIT.render(request, principal, _user_context(request, username))


def _not_yourself(principal: Principal, username: str, field: str, what: str) -> None:
    if username.strip().lower() == principal.username:
        raise ValidationError(field, what)


@router.post("/settings/users/{username}")
async def update_user(request: Request, username: str, principal: Admin) -> Response:
    form = await form_fields(request)
    values = {
        "display_name": one(form, "display_name", limit=100),
        "role": one(form, "role", limit=32),
        "warehouses": one(form, "warehouses"),
        "shops": one(form, "shops"),
    }
    try:
        if values["role"] != Role.ADMIN.value:
            _not_yourself(
                principal, username, "role", "you cannot take the admin role from yourself"
            )
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            service.update_user(
                uow,
                username=username,
                role=values["role"],
                display_name=values["display_name"],
                warehouse_codes=codes(values["warehouses"]),
                shop_codes=codes(values["shops"]),
                **where(request),
            )
    except ValidationError as exc:
        return USER_EDIT.refused(
            request, principal, _user_context(request, username), exc, values=values
        )
    return done(request, "/settings/users", N_("User %(name)s changed."), name=username)


USER_ACTIONS: dict[str, str] = {
    "disable": N_("User %(name)s disabled: their sessions ended."),
    "enable": N_("User %(name)s enabled."),
    "unlock": N_("User %(name)s unlocked."),
    "password": N_("Password of %(name)s reset: their sessions ended."),
}


@router.post("/settings/users/{username}/{action}", response_class=HTMLResponse)
async def user_action(request: Request, username: str, action: str, principal: Admin) -> Response:
    if action not in USER_ACTIONS:
        raise NotFound(f"no user action {action!r}", code="not_found")
    form = await form_fields(request)
    try:
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            if action == "disable":
                _not_yourself(principal, username, "user", "you cannot disable yourself")
                service.update_user(uow, username=username, active=False, **where(request))
            elif action == "enable":
                service.update_user(uow, username=username, active=True, **where(request))
            elif action == "unlock":
                service.unlock_user(uow, username=username, **where(request))
            else:
                service.reset_password(
                    uow,
                    username=username,
                    new_password=(form.get("new_password") or [""])[0],
                    **where(request),
                )
    except ValidationError as exc:
        if exc.field == "password":  # the policy names the field "password"
            exc = ValidationError("new_password", exc.problem)
        return USER_EDIT.refused(request, principal, _user_context(request, username), exc)
    return USER_EDIT.render(
        request, principal, _user_context(request, username), USER_ACTIONS[action], name=username
    )


# --------------------------------------------------------------------------- API keys


def _keys_context(request: Request) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        keys = queries.list_api_keys(uow)
    return {
        "keys": keys,
        "role_names": {r.value: ROLE_NAMES[r] for r in Role},
        "key_roles": [(r.value, ROLE_NAMES[r]) for r in Role if r is not Role.ADMIN],
        "new_key": None,
    }


@router.get("/settings/api-keys", response_class=HTMLResponse)
def api_keys_page(request: Request, principal: Admin) -> HTMLResponse:
    return API_KEYS.render(request, principal, _keys_context(request))


@router.post("/settings/api-keys", response_class=HTMLResponse)
async def create_api_key(request: Request, principal: Admin) -> HTMLResponse:
    form = await form_fields(request)
    values = {
        "name": one(form, "name", limit=100),
        "role": one(form, "role", limit=32),
        "warehouses": one(form, "warehouses"),
        "shops": one(form, "shops"),
        "rate_limit_per_minute": one(form, "rate_limit_per_minute", limit=9) or "600",
    }
    try:
        if not values["rate_limit_per_minute"].isdigit():
            raise ValidationError("rate_limit_per_minute", "a whole number, e.g. 600")
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            key = service.create_api_key(
                uow,
                name=values["name"],
                role=values["role"],
                warehouse_codes=codes(values["warehouses"]),
                shop_codes=codes(values["shops"]),
                rate_limit_per_minute=int(values["rate_limit_per_minute"]),
                **where(request),
            )
    except ValidationError as exc:
        return API_KEYS.refused(request, principal, _keys_context(request), exc, values=values)
    return API_KEYS.render(
        request,
        principal,
        {**_keys_context(request), "new_key": key},
        N_("API key %(key)s created."),
        key=key.app_key,
    )


@router.post("/settings/api-keys/{app_key}/revoke", response_class=HTMLResponse)
def revoke_api_key(request: Request, app_key: str, principal: Admin) -> HTMLResponse:
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        service.revoke_api_key(uow, app_key=app_key, **where(request))
    return API_KEYS.render(
        request, principal, _keys_context(request), N_("API key %(key)s revoked."), key=app_key
    )
