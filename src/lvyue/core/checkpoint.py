"""SQLite: the WAL's checkpoint started between a bulk run's batches, on a connection and a
thread of its own (ADR 0014).

A commit appends the pages it changed to the WAL; once the WAL holds
``SQLITE_CHECKPOINT_PAGES`` frames, the committing connection copies them back into the
database file (the checkpoint) inside that commit. The commit runs beside the next batch's
parsing (``core.waiting``), but a checkpoint outlasts it: at 300,000 orders, 39 commits took
0.4-0.55 s, and the runner sat idle for 0.25-0.43 s of each, 11 s of a 240 s run.

Started after a commit, once the WAL is close to that size, a PASSIVE checkpoint on its own
connection copies the frames back while the next batches run (SQLite releases the GIL; the
second core does the copying). It never waits for the writer, nor the writer for it. The
frames committed meanwhile are copied by the writer's own automatic checkpoint at its first
commit after this one is done (while this one runs, the writer's attempt finds it busy and
returns at once), and the WAL starts again from its beginning at the next transaction.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading

from sqlalchemy.engine import Engine

from lvyue.core.db import SQLITE_CHECKPOINT_PAGES

log = logging.getLogger(__name__)

# Started a little before the writer's own threshold: the writer's automatic checkpoint is
# then the catch-up, copying only the frames of the batches that committed meanwhile.
START_AT = SQLITE_CHECKPOINT_PAGES * 9 // 10
_RUNNING: dict[str, threading.Thread] = {}  # by database file, as the engine names it

# The wal-index header at the start of the "-shm" file (https://sqlite.org/walformat.html,
# in the machine's byte order, as it is shared memory): isInit at byte 12, mxFrame (the last
# valid frame) at 16; nBackfill (frames already copied back) at 96, in the checkpoint info.
_IS_INIT, _MX_FRAME, _BACKFILL, _HEADER_BYTES = 12, 16, 96, 100


def database_file(engine: Engine) -> str | None:
    """The file of a SQLite engine's database; None for PostgreSQL and in-memory ones."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return url.database


def frames_to_copy(path: str) -> int | None:
    """Frames in the WAL not yet copied back into ``path``, read from its wal-index; None when
    there is none (not in WAL mode, or no connection open)."""
    try:
        with open(path + "-shm", "rb") as shm:
            head = shm.read(_HEADER_BYTES)
    except OSError:
        return None
    if len(head) < _HEADER_BYTES or not head[_IS_INIT]:
        return None
    last = int.from_bytes(head[_MX_FRAME : _MX_FRAME + 4], sys.byteorder)
    copied = int.from_bytes(head[_BACKFILL : _BACKFILL + 4], sys.byteorder)
    return max(last - copied, 0)


def checkpoint(path: str) -> tuple[int, int]:
    """One PASSIVE checkpoint of ``path`` on a connection of its own: (frames in the WAL,
    frames copied back)."""
    conn = sqlite3.connect(path, timeout=0, check_same_thread=False)
    try:
        _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        conn.close()  # not the last connection: closing it checkpoints nothing more
    return frames, copied


def checkpoint_in_background(engine: Engine, *, start_at: int = START_AT) -> bool:
    """Start a checkpoint of ``engine``'s SQLite file in a thread of its own when its WAL
    holds ``start_at`` frames not yet copied back and none is running; returns at once,
    whether one was started. Call between batches, after a commit. The thread is not a
    daemon: a process that ends waits for it."""
    path = database_file(engine)
    if path is None:
        return False
    running = _RUNNING.get(path)
    if running is not None and running.is_alive():
        return False
    pending = frames_to_copy(path)
    if pending is None or pending < start_at:
        return False

    def run() -> None:
        try:
            checkpoint(path)
        except sqlite3.Error:  # the writer's own checkpoint copies the frames instead
            log.warning("background WAL checkpoint failed", exc_info=True)

    thread = threading.Thread(target=run, name="lvyue-checkpoint")
    _RUNNING[path] = thread
    thread.start()
    return True


def wait_for_checkpoint(engine: Engine) -> None:
    """Wait for ``engine``'s background checkpoint, if one is running."""
    path = database_file(engine)
    running = _RUNNING.pop(path, None) if path else None
    if running is not None:
        running.join()
