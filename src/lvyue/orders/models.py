"""Order tables: shops, orders, lines, current holds and the status history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lvyue.core.clock import now
from lvyue.core.db import Base, BigId, Money, UTCDateTime
from lvyue.core.pii import PHONE_INDEX_OF, EncryptedText


class Shop(Base):
    """One account on one platform. Connection settings live in ``channels`` (ADR 0002)."""

    __tablename__ = "orders_shop"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    platform: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(100))
    order_type: Mapped[str] = mapped_column(sa.String(16), default="online")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Order(Base):
    __tablename__ = "orders_order"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_shop.id"))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    order_type: Mapped[str] = mapped_column(sa.String(16), default="online")
    status: Mapped[str] = mapped_column(sa.String(20))
    channel_status: Mapped[str] = mapped_column(sa.String(16))
    # Digest of the canonical payload: the same order imported twice changes nothing.
    content_hash: Mapped[str] = mapped_column(sa.String(32))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    # Indexed: customer service finds a buyer's orders by the platform's buyer id.
    buyer_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    buyer_nick: Mapped[str | None] = mapped_column(EncryptedText())
    # Receiver exactly as the channel sent it; never overwritten by normalisation. Name, phone,
    # street and door are encrypted (ADR 0006); province, city and district stay plain for
    # reports and rules.
    receiver_name: Mapped[str | None] = mapped_column(EncryptedText())
    receiver_phone: Mapped[str | None] = mapped_column(EncryptedText())
    receiver_province: Mapped[str | None] = mapped_column(sa.String(32))
    receiver_city: Mapped[str | None] = mapped_column(sa.String(32))
    receiver_district: Mapped[str | None] = mapped_column(sa.String(32))
    receiver_address: Mapped[str] = mapped_column(EncryptedText(), default="")
    receiver_zip: Mapped[str | None] = mapped_column(sa.String(16))
    # The parsed and completed address (geo), next to the original.
    addr_province: Mapped[str | None] = mapped_column(sa.String(32))
    addr_city: Mapped[str | None] = mapped_column(sa.String(32))
    addr_district: Mapped[str | None] = mapped_column(sa.String(32))
    addr_street: Mapped[str | None] = mapped_column(EncryptedText())
    addr_detail: Mapped[str | None] = mapped_column(EncryptedText())
    phone_number: Mapped[str | None] = mapped_column(EncryptedText())
    phone_extension: Mapped[str | None] = mapped_column(sa.String(10))
    # Keyed hash of the phone (digits only): finds an order by phone without decrypting.
    receiver_phone_hash: Mapped[str | None] = mapped_column(
        sa.String(24), index=True, info={PHONE_INDEX_OF: ("phone_number", "receiver_phone")}
    )
    # Issue codes from address and phone checks; review turns them into hold reasons.
    address_issues: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    goods_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    shipping_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    total_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    item_count: Mapped[int] = mapped_column(default=0)
    buyer_message: Mapped[str] = mapped_column(sa.Text, default="")
    seller_memo: Mapped[str] = mapped_column(sa.Text, default="")
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    warehouse_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inventory_warehouse.id"))
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers_customer.id"))
    # 华东, 华南, ... from the receiver's province: for reports and rules.
    region: Mapped[str | None] = mapped_column(sa.String(8))
    # An order split off another (partial shipment, operator split) points at its origin.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders_order.id"))
    # Orders of one buyer and address shipped as one parcel share a merge group (合单).
    merge_group: Mapped[int | None] = mapped_column(sa.BigInteger)
    # What to do when stock is short: wait, partial, cancel_short (None: the merchant default).
    oversell_policy: Mapped[str | None] = mapped_column(sa.String(16))
    # What review decided and why: [{"source": "rule:...@v2" | "check:...", "outcome", "detail"}].
    review_log: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON, default=list)
    # Roles that still must approve a manual review, in order; rules a person approved.
    review_steps: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    approved_rules: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Same buyer, address and items: orders sharing it within a day are suspected duplicates.
    dup_key: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    lines_hash: Mapped[str | None] = mapped_column(sa.String(32))
    buyer_id_number: Mapped[str | None] = mapped_column(EncryptedText())
    customs_data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    service_code: Mapped[str | None] = mapped_column(sa.String(24))
    shipping_cost: Mapped[Decimal | None] = mapped_column(Money)
    carrier_code: Mapped[str | None] = mapped_column(sa.String(16))
    tracking_no: Mapped[str | None] = mapped_column(sa.String(40))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("shop_id", "external_id"),
        # A buyer's orders in a status (merge targets, customer pages): stays an index lookup
        # however many orders the other statuses hold.
        sa.Index("ix_orders_order_customer_status", "customer_id", "status"),
        # Orders by status, with the warehouse beside it: a warehouse user's tab counts are
        # read from the index alone.
        sa.Index("ix_orders_order_status", "status", "warehouse_id"),
        # The workbench: a status tab newest first, paged by keyset (ordered_at, id), is one
        # index walk however many orders the status holds.
        sa.Index("ix_orders_order_status_ordered", "status", "ordered_at", "id"),
        # ... and sorted by amount (biggest first), in a tab or across all orders.
        sa.Index("ix_orders_order_amount", "total_amount", "id"),
        # The review queue: only the orders the pipeline may move, so finding the next batch
        # does not walk the million orders already allocated or shipped.
        sa.Index(
            "ix_orders_order_review_queue",
            "id",
            postgresql_where=sa.text("status IN ('pending_review', 'held')"),
            sqlite_where=sa.text("status IN ('pending_review', 'held')"),
        ),
        # Split origin, merge group, tracking number: most orders have none, and an order is
        # written (and its review update re-indexed) without them until it has one.
        *(
            sa.Index(
                f"ix_orders_order_{col}",
                col,
                postgresql_where=sa.text(f"{col} IS NOT NULL"),
                sqlite_where=sa.text(f"{col} IS NOT NULL"),
            )
            for col in ("parent_id", "merge_group", "tracking_no")
        ),
    )


class OrderLine(Base):
    __tablename__ = "orders_order_line"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int] = mapped_column()
    sku_code: Mapped[str] = mapped_column(sa.String(64))  # as the channel sent it
    # None: unknown. Indexed: the workbench finds the orders of a SKU.
    sku_id: Mapped[int | None] = mapped_column(sa.ForeignKey("catalog_sku.id"), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    spec: Mapped[str | None] = mapped_column(sa.String(200))
    quantity: Mapped[int] = mapped_column()
    unit_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reserved: Mapped[int] = mapped_column(default=0)
    shipped: Mapped[int] = mapped_column(default=0)
    # Units cancelled because stock was short (the line's quantity no longer counts them).
    cancelled: Mapped[int] = mapped_column(default=0)
    channel_line_id: Mapped[str | None] = mapped_column(sa.String(64))
    channel_sku_id: Mapped[str | None] = mapped_column(sa.String(64))
    refund_status: Mapped[str] = mapped_column(sa.String(16), default="none")

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="qty_pos"),
        sa.CheckConstraint("reserved >= 0 AND reserved <= quantity", name="reserved_range"),
    )


class OrderHold(Base):
    """A reason an order is held now. Resolved holds are deleted; the history keeps them."""

    __tablename__ = "orders_order_hold"

    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    detail: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (sa.Index("ix_orders_order_hold_code", "code"),)


class OrderHistory(Base):
    __tablename__ = "orders_order_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders_order.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    actor: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class SkuMapping(Base):
    """A channel's SKU code (outer code, platform SKU id) mapped by an operator to our SKU."""

    __tablename__ = "orders_sku_mapping"

    shop_id: Mapped[int] = mapped_column(sa.ForeignKey("orders_shop.id"), primary_key=True)
    channel_sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_sku.id"))
    # The platform's product id where stock pushes need it (Taobao num_iid, PDD goods_id...).
    channel_item: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by: Mapped[str] = mapped_column(sa.String(64), default="system")


class ReviewRule(Base):
    """A merchant rule, versioned: editing a rule adds a version and retires the old one."""

    __tablename__ = "orders_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[int] = mapped_column()
    priority: Mapped[int] = mapped_column()
    enabled: Mapped[bool] = mapped_column()
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by: Mapped[str] = mapped_column(sa.String(64), default="system")

    __table_args__ = (
        sa.UniqueConstraint("name", "version"),
        sa.Index("ix_orders_rule_active", "active"),
    )
