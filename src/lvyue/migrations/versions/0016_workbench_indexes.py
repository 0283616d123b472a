"""Order indexes for the web workbench: status tab by time, amount, buyer id, SKU of a line;
the status index carries the warehouse (scoped tab counts from the index alone).

Plain index operations (no batch mode): SQLite must not rebuild orders_order, whose lines
would go with it through ON DELETE CASCADE.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_orders_order_status", table_name="orders_order")
    op.create_index("ix_orders_order_status", "orders_order", ["status", "warehouse_id"])
    op.create_index(
        "ix_orders_order_status_ordered", "orders_order", ["status", "ordered_at", "id"]
    )
    op.create_index("ix_orders_order_amount", "orders_order", ["total_amount", "id"])
    op.create_index("ix_orders_order_buyer_id", "orders_order", ["buyer_id"])
    op.create_index("ix_orders_order_line_sku_id", "orders_order_line", ["sku_id"])


def downgrade() -> None:
    op.drop_index("ix_orders_order_line_sku_id", table_name="orders_order_line")
    op.drop_index("ix_orders_order_buyer_id", table_name="orders_order")
    op.drop_index("ix_orders_order_amount", table_name="orders_order")
    op.drop_index("ix_orders_order_status_ordered", table_name="orders_order")
    op.drop_index("ix_orders_order_status", table_name="orders_order")
    op.create_index("ix_orders_order_status", "orders_order", ["status"])
