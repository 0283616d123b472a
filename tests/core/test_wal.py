"""SQLite WAL checkpoints run on a background thread after commits (core.wal)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import sqlalchemy as sa

from lvyue.core import wal
from lvyue.core.db import make_engine


def _wait_for(cond, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def test_commits_are_checkpointed_into_the_database_file_by_the_thread(tmp_path: Path):
    path = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        assert _wait_for(lambda: path.stat().st_size > 0)
        size, done = path.stat().st_size, wal.CHECKPOINTER.done
        with engine.begin() as conn:  # ~100 pages: far below the commits' own checkpoint size
            conn.execute(
                sa.text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 400} for _ in range(1000)]
            )
        # The pool keeps its connection open (closing the last one would checkpoint too), so
        # only the thread copies the new pages from the WAL into the file.
        assert _wait_for(lambda: path.stat().st_size > size + 300_000)
        assert wal.CHECKPOINTER.done > done
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1000
    finally:
        engine.dispose()


def test_a_removed_database_is_not_recreated(tmp_path: Path):
    gone = tmp_path / "gone.db"
    wal.CHECKPOINTER.poke(str(gone))
    other = tmp_path / "other.db"
    engine = make_engine(f"sqlite:///{other}")
    try:
        with engine.begin() as conn:  # a later poke on the same thread is served...
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        done = wal.CHECKPOINTER.done
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t DEFAULT VALUES")
        assert _wait_for(lambda: wal.CHECKPOINTER.done > done)
    finally:
        engine.dispose()
    assert not os.path.exists(gone)  # ...and the missing file was left missing
