"""Crash safety: a worker importing and processing orders is killed with SIGKILL at random
points, restarted, and at the end nothing is lost, nothing is applied twice, stock verifies.

    .venv/bin/python bench/crash.py [--db URL] [--kills 20] [--round 1000]

The worker (this script with ``--worker``, a subprocess) reads a deterministic stream of
channel payloads (``bench/workload.py``: Taobao, Tmall and Pinduoduo orders, ~10% problem
orders; every unpaid order is sent again later as paid, an update of the same order) and, per
batch of 100, stores and imports them (``channels.service.ingest``, one transaction; every
other batch with review on import, ADR 0009, so that the new orders are reviewed, allocated
and reserved in that same transaction), then runs ``process_orders`` batches from its cursor;
at the end of its range a full pass. A restart
starts over from the beginning of the range: imports are idempotent and the pipeline picks up
whatever is still waiting.

The parent runs rounds of ``--round`` orders. In each round it starts the worker, waits until
it is ready, sleeps a random time drawn over the worker's expected run time and kills it with
SIGKILL (at most 4 kills per round, then the round runs to its end), until ``--kills`` kills
have happened. Then it checks:

- every payload sent is stored once and marked imported; every order sent is exactly one order
  (and no order exists that was not sent), with exactly one creation history row;
- every update was applied (unpaid orders that were paid later are paid);
- nothing is left waiting for review;
- stock: verify clean, no oversold unit, nothing reserved twice, and per order the reserved
  line quantities (bundles expanded) equal what the ledger says the order holds.

Exit status 1 on any violation. The last line is JSON:
{"db","kills","rounds","orders","payloads","lost","doubled","verify_differences","ok"}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

import workload
from lvyue.channels.lookahead import ParseAhead
from lvyue.core.db import engine_for
from lvyue.core.uow import UnitOfWork
from lvyue.orders.service import ProcessReport, process_orders
from workload import GenOrder

WORKER_BATCH = 100
RESEND_AFTER = 40  # an unpaid order is paid and re-sent this many orders later
MAX_KILLS_PER_ROUND = 4


def _paid_version(g: GenOrder) -> GenOrder:
    """The same order after the buyer paid: new status, pay time and modified time."""
    p = json.loads(json.dumps(g.raw.payload))
    assert g.raw.updated_at is not None
    paid = g.raw.updated_at + timedelta(minutes=7)
    text = workload._local(paid)
    if g.platform == "pinduoduo":
        p.update(pay_time=text, confirm_time=text, confirm_status=1, updated_at=text)
    else:
        p.update(status="WAIT_SELLER_SEND_GOODS", pay_time=text, modified=text)
        for line in p["orders"]["order"]:
            line["status"] = "WAIT_SELLER_SEND_GOODS"
    raw = replace(g.raw, updated_at=paid, payload=p)
    return replace(g, raw=raw, problem="paid_later")


def stream(start: int, count: int, seed: int) -> Iterator[GenOrder]:
    """The round's payloads: each order once, and the paid version of each unpaid order."""
    cat = workload.catalogue()
    waiting: list[tuple[int, GenOrder]] = []
    for k, g in enumerate(workload.generate(count, cat, seed=seed, start=start)):
        yield g
        if g.problem == "unpaid":
            waiting.append((k + RESEND_AFTER, g))
        while waiting and waiting[0][0] <= k:
            yield _paid_version(waiting.pop(0)[1])
    for _, g in waiting:
        yield _paid_version(g)


# --------------------------------------------------------------------------- the worker


def _process_from(url: str, cursor: int) -> int:
    engine = engine_for(url)
    while True:
        with UnitOfWork(engine, actor="crash-worker") as uow:
            report: ProcessReport = process_orders(uow, after_id=cursor, limit=workload.BATCH)
        if not report.examined:
            return cursor
        cursor = report.last_id


def run_worker(url: str, start: int, count: int, seed: int) -> int:
    engine = engine_for(url)
    shops = workload.shop_ids(url)
    parse = workload.parsers()
    print("READY", flush=True)
    cursor = 0
    # The next batch parsed while this one is written, as a channel pull does
    # (channels.lookahead): kills land in those waits too, SQLite's commit thread among them.
    batches = workload.batches(stream(start, count, seed), WORKER_BATCH)
    with ParseAhead() as ahead:
        parse_ahead = {k: ahead.parser(p) for k, p in parse.items()}

        def payloads(b: list[GenOrder]) -> Iterator[tuple[Any, Any]]:
            return ((g.raw, parse[g.platform]) for g in b)

        for i, batch in enumerate(ahead.over(batches, payloads)):
            with UnitOfWork(engine, actor="crash-worker") as uow:
                # Every other batch reviewed on import (ADR 0009): kills land in both kinds.
                workload.import_batch(uow, batch, shops, parse_ahead, review=i % 2 == 0)
            cursor = _process_from(url, cursor)
    _process_from(url, 0)  # orders paid after the cursor passed them
    print("DONE", flush=True)
    return 0


# --------------------------------------------------------------------------- the parent


