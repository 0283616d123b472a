"""Address parser throughput on one core, against a trivial floor measured in the same run.

    .venv/bin/python bench/geo_parse.py [--n 100000] [--rounds 5] [--cli]

Inputs are the hand-written test set (tests/geo/addresses.yaml: all 31 province-level regions,
clean and degraded, free text with names and phones, structured channel fields), repeated with
every phone number and door number randomised, so no cache sees the same string twice.

The floor is the cheapest pass that still looks at every address for a region: ``str.find`` of
the 31 province short names. ``ratio`` = parser rate / floor rate.

The last line is JSON: {"addresses", "addresses_per_s", "floor_per_s", "ratio", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from lvyue.geo import divisions
from lvyue.geo.address import parse_address

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "geo" / "addresses.yaml"

_MOBILE = re.compile(r"1[3-9]\d{9}")
_DOOR = re.compile(r"\d+号")
_PREFIXES = ("130", "135", "138", "139", "150", "158", "170", "176", "186", "188", "199")

Input = tuple[str, dict[str, str | None]]


def _vary(text: str, rng: random.Random) -> str:
    text = _MOBILE.sub(lambda _: rng.choice(_PREFIXES) + f"{rng.randrange(10**8):08d}", text)
    return _DOOR.sub(lambda _: f"{rng.randrange(1, 3000)}号", text)


def make_inputs(n: int, seed: int = 7) -> list[Input]:
    cases: list[dict[str, Any]] = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    out: list[Input] = []
    for i in range(n):
        case = cases[i % len(cases)]
        phone = case.get("in_phone")
        kwargs = {
            "province": case.get("in_province"),
            "city": case.get("in_city"),
            "district": case.get("in_district"),
            "phone": _vary(str(phone), rng) if phone is not None else None,
        }
        out.append((_vary(str(case["text"]), rng), kwargs))
    rng.shuffle(out)
    return out


def run_parser(inputs: list[Input]) -> float:
    start = time.perf_counter()
    for text, kwargs in inputs:
        parse_address(text, **kwargs)
    return time.perf_counter() - start


def run_floor(inputs: list[Input], names: tuple[str, ...]) -> float:
    start = time.perf_counter()
    for text, _ in inputs:
        for name in names:
            if text.find(name) >= 0:
                break
    return time.perf_counter() - start


def run_cli(inputs: list[Input]) -> float:
    """The streaming `check --file --json` path, in process (JSON lines in, JSON lines out)."""
    from typer.testing import CliRunner

    from lvyue.geo.cli import app

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for text, kwargs in inputs:
            fh.write(json.dumps({"text": text, **kwargs}, ensure_ascii=False) + "\n")
        path = fh.name
    try:
        start = time.perf_counter()
        result = CliRunner().invoke(app, ["check", "--file", path, "--json"])
        elapsed = time.perf_counter() - start
    finally:
        os.unlink(path)
    if result.exit_code != 0 or result.output.count("\n") != len(inputs):
        raise SystemExit(f"cli run failed: {result.exit_code} {result.exception!r}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="addresses per round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    ap.add_argument("--cli", action="store_true", help="also time `check --file --json`")
    args = ap.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):  # one core, as the figure claims
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    t0 = time.perf_counter()
    divisions.index()
    parse_address("浙江省杭州市西湖区文三路90号")
    load_s = time.perf_counter() - t0

    inputs = make_inputs(args.n)
    names = tuple(p.short_name for p in divisions.provinces())[:31]
    # Parser and floor alternate, so a burst of load elsewhere hits both alike.
    parser_runs, floor_runs = [], []
    for _ in range(args.rounds):
        parser_runs.append(run_parser(inputs))
        floor_runs.append(run_floor(inputs, names))
    parser_s, floor_s = statistics.median(parser_runs), statistics.median(floor_runs)
    rate, floor = args.n / parser_s, args.n / floor_s

    print(f"python {sys.version.split()[0]}, {divisions.data_version()}, one core")
    print(f"index load + first parse: {load_s * 1000:.0f} ms")
    print(f"parser: {rate:,.0f} addresses/s ({parser_s / args.n * 1e6:.1f} µs each)")
    print(f"floor (str.find of 31 province names): {floor:,.0f} addresses/s")
    report: dict[str, Any] = {
        "addresses": args.n,
        "addresses_per_s": round(rate),
        "floor_per_s": round(floor),
        "ratio": round(rate / floor, 4),
    }
    if args.cli:
        cli_rate = args.n / run_cli(inputs)
        print(f"cli check --file --json: {cli_rate:,.0f} lines/s")
        report["cli_lines_per_s"] = round(cli_rate)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
