"""Stock use cases. Every change writes ledger rows and updates levels in one transaction.

Reservations are conditional updates (``reserved + q`` only where ``on_hand - reserved >= q``)
so that no interleaving of transactions can take the same unit twice: on SQLite writers are
serialised by ``BEGIN IMMEDIATE``; on PostgreSQL a concurrent update of the same row waits and
re-checks the condition on the committed row. Batch paths additionally lock the level rows they
plan with, in id order, so plans made in memory stay true until commit and never deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lvyue.catalog.models import Sku
from lvyue.config import get_settings
from lvyue.core.bulk import execute_many, insert_many
from lvyue.core.clock import now
from lvyue.core.db import array_literal, in_clauses, table_of
from lvyue.core.errors import InsufficientStock, NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.inventory.events import LowLevel, StockLow
from lvyue.inventory.ledger import MoveKind, deltas
from lvyue.inventory.models import StockLevel, StockMove, Warehouse

LEVEL = table_of(StockLevel)
MOVE = table_of(StockMove)
WAREHOUSE = table_of(Warehouse)


@dataclass(frozen=True)
class Reservation:
    """Reserve ``items`` (sku_id -> qty) in ``warehouse_id`` for one document, all or nothing."""

    doc_type: str
    doc_id: int
    warehouse_id: int
    items: Mapping[int, int]


def add_warehouse(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    province: str,
    city: str,
    district: str | None = None,
    address: str = "",
    priority: int = 100,
) -> int:
    code = code.strip()
    if not code:
        raise ValidationError("code", "must not be empty")
    if not province.strip() or not city.strip():
        raise ValidationError("province/city", "both are required")
    exists = uow.conn.execute(sa.select(WAREHOUSE.c.id).where(WAREHOUSE.c.code == code)).first()
    if exists:
        raise ValidationError("code", f"warehouse {code} already exists")
    result = uow.conn.execute(
        sa.insert(WAREHOUSE).values(
            code=code,
            name=name,
            province=province,
            city=city,
            district=district,
            address=address,
            priority=priority,
            active=True,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def update_warehouse(
    uow: UnitOfWork,
    code: str,
    *,
    name: str | None = None,
    province: str | None = None,
    city: str | None = None,
    district: str | None = None,
    address: str | None = None,
    priority: int | None = None,
    active: bool | None = None,
) -> dict[str, object]:
    """Change a warehouse (``None`` = leave as is; an empty district clears it). Returns the
    fields that changed with their new values. The code never changes: documents and users'
    scopes refer to it."""
    row = uow.conn.execute(sa.select(WAREHOUSE).where(WAREHOUSE.c.code == code)).first()
    if row is None:
        raise NotFound(f"warehouse {code} does not exist", code="unknown_warehouse")
    wanted: dict[str, object] = {}
    for field, value, limit in (
        ("name", name, 100),
        ("province", province, 32),
        ("city", city, 32),
        ("address", address, 200),
    ):
        if value is None:
            continue
        value = value.strip()
        if field != "address" and not value:
            raise ValidationError(field, "is required")
        if len(value) > limit:
            raise ValidationError(field, f"at most {limit} characters")
        wanted[field] = value
    if district is not None:
        if len(district.strip()) > 32:
            raise ValidationError("district", "at most 32 characters")
        wanted["district"] = district.strip() or None
    if priority is not None:
        if not 0 <= priority <= 1_000_000:
            raise ValidationError("priority", "a whole number from 0 to 1000000")
        wanted["priority"] = priority
    if active is not None:
        wanted["active"] = active
    changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
    if changed:
        uow.conn.execute(sa.update(WAREHOUSE).where(WAREHOUSE.c.id == row.id).values(**changed))
    return changed


def _warehouse_id(uow: UnitOfWork, code: str) -> int:
    row = uow.conn.execute(sa.select(WAREHOUSE.c.id).where(WAREHOUSE.c.code == code)).first()
    if row is None:
        raise NotFound(f"warehouse {code} does not exist", code="unknown_warehouse")
    return int(row[0])


def _sku_id(uow: UnitOfWork, code: str) -> int:
    sku = table_of(Sku)
    row = uow.conn.execute(sa.select(sku.c.id).where(sku.c.code == code)).first()
    if row is None:
        raise NotFound(f"SKU {code} does not exist", code="unknown_sku")
    return int(row[0])


def _move(
    uow: UnitOfWork,
    kind: MoveKind,
    sku: int,
    wh: int,
    qty: int,
    doc_type: str,
    doc_id: int,
    reason: str,
    ts: object,
) -> dict[str, object]:
    """One ledger row for a document's move of ``qty`` units."""
    d_on_hand, d_reserved = deltas(kind, qty)
    return {
        "sku_id": sku,
        "warehouse_id": wh,
        "kind": kind._value_,
        "on_hand_delta": d_on_hand,
        "reserved_delta": d_reserved,
        "doc_type": doc_type,
        "doc_id": doc_id,
        "reason": reason,
        "actor": uow.actor,
        "created_at": ts,
    }


