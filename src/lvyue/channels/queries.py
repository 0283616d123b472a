"""Channel reads for the API and pages. Never writes, never decrypts."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from lvyue.channels.models import RawOrderRecord, ShopConnection
from lvyue.core.db import table_of
from lvyue.core.errors import NotFound
from lvyue.core.uow import UnitOfWork
from lvyue.orders.models import Shop

CONN = table_of(ShopConnection)
SHOP = table_of(Shop)
RAW = table_of(RawOrderRecord)


def _shops(uow: UnitOfWork, where: Any = None) -> list[dict[str, Any]]:
    stmt = (
        sa.select(
            SHOP.c.code,
            SHOP.c.platform,
            SHOP.c.name,
            SHOP.c.order_type,
            SHOP.c.active,
            SHOP.c.created_at,
            sa.func.coalesce(CONN.c.base_url, "").label("base_url"),
            (sa.func.coalesce(CONN.c.secrets, "") != "").label("has_credentials"),
            CONN.c.last_sync_at,
            sa.func.coalesce(CONN.c.last_sync_status, "never").label("last_sync_status"),
        )
        .outerjoin(CONN, CONN.c.shop_id == SHOP.c.id)
        .order_by(SHOP.c.code)
    )
    if where is not None:
        stmt = stmt.where(where)
    return [
        {**r._mapping, "base_url": without_credentials(r.base_url)} for r in uow.conn.execute(stmt)
    ]


def without_credentials(url: str) -> str:
    """A base URL may carry credentials (user:password@host, ?key=...): show where, not how."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")) if host else ""


def list_shops(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every shop with how it is reached and its last sync; whether credentials are stored,
    never what they are."""
    return _shops(uow)


def get_shop(uow: UnitOfWork, code: str) -> dict[str, Any]:
    found = _shops(uow, SHOP.c.code == code)
    if not found:
        raise NotFound(f"shop {code} does not exist", code="unknown_shop")
    return found[0]


def shop_overview(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every shop as the settings page shows it: ``list_shops`` plus ``error_count`` (stored
    payloads that could not be imported) and ``last_error`` when the last sync failed as a
    whole (a transport or platform error, stored with the shop's secrets blanked). The
    messages of a partial sync quote payloads (personal data) and are left out."""
    errors: dict[int, int] = dict(
        uow.conn.execute(
            sa.select(RAW.c.shop_id, sa.func.count())
            .where(RAW.c.status == "error")
            .group_by(RAW.c.shop_id)
        ).all()
    )
    ids: dict[str, int] = dict(uow.conn.execute(sa.select(SHOP.c.code, SHOP.c.id)).all())
    failures: dict[int, str] = dict(
        uow.conn.execute(
            sa.select(CONN.c.shop_id, CONN.c.last_error).where(CONN.c.last_sync_status == "error")
        ).all()
    )
    return [
        {
            **shop,
            "error_count": int(errors.get(ids[shop["code"]], 0)),
            "last_error": failures.get(ids[shop["code"]], ""),
        }
        for shop in _shops(uow)
    ]
