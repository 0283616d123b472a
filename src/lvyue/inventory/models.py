"""Warehouses, stock levels and the append-only stock ledger (DESIGN §6)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lvyue.core.clock import now
from lvyue.core.db import Base, BigId, UTCDateTime


class Warehouse(Base):
    __tablename__ = "inventory_warehouse"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    province: Mapped[str] = mapped_column(sa.String(32))
    city: Mapped[str] = mapped_column(sa.String(32))
    district: Mapped[str | None] = mapped_column(sa.String(32))
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    # Lower runs first when several warehouses could ship an order.
    priority: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)


class StockLevel(Base):
    """Current quantities of one SKU in one warehouse; always equal to the ledger's sums."""

    __tablename__ = "inventory_stock_level"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_sku.id"))
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"), index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # Alert (stock.low) when available falls to or below this; None: the global setting.
    low_stock_threshold: Mapped[int | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (
        sa.UniqueConstraint("sku_id", "warehouse_id"),
        # The database itself refuses an oversold or negative level, whatever the code does.
        sa.CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
        sa.CheckConstraint("reserved >= 0", name="reserved_nonneg"),
        sa.CheckConstraint("reserved <= on_hand", name="not_oversold"),
    )


AVAILABILITY_UP = "on_hand_delta - reserved_delta > 0"


class StockMove(Base):
    """One change of stock. Never updated or deleted: levels are the running sum of these."""

    __tablename__ = "inventory_stock_move"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_sku.id"))
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # see inventory.ledger.MoveKind
    on_hand_delta: Mapped[int] = mapped_column(default=0)
    reserved_delta: Mapped[int] = mapped_column(default=0)
    doc_type: Mapped[str] = mapped_column(sa.String(16), default="")
    doc_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    actor: Mapped[str] = mapped_column(sa.String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (
        sa.Index("ix_inventory_stock_move_doc", "doc_type", "doc_id"),
        sa.Index("ix_inventory_stock_move_sku_wh", "sku_id", "warehouse_id"),
        # Moves that made stock available (receipts, releases, upward counts): the latest one
        # tells orders waiting for stock whether a new look can help.
        sa.Index(
            "ix_inventory_stock_move_increase",
            "created_at",
            postgresql_where=sa.text(AVAILABILITY_UP),
            sqlite_where=sa.text(AVAILABILITY_UP),
        ),
    )
