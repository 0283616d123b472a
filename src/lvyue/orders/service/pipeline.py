"""The pipeline: built-in checks, merchant rules, warehouse and carrier choice, reservation;
and the dry run of a rule book over current orders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lvyue.config import get_settings
from lvyue.core import collector
from lvyue.core.checkpoint import checkpoint_in_background
from lvyue.core.clock import now
from lvyue.core.db import in_clauses, refresh_statistics_in_background
from lvyue.core.errors import ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.fulfillment.allocation import allocate, shortages
from lvyue.inventory import queries as stock_queries
from lvyue.inventory import service as inventory
from lvyue.logistics.selection import Quote
from lvyue.orders.context import load_review_context, merge_groups
from lvyue.orders.events import OrderRef
from lvyue.orders.holds import AUTO_RECHECK
from lvyue.orders.lifecycle import ORDER_LIFECYCLE
from lvyue.orders.review import LineFacts, OrderFacts, expand_demand, review
from lvyue.orders.rules import Rule, evaluate
from lvyue.orders.service._base import (
    DOC,
    HOLD,
    LINE,
    ORDER,
    Change,
    S,
    _announce,
    _history,
    _set_holds,
    _update_orders,
)
from lvyue.orders.service.splitting import resolve_shortage, split_order
from lvyue.orders.skus import LineRef, resolve_lines

# --------------------------------------------------------------------------- pipeline


@dataclass
class ProcessReport:
    examined: int = 0
    approved: int = 0
    allocated: int = 0
    held: int = 0
    still_held: int = 0
    requeued: int = 0  # sent back to review by the oversell policy (split or cut down)
    last_id: int = 0
    hold_counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: ProcessReport) -> None:
        self.examined += other.examined
        self.approved += other.approved
        self.allocated += other.allocated
        self.held += other.held
        self.still_held += other.still_held
        self.requeued += other.requeued
        self.last_id = max(self.last_id, other.last_id)
        for k, v in other.hold_counts.items():
            self.hold_counts[k] += v


# What review, rules, allocation and merging read of an order: fewer columns, less decoding.
REVIEW_QUEUE_INDEX = "ix_orders_order_review_queue"  # partial: orders waiting or held
REVIEW_COLUMNS = (
    "id",
    "status",
    "shop_id",
    "external_id",
    "warehouse_id",
    "customer_id",
    "order_type",
    "channel_status",
    "ordered_at",
    "total_amount",
    "item_count",
    "tags",
    "buyer_message",
    "seller_memo",
    "buyer_id_number",
    "customs_data",
    "receiver_name",
    "phone_number",
    "addr_province",
    "addr_city",
    "addr_district",
    "addr_detail",
    "region",
    "address_issues",
    "approved_rules",
    "oversell_policy",
    "merge_group",
    "dup_key",
)


# An order waiting for stock is looked at again when stock became available since its last
# review, and in any case after this long (the safety net for a release that committed while
# the review ran).
STOCK_RECHECK_AFTER = timedelta(minutes=10)


def _candidates(
    uow: UnitOfWork,
    after_id: int,
    limit: int,
    *,
    recheck_waiting: bool = False,
    only: Sequence[int] | None = None,
) -> list[Any]:
    """Orders the pipeline may move: waiting for review, or held only for reasons the system
    re-checks itself. An order held only for stock comes back only when stock became available
    after its last review (or ``STOCK_RECHECK_AFTER`` passed): parallel workers and repeated
    passes do not re-review every waiting order each time. On PostgreSQL rows are claimed with
    SKIP LOCKED so that parallel workers share the work instead of queueing on it.
    ``recheck_waiting`` brings every waiting order back (after a settings change); ``only``
    limits the batch to these orders."""
    manual = sa.select(HOLD.c.order_id).where(
        HOLD.c.order_id == ORDER.c.id, HOLD.c.code.not_in(sorted(AUTO_RECHECK))
    )
    not_stock = sa.select(HOLD.c.order_id).where(
        HOLD.c.order_id == ORDER.c.id, HOLD.c.code != "out_of_stock"
    )
    since = now() - (timedelta(0) if recheck_waiting else STOCK_RECHECK_AFTER)
    stock_up = stock_queries.last_availability_increase(uow)
    if stock_up is not None:
        since = max(since, stock_up)
    stmt = (
        sa.select(*(ORDER.c[name] for name in REVIEW_COLUMNS))
        .where(
            ORDER.c.id > after_id,
            # Written out as the review-queue index's predicate, so both databases use it.
            sa.text("orders_order.status IN ('pending_review', 'held')"),
            ~sa.exists(manual),
            sa.or_(
                ORDER.c.status == S.PENDING_REVIEW.value,
                sa.exists(not_stock),
                ORDER.c.updated_at < since,
            ),
        )
        .order_by(ORDER.c.id)
        .limit(limit)
        # SQLite's planner, given the table's statistics, would take the (status, ordered_at)
        # index and sort every waiting order on each batch: 1 s a batch at a million orders.
        .with_hint(ORDER, f"INDEXED BY {REVIEW_QUEUE_INDEX}", dialect_name="sqlite")
    )
    if only is not None:
        stmt = stmt.where(ORDER.c.id.in_(sorted(only)))
    if uow.is_postgres:
        stmt = stmt.with_for_update(of=ORDER, skip_locked=True)
    return list(uow.conn.execute(stmt).all())


def _resolve_unknown_lines(
    uow: UnitOfWork, orders: Sequence[Any], lines_by_order: dict[int, list[Any]]
) -> dict[int, int]:
    """SKU id per order-line id for lines that had none, writing what was found."""
    by_shop: dict[int, list[Any]] = defaultdict(list)
    for o in orders:
        by_shop[o.shop_id].extend(ln for ln in lines_by_order[o.id] if ln.sku_id is None)
    found: dict[int, int] = {}
    for shop, lines in by_shop.items():
        refs = {ln.id: LineRef(ln.sku_code, ln.channel_sku_id, ln.name, ln.spec) for ln in lines}
        resolved = resolve_lines(uow, shop, refs.values()) if refs else {}
        found.update({lid: resolved[r] for lid, r in refs.items() if r in resolved})
    if found:
        uow.conn.execute(
            sa.update(LINE)
            .where(LINE.c.id == sa.bindparam("lid"))
            .values(sku_id=sa.bindparam("sid")),
            [{"lid": lid, "sid": sid} for lid, sid in found.items()],
        )
    return found


# The tables the import and review batches query by key lists (see core.db.refresh_statistics).
PIPELINE_TABLES = [
    "orders_order",
    "orders_order_line",
    "orders_order_hold",
    "orders_sku_mapping",
    "customers_customer",
    "customers_identity",
    "channels_raw_order",
    "inventory_stock_level",
    "inventory_stock_move",
]


def before_batches() -> None:
    """Call before the first batch of a bulk run: the garbage collector leaves what the
    process already holds alone from here on (``core.collector.begin``)."""
    collector.begin()


def between_batches(engine: Engine) -> None:
    """Call between batches of a bulk run (never inside one): re-plans stay index-friendly
    as the tables grow, whether or not autovacuum keeps up (the statistics are refreshed in
    the background, ``core.db.refresh_statistics_in_background``), SQLite's WAL is copied
    back beside the next batches rather than inside a commit (``core.checkpoint``), and the
    garbage collector leaves the reference data the first batch loaded alone
    (``core.collector``)."""
    refresh_statistics_in_background(engine, PIPELINE_TABLES)
    checkpoint_in_background(engine)
    collector.settle()


def process_orders(
    uow: UnitOfWork,
    *,
    after_id: int = 0,
    limit: int = 500,
    recheck_waiting: bool = False,
    only: Sequence[int] | None = None,
) -> ProcessReport:
    """Run one batch of the pipeline: built-in checks, merchant rules, warehouse choice and
    reservation, each decision written to the order's review log.

    Reads everything the batch needs in a handful of queries, decides in pure code
    (``orders.review``, ``orders.rules``, ``fulfillment.allocation``) and writes in bulk.
    """
    report = ProcessReport(last_id=after_id)
    orders = _candidates(uow, after_id, limit, recheck_waiting=recheck_waiting, only=only)
    if not orders:
        return report
    report.examined = len(orders)
    report.last_id = orders[-1].id
    ts = now()
    lines_by_order = _lines_of(uow, [o.id for o in orders])
    # SKUs created or mapped since import are picked up here, which releases unknown_sku holds.
    found = _resolve_unknown_lines(uow, orders, lines_by_order)
    d = decide(uow, orders, lines_by_order, found)
    _write_outcomes(uow, orders, ts, d)
    return finish(uow, orders, lines_by_order, d, report)


@dataclass
class Decisions:
    """What review, rules and allocation decided for a batch, with the stock reserved."""

    demand: dict[int, dict[int, int]]
    ctx: Any
    holds: dict[int, dict[str, str]]
    logs: dict[int, list[dict[str, str]]]
    steps: dict[int, list[str]]
    extra_tags: dict[int, list[str]]
    allocated: dict[int, int]
    why: dict[int, str]
    carriers: dict[int, Quote]
    merged: dict[int, int]
    siblings: set[int]
    available: dict[tuple[int, int], int]


def decide(
    uow: UnitOfWork,
    orders: Sequence[Any],
    lines_by_order: dict[int, list[Any]],
    found: dict[int, int],
    unsaved: Sequence[Any] = (),
) -> Decisions:
    """Review, rules, warehouse and carrier for ``orders`` (rows with ``REVIEW_COLUMNS``, in
    id order) and their lines, and the reservation of the stock of those placed. Reads the
    batch's reference data in a handful of queries, decides in pure code (``orders.review``,
    ``orders.rules``, ``fulfillment.allocation``), writes only the reservations. ``unsaved``:
    see ``load_review_context``."""
    facts = {
        o.id: OrderFacts(
            o.id,
            [
                LineFacts(
                    ln.sku_code,
                    ln.sku_id if ln.sku_id is not None else found.get(ln.id),
                    ln.quantity,
                    refunding=ln.refund_status == "refunding",
                )
                for ln in lines_by_order[o.id]
            ],
            address_issues=tuple(o.address_issues or ()),
            paid=o.channel_status != "unpaid",
        )
        for o in orders
    }
    ctx = load_review_context(uow, orders, facts, unsaved)
    demand = {oid: expand_demand(f.lines, ctx.bundles) for oid, f in facts.items()}
    wanted = {s for d in demand.values() for s in d}
    # Plan on an unlocked read; the levels are locked only just before reserving (below), so
    # parallel workers wait on hot SKUs for the writes alone, not for the whole review.
    seen = inventory.read_available(uow, wanted)

    holds: dict[int, dict[str, str]] = {}
    logs: dict[int, list[dict[str, str]]] = {}
    steps: dict[int, list[str]] = {}
    extra_tags: dict[int, list[str]] = {}
    passed: list[Any] = []
    rule_facts: dict[int, Mapping[str, Any]] = {}
    outcomes: dict[int, Any] = {}
    for o in orders:
        verdict = review(facts[o.id])
        log = [
            {"source": f"check:{code}", "outcome": "hold", "detail": d}
            for code, d in verdict.holds.items()
        ]
        approved = frozenset(o.approved_rules or ())
        for code, detail in ctx.builtin_holds(o).items():
            if code in approved:
                log.append(
                    {"source": f"check:{code}", "outcome": "approved", "detail": "人工已确认"}
                )
            else:
                verdict.holds[code] = detail
                log.append({"source": f"check:{code}", "outcome": "hold", "detail": detail})
        rule_facts[o.id] = ctx.rule_facts(o, facts[o.id], demand[o.id])
        outcome = outcomes[o.id] = evaluate(ctx.rules, rule_facts[o.id], skip=approved)
        log.extend(outcome.log)
        for code, detail in outcome.holds.items():
            verdict.holds.setdefault(code, detail)
        steps[o.id] = list(outcome.review_steps)
        extra_tags[o.id] = outcome.tags
        holds[o.id] = verdict.holds
        logs[o.id] = log
        if verdict.passed:
            passed.append(o)

    # Only PostgreSQL may have to plan again (below): SQLite's write lock is held already.
    before = (
        ({k: dict(v) for k, v in holds.items()}, {k: list(v) for k, v in logs.items()})
        if uow.is_postgres
        else None
    )
    placed = _placement(passed, demand, dict(seen), ctx, rule_facts, outcomes, holds, logs)
    locked = inventory.lock_available(uow, wanted) if uow.is_postgres else seen
    if locked != seen and before is not None:  # another worker moved them: plan again, locked
        holds = {k: dict(v) for k, v in before[0].items()}
        logs = {k: list(v) for k, v in before[1].items()}
        placed = _placement(passed, demand, dict(locked), ctx, rule_facts, outcomes, holds, logs)
    plans = placed.plans

    # The levels just read under the lock (SQLite's write lock, PostgreSQL's row locks), not
    # written since: reserve checks the plans against them without reading them again.
    results = inventory.reserve(uow, plans, reason="order allocated", locked=locked)
    allocated = {p.doc_id: p.warehouse_id for p, ok in zip(plans, results, strict=True) if ok}
    lost = [p.doc_id for p, ok in zip(plans, results, strict=True) if not ok]
    for oid in lost:  # cannot happen with locked levels; kept as a safe fallback
        holds[oid]["out_of_stock"] = "库存不足"
    return Decisions(
        demand=demand,
        ctx=ctx,
        holds=holds,
        logs=logs,
        steps=steps,
        extra_tags=extra_tags,
        allocated=allocated,
        why=placed.why,
        carriers=placed.carriers,
        merged=placed.merged,
        siblings=placed.siblings,
        available=placed.available,
    )


def finish(
    uow: UnitOfWork,
    orders: Sequence[Any],
    lines_by_order: dict[int, list[Any]],
    d: Decisions,
    report: ProcessReport,
) -> ProcessReport:
    """After the outcomes are written: the orders joined by a merge keep their group id,
    orders short of stock are split or cut down as the settings say, and the report counts."""
    if d.siblings:  # the order joined keeps the group id it gave
        uow.conn.execute(
            sa.update(ORDER)
            .where(ORDER.c.id.in_(sorted(d.siblings)), ORDER.c.merge_group.is_(None))
            .values(merge_group=ORDER.c.id)
        )
    holds = d.holds
    ids = [o.id for o in orders]
    status_of = {o.id: S(o.status) for o in orders}
    report.approved = report.allocated = len(d.allocated)
    report.held = sum(1 for oid in ids if holds[oid] and status_of[oid] is not S.HELD)
    report.still_held = sum(1 for oid in ids if holds[oid] and status_of[oid] is S.HELD)
    settings = get_settings()
    for o in orders:
        if set(holds[o.id]) == {"out_of_stock"} and settings.allow_split:
            moves = _cross_warehouse_split(
                o, lines_by_order[o.id], d.demand[o.id], d.available, d.ctx
            )
            if moves:
                split_order(uow, o.id, moves, reason="跨仓拆单: 没有一个仓库能发全部商品")
                report.requeued += 1
                continue
        policy = o.oversell_policy or settings.oversell_policy
        if set(holds[o.id]) == {"out_of_stock"} and policy in ("partial", "cancel_short"):
            try:
                resolve_shortage(uow, o.id, policy=policy)
            except ValidationError:
                continue  # nothing in stock at all: it waits like any other
            report.requeued += 1
    for oid in ids:
        for code in holds[oid]:
            report.hold_counts[code] += 1
    return report


@dataclass
class _Placement:
    """Where the batch's passed orders go: reservations to make, reasons, carriers, merges,
    and the availability left after them."""

    available: dict[tuple[int, int], int]
    plans: list[inventory.Reservation] = field(default_factory=list)
    why: dict[int, str] = field(default_factory=dict)
    carriers: dict[int, Quote] = field(default_factory=dict)
    merged: dict[int, int] = field(default_factory=dict)
    siblings: set[int] = field(default_factory=set)


def _placement(
    passed: list[Any],
    demand: dict[int, dict[int, int]],
    available: dict[tuple[int, int], int],
    ctx: Any,
    rule_facts: dict[int, Mapping[str, Any]],
    outcomes: dict[int, Any],
    holds: dict[int, dict[str, str]],
    logs: dict[int, list[dict[str, str]]],
) -> _Placement:
    """Place the passed orders against ``available`` (deducted as plans are made); orders that
    cannot be placed get their hold reason in ``holds`` and ``logs``."""
    placer = _Placer(_Placement(available), demand, ctx, rule_facts, outcomes, holds, logs)
    for group in merge_groups(passed, ctx):
        # A parcel of the same buyer and address already waiting in a warehouse: the group
        # joins it if it goes to that warehouse.
        parcels = ctx.waiting_parcels(group[0])
        if len(group) > 1 and placer.place(group, parcels):
            continue  # one parcel for the batch's orders of one buyer and address
        for o in group:  # one by one: alone, or when the group fits no single warehouse
            placer.place([o], parcels if len(group) == 1 else ctx.waiting_parcels(o))
    return placer.out


# Every column the pipeline decides, written in one conditional UPDATE per order.
_OUTCOME = (
    sa.update(ORDER)
    .where(ORDER.c.id == sa.bindparam("oid"), ORDER.c.status == sa.bindparam("old"))
    .values(
        status=sa.bindparam("new"),
        updated_at=sa.bindparam("ts", type_=ORDER.c.updated_at.type),
        warehouse_id=sa.bindparam("wh", type_=ORDER.c.warehouse_id.type),
        carrier_code=sa.bindparam("carrier", type_=ORDER.c.carrier_code.type),
        service_code=sa.bindparam("service", type_=ORDER.c.service_code.type),
        shipping_cost=sa.bindparam("cost", type_=ORDER.c.shipping_cost.type),
        review_log=sa.bindparam("log", type_=ORDER.c.review_log.type),
        review_steps=sa.bindparam("steps", type_=ORDER.c.review_steps.type),
        tags=sa.bindparam("tags", type_=ORDER.c.tags.type),
        merge_group=sa.bindparam("mg", type_=ORDER.c.merge_group.type),
    )
)
# Held orders keep their warehouse/carrier columns (none: only allocated orders have them).
_HELD_OUTCOME = (
    sa.update(ORDER)
    .where(ORDER.c.id == sa.bindparam("oid"), ORDER.c.status == sa.bindparam("old"))
    .values(
        status=sa.bindparam("new"),
        updated_at=sa.bindparam("ts", type_=ORDER.c.updated_at.type),
        review_log=sa.bindparam("log", type_=ORDER.c.review_log.type),
        review_steps=sa.bindparam("steps", type_=ORDER.c.review_steps.type),
        tags=sa.bindparam("tags", type_=ORDER.c.tags.type),
        merge_group=sa.bindparam("mg", type_=ORDER.c.merge_group.type),
    )
)


@dataclass
class Outcomes:
    """The examined orders' decided columns (``_OUTCOME`` parameters for the orders placed,
    ``_HELD_OUTCOME`` for the others), their status hops for the history and the changes to
    announce."""

    placed: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)
    hops: list[tuple[int, S | None, S, str]] = field(default_factory=list)
    changes: list[tuple[int, S | None, S, str]] = field(default_factory=list)


def outcomes_of(orders: Sequence[Any], ts: Any, d: Decisions) -> Outcomes:
    """Status, warehouse, carrier, review log, steps, tags and merge group of each examined
    order, each status change checked against the lifecycle."""
    out = Outcomes()
    for o in orders:
        oid, old = o.id, S(o.status)
        tags = list(o.tags or [])
        row: dict[str, Any] = {
            "oid": oid,
            "old": old._value_,
            "ts": ts,
            "log": d.logs[oid],
            "tags": tags + [t for t in d.extra_tags[oid] if t not in tags],
        }
        if oid in d.allocated:
            ORDER_LIFECYCLE.check(old, S.APPROVED)
            ORDER_LIFECYCLE.check(S.APPROVED, S.ALLOCATED)
            out.hops.append((oid, old, S.APPROVED, "自动审核通过"))
            out.hops.append((oid, S.APPROVED, S.ALLOCATED, f"分仓并锁定库存: {d.why[oid]}"))
            out.changes.append((oid, old, S.ALLOCATED, out.hops[-1][3]))
            q = d.carriers.get(oid)
            row.update(
                new=S.ALLOCATED.value,
                wh=d.allocated[oid],
                carrier=q.carrier_code if q else None,
                service=q.service_code if q else None,
                cost=q.cost if q else None,
                steps=[],
                mg=d.merged.get(oid),
            )
            out.placed.append(row)
            continue
        new = S.HELD if d.holds[oid] else old
        if new is not old:
            ORDER_LIFECYCLE.check(old, new)
            out.hops.append((oid, old, new, "挂起: " + ", ".join(d.holds[oid])))
            out.changes.append(out.hops[-1])
        row.update(new=new._value_, steps=d.steps[oid], mg=None)
        out.others.append(row)
    return out


def record_outcomes(
    uow: UnitOfWork,
    orders: Sequence[Any],
    ts: Any,
    d: Decisions,
    out: Outcomes,
    arrived: tuple[Sequence[Change], dict[int, OrderRef]] | None = None,
) -> None:
    """The history rows of the examined orders' hops, their current holds, and the notices
    of their changes, once their rows hold the outcome. ``arrived``: the orders a review on
    import created in this transaction, with their references. Their import hop goes into
    the history before the review's; their notice goes from nothing straight to the outcome,
    since no one outside the transaction could see them waiting for review."""
    hops = out.hops
    changes = out.changes
    refs = {
        o.id: OrderRef(o.shop_id, o.external_id, d.allocated.get(o.id, o.warehouse_id))
        for o in orders
    }
    if arrived is not None:
        new, known = arrived
        hops = [(c.order_id, c.old, c.new, c.reason) for c in new] + hops
        decided = {oid: (to, why) for oid, _, to, why in changes}
        changes = [(c.order_id, None, *decided.get(c.order_id, (c.new, c.reason))) for c in new]
        refs = {**known, **refs}
    _history(uow, hops, ts)
    _set_holds(uow, {oid: ({} if oid in d.allocated else h) for oid, h in d.holds.items()}, ts)
    _announce(uow, changes, ts, refs)  # after the holds: order.held notices carry them


def _write_outcomes(uow: UnitOfWork, orders: Sequence[Any], ts: Any, d: Decisions) -> None:
    """The outcome of each examined order in one statement per order (conditional on the
    status read, so a concurrent change rolls the batch back), its history, current holds
    and reserved line quantities."""
    out = outcomes_of(orders, ts, d)
    _update_orders(uow, _OUTCOME, out.placed)
    _update_orders(uow, _HELD_OUTCOME, out.others)
    for cond in in_clauses(uow.conn, LINE.c.order_id, sorted(d.allocated)):
        uow.conn.execute(
            sa.update(LINE)
            .where(
                cond,
                LINE.c.sku_id.is_not(None),
                LINE.c.refund_status != "refunded",
            )
            .values(reserved=LINE.c.quantity)
        )
    record_outcomes(uow, orders, ts, d, out)


@dataclass
class _Placer:
    out: _Placement
    demand: dict[int, dict[int, int]]
    ctx: Any
    rule_facts: dict[int, Mapping[str, Any]]
    outcomes: dict[int, Any]
    holds: dict[int, dict[str, str]]
    logs: dict[int, list[dict[str, str]]]

    def place(self, group: list[Any], parcels: dict[str, int]) -> bool:
        """Choose one warehouse and one carrier service for ``group`` (one parcel), preferring
        the warehouse of the oldest of ``parcels`` (of the same buyer, waiting), and plan its
        reservations, deducting from the availability. A single order that cannot be placed
        is held with the reason; a group that cannot returns False and changes nothing. The
        group joins the parcel waiting in the warehouse it goes to, if there is one."""
        ctx, demand, rule_facts, outcomes = self.ctx, self.demand, self.rule_facts, self.outcomes
        available, holds, logs = self.out.available, self.holds, self.logs
        lead = group[0]
        total: dict[int, int] = defaultdict(int)
        for o in group:
            for sku, qty in demand[o.id].items():
                total[sku] += qty
        specified = next(
            (outcomes[o.id].warehouse for o in group if outcomes[o.id].warehouse), None
        )
        choice = allocate(
            total,
            available,
            ctx.warehouses,
            chain=ctx.chain,
            specified=specified or next(iter(parcels), None),
            distance_km=ctx.distance_to(lead),
            cost=ctx.cost_from(lead, rule_facts[lead.id]),
        )
        alone = len(group) == 1
        if choice.warehouse_id is None:
            if alone:
                short = shortages(total, available, [w.id for w in ctx.warehouses])
                holds[lead.id]["out_of_stock"] = "库存不足: " + ", ".join(
                    f"{ctx.sku_code(s)}×{q}" for s, q in short.items()
                )
                logs[lead.id].append(
                    {"source": "check:stock", "outcome": "hold:out_of_stock", "detail": choice.why}
                )
            return False
        wh = choice.warehouse_id
        parcel = {
            "weight_g": sum(rule_facts[o.id]["weight_g"] for o in group),
            "sku_tags": sorted({t for o in group for t in rule_facts[o.id]["sku_tags"]}),
        }
        forced = next((outcomes[o.id].carrier for o in group if outcomes[o.id].carrier), None)
        sel = ctx.carrier_for(lead, wh, parcel, forced)
        if sel is not None and sel.chosen is None:
            if alone:
                holds[lead.id]["no_carrier"] = "; ".join(sel.reasons)[:300]
                logs[lead.id].append(
                    {"source": "carrier", "outcome": "hold:no_carrier", "detail": sel.summary()}
                )
            return False
        reason = choice.why if alone else f"{choice.why}; 合单发货 ({len(group)} 单)"
        code = next(w.code for w in ctx.warehouses if w.id == wh)
        out = self.out
        for o in group:
            for sku, qty in demand[o.id].items():
                available[(sku, wh)] -= qty
            out.plans.append(inventory.Reservation(DOC, o.id, wh, demand[o.id]))
            out.why[o.id] = reason
            logs[o.id].append(
                {"source": "allocation", "outcome": f"warehouse:{code}", "detail": reason}
            )
            if sel is not None and sel.chosen is not None:
                out.carriers[o.id] = sel.chosen
                logs[o.id].append(
                    {
                        "source": "carrier",
                        "outcome": f"carrier:{sel.chosen.service_code}",
                        "detail": sel.summary(),
                    }
                )
        joined = parcels.get(code)  # a parcel waiting in this warehouse
        if alone and joined is None:
            return True
        gid = joined or lead.merge_group or lead.id
        out.merged.update({o.id: gid for o in group})
        if joined:
            out.siblings.add(gid)
        return True


def _cross_warehouse_split(
    o: Any,
    lines: list[Any],
    demand: dict[int, int],
    available: dict[tuple[int, int], int],
    ctx: Any,
) -> dict[int, int]:
    """Line units to move out so that the order ships from several warehouses: the
    warehouse that can send the most keeps its part, the rest becomes its own order (and may
    split again). Empty when splitting cannot fill the order or a bundle is involved."""
    if any(ln.sku_id in ctx.bundles or ln.sku_id is None for ln in lines):
        return {}
    plan = allocate(
        demand,
        available,
        ctx.warehouses,
        chain=(),
        allow_split=True,
        distance_km=ctx.distance_to(o),
    )
    if len(plan.parts) < 2:
        return {}
    keep = max(plan.parts.values(), key=lambda part: sum(part.values()))
    left = dict(keep)
    moves: dict[int, int] = {}
    for ln in lines:
        stay = min(ln.quantity, left.get(ln.sku_id, 0))
        left[ln.sku_id] = left.get(ln.sku_id, 0) - stay
        if ln.quantity - stay:
            moves[ln.line_no] = ln.quantity - stay
    return moves


def _lines_of(uow: UnitOfWork, ids: list[int]) -> dict[int, list[Any]]:
    lines_by_order: dict[int, list[Any]] = defaultdict(list)
    for cond in in_clauses(uow.conn, LINE.c.order_id, ids):
        for ln in uow.conn.execute(
            sa.select(
                LINE.c.id,
                LINE.c.order_id,
                LINE.c.line_no,
                LINE.c.sku_code,
                LINE.c.sku_id,
                LINE.c.quantity,
                LINE.c.channel_sku_id,
                LINE.c.name,
                LINE.c.spec,
                LINE.c.refund_status,
            )
            .where(cond, LINE.c.refund_status != "refunded")
            .order_by(LINE.c.order_id, LINE.c.line_no)
        ).all():
            lines_by_order[ln.order_id].append(ln)
    return lines_by_order


# --------------------------------------------------------------------------- rule dry run


@dataclass
class DryRunChange:
    order_id: int
    external_id: str
    status: str
    before: str
    after: str
    # The rules whose actions make the new decision, in the order they applied.
    fired: tuple[str, ...] = ()


def _fired(outcome: Any) -> tuple[str, ...]:
    names: list[str] = []
    for entry in outcome.log:
        source = entry["source"]
        if source.startswith("rule:") and entry["outcome"] != "skipped":
            name = source[len("rule:") :].rsplit("@v", 1)[0]
            if name not in names:
                names.append(name)
    return tuple(names)


def _decision(outcome: Any) -> str:
    parts = []
    if outcome.approved_by:
        parts.append(f"approve({outcome.approved_by})")
    parts += [f"hold:{c}" for c in sorted(outcome.holds)]
    if outcome.warehouse:
        parts.append(f"warehouse:{outcome.warehouse}")
    if outcome.carrier:
        parts.append(f"carrier:{outcome.carrier}")
    parts += [f"tag:{t}" for t in outcome.tags]
    return ", ".join(parts) or "-"


def dry_run_rules(
    uow: UnitOfWork, rules: list[Rule], *, limit: int = 5000
) -> tuple[int, list[DryRunChange]]:
    """What ``rules`` would decide for the orders not yet in the warehouse, compared with the
    active rule book; nothing is written. Returns (orders examined, orders that would change)."""
    orders = list(
        uow.conn.execute(
            sa.select(ORDER)
            .where(
                ORDER.c.status.in_(
                    [S.PENDING_REVIEW.value, S.HELD.value, S.APPROVED.value, S.ALLOCATED.value]
                )
            )
            .order_by(ORDER.c.id)
            .limit(limit)
        )
    )
    if not orders:
        return 0, []
    lines = _lines_of(uow, [o.id for o in orders])
    facts = {
        o.id: OrderFacts(
            o.id, [LineFacts(ln.sku_code, ln.sku_id, ln.quantity) for ln in lines[o.id]]
        )
        for o in orders
    }
    ctx = load_review_context(uow, orders, facts)
    changes = []
    for o in orders:
        demand = expand_demand(facts[o.id].lines, ctx.bundles)
        order_facts = ctx.rule_facts(o, facts[o.id], demand)
        skip = frozenset(o.approved_rules or ())
        before = _decision(evaluate(ctx.rules, order_facts, skip=skip))
        outcome = evaluate(rules, order_facts, skip=skip)
        after = _decision(outcome)
        if before != after:
            changes.append(
                DryRunChange(o.id, o.external_id, o.status, before, after, _fired(outcome))
            )
    return len(orders), changes
