"""personal data encrypted at rest, phone searchable by keyed hash (ADR 0006)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 09:00:00

Widens the personal-data columns to TEXT (a ciphertext is longer than its plain text), adds
``orders_order.receiver_phone_hash`` and ``customers_identity.phone``, and encrypts what is
already stored, in batches, with the current ``LVYUE_SECRET_KEY``. Values that already
decrypt are left alone, so an interrupted upgrade can simply be run again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from lvyue.core.crypto import phone_index, pii_keyring
from lvyue.core.errors import LvyueError

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 1000
# column: (length before, nullable)
ORDER_PII = {
    "buyer_nick": (100, True),
    "receiver_name": (100, True),
    "receiver_phone": (40, True),
    "receiver_address": (300, False),
    "addr_street": (64, True),
    "addr_detail": (300, True),
    "phone_number": (20, True),
    "buyer_id_number": (32, True),
}
CUSTOMER_PII = {"display_name": (100, False)}
RAW_PII = ("payload", "error")
PHONE_INDEX = "ix_orders_order_receiver_phone_hash"


def _retype(table: str, column: str, new: sa.types.TypeEngine[Any], old: Any, null: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column(table, column, type_=new, existing_type=old, existing_nullable=null)
        return
    # SQLite cannot change a column's type, and rebuilding the table (Alembic's batch mode)
    # would cascade-delete the order lines: foreign keys stay on inside the migration's
    # transaction. A new column, a copy, then drop and rename keep every row where it is.
    tmp = f"{column}__new"
    ddl = new.compile(dialect=bind.dialect) + ("" if null else " NOT NULL DEFAULT ''")
    op.execute(f"ALTER TABLE {table} ADD COLUMN {tmp} {ddl}")
    op.execute(f"UPDATE {table} SET {tmp} = {column}")
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {tmp} TO {column}")


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # no table rebuild (see above)
    else:
        op.drop_column(table, column)


def _seal(value: str | None) -> str | None:
    if not value:
        return value
    keyring = pii_keyring()
    try:
        keyring.decrypt(value)
        return value  # already encrypted: a re-run after an interruption
    except LvyueError:
        return keyring.encrypt(value)


def _open(value: str | None) -> str | None:
    if not value:
        return value
    try:
        return pii_keyring().decrypt(value)
    except LvyueError:
        return value  # never encrypted


def _convert(
    table: str,
    columns: tuple[str, ...],
    convert: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    """Rewrite ``columns`` of every row in id order, BATCH rows per statement."""
    conn = op.get_bind()
    t = sa.table(table, sa.column("id", sa.Integer), *(sa.column(c, sa.Text) for c in columns))
    write = (
        sa.update(t)
        .where(t.c.id == sa.bindparam("k"))
        .values({c: sa.bindparam(f"v_{c}") for c in columns})
    )
    last = 0
    while True:
        rows = conn.execute(sa.select(t).where(t.c.id > last).order_by(t.c.id).limit(BATCH)).all()
        if not rows:
            return
        updates = []
        for row in rows:
            new = convert(dict(row._mapping))
            updates.append({"k": row.id, **{f"v_{c}": new[c] for c in columns}})
        conn.execute(write, updates)
        last = rows[-1].id


def _seal_order(row: dict[str, Any]) -> dict[str, Any]:
    plain = {c: _open(row[c]) for c in ORDER_PII}
    return {
        **{c: _seal(row[c]) for c in ORDER_PII},
        "receiver_phone_hash": phone_index(plain["phone_number"] or plain["receiver_phone"]),
    }


def _identities(seal: bool) -> None:
    """Phone identities: plain value -> keyed hash + encrypted copy, or back."""
    conn = op.get_bind()
    t = sa.table(
        "customers_identity",
        sa.column("kind", sa.String),
        sa.column("value", sa.String),
        sa.column("phone", sa.Text),
    )
    todo = (t.c.phone.is_(None) if seal else t.c.phone.is_not(None)) & (t.c.kind == "phone")
    write = (
        sa.update(t)
        .where(t.c.kind == "phone", t.c.value == sa.bindparam("old"))
        .values(value=sa.bindparam("new"), phone=sa.bindparam("enc"))
    )
    while rows := conn.execute(sa.select(t.c.value, t.c.phone).where(todo).limit(BATCH)).all():
        if seal:
            updates = [
                {"old": r.value, "new": phone_index(r.value) or r.value, "enc": _seal(r.value)}
                for r in rows
            ]
        else:
            updates = [{"old": r.value, "new": _open(r.phone), "enc": None} for r in rows]
        conn.execute(write, updates)


def upgrade() -> None:
    for column, (length, null) in ORDER_PII.items():
        _retype("orders_order", column, sa.Text(), sa.String(length), null)
    for column, (length, null) in CUSTOMER_PII.items():
        _retype("customers_customer", column, sa.Text(), sa.String(length), null)
    op.add_column("orders_order", sa.Column("receiver_phone_hash", sa.String(24), nullable=True))
    op.create_index(PHONE_INDEX, "orders_order", ["receiver_phone_hash"], unique=False)
    op.add_column("customers_identity", sa.Column("phone", sa.Text(), nullable=True))

    _convert("orders_order", (*ORDER_PII, "receiver_phone_hash"), _seal_order)
    _convert(
        "customers_customer", tuple(CUSTOMER_PII), lambda r: {c: _seal(r[c]) for c in CUSTOMER_PII}
    )
    _convert("channels_raw_order", RAW_PII, lambda r: {c: _seal(r[c]) for c in RAW_PII})
    _identities(seal=True)


def downgrade() -> None:
    _identities(seal=False)
    _convert("channels_raw_order", RAW_PII, lambda r: {c: _open(r[c]) for c in RAW_PII})
    _convert(
        "customers_customer", tuple(CUSTOMER_PII), lambda r: {c: _open(r[c]) for c in CUSTOMER_PII}
    )
    _convert("orders_order", tuple(ORDER_PII), lambda r: {c: _open(r[c]) for c in ORDER_PII})

    _drop_column("customers_identity", "phone")
    op.drop_index(PHONE_INDEX, table_name="orders_order")
    _drop_column("orders_order", "receiver_phone_hash")
    for column, (length, null) in CUSTOMER_PII.items():
        _retype("customers_customer", column, sa.String(length), sa.Text(), null)
    for column, (length, null) in ORDER_PII.items():
        _retype("orders_order", column, sa.String(length), sa.Text(), null)
