"""The garbage collector settled for bulk runs: reference data frozen once, cycles collected
first, young collections less often."""

from __future__ import annotations

import gc
import weakref

from lvyue.core import collector


class _Node:
    other: object = None


def test_settle_collects_then_freezes_what_is_alive_once_per_process(monkeypatch):
    monkeypatch.setattr(collector, "_settled", False)
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        reference = [{"division": i} for i in range(2000)]  # alive: what a first batch loaded
        garbage = _Node()
        garbage.other = garbage  # a cycle nothing refers to
        dead = weakref.ref(garbage)
        del garbage
        collector.settle()
        assert dead() is None  # collected before the freeze, not kept forever
        frozen = gc.get_freeze_count()
        assert frozen >= len(reference)
        assert gc.get_threshold()[0] >= collector.YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == thresholds[1:]
        later = [{"batch": i} for i in range(500)]
        collector.settle()  # once per process: a later batch's objects are not frozen
        assert gc.get_freeze_count() <= frozen  # frozen objects may die; none are added
        assert later and reference
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_after_settling_cycles_are_collected_at_every_nth_batch_boundary(monkeypatch):
    # SQLAlchemy's statement objects are cyclic and hold the statement's values; left to the
    # (high) young threshold alone they grew a long import by 0.6 KB per order.
    monkeypatch.setattr(collector, "_settled", True)
    monkeypatch.setattr(collector, "_batches", 0)
    thresholds = gc.get_threshold()
    gc.set_threshold(collector.YOUNG_THRESHOLD, *thresholds[1:])
    try:
        garbage = _Node()
        garbage.other = garbage
        dead = weakref.ref(garbage)
        del garbage
        for _ in range(collector.YOUNG_EVERY - 1):
            collector.settle()
        assert dead() is not None  # not every batch: a young collection walks what is young
        collector.settle()
        assert dead() is None
    finally:
        gc.set_threshold(*thresholds)
