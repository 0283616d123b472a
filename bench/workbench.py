"""The order workbench on a million orders: server time of each list request.

    .venv/bin/python bench/workbench.py --db postgresql://postgres@127.0.0.1:5432/lvyue_bench_wb \\
        [--orders 1000000] [--rounds 15] [--keep]

Builds (or, with ``--keep`` and an existing set of the same size, reuses) a PostgreSQL
database with ``--orders`` orders spread over 90 days, 4 shops, 3 warehouses and 5 carriers in
a realistic status mix (mostly shipped and completed, a few percent held with reasons), one
line each over 60 SKUs, receivers encrypted as the import writes them (a pool of 2,000 names
and phones with their keyed hashes). Rows are generated in SQL (``generate_series``): the point
is the reads, not the import (``bench/pipeline.py`` measures that). The tables are then
vacuumed and analysed, the state autovacuum keeps a live database in.

Then signs in through the login form and times each request of the workbench in process
(FastAPI's TestClient: routing, session check, queries, template rendering; no network),
``--rounds`` times after one warm-up, and prints the median and the worst per request. The
last line is JSON: {"orders", "db", "<case>_ms": median, ..., "max_ms": worst median}.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from lvyue import bootstrap
from lvyue.accounts import service as accounts
from lvyue.catalog.service import import_catalog
from lvyue.core.crypto import encrypt_pii, phone_index
from lvyue.core.db import engine_for
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import service as inventory
from lvyue.main import create_app
from lvyue.orders import service as orders

PASSWORD = "bench password 1"
SHOPS = [("TB01", "taobao"), ("JD01", "jd"), ("DY01", "douyin"), ("PDD01", "pinduoduo")]
WAREHOUSES = ["HZ", "GZ", "BJ"]
CARRIERS = ["SF", "ZTO", "YTO", "JD", "EMS"]
# status, share of the orders
MIX = [
    ("completed", 0.30),
    ("shipped", 0.48),
    ("in_fulfillment", 0.03),
    ("allocated", 0.06),
    ("approved", 0.01),
    ("pending_review", 0.01),
    ("held", 0.04),
    ("pending_payment", 0.02),
    ("cancelled", 0.05),
]
HOLDS = ["out_of_stock", "unknown_sku", "invalid_phone", "manual_review", "buyer_message"]
POOL = 2000


def _reference(url: str) -> None:
    bootstrap.reset(url)
    engine = engine_for(url)
    with UnitOfWork(engine, actor="bench") as uow:
        rows = [
            (
                i + 2,
                {
                    "sku": f"SKU-{i:02d}",
                    "name": f"商品{i}",
                    "spec": "",
                    "barcode": "",
                    "category": "bench",
                    "price": "59.00",
                    "cost": "20.00",
                    "weight_g": "300",
                    "tags": "",
                    "components": "",
                },
            )
            for i in range(60)
        ]
        assert not import_catalog(uow, rows).rejected
        for prio, code in enumerate(WAREHOUSES):
            inventory.add_warehouse(
                uow, code=code, name=f"{code}仓", province="浙江省", city="杭州市", priority=prio
            )
        for code, platform in SHOPS:
            orders.add_shop(uow, code=code, platform=platform, name=code)
        accounts.add_user(uow, username="admin", password=PASSWORD, role="admin")
        accounts.add_user(
            uow, username="hz", password=PASSWORD, role="warehouse", warehouse_codes=["HZ"]
        )


def _status_case() -> str:
    """A CASE over a uniform [0,1) number ``u`` picking the status by MIX."""
    parts, edge = [], 0.0
    for status, share in MIX[:-1]:
        edge += share
        parts.append(f"WHEN u < {edge:.4f} THEN '{status}'")
    return "CASE " + " ".join(parts) + f" ELSE '{MIX[-1][0]}' END"


def _orders(url: str, n: int) -> float:
    engine = engine_for(url)
    rng = random.Random(5)
    names = [encrypt_pii("张王李赵刘陈杨黄"[i % 8] + "某" * (1 + i % 2)) for i in range(POOL)]
    plain_phones = [f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" for _ in range(POOL)]
    phones = [encrypt_pii(p) for p in plain_phones]
    hashes = [phone_index(p) for p in plain_phones]
    streets = [encrypt_pii(f"余杭塘路{i}号") for i in range(POOL)]
    t0 = time.perf_counter()
    with engine.begin() as conn:
        shop_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM orders_shop ORDER BY id"))]
        wh_ids = [
            r[0] for r in conn.execute(sa.text("SELECT id FROM inventory_warehouse ORDER BY id"))
        ]
        conn.execute(
            sa.text(
                f"""
                INSERT INTO orders_order (
                    id, shop_id, external_id, order_type, status, channel_status, content_hash,
                    ordered_at, paid_at, created_at, updated_at, buyer_id, receiver_name,
                    receiver_phone, receiver_phone_hash, receiver_province, receiver_city,
                    receiver_address, address_issues, currency, goods_amount, shipping_fee,
                    discount, total_amount, item_count, buyer_message, seller_memo, tags,
                    warehouse_id, carrier_code, review_log, review_steps, approved_rules)
                SELECT g, (CAST(:shops AS bigint[]))[1 + g % 4], 'B' || g, 'online', s.status,
                    CASE WHEN s.status = 'pending_payment' THEN 'unpaid' ELSE 'paid' END,
                    md5(g::text), t.at, t.at, t.at, t.at, 'b' || (g % 200000),
                    (CAST(:names AS text[]))[1 + g % {POOL}],
                    (CAST(:phones AS text[]))[1 + g % {POOL}],
                    (CAST(:hashes AS text[]))[1 + g % {POOL}], '浙江省', '杭州市',
                    (CAST(:streets AS text[]))[1 + g % {POOL}],
                    '[]', 'CNY', a.fen, 0, 0, a.fen, 1, '', '', '[]',
                    CASE WHEN s.status IN ('allocated', 'in_fulfillment', 'shipped', 'completed')
                         THEN (CAST(:whs AS bigint[]))[1 + g % 3] END,
                    CASE WHEN s.status IN ('allocated', 'in_fulfillment', 'shipped', 'completed')
                         THEN (CAST(:carriers AS text[]))[1 + g % 5] END,
                    '[]', '[]', '[]'
                FROM generate_series(1, :n) AS g
                CROSS JOIN LATERAL (SELECT hashtextextended(g::text, 1) AS h) r
                CROSS JOIN LATERAL (
                    SELECT ((r.h & 1048575)::float8 / 1048576) AS u) x
                CROSS JOIN LATERAL (SELECT {_status_case()} AS status) s
                CROSS JOIN LATERAL (
                    SELECT timestamptz '2026-08-15 00:00+00'
                           + (g::float8 / :n) * interval '90 days' AS at) t
                CROSS JOIN LATERAL (
                    SELECT 990 + ((r.h >> 20) & 65535) % 99000 AS fen) a
                """
            ),
            {
                "n": n,
                "shops": shop_ids,
                "whs": wh_ids,
                "carriers": CARRIERS,
                "names": names,
                "phones": phones,
                "hashes": hashes,
                "streets": streets,
            },
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO orders_order_line (id, order_id, line_no, sku_code, sku_id, quantity,
                    unit_price, reserved, shipped, cancelled, refund_status)
                SELECT o.id, o.id, 1, k.code, k.id, 1, o.total_amount, 0, 0, 0, 'none'
                FROM orders_order o
                JOIN catalog_sku k ON k.code = 'SKU-' || lpad((o.id % 60)::text, 2, '0')
                """
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO orders_order_hold (order_id, code, detail, created_at) "
                "SELECT id, (CAST(:holds AS text[]))[1 + id % 5], '', ordered_at FROM orders_order "
                "WHERE status = 'held'"
            ),
            {"holds": HOLDS},
        )
    # The steady state autovacuum keeps: statistics, and visibility maps for index-only scans.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("orders_order", "orders_order_line", "orders_order_hold"):
            conn.execute(sa.text(f"VACUUM (ANALYZE) {table}"))
    return time.perf_counter() - t0


