"""Work for a thread to do while it waits for the database.

A bulk run spends part of every batch waiting for the database: on PostgreSQL for the server
to insert a COPY's rows (``core.pgcopy``), on SQLite for the commit to write the WAL. A runner
that already holds its next batch hands that batch's pure-Python preparation to the waits
(``channels.lookahead``): small tasks that touch no database and never raise, run one at a
time while the database is busy, and dropped when the runner hands over the next batch's.
What a wait does not reach, the batch does itself when it needs the result.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

Task = Callable[[], object]
_LOCAL = threading.local()  # .work: this thread's tasks


def while_waiting(tasks: Iterable[Task]) -> None:
    """Give this thread ``tasks`` to do while it waits for the database, in place of any
    given before."""
    _LOCAL.work = deque(tasks)


def work() -> deque[Task] | None:
    """This thread's tasks not run yet (the waits pop them), if any were given."""
    queue: deque[Task] | None = getattr(_LOCAL, "work", None)
    return queue or None


def in_thread_while_working(call: Callable[[], None]) -> None:
    """Run ``call`` (a database call that releases the GIL, such as SQLite's commit) in a
    thread of its own while this thread does its tasks; return when both are done, raising
    what ``call`` raised. Without tasks, ``call`` runs here."""
    queue = work()
    if queue is None:
        call()
        return
    failure: list[BaseException] = []
    started = threading.Event()

    def run() -> None:
        started.set()
        try:
            call()
        except BaseException as exc:  # raised again in the calling thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="lvyue-db-wait", daemon=True)
    thread.start()
    # Let it reach its C call (which releases the GIL) before taking the GIL for the tasks:
    # a thread that asks for the GIL waits up to the switch interval (5 ms) otherwise.
    started.wait()
    try:
        while queue and thread.is_alive():
            queue.popleft()()
    finally:  # whatever happens here, the call is over before the connection is used again
        thread.join()
    if failure:
        raise failure[0]
