"""SQLite's WAL checkpoint run beside a bulk run (``core.checkpoint``), on a file database of
its own whichever database the suite runs on."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from lvyue.core import checkpoint as ck
from lvyue.core.db import make_engine

ROW = "x" * 600  # a few rows per 4 KB page: every commit adds frames


@pytest.fixture
def wal_engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    yield engine
    ck.wait_for_checkpoint(engine)
    engine.dispose()


def _insert(engine: sa.Engine, start: int, n: int) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO t (id, v) VALUES (?, ?)", [(i, ROW) for i in range(start, start + n)]
        )


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one()


def test_database_file_only_for_sqlite_files(tmp_path: Path):
    assert ck.database_file(make_engine(f"sqlite:///{tmp_path / 'a.db'}")) == str(tmp_path / "a.db")
    assert ck.database_file(make_engine("sqlite://")) is None
    assert ck.database_file(make_engine("sqlite:///:memory:")) is None
    assert ck.database_file(sa.create_engine("postgresql+psycopg://u@h/db")) is None


def test_frames_to_copy_reads_the_wal_index(wal_engine, tmp_path: Path):
    path = str(tmp_path / "wal.db")
    assert ck.frames_to_copy(str(tmp_path / "missing.db")) is None
    before = ck.frames_to_copy(path)
    assert before is not None
    _insert(wal_engine, 0, 200)
    after = ck.frames_to_copy(path)
    assert after is not None and after >= before + 200 * len(ROW) // 4096
    frames, copied = ck.checkpoint(path)
    assert frames == copied >= after
    assert ck.frames_to_copy(path) == 0


def test_background_checkpoint_starts_at_the_threshold_and_copies_everything(
    wal_engine, tmp_path: Path
):
    path = str(tmp_path / "wal.db")
    _insert(wal_engine, 0, 100)
    pending = ck.frames_to_copy(path)
    assert pending
    assert not ck.checkpoint_in_background(wal_engine, start_at=pending + 1)  # not yet due
    assert ck.checkpoint_in_background(wal_engine, start_at=pending)
    ck.wait_for_checkpoint(wal_engine)
    assert ck.frames_to_copy(path) == 0
    assert not ck.checkpoint_in_background(wal_engine, start_at=1)  # nothing to copy
    assert _count(wal_engine) == 100


def test_one_checkpoint_at_a_time(wal_engine, monkeypatch):
    release, entered = threading.Event(), threading.Event()
    real = ck.checkpoint

    def slow(path: str) -> tuple[int, int]:
        entered.set()
        release.wait(10)
        return real(path)

    monkeypatch.setattr(ck, "checkpoint", slow)
    _insert(wal_engine, 0, 50)
    assert ck.checkpoint_in_background(wal_engine, start_at=1)
    entered.wait(10)
    _insert(wal_engine, 50, 50)
    assert not ck.checkpoint_in_background(wal_engine, start_at=1)  # the first still runs
    release.set()
    ck.wait_for_checkpoint(wal_engine)
    _insert(wal_engine, 100, 50)
    assert ck.checkpoint_in_background(wal_engine, start_at=1)  # done: the next one starts


def test_writes_go_on_while_checkpoints_run(wal_engine, tmp_path: Path):
    """Batches committed while a checkpoint copies the WAL back are all kept, the file is
    sound, and once a checkpoint finishes with nothing committed meanwhile the WAL starts
    again from its beginning."""
    path = str(tmp_path / "wal.db")
    started = 0
    for b in range(40):
        _insert(wal_engine, b * 100, 100)
        started += ck.checkpoint_in_background(wal_engine, start_at=50)
    ck.wait_for_checkpoint(wal_engine)
    assert started >= 2
    assert _count(wal_engine) == 4000
    with wal_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    ck.checkpoint(path)  # what the writer's own checkpoint does at its next commit
    _insert(wal_engine, 4000, 1)  # a new transaction: the WAL restarts
    assert 0 < (ck.frames_to_copy(path) or 0) < 10


_WRITER = """
import sys
from lvyue.core import checkpoint as ck
from lvyue.core.db import make_engine

engine = make_engine("sqlite:///" + sys.argv[1])
with engine.begin() as conn:
    conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, batch INTEGER, v TEXT)")
for b in range(100_000):
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO t (batch, v) VALUES (?, ?)", [(b, "x" * 600)] * 100
        )
    print(b, flush=True)  # committed
    ck.checkpoint_in_background(engine, start_at=1)
"""


def test_a_kill_during_background_checkpoints_loses_no_commit(tmp_path: Path):
    """SIGKILL a writer that starts a checkpoint after every commit: every batch it reported
    committed is there, whole, and the file is sound."""
    path = tmp_path / "killed.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    committed = -1
    for line in proc.stdout:  # until well past the first checkpoints
        committed = int(line)
        if committed >= 30:
            break
    time.sleep(random.uniform(0.05, 0.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        batches = conn.execute("SELECT batch, count(*) FROM t GROUP BY batch").fetchall()
    finally:
        conn.close()
    assert len(batches) > committed
    assert [b for b, _ in batches] == list(range(len(batches)))
    assert {n for _, n in batches} == {100}
