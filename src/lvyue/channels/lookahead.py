"""Parse the next batch's payloads, and read their addresses, while the database writes this
batch.

Part of every batch is a wait: on PostgreSQL for the server to insert the orders, lines and
history sent as COPYs (``core.pgcopy``), 70 µs per order at 10,000 orders; on SQLite for the
commit to write the WAL, 25 µs per order at 10,000 and 107 at a million. A bulk runner that
already holds its next batch (the next pages of a pull) gives those waits its preparation:
:meth:`ParseAhead.prepare` hands the next batch's parses to ``core.waiting`` as small tasks,
each also reading the receiver's address ahead (``orders.normalise``), and the next batch's
``ingest`` takes their results through :meth:`ParseAhead.parser`, parsing whatever the waits
did not reach itself. Only pure functions of the payload move; every write stays in its own
batch's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from functools import partial
from typing import TypeVar

from lvyue.channels.adapters.base import RawOrder
from lvyue.core import waiting
from lvyue.orders.canonical import CanonicalOrder, CanonicalReceiver
from lvyue.orders.normalise import drop_ahead, normalise_ahead

Parse = Callable[[RawOrder], CanonicalOrder]
B = TypeVar("B")


class ParseAhead:
    """Parses done ahead for one bulk run, kept by payload until taken; a context manager,
    whose end drops what is left."""

    def __init__(self) -> None:
        # id(raw) -> (raw, order or None, the parse's exception or None)
        self._ready: dict[int, tuple[RawOrder, CanonicalOrder | None, Exception | None]] = {}
        self._receivers: dict[int, CanonicalReceiver] = {}  # read ahead, by id(raw)

    def __enter__(self) -> ParseAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._ready.clear()
        self._receivers.clear()
        waiting.while_waiting(())
        drop_ahead()

    def over(
        self, batches: Iterable[B], payloads: Callable[[B], Iterable[tuple[RawOrder, Parse]]]
    ) -> Iterator[B]:
        """``batches`` one at a time, the next one's ``payloads`` (each with its ``parse``)
        handed to the waits before each is yielded, and what was done ahead for it dropped
        once the caller is done with it. A failure getting the next batch (a pull's fetch) is
        raised once the caller is done with the one in hand, as without the lookahead."""
        upcoming = iter(batches)
        batch = next(upcoming, None)
        while batch is not None:
            failed: Exception | None = None
            try:
                following = next(upcoming, None)
            except Exception as exc:
                following, failed = None, exc
            self.prepare(payloads(following) if following is not None else ())
            yield batch
            self.forget([raw for raw, _ in payloads(batch)])
            if failed is not None:
                raise failed
            batch = following

    def prepare(self, items: Iterable[tuple[RawOrder, Parse]]) -> None:
        """Parse the next batch's payloads, each with its adapter's ``parse`` (none after the
        last batch), while the database is busy with the current one. Call before each batch:
        parses handed over before and not reached are dropped (that batch does them)."""
        waiting.while_waiting([partial(self._parse_one, raw, parse) for raw, parse in items])

    def _parse_one(self, raw: RawOrder, parse: Parse) -> None:
        try:
            order = parse(raw)
        except Exception as exc:  # raised again, as the parse's own, when the batch takes it
            self._ready[id(raw)] = (raw, None, exc)
            return
        self._ready[id(raw)] = (raw, order, None)
        self._receivers[id(raw)] = order.receiver
        # A reading that fails here fails again, and is reported, in the import itself.
        with suppress(Exception):
            normalise_ahead(order.receiver)

    def parser(self, parse: Parse) -> Parse:
        """``parse``, answered from the parses done ahead where there is one."""

        def take(raw: RawOrder) -> CanonicalOrder:
            ready = self._ready.pop(id(raw), None)
            if ready is None or ready[0] is not raw:
                return parse(raw)
            if ready[2] is not None:
                raise ready[2]
            assert ready[1] is not None
            return ready[1]

        return take

    def forget(self, raws: Sequence[RawOrder]) -> None:
        """Drop what was done ahead for ``raws`` and not taken (payloads or orders known
        already). Call after their batch."""
        receivers = []
        for raw in raws:
            self._ready.pop(id(raw), None)
            receiver = self._receivers.pop(id(raw), None)
            if receiver is not None:
                receivers.append(receiver)
        drop_ahead(receivers)
