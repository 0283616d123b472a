"""The web application: JSON API, webhooks and the workbench pages on one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from lvyue import __version__, bootstrap
from lvyue.accounts.audit_api import router as audit_log
from lvyue.accounts.routes import router as auth
from lvyue.accounts.settings_web import router as account_settings
from lvyue.accounts.web import router as account_pages
from lvyue.analytics.web import router as dashboard_pages
from lvyue.catalog.api import router as catalog
from lvyue.channels.api import router as webhooks
from lvyue.channels.api import shops_router as shops
from lvyue.channels.web import router as shop_settings
from lvyue.core.db import engine_for
from lvyue.core.http import ERROR_RESPONSES, install_error_handlers
from lvyue.inventory.api import router as stock
from lvyue.inventory.api import warehouses_router as warehouses
from lvyue.inventory.settings_web import router as warehouse_settings
from lvyue.inventory.web import router as stock_pages
from lvyue.logistics.api import router as carriers
from lvyue.logistics.web import router as carrier_settings
from lvyue.orders.api import router as orders
from lvyue.orders.held_web import router as held_pages
from lvyue.orders.rules_api import router as rules
from lvyue.orders.rules_web import router as rule_pages
from lvyue.orders.web import router as order_pages
from lvyue.web.errors import install_page_errors
from lvyue.web.pages import STATIC_DIR, Pages, page_paths
from lvyue.webhooks.api import events_router
from lvyue.webhooks.api import router as outgoing_webhooks
from lvyue.webhooks.web import router as webhook_settings

# Packages whose templates/<capability>/ folders hold pages.
PAGE_PACKAGES = (
    "lvyue.accounts",
    "lvyue.orders",
    "lvyue.inventory",
    "lvyue.analytics",
    "lvyue.channels",
    "lvyue.logistics",
    "lvyue.webhooks",
)


def create_app(database_url: str | None = None) -> FastAPI:
    url = bootstrap.database_url(database_url)
    # Every operation documents the one error body for its error statuses.
    app = FastAPI(title="lvyue 履约", version=__version__, responses=ERROR_RESPONSES)
    app.state.engine = engine_for(url)
    app.include_router(webhooks)
    for router in (
        auth,
        orders,
        rules,
        stock,
        warehouses,
        catalog,
        shops,
        carriers,
        outgoing_webhooks,
        events_router,
        audit_log,
    ):
        app.include_router(router)
    # Pages: server-rendered, same app and same services as the API (ADR 0007).
    app.state.pages = Pages(PAGE_PACKAGES)
    settings_routers = (account_settings, shop_settings, warehouse_settings, carrier_settings)
    page_routers = (
        account_pages,
        order_pages,
        held_pages,
        rule_pages,
        stock_pages,
        dashboard_pages,
        *settings_routers,
        webhook_settings,
    )
    for router in page_routers:
        app.include_router(router)
    app.state.page_paths = page_paths(page_routers)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    install_page_errors(app)

    @app.get("/healthz", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
