"""Order pipeline throughput, stage by stage, against the raw-SQL floor on the same database.

    .venv/bin/python bench/pipeline.py [--orders 10000] [--db URL] [--profile FILE]

N realistic channel orders (Taobao, Tmall and Pinduoduo shops; 1-5 lines over the demo
catalogue's ~190 SKUs with sizes, colours and bundles; receivers in all 31 provinces; ~10%
problem orders: unpaid, bad address, invalid phone, unknown SKU, oversold, large amount) are
generated one batch at a time as platform payloads (``bench/workload.py``) and pushed through
the real code, one transaction per 500 orders of one shop as a channel pull takes a shop's
pages:

1. import: ``channels.service.ingest`` (verbatim payload rows, the adapter's ``parse``, then
   ``orders.service.import_canonical``: address parsing and phone check, SKU mapping and
   bundles, customer link, order/line/history rows) with review on
   import (ADR 0009): built-in checks, the demo merchant's rules, nearest-warehouse
   allocation, carrier choice over the demo rate tables and reservation, in the same
   transaction;
2. process: ``orders.service.process_orders`` batches as ``run_pipeline`` runs them, which
   re-check the orders held for reasons the system clears itself. With ``--two-pass`` the
   import leaves the orders waiting and this step reviews them (review on import off).

Stages inside those transactions are timed by wrapping the functions the services call (a
few µs per call). The floor then writes the same kind of rows for the same N orders with
plain DB-API ``executemany`` in the same transaction size: raw payload rows, order rows and
order lines (one transaction per batch), then reservation ledger rows and conditional level
updates (a second transaction per batch), into the same tables of the same database.

The last line printed is one JSON object:
{"orders","db","orders_per_s","floor_orders_per_s","ratio","peak_rss_mib"}.
Exit status 1 if an invariant fails (lost or doubled orders, stock that does not verify).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import importlib
import json
import os
import pstats
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

import workload
from lvyue.channels.lookahead import ParseAhead
from lvyue.core.checkpoint import wait_for_checkpoint
from lvyue.core.db import engine_for, wait_for_statistics
from lvyue.core.uow import UnitOfWork
from lvyue.orders import service as orders_service
from workload import BATCH, GenOrder

# --------------------------------------------------------------------------- stage timers

TIMES: dict[str, float] = defaultdict(float)
# Review stages run inside the import (review on import) or the process step: each is also
# counted under the step it ran in, so each step's "rest" is what its timed stages leave.
REVIEW_STAGES = ("review_context", "allocate", "reserve")
PHASE = ["import"]
REVIEWED = orders_service.ProcessReport()  # what review on import decided


_INNER = [0.0]  # time of the timed stages run inside the running one


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Count ``fn``'s time under ``name``, less the stages timed inside it (the payloads are
    parsed inside their insert since session 13), so each second is counted once. Kept lean:
    the address reading and the placement are timed once per order, inside the figures."""
    by_phase = {phase: f"{phase}:{name}" for phase in ("import", "process")}
    clock = time.perf_counter

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        outer, _INNER[0] = _INNER[0], 0.0
        try:
            return fn(*args, **kwargs)
        finally:
            spent = clock() - t0
            own = spent - _INNER[0]
            TIMES[name] += own
            TIMES[by_phase[PHASE[0]]] += own
            _INNER[0] = outer + spent

    return wrapper


def _instrument() -> list[str]:
    """Wrap the functions the services call, wherever they were imported (the service modules
    are being reorganised: match by identity, not by module); returns the stages timed."""
    targets = [
        ("lvyue.orders.normalise", "normalise_receiver", "normalise"),
        # Payload text, hash, the look-up of known payloads, the insert.
        ("lvyue.channels.service", "_raw_rows", "store_raw"),
        ("lvyue.channels.service", "_insert_raws", "store_raw"),
        ("lvyue.customers.service", "link_customers", "customers"),
        ("lvyue.orders.skus", "resolve_lines", "sku_mapping"),
        ("lvyue.orders.context", "load_review_context", "review_context"),
        ("lvyue.inventory.service", "reserve", "reserve"),
    ]
    loaded = [m for name, m in list(sys.modules.items()) if name.startswith("lvyue.")]
    done = []
    # The pipeline's warehouse + carrier choice: a method of its placer.
    placer = getattr(importlib.import_module("lvyue.orders.service.pipeline"), "_Placer", None)
    if placer is not None and callable(getattr(placer, "place", None)):
        placer.place = _timed("allocate", placer.place)
        done.append("allocate")
    for path, attr, stage in targets:
        fn = getattr(importlib.import_module(path), attr, None)
        if not callable(fn):
            continue
        wrapped = _timed(stage, fn)
        for module in loaded:
            for name, value in list(vars(module).items()):
                if value is fn:
                    setattr(module, name, wrapped)
        if stage not in done:
            done.append(stage)
    return done