def _count(url: str) -> int:
    with engine_for(url).connect() as conn:
        if not sa.inspect(conn).has_table("orders_order"):
            return -1
        return int(conn.execute(sa.text("SELECT count(*) FROM orders_order")).scalar_one())


def _sign_in(client: TestClient, username: str) -> None:
    form = client.get("/login").text
    guard = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert guard
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": guard.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def _time(client: TestClient, path: str, rounds: int) -> tuple[float, float, str]:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200
    return statistics.median(times), max(times), r.text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL URL (its tables are replaced)")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="reuse a database of the same size")
    args = parser.parse_args()
    url = args.db
    if not url.startswith("postgresql"):
        print("the workbench benchmark needs PostgreSQL (--db postgresql://...)", file=sys.stderr)
        return 2
    if not (args.keep and _count(url) == args.orders):
        _reference(url)
        took = _orders(url, args.orders)
        print(f"generated {args.orders:,} orders in {took:.1f}s")
    results: dict[str, Any] = {"orders": args.orders, "db": "postgresql"}
    with TestClient(create_app(url)) as client:
        _sign_in(client, "admin")
        first = client.get("/orders?status=shipped").text
        after = re.search(r'href="[^"]*after=([^"&]+)', first)
        assert after, "no next page"
        cases = [
            ("all", "/orders"),
            ("tab_shipped", "/orders?status=shipped"),
            ("tab_shipped_next_page", f"/orders?status=shipped&after={after.group(1)}"),
            ("tab_held", "/orders?status=held"),
            ("tab_pending_review", "/orders?status=pending_review"),
            ("shop_and_tab", "/orders?shop=TB01&status=allocated"),
            ("platform", "/orders?platform=jd"),
            ("hold_reason", "/orders?hold=out_of_stock"),
            ("one_day", "/orders?ordered_from=2026-10-01&ordered_to=2026-10-01"),
            ("buyer", "/orders?buyer=b4242"),
            ("sku", "/orders?sku=SKU-07&status=completed"),
            ("carrier", "/orders?carrier=SF&status=shipped"),
            ("amount_range", "/orders?amount_min=500&amount_max=510"),
            ("sort_amount_tab", "/orders?status=held&sort=total_amount"),
            ("sort_amount_all", "/orders?sort=total_amount"),
            ("counts", "/orders/counts"),
            ("detail", f"/orders/{args.orders // 2}"),
        ]
        # The other pages people keep open all day (not in the order list's max_ms).
        pages = [
            ("held_queue", "/held"),
            ("held_reason", "/held?reason=out_of_stock"),
            ("dashboard", "/dashboard?day=2026-10-01"),
            ("dashboard_figures", "/dashboard/figures?day=2026-10-01"),
            ("stock", "/stock"),
            ("stock_low", "/stock?low=1"),
        ]
        print(f"{'request':26} {'median ms':>10} {'max ms':>8}")
        for name, path in cases:
            median, worst, _ = _time(client, path, args.rounds)
            results[f"{name}_ms"] = round(median, 1)
            print(f"{name:26} {median:10.1f} {worst:8.1f}")
        other: dict[str, float] = {}
        for name, path in pages:
            median, worst, _ = _time(client, path, args.rounds)
            other[f"page_{name}_ms"] = round(median, 1)
            print(f"{'page ' + name:26} {median:10.1f} {worst:8.1f}")
        client.cookies.clear()
        _sign_in(client, "hz")
        median, worst, _ = _time(client, "/orders", args.rounds)
        results["scoped_all_ms"] = round(median, 1)
        print(f"{'scoped_all (warehouse HZ)':26} {median:10.1f} {worst:8.1f}")
    results["max_ms"] = max(v for k, v in results.items() if k.endswith("_ms"))
    results.update(other, pages_max_ms=max(other.values()))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
