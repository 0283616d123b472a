"""The web application: JSON API and webhooks on one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from lvyue import __version__, bootstrap
from lvyue.accounts.routes import router as auth
from lvyue.channels.api import router as webhooks
from lvyue.core.db import engine_for
from lvyue.core.errors import LvyueError, NotFound
from lvyue.inventory.api import router as stock
from lvyue.orders.api import router as orders
from lvyue.webhooks.api import events_router
from lvyue.webhooks.api import router as outgoing_webhooks


def create_app(database_url: str | None = None) -> FastAPI:
    url = bootstrap.database_url(database_url)
    app = FastAPI(title="lvyue 履约", version=__version__)
    app.state.engine = engine_for(url)
    app.include_router(webhooks)
    app.include_router(auth)
    app.include_router(orders)
    app.include_router(stock)
    app.include_router(outgoing_webhooks)
    app.include_router(events_router)

    @app.exception_handler(LvyueError)
    def _lvyue_error(_: Request, exc: LvyueError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else getattr(exc, "http_status", 400)
        headers = {}
        if exc.code == "rate_limited" and "retry_after" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after"])
        return JSONResponse(exc.to_dict(), status_code=status, headers=headers)

    @app.get("/healthz", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