# --------------------------------------------------------------------------- the real pipeline


class Progress:
    """A line on stderr at every tenth of a long stage (a million orders takes most of an
    hour): how far, and the rate so far. Silent below 100,000 orders."""

    def __init__(self, stage: str, total: int) -> None:
        self.stage, self.total, self.start = stage, total, time.perf_counter()
        self.step = total // 10 if total >= 100_000 else 0
        self.next = self.step

    def update(self, done: int) -> None:
        if not self.step or done < self.next:
            return
        while self.next <= done:
            self.next += self.step
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        print(
            f"  {self.stage}: {done:,} of {self.total:,} ({done * 100 // self.total}%), "
            f"{rate:,.0f} orders/s so far",
            file=sys.stderr,
            flush=True,
        )


def run_import(url: str, n: int, seed: int, *, review: bool) -> int:
    cat = workload.catalogue()
    shops = workload.shop_ids(url)
    parse = {k: _timed("parse", p) for k, p in workload.parsers().items()}
    engine = engine_for(url)
    generated = workload.generate(n, cat, seed=seed)

    def stream() -> Iterator[GenOrder]:
        while True:
            t0 = time.perf_counter()
            g = next(generated, None)
            TIMES["generate"] += time.perf_counter() - t0
            if g is None:
                return
            yield g

    new = seen = 0
    progress = Progress("import", n)
    # One shop's orders per transaction, BATCH at a time, as a channel pull takes a shop's
    # pages (and `lvyue orders import` a shop's file); the next batch is parsed while the
    # database writes this one, as `lvyue channels sync` does (channels.lookahead).
    orders_service.before_batches()  # as the import and sync commands do
    with ParseAhead() as ahead:
        parse_ahead = {k: ahead.parser(p) for k, p in parse.items()}

        def payloads(b: list[GenOrder]) -> Iterator[tuple[Any, Any]]:
            return ((g.raw, parse[g.platform]) for g in b)

        for batch in ahead.over(workload.shop_batches(stream(), BATCH), payloads):
            t1 = time.perf_counter()
            with UnitOfWork(engine, actor="bench") as uow:
                new += workload.import_batch(
                    uow, batch, shops, parse_ahead, review=review, reviewed=REVIEWED
                )
                t2 = time.perf_counter()
            orders_service.between_batches(engine)  # as the import and sync commands do
            t3 = time.perf_counter()
            TIMES["import_commit"] += t3 - t2
            TIMES["import_total"] += t3 - t1
            seen += len(batch)
            progress.update(seen)
    return new


def run_process(url: str, n: int) -> orders_service.ProcessReport:
    """What ``orders.cli.run_pipeline`` does, with a line of progress per tenth."""
    engine = engine_for(url)
    total = orders_service.ProcessReport()
    progress = Progress("process", n)
    PHASE[0] = "process"
    t_start = time.perf_counter()
    for _ in range(3):
        after, requeued = 0, 0
        while True:
            t0 = time.perf_counter()
            with UnitOfWork(engine, actor="bench") as uow:
                batch = orders_service.process_orders(uow, after_id=after, limit=BATCH)
                t1 = time.perf_counter()
            orders_service.between_batches(engine)  # as run_pipeline does
            TIMES["process_commit"] += time.perf_counter() - t1
            TIMES["process_orders"] += t1 - t0
            if not batch.examined:
                break
            after = batch.last_id
            requeued += batch.requeued
            total.add(batch)
            progress.update(total.examined)
        if not requeued:
            break
    # Statistics and a checkpoint still running in the background count in the run's time.
    wait_for_statistics(engine)
    wait_for_checkpoint(engine)
    TIMES["process_total"] += time.perf_counter() - t_start
    return total


# --------------------------------------------------------------------------- the floor


