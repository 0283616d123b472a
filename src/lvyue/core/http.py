"""The one error body of the HTTP API, and the handlers that turn every error into it.

Whatever goes wrong with a request (a domain error, a body that does not validate, an unknown
path) the client gets ``{"code", "message", "details"}`` with a 4xx status; the OpenAPI schema
documents that body for every error status so clients and schema checkers can rely on it.
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
import sqlalchemy as sa
from fastapi import FastAPI, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lvyue.core.errors import LvyueError, NotFound

BIGINT_MAX = 2**63 - 1
# A database id in a URL: anything else is the caller's mistake (422), not a driver overflow.
PathId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


class ErrorBody(pydantic.BaseModel):
    code: str
    message: str
    details: dict[str, Any]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Bad input or a state that does not allow the action"),
        (401, "Not signed in"),
        (403, "Lacking the permission"),
        (404, "No such object (or outside the caller's warehouses/shops)"),
        (409, "Changed by someone else meanwhile"),
        (422, "The request does not validate"),
    )
}

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _body(code: str, message: str, details: dict[str, Any], status: int) -> JSONResponse:
    content = {"code": code, "message": message, "details": jsonable_encoder(details)}
    return JSONResponse(content, status_code=status)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "lines", 0, "quantity") -> "lines[0].quantity"; the "body"/"query" part is noise
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or (str(loc[0]) if loc else "request")


def _validation(errors: list[Any]) -> JSONResponse:
    problems = [
        {"field": _field(e.get("loc", ())), "problem": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]
    first = problems[0] if problems else {"field": "request", "problem": "invalid"}
    return _body(
        "invalid_input",
        f"{first['field']}: {first['problem']}",
        {"field": first["field"], "errors": problems},
        422,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LvyueError)
    def _lvyue(_: Request, exc: LvyueError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else getattr(exc, "http_status", 400)
        response = _body(exc.code, exc.message, exc.details, status)
        if exc.code == "rate_limited" and "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(list(exc.errors()))

    @app.exception_handler(pydantic.ValidationError)
    def _pydantic(_: Request, exc: pydantic.ValidationError) -> JSONResponse:
        return _validation(list(exc.errors()))

    @app.exception_handler(ValueError)
    def _value(_: Request, exc: ValueError) -> JSONResponse:
        # Pure modules refuse bad input with ValueError; it is the caller's input, not a bug.
        return _body("invalid_input", str(exc) or "invalid input", {}, 400)

    @app.exception_handler(sa.exc.DataError)
    def _data(_: Request, exc: sa.exc.DataError) -> JSONResponse:
        # The database refused a value the request carried (too long, out of range, a NUL
        # character): bad input, named as well as the driver allows.
        problem = str(getattr(exc, "orig", exc)).splitlines()[0]
        return _body("invalid_input", f"value refused by the database: {problem}", {}, 400)

    @app.exception_handler(HTTPException)
    def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        response = _body(code, str(exc.detail), {}, exc.status_code)
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response
