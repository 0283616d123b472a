"""Which of our SKUs a channel's order line means.

In order: the shop's mapping table (set by operators), our SKU code, a barcode, the platform's
SKU id in the mapping table, and finally the spec: a line whose title contains one product's
name and whose spec has the same values (``颜色:白色;尺码:M`` = ``白色 M码``) matches that SKU,
but only when exactly one SKU fits. Never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import sqlalchemy as sa

from lvyue.catalog.models import Barcode, Sku
from lvyue.catalog.specs import spec_key
from lvyue.core.db import in_clauses, table_of
from lvyue.core.uow import UnitOfWork
from lvyue.orders.models import SkuMapping

SKU = table_of(Sku)
BARCODE = table_of(Barcode)
MAPPING = table_of(SkuMapping)


class LineRef(NamedTuple):
    """How a channel line names its SKU; a tuple, so building and hashing one (several per
    order) runs in C."""

    code: str
    channel_sku_id: str | None = None
    name: str | None = None
    spec: str | None = None


def _lookup(
    uow: UnitOfWork, stmt: sa.Select[Any], key: sa.ColumnElement[Any], keys: list[str]
) -> dict[str, int]:
    """(key, sku id) rows of ``stmt`` whose ``key`` is one of ``keys``."""
    found: dict[str, int] = {}
    for cond in in_clauses(uow.conn, key, keys):
        found.update(uow.conn.execute(stmt.where(cond)).all())
    return found


def resolve_lines(uow: UnitOfWork, shop_id: int, refs: Iterable[LineRef]) -> dict[LineRef, int]:
    refs = set(refs)
    if not refs:
        return {}
    keys = sorted({r.code for r in refs} | {r.channel_sku_id for r in refs if r.channel_sku_id})
    mapped = _lookup(
        uow,
        sa.select(MAPPING.c.channel_sku, MAPPING.c.sku_id).where(MAPPING.c.shop_id == shop_id),
        MAPPING.c.channel_sku,
        keys,
    )
    codes = sorted({r.code for r in refs} - set(mapped))
    ours = _lookup(uow, sa.select(SKU.c.code, SKU.c.id), SKU.c.code, codes)
    rest = [c for c in codes if c not in ours]
    barcodes = _lookup(uow, sa.select(BARCODE.c.barcode, BARCODE.c.sku_id), BARCODE.c.barcode, rest)
    found: dict[LineRef, int] = {}
    for r in refs:
        sku = mapped.get(r.code) or ours.get(r.code) or barcodes.get(r.code)
        if sku is None and r.channel_sku_id:
            sku = mapped.get(r.channel_sku_id)
        if sku is not None:
            found[r] = sku
    by_spec = [r for r in refs if r not in found and r.name and r.spec]
    if by_spec:
        found.update(_match_by_spec(uow, by_spec))
    return found


def _match_by_spec(uow: UnitOfWork, refs: list[LineRef]) -> dict[LineRef, int]:
    # Rare path (a line with no usable code): scanning the active SKUs with a spec is fine.
    candidates = [
        (row.id, row.name, spec_key(row.spec_text))
        for row in uow.conn.execute(
            sa.select(SKU.c.id, SKU.c.name, SKU.c.spec_text).where(
                SKU.c.active.is_(True), SKU.c.spec_text != ""
            )
        ).all()
    ]
    found: dict[LineRef, int] = {}
    for r in refs:
        key = spec_key(r.spec)
        hits = [sid for sid, name, k in candidates if k == key and name and name in (r.name or "")]
        if len(hits) == 1:
            found[r] = hits[0]
    return found
