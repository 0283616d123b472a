"""Orders in known states, through the real services."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lvyue.core.eventlog import LOG
from lvyue.orders import queries
from tests.factories import canonical, import_dicts, process_all


def allocated_order(uow: Any, external_id: str, sku: str = "A", qty: int = 1) -> int:
    """Import and run the pipeline for one order; return its id."""
    import_dicts(uow, [canonical(external_id, [(sku, qty)])])
    process_all(uow)
    with uow(readonly=True) as u:
        return int(next(o["id"] for o in queries.list_orders(u) if o["external_id"] == external_id))


def log_rows(engine: Any, type_: str | None = None) -> list[Any]:
    stmt = sa.select(LOG).order_by(LOG.c.id)
    with engine.connect() as conn:
        rows = list(conn.execute(stmt))
    return [r for r in rows if type_ is None or r.type == type_]
