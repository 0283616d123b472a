"""The cyclic garbage collector in long bulk runs (imports, the order pipeline, channel sync).

CPython's defaults suit short programs: a young collection every 700 new container objects, and
a full one whenever the old generation has grown by a quarter, walking every live object again:
the division index of the address parser, SQLAlchemy's and pydantic's schemas, the review
context. In a 10k-order pipeline run that took 17% of the time (1.3 of 7.7 s, 12 full
collections of about 90 ms). A bulk runner calls :func:`settle` between batches: the first call
(the first batch has loaded the reference data) collects once and freezes what is left, which
later collections never walk again (``gc.freeze``), and young collections wait for more new
objects. Reference counting still frees everything a batch drops; only cycles wait longer.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
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