def ensure_levels(uow: UnitOfWork, pairs: Iterable[tuple[int, int]]) -> None:
    """Create empty level rows for (sku_id, warehouse_id) pairs that have none yet."""
    rows = [{"sku_id": s, "warehouse_id": w, "on_hand": 0, "reserved": 0} for s, w in set(pairs)]
    if not rows:
        return
    insert = postgresql.insert if uow.is_postgres else sqlite.insert
    stmt = insert(LEVEL).on_conflict_do_nothing(index_elements=["sku_id", "warehouse_id"])
    uow.conn.execute(stmt, [{**r, "updated_at": now()} for r in rows])


def adjust_stock(
    uow: UnitOfWork,
    *,
    sku_code: str,
    warehouse_code: str,
    quantity: int,
    reason: str,
    kind: MoveKind = MoveKind.ADJUST,
) -> dict[str, int]:
    """Change on hand by ``quantity`` (negative to take away). On hand never drops below zero
    nor below what is reserved. Returns the new level."""
    if quantity == 0:
        raise ValidationError("qty", "must not be zero")
    if not reason.strip():
        raise ValidationError("reason", "a reason is required for every stock change")
    sku_id = _sku_id(uow, sku_code)
    wh_id = _warehouse_id(uow, warehouse_code)
    ensure_levels(uow, [(sku_id, wh_id)])
    d_on_hand, d_reserved = deltas(kind, quantity)
    cond = (LEVEL.c.sku_id == sku_id) & (LEVEL.c.warehouse_id == wh_id)
    updated = uow.conn.execute(
        sa.update(LEVEL)
        .where(cond, LEVEL.c.on_hand + d_on_hand >= LEVEL.c.reserved)
        .values(on_hand=LEVEL.c.on_hand + d_on_hand, updated_at=now())
        .returning(LEVEL.c.on_hand, LEVEL.c.reserved)
    ).first()
    if updated is None:
        level = uow.conn.execute(sa.select(LEVEL.c.on_hand, LEVEL.c.reserved).where(cond)).one()
        raise InsufficientStock(
            f"cannot take {-quantity} of {sku_code} from {warehouse_code}: on hand "
            f"{level.on_hand}, reserved {level.reserved}, "
            f"available {level.on_hand - level.reserved}",
            sku=sku_code,
            warehouse=warehouse_code,
            on_hand=level.on_hand,
            reserved=level.reserved,
        )
    uow.conn.execute(
        sa.insert(MOVE).values(
            sku_id=sku_id,
            warehouse_id=wh_id,
            kind=kind.value,
            on_hand_delta=d_on_hand,
            reserved_delta=d_reserved,
            reason=reason,
            actor=uow.actor,
            created_at=now(),
        )
    )
    after = updated.on_hand - updated.reserved
    _alert_low(uow, {(sku_id, wh_id): (after - d_on_hand, after)}, now())
    return {"on_hand": updated.on_hand, "reserved": updated.reserved}


