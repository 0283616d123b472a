"""Bulk inserts that return before PostgreSQL has finished them (``core.pgcopy``) keep the
transaction's promises: a failed insert is raised before the transaction can commit, inside
a savepoint when asked, never lost behind another error, and leaves nothing written."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lvyue.core import pgcopy, waiting
from lvyue.core.bulk import insert_many
from tests.core.parent_child import parent_and_child, tables_fixture

META, PARENT, CHILD = parent_and_child("test_pgcopy")


tables = tables_fixture(META)


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_rows_are_visible_to_the_next_statement(engine, tables):
    with engine.begin() as conn:
        insert_many(conn, PARENT, [{"id": i} for i in range(1, 501)])
        if conn.dialect.name == "postgresql":  # sent, its result not read yet
            assert conn.connection.driver_connection in pgcopy._PENDING
        insert_many(conn, CHILD, [{"id": i, "parent_id": i} for i in range(1, 501)])
        seen = conn.execute(sa.select(sa.func.count()).select_from(CHILD)).scalar()
    assert seen == 500 and _count(engine, PARENT) == 500
    assert not pgcopy._PENDING


def test_a_failed_insert_is_raised_before_commit_and_nothing_is_kept(engine, tables):
    with pytest.raises(IntegrityError, match="test_pgcopy_child"), engine.begin() as conn:
        insert_many(conn, PARENT, [{"id": 1}])
        insert_many(conn, CHILD, [{"id": 1, "parent_id": 1}, {"id": 2, "parent_id": 99}])
    assert _count(engine, PARENT) == 0 and _count(engine, CHILD) == 0
    # The connection went back to the pool clean: the next transaction works.
    with engine.begin() as conn:
        insert_many(conn, PARENT, [{"id": 7}])
    assert _count(engine, PARENT) == 1


def test_the_next_statement_raises_a_failed_insert(engine, tables):
    stage = "insert"
    with engine.connect() as conn:
        with pytest.raises(IntegrityError), conn.begin():
            insert_many(conn, PARENT, [{"id": 1}, {"id": 1}])
            stage = "read"
            conn.execute(sa.select(PARENT.c.id)).all()
        postgres = conn.dialect.name == "postgresql"
    # SQLite's executemany fails at once; PostgreSQL's COPY is found failed by the read.
    assert stage == ("read" if postgres else "insert")
    assert _count(engine, PARENT) == 0


def test_a_failed_insert_fails_its_savepoint_which_is_rolled_back(engine, tables):
    # PostgreSQL finds the failure at the savepoint's release; the outer transaction goes on.
    with engine.begin() as conn:
        insert_many(conn, PARENT, [{"id": 1}])
        try:
            with conn.begin_nested():
                insert_many(conn, PARENT, [{"id": 2}, {"id": 1}])
        except IntegrityError:
            caught = True
        else:
            caught = False
        insert_many(conn, PARENT, [{"id": 3}])
    assert caught
    with engine.connect() as conn:
        assert conn.execute(sa.select(PARENT.c.id).order_by(PARENT.c.id)).scalars().all() == [1, 3]


def test_an_error_in_python_is_not_hidden_by_a_pending_failure(engine, tables):
    # On SQLite the insert itself fails; on PostgreSQL it is still pending at the rollback.
    first = ValueError if engine.dialect.name == "postgresql" else IntegrityError
    with pytest.raises(first), engine.begin() as conn:
        insert_many(conn, PARENT, [{"id": 1}, {"id": 1}])
        raise ValueError("from the caller")
    assert not pgcopy._PENDING
    with engine.begin() as conn:
        insert_many(conn, PARENT, [{"id": 1}])
    assert _count(engine, PARENT) == 1


def test_waiting_work_runs_while_the_server_is_busy_and_never_without_a_wait(engine, tables):
    """Tasks handed to the waits (the next batch's parsing, ``core.waiting``) run while a
    COPY's result is outstanding, and the COPY's outcome, rows or error, is what it would be
    without them. On SQLite, where nothing is outstanding, statements never run them."""
    pg = engine.dialect.name == "postgresql"
    ran: list[int] = []
    if pg:  # a statement trigger that sleeps keeps the server on the COPY for 300 ms
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE FUNCTION test_pgcopy_slow() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER test_pgcopy_slow AFTER INSERT ON test_pgcopy_child "
                "FOR EACH STATEMENT EXECUTE FUNCTION test_pgcopy_slow()"
            )
    try:
        waiting.while_waiting([lambda i=i: ran.append(i) for i in range(5)])
        with engine.begin() as conn:
            conn.execute(sa.select(1))  # nothing pending: the tasks wait
            assert ran == []
            insert_many(conn, PARENT, [{"id": 1}])
            insert_many(conn, CHILD, [{"id": 1, "parent_id": 1}])
            assert conn.execute(sa.select(sa.func.count()).select_from(CHILD)).scalar() == 1
            assert ran == ([0, 1, 2, 3, 4] if pg else [])  # all of it, in order, once
        if not pg:
            return
        waiting.while_waiting([lambda: ran.append(9)])
        waiting.while_waiting([lambda: ran.append(10)])  # replaces the tasks before it
        with engine.begin() as conn:
            insert_many(conn, CHILD, [{"id": 2, "parent_id": 1}])
        assert ran[5:] == [10]

        waiting.while_waiting([lambda: ran.append(11)])
        with pytest.raises(IntegrityError), engine.begin() as conn:
            insert_many(conn, CHILD, [{"id": 3, "parent_id": 99}])
        assert _count(engine, CHILD) == 2
    finally:
        waiting.while_waiting(())
        if pg:
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TRIGGER test_pgcopy_slow ON test_pgcopy_child")
                conn.exec_driver_sql("DROP FUNCTION test_pgcopy_slow()")
