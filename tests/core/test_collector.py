"""The garbage collector settled for bulk runs: reference data frozen once, cycles collected
first, young collections less often."""

from __future__ import annotations

import gc
import weakref

import pytest

from lvyue.core import collector


class _Node:  # an instance, so the collector tracks it (dicts of plain values it does not)
    other: object = None


def _dead_cycle() -> weakref.ref[_Node]:
    """A weak reference to a cycle nothing else refers to: only a collection frees it."""
    garbage = _Node()
    garbage.other = garbage
    return weakref.ref(garbage)


@pytest.fixture
def gc_state():
    """The collector's thresholds and freeze as the test found them, whatever it does."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield thresholds
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_collects_then_freezes_what_is_alive_once_per_process(monkeypatch, gc_state):
    monkeypatch.setattr(collector, "_settled", False)
    reference = [_Node() for _ in range(2000)]  # alive: what a first batch loaded
    dead = _dead_cycle()
    collector.settle()
    assert dead() is None  # collected before the freeze, not kept forever
    frozen = gc.get_freeze_count()
    assert frozen >= len(reference)
    assert gc.get_threshold()[0] >= collector.YOUNG_THRESHOLD
    assert gc.get_threshold()[1:] == gc_state[1:]
    later = [_Node() for _ in range(500)]
    collector.settle()  # once per process: a later batch's objects are not frozen
    assert gc.get_freeze_count() <= frozen  # frozen objects may die; none are added
    assert later and reference


def test_after_settling_cycles_are_collected_at_every_nth_batch_boundary(monkeypatch, gc_state):
    # SQLAlchemy's statement objects are cyclic and hold the statement's values; left to the
    # (high) young threshold alone they grew a long import by 0.6 KB per order.
    monkeypatch.setattr(collector, "_settled", True)
    monkeypatch.setattr(collector, "_batches", 0)
    gc.set_threshold(collector.YOUNG_THRESHOLD, *gc_state[1:])
    dead = _dead_cycle()
    for _ in range(collector.YOUNG_EVERY - 1):
        collector.settle()
    assert dead() is not None  # not every batch: a young collection walks what is young
    collector.settle()
    assert dead() is None


def test_begin_freezes_what_the_process_holds_and_settle_collects_the_runs_cycles(
    monkeypatch, gc_state
):
    monkeypatch.setattr(collector, "_settled", False)
    monkeypatch.setattr(collector, "_begun", False)
    gc.collect()
    held = [_Node() for _ in range(2000)]  # what the process held before the run
    collector.begin()
    frozen = gc.get_freeze_count()
    assert frozen >= len(held)
    assert gc.get_threshold()[0] >= collector.YOUNG_THRESHOLD
    assert gc.get_threshold()[1:] == gc_state[1:]
    loaded = [_Node() for _ in range(500)]  # the first batch's reference data
    collector.begin()  # once per run: the first batch's objects are not frozen by it
    assert gc.get_freeze_count() == frozen
    dead = _dead_cycle()  # a cycle the first batch left
    collector.settle()
    assert dead() is None  # the first settle walks what the run made, and frees its cycles
    assert gc.get_freeze_count() >= frozen + len(loaded)
    assert held and loaded


def test_begin_after_settling_changes_nothing(monkeypatch, gc_state):
    monkeypatch.setattr(collector, "_settled", True)
    monkeypatch.setattr(collector, "_begun", False)
    collector.begin()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == gc_state
