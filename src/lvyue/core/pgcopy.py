"""COPY on PostgreSQL without waiting for the server to finish each table.

A COPY's rows stream to the server as they are formatted, but the server inserts them (heap,
indexes, WAL) more slowly than psycopg formats them, and ``with cursor.copy()`` then waits for
its result: on the order pipeline that wait was a fifth of the wall time, with the client idle
while the server worked on the other core. Here the client sends the end of the data and goes
on with the batch; the result is collected (and its error raised) before the next statement on
the connection, the next COPY, a savepoint or the commit, through the engine's events
(:func:`install`). The transaction stays the unit: an error arrives a statement later, but
still inside the same transaction, which then rolls back as before.
"""

from __future__ import annotations

import select
import weakref
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from lvyue.core import waiting

# psycopg is imported where it is used: a process on SQLite never loads it (9.5 MiB).

# Driver connection -> the COPY statement whose result is still to be read.
_PENDING: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def copy_rows(conn: Connection, sql: str, values: list[Any]) -> None:
    """``COPY ... FROM STDIN`` of ``values`` (tuples in the statement's column order); return
    once the data and its end are sent, before the server has inserted them."""
    import psycopg

    driver = conn.connection.driver_connection
    settle(driver)
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql, writer=_send_only()(cursor)) as copy:
            for v in values:
                copy.write_row(v)
    except psycopg.Error as exc:  # the same exception classes as conn.execute would raise
        raise sa.exc.DBAPIError.instance(sql, None, exc, psycopg.Error) from exc
    _PENDING[driver] = sql


def settle(driver: Any, *, raise_error: bool = True) -> None:
    """Read the result of the driver connection's pending COPY, if any, and raise its error
    (as SQLAlchemy's exception class, e.g. ``IntegrityError``) unless told not to. While the
    server is busy, the thread's tasks (``core.waiting``) run, one at a time."""
    if not _PENDING:
        return
    sql = _PENDING.pop(driver, None)
    if sql is None:
        return
    import psycopg
    from psycopg import errors, pq

    pgconn = driver.pgconn
    work = waiting.work()
    failure: Exception | None = None
    try:
        while True:
            while pgconn.is_busy():
                if work:
                    work.popleft()()
                else:
                    select.select([pgconn.socket], [], [])
                pgconn.consume_input()
            res = pgconn.get_result()
            if res is None:
                break
            if res.status != pq.ExecStatus.COMMAND_OK and failure is None:
                failure = errors.error_from_result(res, encoding=pgconn._encoding)
    except psycopg.Error as exc:  # the connection broke
        failure = exc
    if failure is not None and raise_error:
        raise sa.exc.DBAPIError.instance(sql, None, failure, psycopg.Error) from failure


@cache
def _send_only() -> type[Any]:
    from psycopg.copy import LibpqWriter

    class SendOnly(LibpqWriter):
        """psycopg's writer, except that the end of the data is sent without waiting for
        the result (an aborted copy, on a Python error, still waits, as psycopg does)."""

        def finish(self, exc: BaseException | None = None) -> None:
            if exc is not None:
                super().finish(exc)
                return
            pgconn = self._pgconn
            while pgconn.put_copy_end(None) == 0:  # libpq's buffer is full
                select.select([], [pgconn.socket], [])
            while pgconn.flush() == 1:
                # Read as well: a server that reports an error stops reading what we send.
                select.select([pgconn.socket], [pgconn.socket], [])
                pgconn.consume_input()

    return SendOnly


def _before_execute(conn: Connection, cursor: Any, *_: Any) -> None:
    if _PENDING:
        settle(cursor.connection)


def _before_tx(conn: Connection, *_: Any) -> None:
    if _PENDING:
        settle(conn.connection.driver_connection)


def _before_release(conn: Connection, name: str, *_: Any) -> None:
    # A COPY that failed inside the savepoint fails its release: the savepoint is rolled back
    # first, as the caller's ``except`` expects, since SQLAlchemy will not do it after a
    # failed release and the transaction would stay aborted.
    if not _PENDING:
        return
    try:
        settle(conn.connection.driver_connection)
    except sa.exc.DBAPIError:
        conn.dialect.do_rollback_to_savepoint(conn, name)
        raise


def _before_rollback(conn: Connection, *_: Any) -> None:
    if _PENDING:
        settle(conn.connection.driver_connection, raise_error=False)


def _on_reset(dbapi_connection: Any, *_: Any) -> None:
    if _PENDING and dbapi_connection is not None:
        settle(dbapi_connection, raise_error=False)


def install(engine: Engine) -> None:
    """Collect pending COPY results before anything else runs on the engine's connections."""
    event.listen(engine, "before_cursor_execute", _before_execute)
    for name in ("commit", "savepoint", "prepare_twophase"):
        event.listen(engine, name, _before_tx)
    event.listen(engine, "release_savepoint", _before_release)
    for name in ("rollback", "rollback_savepoint"):
        event.listen(engine, name, _before_rollback)
    event.listen(engine.pool, "reset", _on_reset)
    event.listen(engine.pool, "checkin", _on_reset)
