"""Catalogue reads for the API and pages. Never writes."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from lvyue.catalog.models import Barcode, BundleComponent, Product, Sku
from lvyue.core.db import table_of
from lvyue.core.errors import NotFound
from lvyue.core.uow import UnitOfWork

PRODUCT = table_of(Product)
SKU = table_of(Sku)
BARCODE = table_of(Barcode)
BUNDLE = table_of(BundleComponent)

_COLUMNS = (
    SKU.c.id,
    SKU.c.code,
    SKU.c.name,
    PRODUCT.c.code.label("product"),
    SKU.c.spec,
    SKU.c.spec_text,
    SKU.c.category,
    SKU.c.price,
    SKU.c.cost,
    SKU.c.weight_g,
    SKU.c.tags,
    SKU.c.is_bundle,
    SKU.c.active,
)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _barcodes(uow: UnitOfWork, sku_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if sku_ids:
        for sku_id, code in uow.conn.execute(
            sa.select(BARCODE.c.sku_id, BARCODE.c.barcode)
            .where(BARCODE.c.sku_id.in_(sku_ids))
            .order_by(BARCODE.c.barcode)
        ):
            found[sku_id].append(code)
    return found


def page_skus(
    uow: UnitOfWork, *, search: str | None = None, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """A page of SKUs by code, with the total. ``search`` matches an exact barcode, or
    part of the code or the name (case-insensitive)."""
    stmt = sa.select(*_COLUMNS).join(PRODUCT, PRODUCT.c.id == SKU.c.product_id)
    if search:
        pattern = _like(search.lower())
        stmt = stmt.where(
            sa.or_(
                SKU.c.id.in_(sa.select(BARCODE.c.sku_id).where(BARCODE.c.barcode == search)),
                sa.func.lower(SKU.c.code).like(pattern, escape="\\"),
                sa.func.lower(SKU.c.name).like(pattern, escape="\\"),
            )
        )
    total = uow.conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = list(uow.conn.execute(stmt.order_by(SKU.c.code).limit(limit).offset(offset)))
    codes = _barcodes(uow, [r.id for r in rows])
    items = [
        {**{k: v for k, v in r._mapping.items() if k != "id"}, "barcodes": codes.get(r.id, [])}
        for r in rows
    ]
    return {"items": items, "total": int(total)}


def get_sku(uow: UnitOfWork, code: str) -> dict[str, Any]:
    """One SKU with its barcodes and, for a bundle, its components."""
    row = uow.conn.execute(
        sa.select(*_COLUMNS)
        .join(PRODUCT, PRODUCT.c.id == SKU.c.product_id)
        .where(SKU.c.code == code)
    ).first()
    if row is None:
        raise NotFound(f"SKU {code} does not exist", code="unknown_sku")
    component = SKU.alias("component")
    components = [
        {"sku": c.code, "quantity": c.quantity}
        for c in uow.conn.execute(
            sa.select(component.c.code, BUNDLE.c.quantity)
            .join(component, component.c.id == BUNDLE.c.component_sku_id)
            .where(BUNDLE.c.bundle_sku_id == row.id)
            .order_by(component.c.code)
        )
    ]
    return {
        **{k: v for k, v in row._mapping.items() if k != "id"},
        "barcodes": _barcodes(uow, [row.id]).get(row.id, []),
        "components": components,
    }
