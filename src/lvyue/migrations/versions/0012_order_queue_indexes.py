"""Order indexes for the review queue and buyer lookups.

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
    with op.batch_alter_table("orders_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_order_customer_id"))
        batch_op.create_index("ix_orders_order_customer_status", ["customer_id", "status"])
        batch_op.create_index(
            "ix_orders_order_review_queue", ["id"], postgresql_where=QUEUE, sqlite_where=QUEUE
        )


def downgrade() -> None:
    with op.batch_alter_table("orders_order", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_order_review_queue")
        batch_op.drop_index("ix_orders_order_customer_status")
        batch_op.create_index(batch_op.f("ix_orders_order_customer_id"), ["customer_id"])
