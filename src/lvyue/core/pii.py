"""Personal data in the database: the ``EncryptedText`` column type and key rotation.

Models declare ``mapped_column(EncryptedText())`` and go on reading and writing plain strings;
the type encrypts on the way in and decrypts on the way out (``core.crypto``, ADR 0006). A
ciphertext cannot be compared in SQL, so the type refuses comparisons other than with NULL or
"": search through a keyed-hash column instead (``info={"phone_index_of": (...)}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.sql import operators

from lvyue.core.crypto import phone_index, pii_keyring, rotate_secret
from lvyue.core.db import direct_bind

# Column info markers. A keyed hash names the encrypted columns it is computed from (the first
# one with a value); a secret encrypted by the service layer with Fernet says so.
PHONE_INDEX_OF = "phone_index_of"
ENCRYPTED = "encrypted"
_NULL_TESTS = frozenset({operators.is_, operators.is_not, operators.eq, operators.ne})


class EncryptedText(sa.types.TypeDecorator[str]):
    """A string stored AES-256-GCM encrypted; None and "" are stored as they are. Writes also
    take the string's UTF-8 bytes; reads give the string."""

    impl = sa.Text
    cache_ok = True

    class comparator_factory(sa.types.TypeDecorator.Comparator[str]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op in _NULL_TESTS and all(
                o is None or (isinstance(o, str) and not o) for o in other
            ):
                return super().operate(op, *other, **kwargs)
            raise TypeError(
                f"{self.expr} is encrypted: SQL cannot compare or sort it; "
                f"{_search_hint(self.expr)} or compare decrypted values in Python"
            )

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        return direct_bind(self, dialect, _encrypt)

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return _encrypt(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str | None:
        if value is None or value == "":
            return value
        return pii_keyring().decrypt(value)


def _encrypt(value: str | bytes | None) -> str | None:
    if value is None or value == "":
        return value
    if isinstance(value, bytes):  # UTF-8 text already encoded
        return pii_keyring().encrypt(value) if value else ""
    return pii_keyring().encrypt(str(value))


def _search_hint(expr: Any) -> str:
    name, table = getattr(expr, "name", None), getattr(expr, "table", None)
    for col in getattr(table, "columns", ()):
        if name in col.info.get(PHONE_INDEX_OF, ()):
            return f"filter on {col} (its keyed hash)"
    return "filter on a keyed-hash column"


# --------------------------------------------------------------------------- rotation


@dataclass
class _Plan:
    table: sa.Table
    encrypted: list[sa.Column[Any]]
    secrets: list[sa.Column[Any]]
    indexes: list[tuple[sa.Column[Any], tuple[str, ...]]]

    @property
    def columns(self) -> list[sa.Column[Any]]:
        return [*self.encrypted, *self.secrets, *(c for c, _ in self.indexes)]


def _plans(tables: Iterable[sa.Table]) -> list[_Plan]:
    plans = []
    for table in tables:
        cols = list(table.columns)
        plan = _Plan(
            table,
            [c for c in cols if isinstance(c.type, EncryptedText)],
            [c for c in cols if c.info.get(ENCRYPTED) == "fernet"],
            [(c, tuple(c.info[PHONE_INDEX_OF])) for c in cols if PHONE_INDEX_OF in c.info],
        )
        if plan.columns:
            plans.append(plan)
    return plans


@dataclass
class RotationReport:
    examined: dict[str, int] = field(default_factory=dict)
    rewritten: dict[str, int] = field(default_factory=dict)


def rotate_keys(
    engine: Engine,
    tables: Iterable[sa.Table],
    *,
    batch_size: int = 500,
    progress: Callable[[str, int, int], None] | None = None,
) -> RotationReport:
    """Re-encrypt every value not encrypted with the current key and recompute the keyed
    hashes, table by table in primary-key order, one transaction per batch (safe to stop and
    run again). Afterwards the old keys can be removed from ``LVYUE_OLD_SECRET_KEYS``.
    ``progress(table, examined, rewritten)`` is called after each batch."""
    report = RotationReport()
    for plan in _plans(tables):
        name = plan.table.name
        report.examined[name] = report.rewritten[name] = 0
        last: tuple[Any, ...] | None = None
        while True:
            with engine.begin() as conn:
                rows, last = _batch(conn, plan, last, batch_size)
                report.examined[name] += len(rows)
                report.rewritten[name] += _rewrite(conn, plan, rows)
            if progress is not None and rows:
                progress(name, report.examined[name], report.rewritten[name])
            if len(rows) < batch_size:
                break
    return report


def _batch(
    conn: sa.Connection, plan: _Plan, last: tuple[Any, ...] | None, size: int
) -> tuple[list[Any], tuple[Any, ...] | None]:
    pk = list(plan.table.primary_key.columns)
    stmt = sa.select(
        *pk,
        # The stored text, not decrypted: its key id says whether it needs rewriting.
        *(sa.type_coerce(c, sa.Text()).label(c.name) for c in plan.encrypted),
        *plan.secrets,
        *(c for c, _ in plan.indexes),
    ).order_by(*pk)
    if last is not None:
        stmt = stmt.where(sa.tuple_(*pk) > sa.tuple_(*last) if len(pk) > 1 else pk[0] > last[0])
    rows = list(conn.execute(stmt.limit(size)))
    return rows, (tuple(rows[-1][: len(pk)]) if rows else last)


def _rewrite(conn: sa.Connection, plan: _Plan, rows: list[Any]) -> int:
    keyring = pii_keyring()
    pk = list(plan.table.primary_key.columns)
    updates = []
    for row in rows:
        m = row._mapping
        stale = any(m[c.name] and not keyring.is_current(m[c.name]) for c in plan.encrypted)
        plain = {
            c.name: keyring.decrypt(m[c.name]) if m[c.name] else m[c.name] for c in plan.encrypted
        }
        values: dict[str, Any] = {f"v_{c.name}": plain[c.name] for c in plan.encrypted}
        for c in plan.secrets:
            fresh = rotate_secret(m[c.name]) if m[c.name] else None
            stale = stale or fresh is not None
            values[f"v_{c.name}"] = fresh or m[c.name]
        for c, sources in plan.indexes:
            source = next((plain[s] for s in sources if plain.get(s)), None)
            index = phone_index(source) if source else m[c.name]
            stale = stale or index != m[c.name]
            values[f"v_{c.name}"] = index
        if stale:
            updates.append({**values, **{f"k_{c.name}": m[c.name] for c in pk}})
    if updates:
        conn.execute(
            sa.update(plan.table)
            .where(*(c == sa.bindparam(f"k_{c.name}", type_=c.type) for c in pk))
            .values({c.name: sa.bindparam(f"v_{c.name}", type_=c.type) for c in plan.columns}),
            updates,
        )
    return len(updates)
