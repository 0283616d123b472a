"""An operator's choice of warehouse or carrier for orders already through review.

``assign_warehouse`` moves the reservation: what the order holds is released and the same
units are reserved in the chosen warehouse, in one transaction, after checking the chosen
warehouse's locked levels. An order the warehouse cannot fill is refused with the shortage
named and nothing changes for it; the others go ahead. ``assign_carrier`` sets the carrier
service (quoted like the pipeline's choice, from the order's warehouse to its receiver).
Each change writes a history row and publishes ``OrderStatusChanged`` (allocated to
allocated for a re-allocation), so the live pages and webhook subscribers see it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lvyue.core.clock import now
from lvyue.core.errors import Conflict, InsufficientStock, NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import service as inventory
from lvyue.logistics.queries import CARRIER, SERVICE
from lvyue.orders.context import ReviewContext, load_review_context
from lvyue.orders.review import LineFacts, OrderFacts, expand_demand
from lvyue.orders.service._base import (
    DOC,
    HOLD,
    LINE,
    ORDER,
    WAREHOUSE,
    Change,
    S,
    _announce,
    _history,
    _release,
    _set_holds,
    _status_update,
    _transition,
    _update_orders,
)
from lvyue.orders.service.pipeline import _lines_of

# Held orders a warehouse choice settles: held only because no warehouse or carrier fitted.
SETTLED_BY_PLACE = frozenset({"out_of_stock", "no_carrier"})
PLACEABLE = frozenset({S.APPROVED, S.ALLOCATED, S.HELD})
WITH_WAREHOUSE = frozenset({S.APPROVED, S.ALLOCATED})


class AssignmentRefused(Conflict):
    """The chosen warehouse or carrier cannot serve the order; nothing changed for it."""

    code = "assignment_refused"
    http_status = 409


@dataclass
class AssignReport:
    """Orders changed, and the refused ones with why (nothing changed for those)."""

    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)

    def check(self, order_id: int) -> None:
        """Raise ``AssignmentRefused`` if ``order_id`` was refused (for one-order callers)."""
        if order_id in self.refused:
            raise AssignmentRefused(self.refused[order_id], order_id=order_id)


@dataclass
class _Batch:
    rows: dict[int, Any]
    facts: dict[int, OrderFacts]
    ctx: ReviewContext
    holds: dict[int, set[str]]
    warehouses: dict[int, str]  # id -> code


def _load(uow: UnitOfWork, order_ids: Sequence[int]) -> _Batch:
    ids = sorted(set(order_ids))
    rows: dict[int, Any] = {}
    for i in range(0, len(ids), 900):
        for r in uow.conn.execute(sa.select(ORDER).where(ORDER.c.id.in_(ids[i : i + 900]))):
            rows[r.id] = r
    lines = _lines_of(uow, list(rows))
    facts = {
        oid: OrderFacts(oid, [LineFacts(ln.sku_code, ln.sku_id, ln.quantity) for ln in lines[oid]])
        for oid in rows
    }
    holds: dict[int, set[str]] = {oid: set() for oid in rows}
    for i in range(0, len(ids), 900):
        for h in uow.conn.execute(
            sa.select(HOLD.c.order_id, HOLD.c.code).where(HOLD.c.order_id.in_(ids[i : i + 900]))
        ):
            holds[h.order_id].add(h.code)
    warehouses = dict(uow.conn.execute(sa.select(WAREHOUSE.c.id, WAREHOUSE.c.code)).all())
    ctx = load_review_context(uow, list(rows.values()), facts)
    return _Batch(rows, facts, ctx, holds, warehouses)


def _existing(
    b: _Batch, order_ids: Sequence[int], report: AssignReport
) -> Iterator[tuple[int, Any]]:
    """``(id, row)`` of each of ``order_ids`` that exists, in their order; the others are
    refused in ``report``."""
    for oid in order_ids:
        o = b.rows.get(oid)
        if o is None:
            report.refused[oid] = f"order {oid} does not exist"
        else:
            yield oid, o


def _target_warehouse(uow: UnitOfWork, code: str, scope: Collection[str]) -> Any:
    row = uow.conn.execute(sa.select(WAREHOUSE).where(WAREHOUSE.c.code == code)).first()
    if row is None:
        raise NotFound(f"warehouse {code} does not exist", code="unknown_warehouse")
    if not row.active:
        raise ValidationError("warehouse", f"warehouse {code} is not active")
    if scope and code not in scope:
        raise ValidationError("warehouse", f"warehouse {code} is outside your warehouses")
    return row


def _why_not(b: _Batch, o: Any, scope: Collection[str], allowed: frozenset[S]) -> str | None:
    """Why the order cannot be placed by hand, or None."""
    status = S(o.status)
    current = b.warehouses.get(o.warehouse_id) if o.warehouse_id else None
    if scope and current is not None and current not in scope:
        return f"order {o.id} ships from {current}, outside your warehouses"
    if status not in allowed:
        return f"order {o.id} is {status.value}: only approved or allocated orders" + (
            " (or held for stock or carrier)" if S.HELD in allowed else ""
        )
    if status is S.HELD:
        other = sorted(b.holds[o.id] - SETTLED_BY_PLACE)
        if other:
            return f"order {o.id} is held for {', '.join(other)}: resolve that first"
    if any(ln.sku_id is None for ln in b.facts[o.id].lines):
        return f"order {o.id} has lines without a SKU"
    return None


def _parcel(b: _Batch, o: Any, demand: dict[int, int]) -> dict[str, Any]:
    facts = b.ctx.rule_facts(o, b.facts[o.id], demand)
    return {"weight_g": facts["weight_g"], "sku_tags": facts["sku_tags"]}


def _write(uow: UnitOfWork, o: Any, reason: str, ts: datetime, **values: Any) -> None:
    """The order's new columns, its history row(s) and the status event. Approved orders and
    held ones (via approved) become allocated when they get a warehouse; anything else keeps
    its status, and the change is written and announced as from and to that status (it is
    not a lifecycle step, but subscribers and live pages see it)."""
    status = S(o.status)
    if "warehouse_id" in values and status is not S.ALLOCATED:
        via = (S.APPROVED, "人工指定仓库") if status is S.HELD else None
        _transition(uow, [Change(o.id, status, S.ALLOCATED, reason, via=via)], ts, **values)
        return
    row = {"oid": o.id, "old": status.value, "new": status.value, "ts": ts, **values}
    _update_orders(uow, _status_update(tuple(sorted(values))), [row])
    _history(uow, [(o.id, status, status, reason)], ts)
    _announce(uow, [(o.id, status, status, reason)], ts)


def assign_warehouse(
    uow: UnitOfWork,
    order_ids: Sequence[int],
    warehouse_code: str,
    *,
    scope: Collection[str] = (),
) -> AssignReport:
    """Ship ``order_ids`` from ``warehouse_code``: each order's reservation moves there (its
    old one is released), its carrier service is quoted again from there (the same carrier
    when it can), and it leaves any merge group. Approved orders and orders held only for
    stock or carrier become allocated. ``scope`` (warehouse codes, empty for all) is the
    user's: the target and each order's current warehouse must be in it.

    Never oversells: the chosen warehouse's levels are locked and checked first; an order it
    cannot fill is refused with the shortage and keeps what it had."""
    target = _target_warehouse(uow, warehouse_code, scope)
    report = AssignReport()
    b = _load(uow, order_ids)
    ts = now()
    demands = {oid: expand_demand(f.lines, b.ctx.bundles) for oid, f in b.facts.items()}
    # Every level the call may touch, locked once and in id order (as the pipeline does), so
    # an assignment and a pipeline batch cannot deadlock; deducted below as orders are taken.
    available = inventory.lock_available(uow, {s for d in demands.values() for s in d})
    for oid, o in _existing(b, order_ids, report):
        problem = _why_not(b, o, scope, PLACEABLE)
        if problem is None and S(o.status) is S.ALLOCATED and o.warehouse_id == target.id:
            problem = f"order {oid} already ships from {target.code}"
        demand = demands[oid]
        if problem is None and not demand:
            problem = f"order {oid} has nothing to ship"
        if problem is None:
            short = {
                sku: (qty, available.get((sku, target.id), 0))
                for sku, qty in sorted(demand.items())
                if available.get((sku, target.id), 0) < qty
            }
            if short:
                problem = f"not enough stock in {target.code}: " + ", ".join(
                    f"{b.ctx.sku_code(sku)} needs {qty}, available {have}"
                    for sku, (qty, have) in short.items()
                )
        quote = None
        if problem is None:
            sel = b.ctx.carrier_for(o, target.id, _parcel(b, o, demand), o.carrier_code)
            if sel is not None and sel.chosen is None:
                problem = f"no carrier service ships from {target.code}: " + "; ".join(sel.reasons)
            quote = sel.chosen if sel is not None else None
        if problem is not None:
            report.refused[oid] = problem
            continue
        old = b.warehouses.get(o.warehouse_id) if o.warehouse_id else None
        reason = f"人工指定仓库: {old} → {target.code}" if old else f"人工指定仓库: {target.code}"
        _release(uow, [oid], reason, ts)
        for sku, qty in demand.items():
            available[(sku, target.id)] -= qty
        if not inventory.reserve(
            uow, [inventory.Reservation(DOC, oid, target.id, demand)], reason=reason
        )[0]:  # cannot happen under the lock just taken; refuse the whole call if it does
            raise InsufficientStock(f"stock in {target.code} changed during the assignment")
        uow.conn.execute(
            sa.update(LINE)
            .where(
                LINE.c.order_id == oid,
                LINE.c.sku_id.is_not(None),
                LINE.c.refund_status != "refunded",
            )
            .values(reserved=LINE.c.quantity)
        )
        if S(o.status) is S.HELD:
            _set_holds(uow, {oid: {}}, ts)
        _write(
            uow,
            o,
            reason,
            ts,
            warehouse_id=target.id,
            carrier_code=quote.carrier_code if quote else None,
            service_code=quote.service_code if quote else None,
            shipping_cost=quote.cost if quote else None,
            merge_group=None,
        )
        report.done.append(oid)
    return report


def assign_carrier(
    uow: UnitOfWork,
    order_ids: Sequence[int],
    carrier_code: str,
    *,
    scope: Collection[str] = (),
) -> AssignReport:
    """Ship ``order_ids`` with ``carrier_code`` (a carrier, e.g. ``SF``, or one of its
    services, e.g. ``SF-COLD``): the carrier's cheapest service that can take the parcel from
    the order's warehouse to its receiver, with its cost. Only approved or allocated orders
    (they have a warehouse); an order the carrier cannot take is refused with the reasons."""
    code = carrier_code.strip()
    known = {c.upper() for c in uow.conn.execute(sa.select(CARRIER.c.code)).scalars()}
    known |= {c.upper() for c in uow.conn.execute(sa.select(SERVICE.c.code)).scalars()}
    if not code or code.upper() not in known:
        raise NotFound(f"carrier {carrier_code} does not exist", code="unknown_carrier")
    report = AssignReport()
    b = _load(uow, order_ids)
    ts = now()
    for oid, o in _existing(b, order_ids, report):
        problem = _why_not(b, o, scope, WITH_WAREHOUSE)
        if problem is None and o.warehouse_id is None:
            problem = f"order {oid} has no warehouse yet: assign one first"
        sel = None
        if problem is None:
            demand = expand_demand(b.facts[oid].lines, b.ctx.bundles)
            sel = b.ctx.carrier_for(o, o.warehouse_id, _parcel(b, o, demand), code)
            if sel is None or sel.chosen is None or not sel.forced:
                reasons = "; ".join(sel.reasons) if sel is not None else "no services set up"
                problem = f"{code} cannot take order {oid}: {reasons}"
        if problem is not None or sel is None or sel.chosen is None:
            report.refused[oid] = problem or f"{code} cannot take order {oid}"
            continue
        q = sel.chosen
        if q.service_code == o.service_code:
            report.refused[oid] = f"order {oid} already ships with {q.service_code}"
            continue
        reason = f"人工指定快递: {o.service_code or '-'} → {q.service_code}"
        _write(
            uow,
            o,
            reason,
            ts,
            carrier_code=q.carrier_code,
            service_code=q.service_code,
            shipping_cost=q.cost,
        )
        report.done.append(oid)
    return report
