"""``core.waiting``: the tasks a thread does while it waits for the database, here while a
database call runs in a thread of its own (SQLite's commit)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lvyue.core import waiting
from tests.core.parent_child import parent_and_child, tables_fixture


@pytest.fixture(autouse=True)
def _no_tasks_left():
    yield
    waiting.while_waiting(())


def test_the_tasks_run_while_the_call_runs_and_its_error_comes_back():
    released = threading.Event()
    ran: list[str] = []

    def call() -> None:  # finishes only once a task has run: the two overlap
        assert released.wait(5)
        ran.append("call")

    waiting.while_waiting([lambda: ran.append("t1"), released.set, lambda: ran.append("t3")])
    waiting.in_thread_while_working(call)
    # The call returned only because a task ran meanwhile; the last task ran if the call
    # was still going when its turn came.
    assert ran[0] == "t1" and ran.count("call") == 1 and ran.count("t3") <= 1

    def broken() -> None:
        raise ValueError("disk full")

    waiting.while_waiting([lambda: None])
    with pytest.raises(ValueError, match="disk full"):
        waiting.in_thread_while_working(broken)


def test_without_tasks_the_call_runs_in_the_calling_thread():
    where: list[threading.Thread] = []
    waiting.while_waiting(())
    assert waiting.work() is None
    waiting.in_thread_while_working(lambda: where.append(threading.current_thread()))
    assert where == [threading.current_thread()]


META, PARENT, CHILD = parent_and_child("test_waiting", deferred=True)


tables = tables_fixture(META)


def test_a_commit_with_tasks_given_commits_or_fails_as_without(engine, tables):
    """SQLite commits in a thread while the tasks run (core.db): the rows are kept, and a
    commit that fails (a deferred foreign key) raises SQLAlchemy's error and keeps nothing."""
    ran: list[int] = []
    waiting.while_waiting([lambda i=i: ran.append(i) for i in range(3)])
    with engine.begin() as conn:
        conn.execute(sa.insert(PARENT), [{"id": 1}])
        conn.execute(sa.insert(CHILD), [{"id": 1, "parent_id": 1}])
    assert ran == [0, 1, 2][: len(ran)]  # in order, once each, as far as the commit took
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CHILD)).scalar() == 1

    waiting.while_waiting([lambda: None] * 3)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(CHILD), [{"id": 2, "parent_id": 99}])  # checked at commit
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CHILD)).scalar() == 1
    with engine.begin() as conn:  # the connection came back usable
        conn.execute(sa.insert(CHILD), [{"id": 3, "parent_id": 1}])
