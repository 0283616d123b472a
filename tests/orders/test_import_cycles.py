"""Bulk imports run with the cyclic collector held back (``core.collector``): a young
collection comes only when objects outlive their batch. Whatever an import leaves in a
reference cycle stays until then, and makes that collection walk the batch in flight, so the
per-order path must leave none. A statement may (SQLAlchemy's constructs are cyclic); an
order may not."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable

from lvyue import demo_data
from lvyue.core.uow import UnitOfWork
from lvyue.demo import seed_reference_data
from lvyue.orders import service


def test_importing_an_order_leaves_nothing_for_the_cycle_collector(
    uow: Callable[..., UnitOfWork], db: str
) -> None:
    skus = seed_reference_data(db, seed=11)
    docs = demo_data.orders(420, skus, "TB01", seed=5)

    def unreachable_after(batch: list[dict[str, object]]) -> int:
        gc.collect()
        gc.disable()
        try:
            with uow() as u:
                report = service.import_orders(
                    u,
                    "TB01",
                    [(i, json.dumps(d, ensure_ascii=False)) for i, d in enumerate(batch, 1)],
                    review=True,
                )
            assert report.imported == len(batch) and report.review.examined > 0
            return gc.collect()
        finally:
            gc.enable()

    unreachable_after(docs[:20])  # warm: reference data, statement caches
    small = unreachable_after(docs[20:120])
    large = unreachable_after(docs[120:420])
    # 200 more orders: the same statements, so the same cyclic leftovers, whatever the size.
    assert large - small < 100, (small, large)
