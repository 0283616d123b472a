"""Stock under contention: P processes import and process orders that all want the same few
hot SKUs with too little stock, then the invariants are checked.

    .venv/bin/python bench/contention.py [--db URL] [--processes 8] [--orders 300]

Each worker (multiprocessing, spawn) imports its own canonical orders in small batches
(``orders.service.import_canonical``, one transaction each; every other batch with review on
import, ADR 0009, which reviews and reserves in that transaction) and after every batch runs
``orders.service.process_orders`` from its cursor to the end (checks, rules, allocation,
reservation), so imports and reservations of all workers interleave. Every order wants 1-3 of
the hot SKUs (and sometimes one ordinary SKU); the hot SKUs have far less stock than demand.

The same total workload is then run by one process on a fresh database, for the throughput
comparison. After each run: stock verify, oversold units (levels and ledger), lines or
(order, SKU, warehouse) reserved twice, per-order reserved lines vs ledger, and orders left
unprocessed. Exit status 1 if any of them is not zero.

The last line is JSON: {"db","processes","orders","orders_per_s","orders_per_s_1",
"speedup","oversold_units","verify_differences","ok"}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import time
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

import workload
from lvyue import demo_data
from lvyue.core.clock import SHANGHAI
from lvyue.core.db import engine_for
from lvyue.core.uow import UnitOfWork
from lvyue.orders.canonical import CanonicalOrder
from lvyue.orders.service import ConcurrentChange, import_canonical, process_orders

HOT_SKUS = ["DOWN-M-WHITE", "DOWN-M-BLACK", "CRAB-5L-8", "TEE-M-WHITE", "HOOD-L-BLACK"]
OTHER_SKUS = ["SOCK-WHITE", "JEANS-30-BLUE", "TEE-L-GREY", "SHOE-40-BLACK", "TEE-3PACK-M"]
SHOP = "TB01"


def make_orders(worker: int, n: int, seed: int) -> list[tuple[int, CanonicalOrder]]:
    rng = random.Random(f"{seed}:{worker}")
    cat = {s.sku: s for s in demo_data.catalog()}
    base = datetime(2026, 11, 11, tzinfo=SHANGHAI)
    out = []
    for k in range(n):
        lines = []
        for code in rng.sample(HOT_SKUS, rng.choice((1, 1, 2, 3))):
            lines.append(
                {"sku": code, "quantity": rng.choice((1, 1, 2)), "unit_price": str(cat[code].price)}
            )
        if rng.random() < 0.3:
            code = rng.choice(OTHER_SKUS)
            lines.append({"sku": code, "quantity": 1, "unit_price": str(cat[code].price)})
        province, city, district, detail = rng.choice(demo_data.ADDRESSES)
        created = base + timedelta(seconds=rng.randrange(86400))
        order = {
            "external_id": f"C{worker}-{k}",
            "status": "paid",
            "created_at": created.isoformat(),
            "paid_at": (created + timedelta(seconds=30)).isoformat(),
            "buyer": {"id": f"b{worker}-{k}", "nick": f"买家{k}"},
            "receiver": {
                "name": "张三",
                "phone": f"138{rng.randrange(10**8):08d}",
                "province": province,
                "city": city,
                "district": district,
                "address": f"{detail}{rng.randrange(1, 30)}栋",
            },
            "lines": lines,
            "shipping_fee": "0.00",
            "discount": "0.00",
        }
        out.append((k + 1, CanonicalOrder.model_validate(order)))
    return out


RETRIES = [0]


def _retrying(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one unit of work, again if a concurrent worker changed the same orders first (the
    service refuses rather than overwrite) or the database chose it as a deadlock victim:
    retrying the whole transaction is what a real worker does."""
    for attempt in range(20):
        try:
            return fn(*args, **kwargs)
        except (ConcurrentChange, sa.exc.OperationalError) as exc:
            if isinstance(exc, sa.exc.OperationalError) and "deadlock" not in str(exc).lower():
                raise
            RETRIES[0] += 1
            time.sleep(0.01 * (attempt + 1))
    raise RuntimeError("gave up after 20 retries")


