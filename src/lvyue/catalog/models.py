"""Catalogue tables: products (styles), SKUs (variants), barcodes and bundle components."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lvyue.core.db import Base, Money

HANDLING_TAGS = frozenset({"fresh", "bulky", "fragile", "frozen", "liquid", "battery"})


class Product(Base):
    __tablename__ = "catalog_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(100), default="", index=True)


class Sku(Base):
    __tablename__ = "catalog_sku"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_product.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # Spec attributes in display order, e.g. {"颜色": "白色", "尺码": "M"}.
    spec: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    spec_text: Mapped[str] = mapped_column(sa.String(200), default="")
    category: Mapped[str] = mapped_column(sa.String(100), default="")
    price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    weight_g: Mapped[int] = mapped_column(default=0)
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    is_bundle: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        sa.CheckConstraint("weight_g >= 0", name="weight_nonneg"),
        sa.CheckConstraint("price >= 0 AND cost >= 0", name="money_nonneg"),
    )


class Barcode(Base):
    """A SKU may carry several barcodes (EAN on the box, the merchant's own label...)."""

    __tablename__ = "catalog_barcode"

    barcode: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_sku.id"), index=True)


class BundleComponent(Base):
    __tablename__ = "catalog_bundle_component"

    bundle_sku_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_sku.id"), primary_key=True)
    component_sku_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_sku.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column()

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="qty_pos"),)
