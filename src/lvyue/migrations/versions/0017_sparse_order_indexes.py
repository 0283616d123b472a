"""Order indexes on columns most orders leave empty (split origin, merge group, tracking
number) hold only the rows that have a value: an order is written without touching them until
it is split, merged or shipped, and its review update (not HOT on PostgreSQL: the status is
indexed) adds three index entries fewer. Look-ups by value (``col = x``) still use them.

Plain index operations (no batch mode): SQLite must not rebuild orders_order, whose lines
would go with it through ON DELETE CASCADE.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SPARSE = ("parent_id", "merge_group", "tracking_no")


def upgrade() -> None:
    for column in SPARSE:
        name = f"ix_orders_order_{column}"
        where = sa.text(f"{column} IS NOT NULL")
        op.drop_index(name, table_name="orders_order")
        op.create_index(name, "orders_order", [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for column in SPARSE:
        name = f"ix_orders_order_{column}"
        op.drop_index(name, table_name="orders_order")
        op.create_index(name, "orders_order", [column])
