"""the audit log refuses deletes as well as updates

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25 09:00:00

0010 made ``accounts_audit`` refuse ``UPDATE``; a ``DELETE`` still went through, so history
could be erased row by row. The same kind of trigger now refuses that too. (Dropping or
truncating the table stays possible for its owner, as for any table.)
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The function of 0010 raises whatever the operation; it serves both triggers.
        op.execute(
            "CREATE TRIGGER accounts_audit_no_delete BEFORE DELETE ON accounts_audit "
            "FOR EACH ROW EXECUTE FUNCTION accounts_audit_no_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER accounts_audit_no_delete BEFORE DELETE ON accounts_audit "
            "BEGIN SELECT RAISE(ABORT, 'accounts_audit is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS accounts_audit_no_delete ON accounts_audit")
    else:
        op.execute("DROP TRIGGER IF EXISTS accounts_audit_no_delete")
