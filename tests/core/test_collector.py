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


def test_begin_freezes_what_the_process_holds_and_settle_collects_the_runs_cycles(monkeypatch):
    monkeypatch.setattr(collector, "_settled", False)
    monkeypatch.setattr(collector, "_begun", False)
    thresholds = gc.get_threshold()
    gc.unfreeze()
    gc.collect()
    try:
        held = [_Node() for _ in range(2000)]  # what the process held before the run (tracked)
        collector.begin()
        frozen = gc.get_freeze_count()
        assert frozen >= len(held)
        assert gc.get_threshold()[0] >= collector.YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == thresholds[1:]
        loaded = [_Node() for _ in range(500)]  # the first batch's reference data
        collector.begin()  # once per run: the first batch's objects are not frozen by it
        assert gc.get_freeze_count() == frozen
        garbage = _Node()
        garbage.other = garbage  # a cycle the first batch left
        dead = weakref.ref(garbage)
        del garbage
        collector.settle()
        assert dead() is None  # the first settle walks what the run made, and frees its cycles
        assert gc.get_freeze_count() >= frozen + len(loaded)
        assert held and loaded
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_begin_after_settling_changes_nothing(monkeypatch):
    monkeypatch.setattr(collector, "_settled", True)
    monkeypatch.setattr(collector, "_begun", False)
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        collector.begin()
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == thresholds
    finally:
        gc.set_threshold(*thresholds)
