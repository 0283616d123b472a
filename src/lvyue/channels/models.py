"""Channel tables: how to reach a shop, every raw payload, stock push state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lvyue.core.clock import now
from lvyue.core.db import Base, BigId, UTCDateTime
from lvyue.core.pii import ENCRYPTED, EncryptedText


class ShopConnection(Base):
    """API access and sync state of one shop (the shop itself is ``orders_shop``, ADR 0002)."""

    __tablename__ = "channels_shop_connection"

    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_shop.id"), primary_key=True)
    base_url: Mapped[str] = mapped_column(sa.String(300), default="")
    # JSON of app_key / app_secret / token, encrypted with the instance key; never printed.
    secrets: Mapped[str] = mapped_column(sa.Text, default="", info={ENCRYPTED: "fernet"})
    # High-water mark of the last complete pull; the next pull starts a little before it.
    cursor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_status: Mapped[str] = mapped_column(sa.String(16), default="never")
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    # Stock push rule: {"percent": 100, "buffer": 0, "warehouses": [...], "max": null}
    stock_rule: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class RawOrderRecord(Base):
    """Every distinct payload a channel sent, verbatim, stored before it is parsed."""

    __tablename__ = "channels_raw_order"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_shop.id"))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The buyer's name, phone and address are in it: encrypted as a whole (ADR 0006).
    payload: Mapped[str] = mapped_column(EncryptedText())
    payload_hash: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(16))  # pull | webhook | file
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending|imported|error
    # Parse errors may quote the payload's values: encrypted too.
    error: Mapped[str] = mapped_column(EncryptedText(), default="")

    __table_args__ = (
        sa.UniqueConstraint("shop_id", "external_id", "payload_hash"),
        sa.Index("ix_channels_raw_order_status", "status"),
    )


class StockPush(Base):
    """What was last pushed for a SKU to a shop, so unchanged quantities are not re-sent."""

    __tablename__ = "channels_stock_push"

    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_shop.id"), primary_key=True)
    channel_sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column()
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
