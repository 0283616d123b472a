"""Index of the stock moves that made stock available (orders waiting for stock look at it).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UP = sa.text("on_hand_delta - reserved_delta > 0")


def upgrade() -> None:
    op.create_index(
        "ix_inventory_stock_move_increase",
        "inventory_stock_move",
        ["created_at"],
        postgresql_where=UP,
        sqlite_where=UP,
    )


def downgrade() -> None:
    op.drop_index("ix_inventory_stock_move_increase", table_name="inventory_stock_move")
