"""The cyclic garbage collector in long bulk runs (imports, the order pipeline, channel sync).

CPython's defaults suit short programs: a young collection every 700 new container objects, and
a full one whenever the old generation has grown by a quarter, walking every live object again:
the division index of the address parser, SQLAlchemy's and pydantic's schemas, the review
context. In a 10k-order pipeline run that took 17% of the time (1.3 of 7.7 s, 12 full
collections of about 90 ms). A bulk runner calls :func:`settle` between batches: the first call
(the first batch has loaded the reference data) collects once and freezes what is left, which
later collections never walk again (``gc.freeze``), and young collections wait for more new
objects. Reference counting still frees everything a batch drops; only cycles wait longer.

The young threshold counts container objects allocated and not yet freed: a batch of 500
orders holds some 40,000 while it runs, and frees them at its end. Above that (200,000), a
young collection comes only from objects that outlive their batch, which in a bulk run are
cycles. So the per-order code must leave none (the address parser's recursive closure did,
tests/geo/test_address.py): with 50,000, a young collection came every two batches and
walked the batch in flight, 4-5% of a 10k-order import (session 12, docs/PERFORMANCE.md).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 200_000  # see above: above a batch's live objects
_settled = False


def settle() -> None:
    """Once per process, after the first batch of a bulk run; later calls do nothing."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
