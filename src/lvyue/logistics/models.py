"""Carriers, their services (what each takes, where it goes) and rate tables."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lvyue.core.db import Base, Money


class Carrier(Base):
    """A courier company: 顺丰 SF, 中通 ZTO, 德邦 DBL ... (its code goes back to the channel)."""

    __tablename__ = "logistics_carrier"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)


class CarrierService(Base):
    """One product of a carrier (顺丰标快 SF-STD, 顺丰冷运 SF-COLD, 德邦大件 DBL-HEAVY)."""

    __tablename__ = "logistics_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_carrier.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(24), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # Handling tags it takes, among lvyue.logistics.selection.SERVICE_TAGS.
    handles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    max_weight_g: Mapped[int | None] = mapped_column()
    is_cold_chain: Mapped[bool] = mapped_column(default=False)
    # A freight / special line (专线) that takes large and heavy pieces.
    is_freight: Mapped[bool] = mapped_column(default=False)
    # Official province names it does not deliver to.
    excluded_provinces: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        sa.CheckConstraint("max_weight_g IS NULL OR max_weight_g > 0", name="max_weight_pos"),
    )


class Rate(Base):
    """Price of one service from an origin province ('*' = any) to a destination province:
    first weight at ``first_price``, then ``additional_price`` per started additional unit."""

    __tablename__ = "logistics_rate"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("logistics_service.id"))
    origin_province: Mapped[str] = mapped_column(sa.String(32))
    dest_province: Mapped[str] = mapped_column(sa.String(32))
    first_weight_g: Mapped[int] = mapped_column()
    first_price: Mapped[Decimal] = mapped_column(Money)
    additional_unit_g: Mapped[int] = mapped_column()
    additional_price: Mapped[Decimal] = mapped_column(Money)

    __table_args__ = (
        sa.UniqueConstraint("service_id", "origin_province", "dest_province"),
        sa.CheckConstraint("first_weight_g > 0", name="first_weight_pos"),
        sa.CheckConstraint("additional_unit_g > 0", name="additional_unit_pos"),
        sa.CheckConstraint("first_price >= 0", name="first_price_nonneg"),
        sa.CheckConstraint("additional_price >= 0", name="additional_price_nonneg"),
    )