def _floor_rows(
    batch: list[GenOrder],
    first_id: int,
    shops: dict[str, int],
    sku_ids: dict[str, int],
    ts: Any,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
    """Row tuples for one batch (built outside the timed part: the floor times the writes)."""
    raws, orders, lines, demand = [], [], [], []
    for k, g in enumerate(batch):
        oid = first_id + k
        text = json.dumps(g.raw.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        sid = shops[g.shop]
        raws.append((sid, "F" + g.external_id, text, digest, "floor", ts, "imported", ""))
        p = g.raw.payload
        name = p.get("receiver_name")
        phone = p.get("receiver_mobile") or p.get("receiver_phone")
        top = "receiver_state" in p
        region = (
            (p["receiver_state"], p["receiver_city"], p["receiver_district"])
            if top
            else (p["province"], p["city"], p["town"])
        )
        orders.append(
            (
                oid,
                sid,
                "F" + g.external_id,
                "online",
                "pending_review",
                "paid",
                digest[:32],
                ts,
                ts,
                ts,
                name,
                phone,
                *region,
                p["receiver_address"],
                12345,
                0,
                0,
                12345,
                sum(q for _, q in g.lines),
                "CNY",
                "",
                "",
                "[]",
                "[]",
                "[]",
                "[]",
                "[]",
            )
        )
        for no, (code, qty) in enumerate(g.lines, start=1):
            sku = sku_ids.get(code)
            lines.append((oid, no, code, sku, qty, 5900, 0, 0, 0, "none"))
            if sku is not None:
                demand.append((oid, sku, qty))
    return raws, orders, lines, demand


ORDER_COLS = (
    "id, shop_id, external_id, order_type, status, channel_status, content_hash, ordered_at, "
    "created_at, updated_at, receiver_name, receiver_phone, receiver_province, receiver_city, "
    "receiver_district, receiver_address, goods_amount, "
    "shipping_fee, discount, total_amount, item_count, currency, buyer_message, seller_memo, "
    "tags, address_issues, review_log, review_steps, approved_rules"
)
RAW_SQL = (
    "INSERT INTO channels_raw_order (shop_id, external_id, payload, payload_hash, source, "
    "received_at, status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
ORDER_SQL = f"INSERT INTO orders_order ({ORDER_COLS}) VALUES ({', '.join(['?'] * 29)})"
LINE_SQL = (
    "INSERT INTO orders_order_line (order_id, line_no, sku_code, sku_id, quantity, unit_price, "
    "reserved, shipped, cancelled, refund_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
MOVE_SQL = (
    "INSERT INTO inventory_stock_move (sku_id, warehouse_id, kind, on_hand_delta, "
    "reserved_delta, doc_type, doc_id, reason, actor, created_at) "
    "VALUES (?, ?, 'reserve', 0, ?, 'floor', ?, 'floor', 'floor', ?)"
)
LEVEL_SQL = (
    "UPDATE inventory_stock_level SET reserved = reserved + ?, updated_at = ? "
    "WHERE sku_id = ? AND warehouse_id = ? AND on_hand - reserved >= ?"
)


class _Floor:
    """Plain DB-API on the benchmark database: sqlite3 or psycopg, no SQLAlchemy."""

    def __init__(self, url: str) -> None:
        u = sa.make_url(url)
        self.pg = u.get_backend_name() == "postgresql"
        if self.pg:
            import psycopg

            conninfo = u.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn: Any = psycopg.connect(conninfo)
            self.mark = "%s"
        else:
            import sqlite3

            self.conn = sqlite3.connect(u.database or "", isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.mark = "?"

    def sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def begin(self) -> None:
        if not self.pg:
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.commit() if self.pg else self.conn.execute("COMMIT")

    def many(self, text: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self.conn.cursor().executemany(self.sql(text), rows)

    def one(self, text: str) -> Any:
        cur = self.conn.cursor()
        cur.execute(self.sql(text))
        row = cur.fetchone()
        if self.pg:
            self.conn.commit()
        return row[0] if row else None


def run_floor(url: str, n: int, seed: int) -> float:
    """Seconds the lean writes took for ``n`` orders (row building excluded)."""
    cat = workload.catalogue()
    shops = workload.shop_ids(url)
    db = _Floor(url)
    sku_ids = dict(db.conn.execute("SELECT code, id FROM catalog_sku").fetchall())
    # A warehouse of its own with plenty of everything, so the floor's conditional updates
    # succeed and the pipeline's stock is left alone (ledger row + level, like any stock).
    db.begin()
    db.conn.execute(
        db.sql(
            "INSERT INTO inventory_warehouse (code, name, province, city, address, priority, "
            "active) VALUES ('FLOOR', 'floor', '浙江省', '杭州市', '', 999, ?)"
        ),
        (True,),
    )
    db.commit()
    wh = db.one("SELECT id FROM inventory_warehouse WHERE code = 'FLOOR'")
    now = datetime.now(UTC)
    ts: Any = now if db.pg else now.replace(tzinfo=None).isoformat(sep=" ")
    db.begin()
    db.many(
        "INSERT INTO inventory_stock_level (sku_id, warehouse_id, on_hand, reserved, updated_at) "
        "VALUES (?, ?, ?, 0, ?)",
        [(sid, wh, 10**9, ts) for sid in sku_ids.values()],
    )
    db.many(
        "INSERT INTO inventory_stock_move (sku_id, warehouse_id, kind, on_hand_delta, "
        "reserved_delta, doc_type, doc_id, reason, actor, created_at) "
        "VALUES (?, ?, 'adjust', ?, 0, 'floor', NULL, 'floor', 'floor', ?)",
        [(sid, wh, 10**9, ts) for sid in sku_ids.values()],
    )
    db.commit()
    next_id = int(db.one("SELECT coalesce(max(id), 0) FROM orders_order")) + 1
    stream: Iterator[GenOrder] = workload.generate(n, cat, seed=seed)
    spent = 0.0
    for batch in workload.batches(stream, BATCH):
        raws, orders, lines, demand = _floor_rows(batch, next_id, shops, sku_ids, ts)
        next_id += len(batch)
        taken: dict[int, int] = defaultdict(int)
        for _, sku, qty in demand:
            taken[sku] += qty
        moves = [(sku, wh, qty, oid, ts) for oid, sku, qty in demand]
        levels = [(q, ts, sku, wh, q) for sku, q in sorted(taken.items())]
        t0 = time.perf_counter()
        db.begin()
        db.many(RAW_SQL, raws)
        db.many(ORDER_SQL, orders)
        db.many(LINE_SQL, lines)
        db.commit()
        db.begin()
        db.many(MOVE_SQL, moves)
        db.many(LEVEL_SQL, levels)
        db.commit()
        spent += time.perf_counter() - t0
    db.conn.close()
    return spent


# --------------------------------------------------------------------------- SQL times

SQL_TIMES: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])


_TABLE_AFTER = {"SELECT": "FROM", "INSERT": "INTO", "DELETE": "FROM", "UPDATE": "UPDATE"}


def _sql_kind(statement: str) -> str:
    """The verb and the (first) table: "INSERT orders_order", "SELECT customers_identity"."""
    words = statement.replace('"', "").split()
    verb = words[0].upper() if words else "?"
    upper = [w.upper() for w in words]
    marker = _TABLE_AFTER.get(verb)
    if marker in upper and upper.index(marker) + 1 < len(words):
        return f"{verb} {words[upper.index(marker) + 1].split('(')[0]}"
    return verb


_WAIT = "wait for COPY to finish"
_WAITED = [0.0]  # all the waits, to leave out of the COPY calls that waited


def _time_sql(url: str) -> None:
    """Time every statement the pipeline sends (and its COPYs), by verb and table."""
    from lvyue.core import bulk, pgcopy

    engine = engine_for(url)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["sql_t0"] = time.perf_counter()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        entry = SQL_TIMES[_sql_kind(statement)]
        entry[0] += 1
        entry[1] += time.perf_counter() - conn.info.pop("sql_t0")

    real = bulk.insert_many

    def insert_many(conn: Any, table: sa.Table, rows: Any) -> None:
        if conn.dialect.name != "postgresql":
            return real(conn, table, rows)  # executemany: the events above time it
        t0, waited = time.perf_counter(), _WAITED[0]
        real(conn, table, rows)
        entry = SQL_TIMES[f"COPY {table.name} (+ values)"]
        entry[0] += 1
        entry[1] += time.perf_counter() - t0 - (_WAITED[0] - waited)

    # On PostgreSQL a COPY returns before the server is done (core.pgcopy): the wait for it,
    # before the next statement, is its own entry.
    real_settle = pgcopy.settle

    def settle(driver: Any, *, raise_error: bool = True) -> None:
        if driver not in pgcopy._PENDING:
            return
        table = pgcopy._PENDING[driver].split()[1]
        t0 = time.perf_counter()
        real_settle(driver, raise_error=raise_error)
        entry = SQL_TIMES[f"{_WAIT}: {table}"]
        entry[0] += 1
        entry[1] += time.perf_counter() - t0
        _WAITED[0] += time.perf_counter() - t0

    pgcopy.settle = bulk.settle = settle  # type: ignore[assignment]
    bulk.insert_many = insert_many
    for name, module in list(sys.modules.items()):
        if name.startswith("lvyue.") and getattr(module, "insert_many", None) is real:
            module.insert_many = insert_many  # type: ignore[attr-defined]


def _print_sql_times(n: int) -> None:
    total = sum(t for _, t in SQL_TIMES.values())
    print(f"database time by statement: {total:.2f}s, {total * 1e6 / n:.0f} µs per order")
    print(f"{'statement':<44}{'calls':>8}{'seconds':>10}{'µs/order':>10}")
    for kind, (calls, secs) in sorted(SQL_TIMES.items(), key=lambda kv: -kv[1][1])[:30]:
        print(f"{kind:<44}{calls:>8}{secs:>10.2f}{secs * 1e6 / n:>10.1f}")


# --------------------------------------------------------------------------- checks


def check(url: str, n: int) -> dict[str, Any]:
    with UnitOfWork(engine_for(url), readonly=True) as uow:
        c = uow.conn
        raw = c.execute(sa.text("SELECT count(*) FROM channels_raw_order")).scalar_one()
        raw_keys = c.execute(
            sa.text("SELECT count(DISTINCT shop_id || ':' || external_id) FROM channels_raw_order")
        ).scalar_one()
        not_imported = c.execute(
            sa.text("SELECT count(*) FROM channels_raw_order WHERE status <> 'imported'")
        ).scalar_one()
        orders = c.execute(sa.text("SELECT count(*) FROM orders_order")).scalar_one()
        waiting = c.execute(
            sa.text("SELECT count(*) FROM orders_order WHERE status = 'pending_review'")
        ).scalar_one()
    result = {
        "raw_rows": int(raw),
        "raw_keys": int(raw_keys),
        "raw_not_imported": int(not_imported),
        "orders": int(orders),
        "pending_review_left": int(waiting),
    }
    result["ok"] = raw == raw_keys == orders == n and not not_imported and not waiting
    return result


def _callgrind(switch: str) -> None:
    """Switch callgrind's instrumentation of this process on or off. Instruction counts do not
    depend on the machine's speed or load: a change worth 1% shows on a noisy machine."""
    done = subprocess.run(
        ["callgrind_control", "--instr=" + switch, str(os.getpid())],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or "Error" in done.stdout + done.stderr:
        raise SystemExit(
            "--callgrind: run under valgrind --tool=callgrind --instr-atstart=no "
            f"({(done.stdout + done.stderr).strip()[:200]})"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=10_000, help="how many orders (2000 to 1M)")
    ap.add_argument("--db", help="SQLite or PostgreSQL URL (default: SQLite in a temp dir)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--no-floor", action="store_true", help="skip the raw-SQL floor")
    ap.add_argument("--profile", help="cProfile the import and process stages into FILE")
    ap.add_argument(
        "--sql-times", action="store_true", help="time the database statements by verb and table"
    )
    ap.add_argument(
        "--callgrind",
        action="store_true",
        help="count instructions of the import and process stages alone: run the command under "
        "valgrind --tool=callgrind --instr-atstart=no",
    )
    ap.add_argument(
        "--two-pass",
        action="store_true",
        help="import orders as waiting and review them in the process step (review_on_import "
        "off); by default they are reviewed as they are imported (ADR 0009)",
    )
    args = ap.parse_args(argv)
    if args.orders < 1:
        ap.error("--orders must be positive")

    print(f"machine: {workload.load_now()}; {workload.interpreter()}", flush=True)
    t0 = time.perf_counter()
    db = workload.open_database(args.db, name=f"pipeline_{args.orders}")
    workload.seed(db.url, n_orders=args.orders, seed=args.seed)
    print(f"db: {db.kind} {sa.make_url(db.url).render_as_string(hide_password=True)}")
    print(f"setup (schema, catalogue, stock, rules, rates): {time.perf_counter() - t0:.1f}s")
    stages = _instrument()
    if args.sql_times:
        _time_sql(db.url)
    prof = cProfile.Profile() if args.profile else None
    collector = workload.CollectorWatch()
    try:
        if prof:
            prof.enable()
        if args.callgrind:
            _callgrind("on")
        with collector:
            new = run_import(db.url, args.orders, args.seed, review=not args.two_pass)
            report = run_process(db.url, args.orders)
        if args.callgrind:
            _callgrind("off")
        if prof:
            prof.disable()
            prof.dump_stats(args.profile)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        rss = workload.peak_rss_mib()
        stock = workload.check_stock(db.url)
        counts = check(db.url, args.orders)
        print(f"imported {new} raw payloads; statuses {workload.status_counts(db.url)}")
        print(f"holds {workload.hold_counts(db.url)}")
        print(
            f"reviewed on import: examined {REVIEWED.examined}, allocated {REVIEWED.allocated}, "
            f"held {REVIEWED.held}"
        )
        print(
            f"processed: examined {report.examined}, allocated {report.allocated}, "
            f"held {report.held}"
        )
        print(f"checks: {counts} stock {stock}")
        floor_s = 0.0 if args.no_floor else run_floor(db.url, args.orders, args.seed)
    finally:
        db.dispose(keep=args.keep)

    n = args.orders
    wall = TIMES["import_total"] + TIMES["process_total"]
    rate = n / wall
    import_other = (
        TIMES["import_total"]
        - TIMES["store_raw"]
        - TIMES["parse"]
        - TIMES["normalise"]
        - TIMES["customers"]
        - TIMES["sku_mapping"]
        - sum(TIMES[f"import:{s}"] for s in REVIEW_STAGES)
        - TIMES["import_commit"]
    )
    process_other = (
        TIMES["process_total"]
        - sum(TIMES[f"process:{s}"] for s in REVIEW_STAGES)
        - TIMES["process_commit"]
    )
    rows = [
        ("generate payloads (not counted)", TIMES["generate"]),
        ("store raw payloads", TIMES["store_raw"]),
        ("parse (adapter)", TIMES["parse"]),
        ("normalise (address + phone)", TIMES["normalise"]),
        ("SKU mapping", TIMES["sku_mapping"]),
        ("customer link", TIMES["customers"]),
        ("review: context load", TIMES["review_context"]),
        ("allocate: warehouse + carrier", TIMES["allocate"]),
        ("reserve", TIMES["reserve"]),
        ("import: rows, review, rest", import_other),
        ("import commit", TIMES["import_commit"]),
        ("import total", TIMES["import_total"]),
        ("process: reads, review, writes", process_other),
        ("process commit", TIMES["process_commit"]),
        ("process total", TIMES["process_total"]),
        ("end-to-end (import + process)", wall),
    ]
    print(f"\nstages timed: {', '.join(stages)}")
    print(f"{'stage':34} {'seconds':>9} {'orders/s':>12} {'µs/order':>9}")
    for name, sec in rows:
        per_s = n / sec if sec > 0 else float("inf")
        print(f"{name:34} {sec:9.2f} {per_s:12,.0f} {sec / n * 1e6:9.0f}")
    floor_rate = n / floor_s if floor_s else 0.0
    if floor_s:
        print(f"{'floor (DB-API executemany)':34} {floor_s:9.2f} {floor_rate:12,.0f}")
    if args.sql_times:
        _print_sql_times(n)
    print(collector.summary())
    print(f"peak RSS {rss:.0f} MiB; {workload.load_now()}")
    ok = counts["ok"] and workload.stock_ok(stock)
    if not ok:
        print("INVARIANT FAILED", file=sys.stderr)
    summary = {
        "orders": n,
        "db": db.kind,
        "orders_per_s": round(rate, 1),
        "floor_orders_per_s": round(floor_rate, 1),
        "ratio": round(rate / floor_rate, 4) if floor_rate else None,
        "peak_rss_mib": round(rss, 1),
    }
    print(json.dumps(summary), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
