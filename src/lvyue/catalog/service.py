"""Catalogue use cases: import products, SKUs, barcodes and bundles."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from lvyue.catalog.models import HANDLING_TAGS, Barcode, BundleComponent, Product, Sku
from lvyue.catalog.specs import CatalogRow, RowError, parse_catalog_row, spec_text
from lvyue.core.db import table_of
from lvyue.core.errors import ValidationError
from lvyue.core.uow import UnitOfWork

PRODUCT = table_of(Product)
SKU = table_of(Sku)
BARCODE = table_of(Barcode)
BUNDLE = table_of(BundleComponent)


@dataclass
class CatalogImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _product_code(name: str) -> str:
    # Products are keyed by name when the file has no product column; a short digest keeps
    # the code stable and within the column size.
    return "P-" + hashlib.md5(name.encode("utf-8")).hexdigest()[:12].upper()


def import_catalog(
    uow: UnitOfWork, rows: Iterable[tuple[int, dict[str, str | None]]]
) -> CatalogImportReport:
    """Insert or update SKUs by code. A bad row is reported by its line number and skipped;
    the good rows are kept. Bundles may name components defined before or in the same file."""
    report = CatalogImportReport()
    parsed: list[tuple[int, CatalogRow]] = []
    for line_no, raw in rows:
        try:
            parsed.append((line_no, parse_catalog_row(raw, HANDLING_TAGS)))
        except RowError as exc:
            report.rejected.append((line_no, str(exc)))
    conn = uow.conn
    products = dict(conn.execute(sa.select(PRODUCT.c.code, PRODUCT.c.id)).all())
    skus = dict(conn.execute(sa.select(SKU.c.code, SKU.c.id)).all())
    barcode_owner = dict(conn.execute(sa.select(BARCODE.c.barcode, BARCODE.c.sku_id)).all())
    # Plain SKUs first, so a bundle may name components that come later in the same file.
    parsed.sort(key=lambda item: bool(item[1].components))
    for line_no, row in parsed:
        missing = [c for c, _ in row.components if c not in skus]
        if missing:
            report.rejected.append((line_no, f"components: unknown SKU {', '.join(missing)}"))
            continue
        clash = [b for b in row.barcodes if barcode_owner.get(b) not in (None, skus.get(row.sku))]
        if clash:
            report.rejected.append(
                (line_no, f"barcode: {', '.join(clash)} already belongs to another SKU")
            )
            continue
        pcode = row.product if row.product != row.name else _product_code(row.name)
        if pcode not in products:
            res = conn.execute(
                sa.insert(PRODUCT).values(code=pcode, name=row.name, category=row.category)
            )
            assert res.inserted_primary_key is not None
            products[pcode] = int(res.inserted_primary_key[0])
        values = {
            "product_id": products[pcode],
            "name": row.name,
            "spec": row.spec,
            "spec_text": spec_text(row.spec),
            "category": row.category,
            "price": row.price,
            "cost": row.cost,
            "weight_g": row.weight_g,
            "tags": row.tags,
            "is_bundle": bool(row.components),
            "active": True,
        }
        if row.sku in skus:
            conn.execute(sa.update(SKU).where(SKU.c.id == skus[row.sku]).values(**values))
            report.updated += 1
        else:
            res = conn.execute(sa.insert(SKU).values(code=row.sku, **values))
            assert res.inserted_primary_key is not None
            skus[row.sku] = int(res.inserted_primary_key[0])
            report.created += 1
        sku_id = skus[row.sku]
        for b in row.barcodes:
            if b not in barcode_owner:
                conn.execute(sa.insert(BARCODE).values(barcode=b, sku_id=sku_id))
                barcode_owner[b] = sku_id
        if row.components:
            conn.execute(sa.delete(BUNDLE).where(BUNDLE.c.bundle_sku_id == sku_id))
            merged: dict[str, int] = {}
            for c, q in row.components:
                merged[c] = merged.get(c, 0) + q
            conn.execute(
                sa.insert(BUNDLE),
                [
                    {"bundle_sku_id": sku_id, "component_sku_id": skus[c], "quantity": q}
                    for c, q in merged.items()
                ],
            )
    report.rejected.sort()
    return report


def save_sku(uow: UnitOfWork, row: dict[str, str | None]) -> bool:
    """Create or update one SKU from the fields of a catalogue row (see ``import_catalog``);
    returns True when it was created. A bad field is raised, naming the field."""
    report = import_catalog(uow, [(1, row)])
    if report.rejected:
        field, _, problem = report.rejected[0][1].partition(": ")
        raise ValidationError(field, problem)
    return report.created == 1
