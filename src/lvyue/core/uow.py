"""Unit of work: one use case = one transaction.

``with UnitOfWork(engine) as uow:`` opens a session in a transaction; leaving the block
commits if no exception escaped, else rolls back. Events published with ``uow.publish`` are
handled synchronously, in the same transaction, in publication order.
"""

from __future__ import annotations

from collections import deque
from types import TracebackType

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from lvyue.core.events import Event, handlers_for


class UnitOfWork:
    def __init__(self, engine: Engine, *, actor: str = "system", readonly: bool = False) -> None:
        self.engine = engine
        self.actor = actor
        self.readonly = readonly
        self._queue: deque[Event] = deque()
        self._dispatching = False
        self.published: list[Event] = []

    def __enter__(self) -> UnitOfWork:
        bind = self.engine.execution_options(lvyue_readonly=True) if self.readonly else self.engine
        self.session = Session(bind=bind, expire_on_commit=False, autoflush=False)
        self.session.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and not self.readonly:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    @property
    def conn(self) -> Connection:
        """The transaction's connection, for Core statements on bulk paths."""
        return self.session.connection()

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def publish(self, *events: Event) -> None:
        self._queue.extend(events)
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._queue:
                event = self._queue.popleft()
                self.published.append(event)
                for handler in handlers_for(event):
                    handler(self, event)
        finally:
            self._dispatching = False
