"""The cyclic garbage collector in long bulk runs (imports, the order pipeline, channel sync).

CPython's defaults suit short programs: a young collection every 700 new container objects, and
a full one whenever the old generation has grown by a quarter, walking every live object again:
the division index of the address parser, SQLAlchemy's and pydantic's schemas, the review
context. In a 10k-order pipeline run that took 17% of the time (1.3 of 7.7 s, 12 full
collections of about 90 ms). A bulk runner calls :func:`settle` between batches: the first call
(the first batch has loaded the reference data) collects once and freezes what is left, which
later collections never walk again (``gc.freeze``), and young collections wait for more new
objects. Reference counting still frees everything a batch drops; only cycles wait longer.
A bulk run that calls :func:`begin` before its first batch freezes what the process held
before it (modules, schemas) at once, so the first batch's collections, and the full one after
it, walk only what the run itself made: on a 10k-order import of about 6 s they took 200-230
ms (153 young, 14 middle and 2 full collections), and take 12-33 ms (session 15).

The young threshold counts container objects allocated and not yet freed: a batch of 500
orders holds some 40,000 while it runs, and frees them at its end. Above that (200,000), no
young collection comes in the middle of a batch to walk the batch in flight: with 50,000, one
came every two batches, 4-5% of a 10k-order import (session 12, docs/performance-history.md). What
outlives its batch in a cycle is then collected at a batch boundary, every
``YOUNG_EVERY`` batches, when little else is young. The per-order code leaves no cycles (the
address parser's recursive closure did: tests/geo/test_address.py); SQLAlchemy's statement
objects do, a few per statement, and they hold the statement's values (an IN list of 500
keys): left to the threshold alone they grew the process by 0.6 KB per order.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 200_000  # see above: above a batch's live objects
YOUNG_EVERY = 20  # batches (10,000 orders) between young collections at a batch boundary
_settled = False
_begun = False
_batches = 0


def _raise_threshold() -> None:
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)


def begin() -> None:
    """Call before the first batch of a bulk run: what the process holds now is frozen (its
    cyclic garbage, if any, is kept, as ``gc.freeze`` keeps it before a fork), and young
    collections wait for ``YOUNG_THRESHOLD`` new objects from here on."""
    global _begun
    if _settled or _begun:
        return
    gc.freeze()
    _raise_threshold()
    _begun = True


def settle() -> None:
    """Call between the batches of a bulk run. The first call (after the first batch)
    collects everything once and freezes what is left; then every ``YOUNG_EVERY``-th call
    collects the young generation."""
    global _settled, _batches
    if _settled:
        _batches += 1
        if _batches % YOUNG_EVERY == 0:
            gc.collect(0)
        return
    gc.collect()
    gc.freeze()
    _raise_threshold()
    _settled = True


def settled() -> bool:
    """Whether this process has settled its collector for a bulk run (benchmarks report the
    collections before and after apart)."""
    return _settled
