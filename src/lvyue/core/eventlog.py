"""The event log: what happened, in commit order per writer, for live readers in any process.

Writers append inside their unit of work (one statement per batch). Readers poll by id. Ids
are handed out when a row is inserted, not when its transaction commits, so on PostgreSQL a
reader can see id 11 before id 10 of a slower transaction becomes visible: ``Cursor`` keeps
such gaps open for a while and picks the late rows up (a rolled-back insert leaves a gap that
never fills, hence the time limit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from lvyue.core.bulk import insert_many
from lvyue.core.db import table_of
from lvyue.core.models import EventLogEntry
from lvyue.core.uow import UnitOfWork

LOG = table_of(EventLogEntry)
# How long a missing id is waited for. A transaction that inserted log rows commits within its
# batch; one that takes longer than this may have its events skipped by live readers.
GAP_GRACE_SECONDS = 60.0
MAX_GAPS = 64  # each open gap is one range in the reader's query


def append(uow: UnitOfWork, entries: Sequence[dict[str, Any]]) -> None:
    """Write entries (keys: event_id, type, shop, warehouse, order_id, sku, payload, at) with
    one statement (COPY on PostgreSQL)."""
    insert_many(uow.conn, LOG, entries)


def latest_id(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(LOG.c.id), 0))).scalar_one())


def read(
    conn: Connection, after: int, gaps: Sequence[tuple[int, int]] = (), limit: int = 500
) -> list[Row[Any]]:
    """Entries with id above ``after`` (oldest first, at most ``limit``), and those inside the
    id ranges ``gaps`` (inclusive) that a reader is still waiting for."""
    rows = list(
        conn.execute(sa.select(LOG).where(LOG.c.id > after).order_by(LOG.c.id).limit(limit))
    )
    if gaps:
        late = sa.or_(*(LOG.c.id.between(lo, hi) for lo, hi in gaps))
        rows += conn.execute(sa.select(LOG).where(late))
    return sorted(rows, key=lambda r: r.id)


def prune(uow: UnitOfWork, before: datetime) -> int:
    """Delete entries older than ``before``; returns how many."""
    return int(uow.conn.execute(sa.delete(LOG).where(LOG.c.at < before)).rowcount)


@dataclass
class Gap:
    """Ids ``lo..hi`` (inclusive) not seen yet, missed first at ``since``."""

    lo: int
    hi: int
    since: float


@dataclass
class Cursor:
    """A reader's position: every id up to ``last`` was seen, except those in ``gaps``. Times
    are in the caller's clock (e.g. ``time.monotonic()``)."""

    last: int
    gaps: list[Gap] = field(default_factory=list)
    grace: float = GAP_GRACE_SECONDS

    def accept(self, ids: Iterable[int], now: float) -> list[tuple[int, int]]:
        """Take the ids a read returned. Returns those not seen before, in id order, each with
        the position to resume from once it (and all before it) has been passed on: the
        highest id so far, but never past an open gap, so a reconnecting reader loses nothing
        (it may get a few events twice)."""
        high = self.last
        fresh = []
        for i in sorted(set(ids)):
            if i > self.last:
                if i > self.last + 1:
                    self.gaps.append(Gap(self.last + 1, i - 1, now))
                self.last = i
                fresh.append(i)
                continue
            gap = next((g for g in self.gaps if g.lo <= i <= g.hi), None)
            if gap is None:
                continue  # seen before
            self.gaps.remove(gap)
            self.gaps += [
                Gap(lo, hi, gap.since) for lo, hi in ((gap.lo, i - 1), (i + 1, gap.hi)) if lo <= hi
            ]
            fresh.append(i)
        live = sorted((g for g in self.gaps if now - g.since < self.grace), key=lambda g: g.lo)
        self.gaps = live[-MAX_GAPS:]
        floor = self.resume_id
        out = []
        for i in fresh:
            high = max(high, i)
            out.append((i, min(high, floor)))
        return out

    @property
    def open_gaps(self) -> list[tuple[int, int]]:
        return [(g.lo, g.hi) for g in self.gaps]

    @property
    def resume_id(self) -> int:
        """Where a reconnecting reader should start so that nothing is lost: just below the
        oldest open gap (a few events may then come twice), else the last id seen."""
        return self.gaps[0].lo - 1 if self.gaps else self.last
