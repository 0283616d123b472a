"""Review on import (ADR 0009): the orders an import batch creates are reviewed, placed and
reserved from the values in memory and inserted once, with their outcome, in the import's
transaction. The decisions are the pipeline's own (``pipeline.decide``); what this saves is
inserting each order as waiting and then reading it back and updating it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from lvyue.core.uow import UnitOfWork
from lvyue.orders.events import OrderRef
from lvyue.orders.service._base import Change, S
from lvyue.orders.service.pipeline import (
    REVIEW_COLUMNS,
    Decisions,
    Outcomes,
    ProcessReport,
    decide,
    finish,
    outcomes_of,
    record_outcomes,
)

# The columns review decides, on every new row of a reviewed batch (the bulk insert takes
# rows with one set of keys), at the values an order waiting for review has.
_DECIDED = {
    "warehouse_id": None,
    "carrier_code": None,
    "service_code": None,
    "shipping_cost": None,
    "merge_group": None,
}

_UNSET = dict.fromkeys(REVIEW_COLUMNS)


@dataclass
class Intake:
    """A reviewed batch between its decisions and its insert."""

    orders: list[Any]
    lines: dict[int, list[Any]]
    decisions: Decisions
    outcomes: Outcomes


def review_new(
    uow: UnitOfWork, rows: list[dict[str, Any]], line_rows: list[dict[str, Any]], ts: datetime
) -> Intake | None:
    """Decide for the orders waiting for review among ``rows`` (new orders with their ids,
    not inserted yet) and reserve their stock; the outcome is written into ``rows`` and
    ``line_rows``, which the caller then inserts. None when no order waits for review."""
    for row in rows:
        row.update(_DECIDED)
        row.setdefault("review_log", [])
        row.setdefault("review_steps", [])
    pending = S.PENDING_REVIEW.value
    waiting = [r for r in rows if r["status"] == pending]
    if not waiting:
        return None
    # The whole row as attributes, the review columns it lacks as None: one copy in C per
    # order instead of a look-up per column.
    orders = [SimpleNamespace(**(_UNSET | r)) for r in waiting]
    lines: dict[int, list[Any]] = defaultdict(list)
    for ln in line_rows:
        if ln["refund_status"] != "refunded":  # as the pipeline reads lines
            lines[ln["order_id"]].append(SimpleNamespace(id=None, **ln))
    # Lines were mapped to SKUs a moment ago in this transaction: nothing new to resolve.
    # Every new order of the batch counts for the duplicate check, reviewed or not.
    unsaved = [
        SimpleNamespace(
            id=r["id"], status=r["status"], dup_key=r["dup_key"], ordered_at=r["ordered_at"]
        )
        for r in rows
    ]
    d = decide(uow, orders, lines, {}, unsaved)
    out = outcomes_of(orders, ts, d)
    by_id = {r["id"]: r for r in waiting}
    for p in out.placed:
        by_id[p["oid"]].update(
            warehouse_id=p["wh"],
            carrier_code=p["carrier"],
            service_code=p["service"],
            shipping_cost=p["cost"],
        )
    for p in out.placed + out.others:
        by_id[p["oid"]].update(
            status=p["new"],
            review_log=p["log"],
            review_steps=p["steps"],
            tags=p["tags"],
            merge_group=p["mg"],
        )
    for ln in line_rows:
        placed = ln["order_id"] in d.allocated and ln["sku_id"] is not None
        if placed and ln["refund_status"] != "refunded":
            ln["reserved"] = ln["quantity"]
    return Intake(orders, lines, d, out)


def record_review(
    uow: UnitOfWork,
    intake: Intake,
    ts: datetime,
    arrivals: Sequence[Change],
    refs: dict[int, OrderRef],
) -> ProcessReport:
    """After the insert: history of the import (``arrivals``, the batch's new orders) and of
    the review, holds, one notice per new order from nothing to where review left it, then
    what the pipeline does once outcomes are written (merges joined, shortages split or cut
    down)."""
    orders = intake.orders
    record_outcomes(uow, orders, ts, intake.decisions, intake.outcomes, (arrivals, refs))
    report = ProcessReport(examined=len(orders), last_id=orders[-1].id)
    return finish(uow, orders, intake.lines, intake.decisions, report)