def worker(url: str, index: int, n: int, batch: int, seed: int, start: Any, results: Any) -> None:
    engine = engine_for(url)
    orders = make_orders(index, n, seed)
    start.wait()
    t0 = time.perf_counter()
    cursor, examined, allocated = 0, 0, 0

    def import_one(items: list[tuple[int, CanonicalOrder]], review: bool) -> None:
        with UnitOfWork(engine, actor=f"w{index}") as uow:
            import_canonical(uow, SHOP, items, review=review)

    def process_one(after: int) -> Any:
        with UnitOfWork(engine, actor=f"w{index}") as uow:
            return process_orders(uow, after_id=after, limit=batch)

    for i in range(0, n, batch):
        # Every other batch reviewed on import (ADR 0009): both ways reserve the hot SKUs.
        _retrying(import_one, orders[i : i + batch], (i // batch) % 2 == 0)
        while True:
            report = _retrying(process_one, cursor)
            if not report.examined:
                break
            cursor = report.last_id
            examined += report.examined
            allocated += report.allocated
    results.put(
        {
            "worker": index,
            "seconds": time.perf_counter() - t0,
            "examined": examined,
            "allocated": allocated,
            "retries": RETRIES[0],
        }
    )


def run(url: str, processes: int, per_process: int, batch: int, seed: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=worker, args=(url, i, per_process, batch, seed, start, results), daemon=True
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    start.wait(timeout=120)
    t0 = time.perf_counter()
    reports = [results.get(timeout=1800) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join(timeout=60)
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    return {"wall": wall, "workers": reports, "failed": failed}


def prepare(url: str | None, name: str, seed: int, hot_stock: int) -> workload.Database:
    db = workload.open_database(url, name=name)
    workload.seed(db.url, n_orders=2000, seed=seed)
    workload.set_stock(
        db.url,
        {
            (sku, wh): hot_stock
            for sku in HOT_SKUS
            for wh in (("HZ", "GZ") if sku.startswith("CRAB") else ("HZ", "GZ", "BJ"))
        },
    )
    return db


def unprocessed(url: str) -> int:
    with UnitOfWork(engine_for(url), readonly=True) as uow:
        return int(
            uow.conn.execute(
                sa.text("SELECT count(*) FROM orders_order WHERE status = 'pending_review'")
            ).scalar_one()
        )


def one_run(args: argparse.Namespace, processes: int, per_process: int) -> dict[str, Any]:
    suffix = f"_{processes}p"
    url = args.db + suffix if args.db and args.db.startswith("postgresql") else None
    if args.db and not url:
        url = args.db.replace(".db", f"{suffix}.db") if args.db.endswith(".db") else args.db
    db = prepare(url, f"contention{suffix}", args.seed, args.hot_stock)
    try:
        result = run(db.url, processes, per_process, args.batch, args.seed)
        stock = workload.check_stock(db.url)
        left = unprocessed(db.url)
        statuses = workload.status_counts(db.url)
    finally:
        db.dispose(keep=args.keep)
    total = processes * per_process
    ok = workload.stock_ok(stock) and not left and not result["failed"]
    out = {
        "processes": processes,
        "orders": total,
        "seconds": round(result["wall"], 2),
        "orders_per_s": round(total / result["wall"], 1),
        "statuses": statuses,
        "unprocessed": left,
        "worker_failures": result["failed"],
        "retries": sum(w["retries"] for w in result["workers"]),
        **stock,
        "ok": ok,
        "db": db.kind,
    }
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--db",
        help="SQLite or PostgreSQL URL (default: SQLite in a temp dir); "
        "the P- and 1-process runs use <URL>_8p / <URL>_1p",
    )
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--orders", type=int, default=300, help="orders per process")
    ap.add_argument("--batch", type=int, default=25, help="orders per import/process batch")
    ap.add_argument("--hot-stock", type=int, default=40, help="units per hot SKU per warehouse")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--skip-single", action="store_true", help="no 1-process comparison run")
    args = ap.parse_args(argv)

    print(f"machine: {workload.load_now()}; {workload.interpreter()}", flush=True)
    many = one_run(args, args.processes, args.orders)
    single = None
    if not args.skip_single and args.processes > 1:
        single = one_run(args, 1, args.processes * args.orders)
    ok = many["ok"] and (single is None or single["ok"])
    summary = {
        "db": many["db"],
        "processes": args.processes,
        "orders": many["orders"],
        "orders_per_s": many["orders_per_s"],
        "orders_per_s_1": single["orders_per_s"] if single else None,
        "speedup": round(many["orders_per_s"] / single["orders_per_s"], 2) if single else None,
        "oversold_units": many["oversold_units"] + (single["oversold_units"] if single else 0),
        "verify_differences": many["verify_differences"]
        + (single["verify_differences"] if single else 0),
        "ok": ok,
    }
    if not ok:
        print("INVARIANT FAILED", file=sys.stderr)
    print(f"machine after: {workload.load_now()}")
    print(json.dumps(summary), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
