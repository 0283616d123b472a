"""Cost of personal-data encryption: per value, and as a share of the order pipeline.

    .venv/bin/python bench/pii.py [--n 100000] [--rounds 5] [--orders 4000]

1. Per value, over ``--n`` values of realistic sizes (a name, a mobile number, a street
   address, a 2.4 KB raw channel payload): ``EncryptedText``'s bind (encrypt) and result
   (decrypt) processing as SQLAlchemy calls them, and the phone's keyed hash. The floor is a
   plain ``str`` call through the same loop. Best of ``--rounds`` (as ``timeit`` reports: the
   slower rounds measure the machine's other work).
2. In the pipeline: ``--orders`` channel orders through the real import and process code
   (``bench/pipeline.py``'s stages, SQLite in a temporary directory) with every encrypt,
   decrypt and keyed hash counted and timed; the share is their time over the run's wall
   time, both measured in the same run.

Pinned to one core. The last line is JSON: {"n", "<case>_encrypt_us", "<case>_decrypt_us",
"phone_index_us", "orders", "calls_per_order", "pii_us_per_order", "pipeline_us_per_order",
"pii_share"}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from lvyue.core.crypto import PiiKeyring, phone_index
from lvyue.core.pii import EncryptedText

CASES: dict[str, Callable[[random.Random], str]] = {
    "name": lambda rng: "张" + rng.choice("伟芳娜敏静丽强磊军洋") * rng.randint(1, 2),
    "phone": lambda rng: f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}",
    "address": lambda rng: f"余杭塘路{rng.randint(1, 2000)}号紫金港校区{rng.randint(1, 40)}幢",
    "payload": lambda rng: json.dumps(
        {"tid": rng.randrange(10**15), "items": ["商品" * 20] * 12, "memo": "x" * 900},
        ensure_ascii=False,
    ),
}


def _per_value_us(fn: Callable[[Any], Any], values: list[Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for v in values:
            fn(v)
        times.append((time.perf_counter() - t0) / len(values) * 1e6)
    return min(times)


def per_value(n: int, rounds: int) -> dict[str, Any]:
    rng = random.Random(7)
    col = EncryptedText()
    out: dict[str, Any] = {"n": n, "floor_us": round(_per_value_us(str, ["x"] * n, rounds), 3)}
    print(f"{'value':10} {'bytes':>6} {'encrypt µs':>11} {'decrypt µs':>11}")
    for case, make in CASES.items():
        count = n if case != "payload" else n // 10
        plain = [make(rng) for _ in range(count)]
        sealed = [col.process_bind_param(p, None) for p in plain]  # type: ignore[arg-type]
        enc = _per_value_us(lambda v: col.process_bind_param(v, None), plain, rounds)  # type: ignore[arg-type]
        dec = _per_value_us(lambda v: col.process_result_value(v, None), sealed, rounds)  # type: ignore[arg-type]
        size = round(statistics.mean(len(p.encode()) for p in plain))
        print(f"{case:10} {size:>6} {enc:>11.2f} {dec:>11.2f}")
        out[f"{case}_encrypt_us"] = round(enc, 2)
        out[f"{case}_decrypt_us"] = round(dec, 2)
    phones = [CASES["phone"](rng) for _ in range(n)]
    out["phone_index_us"] = round(_per_value_us(phone_index, phones, rounds), 2)
    print(f"phone keyed hash {out['phone_index_us']:.2f} µs; floor {out['floor_us']:.3f} µs")
    return out


def pipeline_share(orders: int) -> dict[str, Any]:
    import pipeline  # bench/pipeline.py: the real import and process stages
    import workload

    calls: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    originals = {m: getattr(PiiKeyring, m) for m in ("encrypt", "decrypt", "index", "indexes")}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0
                calls[name] += 1

        return wrapper

    db = workload.open_database(None, name=f"pii_{orders}")
    try:
        workload.seed(db.url, n_orders=orders)
        for name, fn in originals.items():
            setattr(PiiKeyring, name, timed(name, fn))
        t0 = time.perf_counter()
        pipeline.run_import(db.url, orders, 11, review=True)
        pipeline.run_process(db.url, orders)
        wall = time.perf_counter() - t0
    finally:
        for name, fn in originals.items():
            setattr(PiiKeyring, name, fn)
        db.dispose()
    pii = sum(spent.values())
    out = {
        "orders": orders,
        "calls_per_order": {k: round(v / orders, 2) for k, v in sorted(calls.items())},
        "pii_us_per_order": round(pii / orders * 1e6, 1),
        "pipeline_us_per_order": round(wall / orders * 1e6, 1),
        "pii_share": round(pii / wall, 4),
    }
    print(
        f"pipeline: {out['pipeline_us_per_order']} µs per order, of which encryption "
        f"{out['pii_us_per_order']} µs ({out['pii_share']:.1%}); calls per order "
        f"{out['calls_per_order']}"
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--orders", type=int, default=4000, help="0 skips the pipeline share")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):  # one core, as the figures claim
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    out = per_value(args.n, args.rounds)
    if args.orders:
        out.update(pipeline_share(args.orders))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