def count_stock(
    uow: UnitOfWork, *, sku_code: str, warehouse_code: str, counted: int, reason: str
) -> dict[str, int]:
    """Set on hand to ``counted`` (what a person counted on the shelf): an adjustment by the
    difference, written to the ledger like any other. The level is read under a row lock on
    PostgreSQL, so a concurrent change cannot slip between the read and the adjustment.
    Returns the new level and the ``delta`` booked."""
    if counted < 0:
        raise ValidationError("counted", "must be 0 or more")
    if not reason.strip():
        raise ValidationError("reason", "a reason is required for every stock change")
    sku_id = _sku_id(uow, sku_code)
    wh_id = _warehouse_id(uow, warehouse_code)
    ensure_levels(uow, [(sku_id, wh_id)])
    stmt = sa.select(LEVEL.c.on_hand).where(LEVEL.c.sku_id == sku_id, LEVEL.c.warehouse_id == wh_id)
    if uow.is_postgres:
        stmt = stmt.with_for_update()
    delta = counted - int(uow.conn.execute(stmt).scalar_one())
    if delta == 0:
        raise ValidationError("counted", f"on hand is already {counted}")
    level = adjust_stock(
        uow, sku_code=sku_code, warehouse_code=warehouse_code, quantity=delta, reason=reason
    )
    return {**level, "delta": delta}


