"""Cost of personal-data encryption per value, against a floor measured in the same run.

    .venv/bin/python bench/pii.py [--n 200000] [--rounds 5]

Times, per value, over ``--n`` values of realistic sizes (a name, a mobile number, a street
address, a 2 KB raw channel payload): ``EncryptedText``'s bind (encrypt) and result (decrypt)
processing as SQLAlchemy calls them, the phone's keyed hash, and the floor: a plain ``str``
copy through the same loop. The median of ``--rounds`` rounds is reported.

The last line is JSON: {"n", "<case>_encrypt_us", "<case>_decrypt_us", "phone_index_us", ...}.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from lvyue.core.crypto import phone_index
from lvyue.core.pii import EncryptedText

CASES = {
    "name": lambda rng: "张" + rng.choice("伟芳娜敏静丽强磊军洋") * rng.randint(1, 2),
    "phone": lambda rng: f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}",
    "address": lambda rng: f"余杭塘路{rng.randint(1, 2000)}号浙江大学紫金港校区{rng.randint(1, 40)}幢",
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
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(7)
    col = EncryptedText()
    bind, result = col.process_bind_param, col.process_result_value
    out: dict[str, Any] = {"n": args.n}
    floor = _per_value_us(str, ["x"] * args.n, args.rounds)
    out["floor_us"] = round(floor, 3)
    print(f"{'case':10} {'bytes':>6} {'encrypt µs':>11} {'decrypt µs':>11}")
    for case, make in CASES.items():
        n = args.n if case != "payload" else args.n // 10
        plain = [make(rng) for _ in range(n)]
        sealed = [bind(p, None) for p in plain]  # type: ignore[arg-type]
        enc = _per_value_us(lambda v: bind(v, None), plain, args.rounds)  # type: ignore[arg-type]
        dec = _per_value_us(lambda v: result(v, None), sealed, args.rounds)  # type: ignore[arg-type]
        size = round(statistics.mean(len(p.encode()) for p in plain))
        print(f"{case:10} {size:>6} {enc:>11.2f} {dec:>11.2f}")
        out[f"{case}_encrypt_us"] = round(enc, 3)
        out[f"{case}_decrypt_us"] = round(dec, 3)
    phones = [CASES["phone"](rng) for _ in range(args.n)]
    out["phone_index_us"] = round(_per_value_us(phone_index, phones, args.rounds), 3)
    print(f"phone keyed hash: {out['phone_index_us']:.2f} µs; floor (str copy): {floor:.3f} µs")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
