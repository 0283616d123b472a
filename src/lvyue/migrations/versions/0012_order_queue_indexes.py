"""Order indexes for the review queue and buyer lookups.

Plain index operations (no batch mode): SQLite must not rebuild orders_order, whose lines
would go with it through ON DELETE CASCADE.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

QUEUE = sa.text("status IN ('pending_review', 'held')")


def upgrade() -> None:
    op.drop_index("ix_orders_order_customer_id", table_name="orders_order")
    op.create_index("ix_orders_order_customer_status", "orders_order", ["customer_id", "status"])
    op.create_index(
        "ix_orders_order_review_queue",
        "orders_order",
        ["id"],
        postgresql_where=QUEUE,
        sqlite_where=QUEUE,
    )


def downgrade() -> None:
    op.drop_index("ix_orders_order_review_queue", table_name="orders_order")
    op.drop_index("ix_orders_order_customer_status", table_name="orders_order")
    op.create_index("ix_orders_order_customer_id", "orders_order", ["customer_id"])