def lock_available(uow: UnitOfWork, sku_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Available units per (sku_id, warehouse_id) of active warehouses, locking the rows on
    PostgreSQL (in id order) until the transaction ends. SQLite holds the write lock already."""
    return read_available(uow, sku_ids, lock=True)


def read_available(
    uow: UnitOfWork, sku_ids: Iterable[int], *, lock: bool = False
) -> dict[tuple[int, int], int]:
    """Available units per (sku_id, warehouse_id) of active warehouses; unlocked unless
    ``lock`` (on PostgreSQL another transaction may change them before this one commits)."""
    found: dict[tuple[int, int], int] = {}
    for cond in in_clauses(uow.conn, LEVEL.c.sku_id, sorted(set(sku_ids))):
        stmt = (
            sa.select(LEVEL.c.sku_id, LEVEL.c.warehouse_id, LEVEL.c.on_hand - LEVEL.c.reserved)
            .join(WAREHOUSE, WAREHOUSE.c.id == LEVEL.c.warehouse_id)
            .where(cond, WAREHOUSE.c.active.is_(True))
            .order_by(LEVEL.c.id)
        )
        if lock and uow.is_postgres:  # one statement there: the rows are locked in id order
            stmt = stmt.with_for_update(of=LEVEL)
        found.update({(r[0], r[1]): int(r[2]) for r in uow.conn.execute(stmt).all()})
    return found


def reserve(
    uow: UnitOfWork,
    reservations: list[Reservation],
    *,
    reason: str = "",
    locked: Mapping[tuple[int, int], int] | None = None,
) -> list[bool]:
    """Reserve each request all-or-nothing, in order; return which succeeded.

    Requests are checked against the locked levels in memory, then written with one
    conditional update per touched level. If the database disagrees with the plan (it cannot
    when every writer goes through this module) the whole batch rolls back. ``locked``: the
    levels :func:`lock_available` returned earlier in this transaction, with nothing written
    to them since (the order pipeline plans on them), instead of reading them again.
    """
    if not reservations:
        return []
    available = (
        locked
        if locked is not None
        else lock_available(uow, (s for r in reservations for s in r.items))
    )
    taken: dict[tuple[int, int], int] = defaultdict(int)
    moves: list[dict[str, object]] = []
    results: list[bool] = []
    ts = now()
    for req in reservations:
        keys = [((sku, req.warehouse_id), qty) for sku, qty in req.items.items() if qty > 0]
        ok = bool(keys) and all(available.get(k, 0) - taken[k] >= qty for k, qty in keys)
        results.append(ok)
        if not ok:
            continue
        for (sku, wh), qty in keys:
            taken[(sku, wh)] += qty
            moves.append(
                _move(uow, MoveKind.RESERVE, sku, wh, qty, req.doc_type, req.doc_id, reason, ts)
            )
    _apply_deltas(uow, {k: (0, q) for k, q in taken.items()}, ts)
    _alert_low(uow, {k: (available[k], available[k] - q) for k, q in taken.items() if q}, ts)
    insert_many(uow.conn, MOVE, moves)
    return results


_ON_HAND_D = sa.bindparam("h", type_=sa.Integer())
_RESERVED_D = sa.bindparam("r", type_=sa.Integer())
# The conditional level update (DESIGN §6): applied only where 0 <= reserved <= on_hand holds.
_DELTAS = (
    sa.update(LEVEL)
    .where(
        LEVEL.c.sku_id == sa.bindparam("s"),
        LEVEL.c.warehouse_id == sa.bindparam("w"),
        (LEVEL.c.on_hand + _ON_HAND_D) - (LEVEL.c.reserved + _RESERVED_D) >= 0,
        LEVEL.c.reserved + _RESERVED_D >= 0,
    )
    .values(
        on_hand=LEVEL.c.on_hand + _ON_HAND_D,
        reserved=LEVEL.c.reserved + _RESERVED_D,
        updated_at=sa.bindparam("t", type_=LEVEL.c.updated_at.type),
    )
)


# The same update on PostgreSQL as one statement over arrays: one execution for the batch's
# levels instead of one per level (each pair appears once, so a level is updated at most once).
_PG_DELTAS = sa.text(
    "UPDATE inventory_stock_level AS l SET on_hand = l.on_hand + v.h, "
    "reserved = l.reserved + v.r, updated_at = :t "
    "FROM unnest(CAST(:s AS integer[]), CAST(:w AS integer[]), CAST(:h AS integer[]), "
    "CAST(:r AS integer[])) AS v(s, w, h, r) "
    "WHERE l.sku_id = v.s AND l.warehouse_id = v.w "
    "AND (l.on_hand + v.h) - (l.reserved + v.r) >= 0 AND l.reserved + v.r >= 0"
).bindparams(sa.bindparam("t", type_=LEVEL.c.updated_at.type))


def _apply_deltas(
    uow: UnitOfWork, changes: Mapping[tuple[int, int], tuple[int, int]], ts: object
) -> None:
    """Add (on_hand, reserved) deltas to levels, each only where the result keeps
    0 <= reserved <= on_hand; if any level refuses, the whole batch rolls back."""
    params = [
        {"s": sku, "w": wh, "h": h, "r": r, "t": ts}
        for (sku, wh), (h, r) in sorted(changes.items())
        if h or r
    ]
    if not params:
        return
    if uow.is_postgres:
        updated = uow.conn.execute(
            _PG_DELTAS,
            {k: array_literal([p[k] for p in params]) for k in ("s", "w", "h", "r")} | {"t": ts},
        ).rowcount
    else:
        updated = execute_many(uow.conn, _DELTAS, params)
    if updated != len(params):
        raise InsufficientStock(
            "stock changed under a locked plan; batch rolled back",
            expected=len(params),
            updated=updated,
        )


def _alert_low(
    uow: UnitOfWork, changes: Mapping[tuple[int, int], tuple[int, int]], ts: datetime
) -> None:
    """Publish ``StockLow`` for the levels whose available stock, (before, after) per (sku_id,
    warehouse_id), fell from above their threshold to at or below it. Only crossings count,
    so a level already low does not alert again on every sale. One query per batch."""
    falling = {k: v for k, v in changes.items() if v[1] < v[0]}
    if not falling:
        return
    own: dict[tuple[int, int], int] = {}
    for cond in in_clauses(uow.conn, LEVEL.c.sku_id, sorted({sku for sku, _ in falling})):
        rows = uow.conn.execute(
            sa.select(LEVEL.c.sku_id, LEVEL.c.warehouse_id, LEVEL.c.low_stock_threshold).where(
                cond, LEVEL.c.low_stock_threshold.is_not(None)
            )
        ).all()
        own.update({(r[0], r[1]): int(r[2]) for r in rows})
    default = get_settings().low_stock_threshold
    low = []
    for key, (before, after) in sorted(falling.items()):
        threshold = own.get(key, default)
        if threshold is not None and before > threshold >= after:
            low.append(LowLevel(key[0], key[1], after, threshold))
    if low:
        uow.publish(StockLow(tuple(low), ts))


def set_low_stock_threshold(
    uow: UnitOfWork, *, sku_code: str, warehouse_code: str, threshold: int | None
) -> None:
    """Set (or with None clear) the level's own low-stock threshold."""
    if threshold is not None and threshold < 0:
        raise ValidationError("threshold", "must be 0 or more")
    sku_id = _sku_id(uow, sku_code)
    wh_id = _warehouse_id(uow, warehouse_code)
    ensure_levels(uow, [(sku_id, wh_id)])
    uow.conn.execute(
        sa.update(LEVEL)
        .where(LEVEL.c.sku_id == sku_id, LEVEL.c.warehouse_id == wh_id)
        .values(low_stock_threshold=threshold)
    )


def outstanding(
    uow: UnitOfWork, doc_type: str, doc_ids: Iterable[int]
) -> dict[int, dict[tuple[int, int], int]]:
    """What each document still holds reserved, per (sku_id, warehouse_id), from the ledger."""
    found: dict[int, dict[tuple[int, int], int]] = defaultdict(dict)
    for cond in in_clauses(uow.conn, MOVE.c.doc_id, sorted(set(doc_ids))):
        rows = uow.conn.execute(
            sa.select(
                MOVE.c.doc_id,
                MOVE.c.sku_id,
                MOVE.c.warehouse_id,
                sa.func.sum(MOVE.c.reserved_delta),
            )
            .where(MOVE.c.doc_type == doc_type, cond)
            .group_by(MOVE.c.doc_id, MOVE.c.sku_id, MOVE.c.warehouse_id)
        )
        for doc_id, sku, wh, qty in rows:
            if qty:
                found[int(doc_id)][(int(sku), int(wh))] = int(qty)
    return found


def release(uow: UnitOfWork, doc_type: str, doc_ids: Iterable[int], *, reason: str) -> int:
    """Give back everything the documents still hold reserved. Returns units released."""
    return _settle(uow, MoveKind.RELEASE, doc_type, doc_ids, reason)


def ship(uow: UnitOfWork, doc_type: str, doc_ids: Iterable[int], *, reason: str) -> int:
    """Consume what the documents hold reserved: the goods left the warehouse. Returns units."""
    return _settle(uow, MoveKind.SHIP, doc_type, doc_ids, reason)


def _settle(
    uow: UnitOfWork, kind: MoveKind, doc_type: str, doc_ids: Iterable[int], reason: str
) -> int:
    held = outstanding(uow, doc_type, doc_ids)
    ts = now()
    totals: dict[tuple[int, int], tuple[int, int]] = defaultdict(lambda: (0, 0))
    moves = []
    for doc_id, items in held.items():
        for (sku, wh), qty in items.items():
            d_on_hand, d_reserved = deltas(kind, qty)
            h, r = totals[(sku, wh)]
            totals[(sku, wh)] = (h + d_on_hand, r + d_reserved)
            moves.append(_move(uow, kind, sku, wh, qty, doc_type, doc_id, reason, ts))
    if not moves:
        return 0
    _apply_deltas(uow, totals, ts)
    insert_many(uow.conn, MOVE, moves)
    return sum(q for items in held.values() for q in items.values())
