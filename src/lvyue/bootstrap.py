"""Wiring: every capability's tables and event handlers, and database set-up.

This is the one module that knows all capabilities; it sits above them in the layer order.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from lvyue.accounts import models as _accounts  # noqa: F401  (registers tables)
from lvyue.catalog import models as _catalog  # noqa: F401
from lvyue.channels import handlers as channel_handlers
from lvyue.channels import models as _channels  # noqa: F401
from lvyue.config import get_settings
from lvyue.core import models as _core  # noqa: F401
from lvyue.core.db import Base, engine_for
from lvyue.customers import models as _customers  # noqa: F401
from lvyue.inventory import models as _inventory  # noqa: F401
from lvyue.logistics import models as _logistics  # noqa: F401
from lvyue.orders import models as _orders  # noqa: F401
from lvyue.webhooks import handlers as webhook_handlers
from lvyue.webhooks import models as _webhooks  # noqa: F401

MIGRATIONS = Path(__file__).parent / "migrations"

metadata = Base.metadata


def database_url(url: str | None = None) -> str:
    return url or get_settings().database_url


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Bring the database to the newest schema (what ``lvyue init`` runs)."""
    engine = engine_for(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def reset(url: str) -> None:
    """Drop every lvyue table and build the schema again (demo and tests only)."""
    engine = engine_for(url)
    with engine.begin() as conn:
        # Reflect what is really there: tables of an older or newer schema go too.
        existing = sa.MetaData()
        existing.reflect(conn)
        existing.drop_all(conn)
    upgrade(url)


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def wire() -> None:
    """Subscribe every capability's event handlers (idempotent)."""
    channel_handlers.register()
    webhook_handlers.register()


wire()