def _start(url: str, start: int, count: int, seed: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--db", url]
    cmd += ["--start", str(start), "--count", str(count), "--seed", str(seed)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def run_rounds(url: str, args: argparse.Namespace) -> tuple[int, int, list[float]]:
    rng = random.Random(args.seed)
    kills, rounds, estimate = 0, 0, 3.0
    delays: list[float] = []
    while kills < args.kills:
        start = rounds * args.round
        in_round = 0
        while True:
            proc = _start(url, start, args.round, args.seed)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "READY":
                raise SystemExit(f"worker did not start (exit {proc.wait()})")
            t0 = time.perf_counter()
            kill = kills < args.kills and in_round < MAX_KILLS_PER_ROUND
            delay = rng.uniform(0.02, estimate * 1.1)
            try:
                proc.wait(timeout=delay if kill else 1800)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                in_round += 1
                delays.append(delay)
                print(f"round {rounds}: kill {kills} after {delay:.2f}s", flush=True)
                continue
            if proc.returncode != 0:
                raise SystemExit(f"worker failed with exit {proc.returncode}")
            if in_round == 0:
                estimate = time.perf_counter() - t0
            print(f"round {rounds}: done ({in_round} kills)", flush=True)
            break
        rounds += 1
    return kills, rounds, delays


def check(url: str, rounds: int, size: int, seed: int) -> dict[str, Any]:
    shops = workload.shop_ids(url)
    sent_keys: set[tuple[int, str]] = set()
    payloads = 0
    paid_later: set[tuple[int, str]] = set()
    for r in range(rounds):
        for g in stream(r * size, size, seed):
            payloads += 1
            key = (shops[g.shop], g.external_id)
            sent_keys.add(key)
            if g.problem == "paid_later":
                paid_later.add(key)
    with UnitOfWork(engine_for(url), readonly=True) as uow:
        c = uow.conn
        raw = c.execute(
            sa.text("SELECT shop_id, external_id, status FROM channels_raw_order")
        ).all()
        orders: dict[tuple[int, str], list[Any]] = {}
        for oid, sid, ext, channel_status in c.execute(
            sa.text("SELECT id, shop_id, external_id, channel_status FROM orders_order")
        ):
            orders.setdefault((sid, ext), []).append((oid, channel_status))
        created: dict[int, int] = dict(
            c.execute(
                sa.text(
                    "SELECT order_id, count(*) FROM orders_order_history "
                    "WHERE from_status IS NULL GROUP BY order_id"
                )
            ).all()
        )
        waiting = c.execute(
            sa.text("SELECT count(*) FROM orders_order WHERE status = 'pending_review'")
        ).scalar_one()
    raw_keys = {(sid, ext) for sid, ext, _ in raw}
    lost = len(sent_keys - set(orders)) + len(sent_keys - raw_keys)
    doubled = sum(len(v) - 1 for v in orders.values() if len(v) > 1)
    extra = len(set(orders) - sent_keys)
    all_ids = [oid for v in orders.values() for oid, _ in v]
    history_wrong = sum(1 for oid in all_ids if created.get(oid, 0) != 1)
    not_applied = sum(1 for k in paid_later if any(cs != "paid" for _, cs in orders.get(k, [])))
    result: dict[str, Any] = {
        "orders_sent": len(sent_keys),
        "payloads_sent": payloads,
        "raw_rows": len(raw),
        "raw_not_imported": sum(1 for *_, st in raw if st != "imported"),
        "orders": len(all_ids),
        "lost": lost,
        "doubled": doubled,
        "unexpected_orders": extra,
        "creation_history_wrong": history_wrong,
        "updates_not_applied": not_applied,
        "pending_review_left": int(waiting),
    }
    result["orders_ok"] = (
        lost == doubled == extra == history_wrong == not_applied == 0
        and result["raw_rows"] == payloads
        and result["raw_not_imported"] == 0
        and not waiting
    )
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="SQLite or PostgreSQL URL (default: SQLite in a temp dir)")
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--round", type=int, default=1000, help="orders per round")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return run_worker(args.db, args.start, args.count, args.seed)

    print(f"machine: {workload.load_now()}; {workload.interpreter()}", flush=True)
    db = workload.open_database(args.db, name="crash")
    planned = args.round * (args.kills // MAX_KILLS_PER_ROUND + 2)
    workload.seed(db.url, n_orders=planned, seed=args.seed)
    t0 = time.perf_counter()
    try:
        kills, rounds, delays = run_rounds(db.url, args)
        wall = time.perf_counter() - t0
        orders = check(db.url, rounds, args.round, args.seed)
        stock = workload.check_stock(db.url)
    finally:
        db.dispose(keep=args.keep)
    ok = orders["orders_ok"] and workload.stock_ok(stock)
    print(json.dumps({**orders, **stock}))
    print(
        f"{kills} kills over {rounds} rounds in {wall:.1f}s; kill delays "
        f"{min(delays, default=0):.2f}-{max(delays, default=0):.2f}s; {workload.load_now()}"
    )
    if not ok:
        print("INVARIANT FAILED", file=sys.stderr)
    summary = {
        "db": db.kind,
        "kills": kills,
        "rounds": rounds,
        "orders": orders["orders"],
        "payloads": orders["payloads_sent"],
        "lost": orders["lost"],
        "doubled": orders["doubled"],
        "verify_differences": stock["verify_differences"],
        "ok": ok,
    }
    print(json.dumps(summary), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
