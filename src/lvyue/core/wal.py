"""SQLite WAL checkpoints off the committing thread.

By default SQLite checkpoints inside the commit that pushes the WAL past its limit: that commit
copies every changed page back into the database file before it returns. On a multi-GB order
database a batch touches pages all over its indexes, and these copies grew from 16 to 170 µs
per imported order between 10,000 and 1,000,000 orders (docs/PERFORMANCE.md). SQLite's
documentation suggests running checkpoints from a separate thread instead; this module does,
with one daemon thread per process:

- every connection returned to an engine's pool after a unit of work on a file database pokes
  it (``poke``); it runs a PASSIVE checkpoint of that database at most every ``INTERVAL``
  seconds, on its own connection, with the GIL released while SQLite copies pages, so the
  next batch goes on meanwhile;
- PASSIVE never waits for readers or writers and never blocks them; what it cannot copy yet
  is left for the next round;
- the connections' own ``wal_autocheckpoint`` stays as the backstop: if this thread falls
  behind, a commit checkpoints as before (and skips when this thread holds the checkpoint).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

INTERVAL = 0.2  # seconds between checkpoints of one database

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._thread: threading.Thread | None = None
        self.done = 0  # checkpoints run, for tests and benchmarks

    def poke(self, path: str) -> None:
        """Ask for a checkpoint of the database file at ``path`` soon."""
        if self._pid != os.getpid():  # a forked child has the lock and set, not the thread
            self._reset()
        with self._cond:
            if path in self._pending:
                return
            self._pending.add(path)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lvyue-wal-checkpoint", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        last: dict[str, float] = {}
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                paths, self._pending = self._pending, set()
            wait = min(last.get(p, 0.0) + INTERVAL for p in paths) - time.monotonic()
            if wait > 0:  # coalesce the commits of the next moment into one checkpoint
                time.sleep(wait)
            for path in paths:
                last[path] = time.monotonic()
                self._checkpoint(path)

    def _checkpoint(self, path: str) -> None:
        if not os.path.exists(path):  # a database removed since (tests, benchmarks)
            return
        try:
            # mode=rw: never create a file; timeout 0: PASSIVE takes no busy handler anyway.
            con = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=0)
            try:
                con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                con.close()
            self.done += 1
        except sqlite3.Error as exc:  # busy or gone: the next commit's poke tries again
            log.debug("WAL checkpoint of %s skipped: %s", path, exc)


CHECKPOINTER = Checkpointer()
