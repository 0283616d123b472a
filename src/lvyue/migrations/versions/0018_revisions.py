"""Revision tokens of reference data (``core.revisions``): the order pipeline keeps the carrier
services and their rate tables between batches while their token stays the same.

Triggers replace the token on every write to carriers, services and rates, whoever writes
(the services, the settings pages, an administrator's SQL), so a kept copy cannot go stale.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

SERVICES = "logistics.services"
TABLES = ("logistics_carrier", "logistics_service", "logistics_rate")


def upgrade() -> None:
    op.create_table(
        "core_revision",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION core_revision_logistics() RETURNS trigger AS $$
            BEGIN
                INSERT INTO core_revision (name, token)
                VALUES ('{SERVICES}', floor(random() * 4611686018427387903)::bigint)
                ON CONFLICT (name) DO UPDATE SET token = excluded.token;
                RETURN NULL;
            END $$ LANGUAGE plpgsql
            """
        )
        for table in TABLES:  # once per statement, however many rows it wrote
            op.execute(
                f"CREATE TRIGGER {table}_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION core_revision_logistics()"
            )
    else:
        for table in TABLES:
            for verb in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_revision_{verb.lower()} AFTER {verb} ON {table} "
                    f"BEGIN INSERT OR REPLACE INTO core_revision (name, token) "
                    f"VALUES ('{SERVICES}', random()); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_revision ON {table}")
        op.execute("DROP FUNCTION IF EXISTS core_revision_logistics()")
    else:
        for table in TABLES:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_revision_{verb}")
    op.drop_table("core_revision")
