"""The FastAPI dependencies on a small app: bearer tokens, signed requests, permissions."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from lvyue.accounts import service, signing
from lvyue.accounts.api import ApiClient, CurrentUser, require
from lvyue.accounts.errors import AccessError
from lvyue.accounts.roles import Principal
from lvyue.core.errors import LvyueError
from tests.accounts.conftest import PASSWORD
from tests.conftest import UowFactory


def make_app(engine: Engine) -> FastAPI:
    app = FastAPI()
    app.state.engine = engine

    @app.exception_handler(LvyueError)
    def _error(_: Request, exc: LvyueError) -> JSONResponse:
        status = exc.http_status if isinstance(exc, AccessError) else 400
        return JSONResponse(exc.to_dict(), status_code=status)

    @app.get("/me")
    def me(user: CurrentUser) -> dict[str, Any]:
        return {"username": user.username, "role": user.role.value}

    @app.get("/settings")
    def settings(user: Principal = Depends(require("settings.write"))) -> dict[str, str]:
        return {"ok": user.username}

    @app.post("/api/v1/orders")
    async def create(request: Request, client: ApiClient) -> dict[str, Any]:
        return {"client": client.actor, "body": (await request.body()).decode()}

    @app.get("/api/v1/stock")
    def stock(client: Principal = Depends(require("stock.adjust", signed=True))) -> dict[str, str]:
        return {"ok": client.actor}

    return app


@pytest.fixture
def client(uow: UowFactory, engine: Engine) -> TestClient:
    with uow() as u:
        service.add_user(u, username="zhang", password=PASSWORD, role="operations")
    return TestClient(make_app(engine))


def test_bearer_token(client: TestClient, uow: UowFactory) -> None:
    with uow() as u:
        result = service.log_in(u, username="zhang", password=PASSWORD)
    headers = {"Authorization": f"Bearer {result.token}"}
    assert client.get("/me", headers=headers).json() == {"username": "zhang", "role": "operations"}
    r = client.get("/settings", headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    for bad in ({}, {"Authorization": "Bearer lvt_nope"}, {"Authorization": "Basic abc"}):
        r = client.get("/me", headers=bad)
        assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    with uow() as u:
        assert result.token and service.log_out(u, token=result.token)
    assert client.get("/me", headers=headers).status_code == 401


def sig_headers(
    key: service.NewApiKey, method: str, path: str, query: str, body: bytes
) -> dict[str, str]:
    ts, nonce = str(int(time.time())), signing.new_nonce()
    sig = signing.sign_request(
        key.secret, method=method, path=path, query=query, body=body, timestamp=ts, nonce=nonce
    )
    return {
        signing.HEADER_KEY: key.app_key,
        signing.HEADER_TIMESTAMP: ts,
        signing.HEADER_NONCE: nonce,
        signing.HEADER_SIGNATURE: sig,
    }


def test_signed_request(client: TestClient, uow: UowFactory) -> None:
    with uow() as u:
        key = service.create_api_key(u, name="erp", role="operations")
    body = '{"external_id":"E1","receiver":"张三"}'.encode()
    headers = sig_headers(key, "POST", "/api/v1/orders", "b=2&a=%E7%99%BD", body)
    r = client.post("/api/v1/orders?b=2&a=%E7%99%BD", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"client": f"api:{key.app_key}", "body": body.decode()}
    r = client.post("/api/v1/orders?b=2&a=%E7%99%BD", content=body, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "reused_nonce"
    headers = sig_headers(key, "POST", "/api/v1/orders", "", body)
    r = client.post("/api/v1/orders", content=body + b" ", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "bad_signature"
    r = client.post("/api/v1/orders", content=body)
    assert r.status_code == 401 and r.json()["code"] == "unknown_key"
    # operations may not adjust stock
    r = client.get("/api/v1/stock", headers=sig_headers(key, "GET", "/api/v1/stock", "", b""))
    assert r.status_code == 403 and r.json()["details"] == {"permission": "stock.adjust"}


def test_require_refuses_unknown_permissions() -> None:
    with pytest.raises(ValueError):
        require("orders.fly")
