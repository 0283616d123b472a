"""Shared pieces of the order benchmarks: databases, reference data, channel payloads, checks.

Not a benchmark itself. ``bench/pipeline.py``, ``bench/contention.py`` and ``bench/crash.py``
import it (the scripts' directory is first on ``sys.path``).

Orders are generated as the platforms send them: Taobao/Tmall TOP trades
(``taobao.trade.fullinfo.get`` shape) and Pinduoduo orders (``pdd.order.information.get``
shape), then parsed by the real adapters' ``parse``. Receivers are plain text (as after the
platforms' decrypt call), so the address parser and phone check do their real work.
"""

from __future__ import annotations

import bisect
import gc
import json
import math
import platform
import random
import re
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lvyue import bootstrap, demo_data
from lvyue.catalog.service import import_catalog
from lvyue.channels import service as channels
from lvyue.channels.adapters.base import RawOrder, ShopCredentials
from lvyue.channels.adapters.pinduoduo import PinduoduoAdapter
from lvyue.channels.adapters.taobao import TaobaoAdapter
from lvyue.core import collector
from lvyue.core.clock import SHANGHAI
from lvyue.core.db import engine_for
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import queries as stock_queries
from lvyue.inventory import service as inventory
from lvyue.logistics.demo import seed_demo_logistics
from lvyue.orders.canonical import CanonicalOrder
from lvyue.orders.rules_service import load_rules
from lvyue.orders.service import ProcessReport

BATCH = 500  # orders per transaction, as LVYUE_BATCH_SIZE's default
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Shops the benchmarks sell through: two TOP shops (Taobao and Tmall speak the same API) and a
# Pinduoduo shop; the weights are their shares of the orders.
SHOPS: list[tuple[str, str, str, float]] = [
    ("TB01", "taobao", "履约服饰旗舰店", 0.45),
    ("TM01", "tmall", "履约天猫旗舰店", 0.25),
    ("PDD01", "pinduoduo", "履约拼多多店", 0.30),
]
SCARCE = ("DOWN-M", "CRAB-5L", "SOFA-L")  # as demo_data.stock_plan: these sell out
HOT = ("DOWN-", "CRAB-", "TEE-M", "HOOD-L")
PROBLEMS = {  # share of all orders; the rest are clean
    "unpaid": 0.03,
    "bad_address": 0.02,
    "invalid_phone": 0.015,
    "unknown_sku": 0.015,
    "oversold": 0.015,
    "large_amount": 0.01,
}
_DOOR = re.compile(r"\d+号")


# --------------------------------------------------------------------------- databases


@dataclass
class Database:
    url: str
    kind: str  # "sqlite" | "postgresql"
    created_pg: str | None = None  # a PostgreSQL database this run created (dropped after)
    tmpdir: tempfile.TemporaryDirectory[str] | None = None

    def dispose(self, *, keep: bool = False) -> None:
        engine_for(self.url).dispose()
        if self.created_pg and not keep:
            _admin(self.url, f'DROP DATABASE IF EXISTS "{self.created_pg}" WITH (FORCE)')
        if self.tmpdir is not None and not keep:
            self.tmpdir.cleanup()


def _admin(url: str, statement: str) -> None:
    import psycopg

    u = sa.make_url(url)
    conninfo = u.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement)


def open_database(url: str | None, *, name: str) -> Database:
    """A fresh, empty lvyue schema at ``url`` (default: SQLite in a temporary directory).

    A PostgreSQL database that does not exist is created (and dropped by ``dispose``)."""
    if not url:
        tmp = tempfile.TemporaryDirectory(prefix="lvyue_bench_")
        db = Database(f"sqlite:///{Path(tmp.name) / (name + '.db')}", "sqlite", tmpdir=tmp)
    else:
        u = sa.make_url(url)
        kind = u.get_backend_name()
        if kind not in ("sqlite", "postgresql"):
            raise SystemExit(f"--db: SQLite or PostgreSQL URL expected, got {kind}")
        db = Database(url, kind)
        if kind == "postgresql":
            dbname = u.database or ""
            if not dbname.startswith("lvyue_bench"):
                raise SystemExit("--db: the PostgreSQL database name must start with lvyue_bench")
            import psycopg

            try:
                _admin(url, f'CREATE DATABASE "{dbname}"')
                db.created_pg = dbname
            except psycopg.errors.DuplicateDatabase:
                pass
    bootstrap.reset(db.url)
    return db


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_now() -> str:
    """What else the machine is doing: load average and the busiest other processes."""
    with open("/proc/loadavg") as fh:
        return "load average " + " ".join(fh.read().split()[:3])


def interpreter() -> str:
    """Which Python runs the benchmark. The build matters: on the benchmark machine, pyenv's
    default build (libpython as a shared library, no PGO or LTO) ran the pipeline about 10%
    slower than Debian's python3.11 (docs/performance-history.md)."""
    with open("/proc/self/maps") as fh:  # linked against libpython, or the interpreter built in
        shared = "libpython" in fh.read()
    build = "shared libpython" if shared else "libpython built in"
    return f"Python {platform.python_version()} ({build}) at {sys.executable}"


# --------------------------------------------------------------------------- reference data


@dataclass(frozen=True)
class Catalogue:
    skus: list[demo_data.DemoSku]
    index: dict[str, int]  # sku code -> position (stable platform ids derive from it)
    bundles: dict[str, list[tuple[str, int]]]  # bundle code -> [(component code, qty)]


def catalogue() -> Catalogue:
    skus = demo_data.catalog()
    bundles = {
        s.sku: [(c.split("*")[0], int(c.split("*")[1])) for c in s.components.split(";")]
        for s in skus
        if s.components
    }
    return Catalogue(skus, {s.sku: i for i, s in enumerate(skus)}, bundles)


def seed(url: str, *, n_orders: int, seed: int = 11, headroom: float = 1.5) -> None:
    """Catalogue (demo_data), warehouses, shops, the demo merchant's rules, carriers and rates,
    and opening stock sized to ``n_orders``: ``headroom`` × the expected demand of each SKU in
    every warehouse that stocks it, except the scarce SKUs, which sell out."""
    cat = catalogue()
    demand = expected_demand(n_orders, cat, seed=seed)
    engine = engine_for(url)
    with UnitOfWork(engine, actor="bench") as uow:
        report = import_catalog(uow, [(i, s.csv_row()) for i, s in enumerate(cat.skus, start=2)])
        if report.rejected:
            raise RuntimeError(f"catalogue rejected: {report.rejected[:3]}")
        for code, name, prov, city, dist, prio in demo_data.WAREHOUSES:
            inventory.add_warehouse(
                uow, code=code, name=name, province=prov, city=city, district=dist, priority=prio
            )
        for code, platform, name, _ in SHOPS:
            channels.add_shop(uow, code=code, platform=platform, name=name)
        load_rules(uow, demo_data.RULES)
        seed_demo_logistics(uow)
        for s in cat.skus:
            if s.components:
                continue
            whs = ["HZ", "GZ"] if "fresh" in s.tags else ["HZ"] if "bulky" in s.tags else None
            whs = whs or ["HZ", "GZ", "BJ"]
            for wh in whs:
                if s.sku.startswith(SCARCE):
                    qty = n_orders // 6000
                    if not qty:
                        continue
                else:
                    qty = max(20, math.ceil(demand.get(s.sku, 0) * headroom))
                inventory.adjust_stock(
                    uow, sku_code=s.sku, warehouse_code=wh, quantity=qty, reason="期初库存 bench"
                )


def expected_demand(n_orders: int, cat: Catalogue, *, seed: int) -> dict[str, float]:
    """Units per (component) SKU that ``n_orders`` ask for, from a sample of the generator."""
    sample = min(n_orders, 5000)
    units: Counter[str] = Counter()
    for order in generate(sample, cat, seed=seed + 1):
        for code, qty in order.lines:
            for comp, per in cat.bundles.get(code, [(code, 1)]):
                units[comp] += qty * per
    return {code: u * n_orders / sample for code, u in units.items()}


def set_stock(url: str, levels: dict[tuple[str, str], int]) -> None:
    """Set on-hand of (sku, warehouse) to exact values through the ledger."""
    with UnitOfWork(engine_for(url), actor="bench") as uow:
        current = {
            (r["sku"], r["warehouse"]): int(r["on_hand"]) for r in stock_queries.stock_levels(uow)
        }
        for (sku, wh), qty in levels.items():
            delta = qty - current.get((sku, wh), 0)
            if delta:
                inventory.adjust_stock(
                    uow, sku_code=sku, warehouse_code=wh, quantity=delta, reason="bench stock"
                )


# --------------------------------------------------------------------------- channel payloads


@dataclass
class GenOrder:
    shop: str
    platform: str
    external_id: str
    raw: RawOrder
    problem: str  # "" or a key of PROBLEMS
    lines: list[tuple[str, int]] = field(default_factory=list)  # (sku code as sent, qty)


def _local(t: datetime) -> str:
    return t.astimezone(SHANGHAI).strftime(TIME_FORMAT)


def _pick_problem(rng: random.Random) -> str:
    roll = rng.random()
    for name, share in PROBLEMS.items():
        if roll < share:
            return name
        roll -= share
    return ""


Receiver = tuple[
    str, str, str, str | None, str, str | None
]  # name, phone, prov, city, detail, district


def _receiver(rng: random.Random, problem: str) -> Receiver:
    if problem == "bad_address":
        province, city, district, detail = rng.choice(demo_data.BAD_ADDRESSES)
    else:
        province, city, district, detail = rng.choice(demo_data.ADDRESSES)
    detail = _DOOR.sub(lambda _: f"{rng.randrange(1, 3000)}号", detail)
    if rng.random() < 0.5 and detail:
        detail += f"{rng.randrange(1, 30)}栋{rng.randrange(1, 30)}0{rng.randrange(1, 9)}室"
    name = rng.choice(demo_data.SURNAMES) + "".join(
        rng.choice(demo_data.GIVEN) for _ in range(rng.choice((1, 2)))
    )
    phone = rng.choice(demo_data.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    if problem == "invalid_phone":
        phone = phone[:-1]
    return name, phone, province or "", city, detail, district


def _lines(
    rng: random.Random,
    cat: Catalogue,
    problem: str,
    sellable: list[demo_data.DemoSku],
    hot: list[demo_data.DemoSku],
    scarce: list[demo_data.DemoSku],
    big: list[demo_data.DemoSku],
) -> list[tuple[demo_data.DemoSku | None, int]]:
    n = rng.choices((1, 2, 3, 4, 5), weights=(50, 25, 13, 7, 5))[0]
    out: list[tuple[demo_data.DemoSku | None, int]] = []
    for _ in range(n):
        sku = rng.choice(hot) if rng.random() < 0.3 else rng.choice(sellable)
        qty = 1 if "bulky" in sku.tags else rng.choice((1, 1, 1, 2, 3))
        out.append((sku, qty))
    if problem == "unknown_sku":
        out[0] = (None, 1)
    elif problem == "oversold":
        out[0] = (rng.choice(scarce), 1)
    elif problem == "large_amount":
        out.insert(0, (rng.choice(big), 1))
        out.insert(0, (rng.choice(big), 1))
    return out[:6]


# Orders arrive in time order: a pull pages through them by time, webhooks come as they are
# placed. Order i is placed at the moment the day's i-th of DAY_ORDERS orders would be, with
# the day's shape (a quarter in the first 90 minutes after midnight, the rest peaking at
# 21:00) and up to half a minute of jitter either way, as pulls overlap and payments lag. A
# function of i alone, so that a stream restarted at ``start`` sends the same orders.
DAY_ORDERS = 1_000_000
DAY_SECONDS = 86_400
RUSH_SECONDS, RUSH_SHARE, PEAK_SECOND = 90 * 60, 0.25, 21 * 3600


def _day_share(t: float) -> float:
    """Share of the day's orders placed by second ``t``."""
    rush = min(t / RUSH_SECONDS, 1.0)
    b, c = DAY_SECONDS, PEAK_SECOND  # triangular(0, b, mode c)
    tri = t * t / (b * c) if t <= c else 1 - (b - t) ** 2 / (b * (b - c))
    return RUSH_SHARE * rush + (1 - RUSH_SHARE) * tri


_SHARES = [_day_share(t) for t in range(DAY_SECONDS + 1)]


def _arrival_second(i: int, jitter: int) -> int:
    """Seconds after the first day's midnight at which order ``i`` is placed."""
    day, k = divmod(i, DAY_ORDERS)
    t = bisect.bisect_left(_SHARES, (k + 0.5) / DAY_ORDERS)
    t = min(max(t + jitter, 0), DAY_SECONDS - 1)
    return day * DAY_SECONDS + t


def generate(
    n: int, cat: Catalogue, *, seed: int = 11, start: int = 0, day: str = "2026-11-11"
) -> Iterator[GenOrder]:
    """``n`` orders, one at a time (nothing is kept): the same seed and start give the same
    orders. Order ``i`` of the stream is the same whatever ``start`` the stream began at."""
    base = datetime.fromisoformat(day).replace(tzinfo=SHANGHAI)
    sellable = [s for s in cat.skus if not s.sku.startswith(SCARCE)]
    hot = [s for s in sellable if s.sku.startswith(HOT)]
    scarce = [s for s in cat.skus if s.sku.startswith(SCARCE)]
    big = [s for s in cat.skus if s.price >= 2500 and not s.sku.startswith(SCARCE)]
    weights = [w for *_, w in SHOPS]
    for i in range(start, start + n):
        rng = random.Random(f"{seed}:{i}")
        shop, platform, _, _ = rng.choices(SHOPS, weights=weights)[0]
        problem = _pick_problem(rng)
        # The draws of the random time of day earlier sessions used, kept so that everything
        # else about order i (lines, receiver, problem) stays as it was.
        if rng.random() > 0.25:
            rng.triangular(0, 1440, 1260)
        else:
            rng.randrange(90)
        created = base + timedelta(seconds=_arrival_second(i, rng.randrange(60) - 30))
        paid = None if problem == "unpaid" else created + timedelta(seconds=rng.randrange(5, 120))
        lines = _lines(rng, cat, problem, sellable, hot, scarce, big)
        receiver = _receiver(rng, problem)
        message = rng.choice(demo_data.MESSAGES)
        if platform == "pinduoduo":
            yield _pdd(i, shop, created, paid, lines, receiver, message, cat, problem, rng)
        else:
            yield _top(
                i, shop, platform, created, paid, lines, receiver, message, cat, problem, rng
            )


def _sent_code(sku: demo_data.DemoSku | None, rng: random.Random) -> tuple[str, str, str, str]:
    """(merchant SKU code, product code, title, spec) as listed on the channel."""
    if sku is None:  # a delisted product still listed on the channel
        code = f"OLD-{rng.randrange(100, 999)}"
        return code, "OLD", "旧款(已下架)", "默认"
    return sku.sku, sku.sku.split("-")[0], sku.name, sku.spec


def _top(
    i: int,
    shop: str,
    platform: str,
    created: datetime,
    paid: datetime | None,
    lines: list[tuple[demo_data.DemoSku | None, int]],
    receiver: Receiver,
    message: str,
    cat: Catalogue,
    problem: str,
    rng: random.Random,
) -> GenOrder:
    tid = 3_812_000_000_000_000 + i
    name, phone, province, city, detail, district = receiver
    orders: list[dict[str, Any]] = []
    goods = Decimal("0.00")
    status = "WAIT_SELLER_SEND_GOODS" if paid else "WAIT_BUYER_PAY"
    sent: list[tuple[str, int]] = []
    for n, (sku, qty) in enumerate(lines, start=1):
        code, product, title, spec = _sent_code(sku, rng)
        price = sku.price if sku else Decimal("39.00")
        pos = cat.index.get(code, 900 + n)
        total = price * qty
        goods += total
        sent.append((code, qty))
        orders.append(
            {
                "oid": tid * 10 + n,
                "oid_str": str(tid * 10 + n),
                "num_iid": 680_000_000_000 + pos // 5,
                "sku_id": str(5_000_000_000 + pos),
                "outer_iid": product,
                "outer_sku_id": code,
                "title": title,
                "sku_properties_name": spec,
                "num": qty,
                "price": f"{price:.2f}",
                "total_fee": f"{total:.2f}",
                "payment": f"{total:.2f}",
                "status": status,
                "refund_status": "NO_REFUND",
            }
        )
    post_fee = Decimal("0.00") if goods >= 99 else Decimal("8.00")
    discount = (goods * Decimal("0.05")).quantize(Decimal("0.01")) if goods > 300 else Decimal(0)
    modified = paid or created
    trade: dict[str, Any] = {
        "tid": tid,
        "tid_str": str(tid),
        "status": status,
        "type": "fixed",
        "created": _local(created),
        "modified": _local(modified),
        "payment": f"{goods + post_fee - discount:.2f}",
        "total_fee": f"{goods:.2f}",
        "post_fee": f"{post_fee:.2f}",
        "discount_fee": f"{discount:.2f}",
        "buyer_nick": f"tb{rng.randrange(10**6)}",
        "buyer_open_uid": f"AAH{rng.randrange(10**9):09d}",
        "buyer_message": message,
        "seller_memo": "",
        "seller_flag": 0,
        "receiver_name": name,
        "receiver_mobile": phone,
        "receiver_phone": "",
        "receiver_state": province,
        "receiver_city": city or "",
        "receiver_district": district or "",
        "receiver_address": detail,
        "receiver_zip": "",
        "orders": {"order": orders},
    }
    if paid:
        trade["pay_time"] = _local(paid)
    raw = RawOrder(str(tid), modified, trade)
    return GenOrder(shop, platform, str(tid), raw, problem, sent)


def _pdd(
    i: int,
    shop: str,
    created: datetime,
    paid: datetime | None,
    lines: list[tuple[demo_data.DemoSku | None, int]],
    receiver: Receiver,
    message: str,
    cat: Catalogue,
    problem: str,
    rng: random.Random,
) -> GenOrder:
    order_sn = f"{created:%y%m%d}-{i:015d}"
    name, phone, province, city, detail, district = receiver
    items: list[dict[str, Any]] = []
    goods = Decimal("0.00")
    sent: list[tuple[str, int]] = []
    for n, (sku, qty) in enumerate(lines, start=1):
        code, product, title, spec = _sent_code(sku, rng)
        price = sku.price if sku else Decimal("39.00")
        pos = cat.index.get(code, 900 + n)
        goods += price * qty
        sent.append((code, qty))
        items.append(
            {
                "goods_id": 470_000_000_000 + pos // 5,
                "goods_name": title,
                "goods_spec": spec,
                "sku_id": 1_190_000_000_000 + pos,
                "outer_id": code,
                "outer_goods_id": product,
                "goods_count": qty,
                "goods_price": float(price),
            }
        )
    postage = Decimal("0.00") if goods >= 99 else Decimal("8.00")
    discount = (goods * Decimal("0.05")).quantize(Decimal("0.01")) if goods > 300 else Decimal(0)
    modified = paid or created
    order: dict[str, Any] = {
        "order_sn": order_sn,
        "order_status": 1,
        "refund_status": 1,
        "after_sales_status": 0,
        "confirm_status": 1 if paid else 0,
        "group_status": 1,
        "trade_type": 0,
        "risk_control_status": 0,
        "created_time": _local(created),
        "pay_time": _local(paid) if paid else None,
        "confirm_time": _local(paid) if paid else None,
        "updated_at": _local(modified),
        "goods_amount": float(goods),
        "discount_amount": float(discount),
        "seller_discount": float(discount),
        "platform_discount": 0.0,
        "postage": float(postage),
        "pay_amount": float(goods + postage - discount),
        "country": "中国",
        "province": province,
        "city": city or "",
        "town": district or "",
        "receiver_name": name,
        "receiver_phone": phone,
        "receiver_address": detail,
        "buyer_memo": message,
        "remark": "",
        "pay_type": "WEIXIN",
        "item_list": items,
    }
    raw = RawOrder(order_sn, modified, order)
    return GenOrder(shop, "pinduoduo", order_sn, raw, problem, sent)


def parsers() -> dict[str, Callable[[RawOrder], CanonicalOrder]]:
    """The real adapters' ``parse`` per platform (no network: parse is pure)."""
    creds = ShopCredentials(base_url="https://gw.invalid", app_key="bench", app_secret="bench")
    top = TaobaoAdapter(creds).parse
    return {"taobao": top, "tmall": top, "pinduoduo": PinduoduoAdapter(creds).parse}


def batches(items: Iterator[GenOrder], size: int) -> Iterator[list[GenOrder]]:
    batch: list[GenOrder] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def shop_batches(items: Iterator[GenOrder], size: int) -> Iterator[list[GenOrder]]:
    """Batches of one shop's orders, each shop's sent when it has ``size`` of them (the rest
    at the end), as a shop's pull or order file is imported: ``size`` orders per transaction.
    Holds at most one partial batch per shop."""
    pending: dict[str, list[GenOrder]] = defaultdict(list)
    for item in items:
        batch = pending[item.shop]
        batch.append(item)
        if len(batch) == size:
            yield batch
            pending[item.shop] = []
    for batch in pending.values():
        if batch:
            yield batch


def import_batch(
    uow: UnitOfWork,
    batch: list[GenOrder],
    shop_ids: dict[str, int],
    parse: dict[str, Callable[[RawOrder], CanonicalOrder]],
    *,
    review: bool = False,
    reviewed: ProcessReport | None = None,
) -> int:
    """Store the raw payloads and import them (``channels.service.ingest``, as a pull or a
    webhook does), shop by shop, in the caller's transaction, with review on import if
    ``review`` (its counts added to ``reviewed``). Returns how many payloads were new."""
    by_shop: dict[str, list[GenOrder]] = defaultdict(list)
    for g in batch:
        by_shop[g.shop].append(g)
    new = 0
    for shop, group in by_shop.items():
        got = channels.ingest(
            uow,
            shop_ids[shop],
            shop,
            [g.raw for g in group],
            "bench",
            parse[group[0].platform],
            review=review,
        )
        if reviewed is not None:
            reviewed.add(got.report.review)
        if got.report.rejected:
            raise RuntimeError(f"{shop}: payloads rejected: {got.report.rejected[:3]}")
        new += len(got.stored)
    return new


def shop_ids(url: str) -> dict[str, int]:
    from lvyue.orders.service import shop_id

    with UnitOfWork(engine_for(url), readonly=True) as uow:
        return {code: shop_id(uow, code) for code, *_ in SHOPS}


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- invariants


def check_stock(url: str) -> dict[str, Any]:
    """Everything that must hold about stock and reservations, whatever ran before:

    - ``verify``: every level equals its ledger sums (``inventory.queries.verify_levels``);
    - ``oversold_units``: units reserved beyond on-hand, per level, from the levels and from
      the ledger;
    - ``double_reserved``: (order, SKU, warehouse) with more than one reservation move, and
      order lines reserved beyond their quantity;
    - ``order_mismatch``: orders whose reserved line quantities (bundles expanded) differ from
      what the ledger says the order holds;
    - ``reserved_not_allocated``: orders holding stock that are not allocated.
    """
    engine = engine_for(url)
    with UnitOfWork(engine, readonly=True) as uow:
        c = uow.conn
        diffs = stock_queries.verify_levels(uow)
        oversold = c.execute(
            sa.text(
                "SELECT coalesce(sum(reserved - on_hand), 0) FROM inventory_stock_level "
                "WHERE reserved > on_hand"
            )
        ).scalar_one()
        ledger_over = c.execute(
            sa.text(
                "SELECT coalesce(sum(r - h), 0) FROM (SELECT sum(reserved_delta) AS r, "
                "sum(on_hand_delta) AS h FROM inventory_stock_move "
                "GROUP BY sku_id, warehouse_id) AS t WHERE r > h"
            )
        ).scalar_one()
        twice = c.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT doc_id FROM inventory_stock_move "
                "WHERE doc_type = 'order' AND kind = 'reserve' "
                "GROUP BY doc_id, sku_id, warehouse_id HAVING count(*) > 1) AS t"
            )
        ).scalar_one()
        line_over = c.execute(
            sa.text("SELECT count(*) FROM orders_order_line WHERE reserved > quantity")
        ).scalar_one()
        bundles: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for b, comp, q in c.execute(
            sa.text(
                "SELECT bundle_sku_id, component_sku_id, quantity FROM catalog_bundle_component"
            )
        ):
            bundles[b].append((comp, q))
        expected: dict[int, Counter[int]] = defaultdict(Counter)
        for oid, sku, qty in c.execute(
            sa.text(
                "SELECT order_id, sku_id, reserved FROM orders_order_line "
                "WHERE reserved > 0 AND sku_id IS NOT NULL"
            )
        ):
            for comp, per in bundles.get(sku, [(sku, 1)]):
                expected[oid][comp] += qty * per
        held: dict[int, Counter[int]] = defaultdict(Counter)
        for oid, sku, qty in c.execute(
            sa.text(
                "SELECT doc_id, sku_id, sum(reserved_delta) FROM inventory_stock_move "
                "WHERE doc_type = 'order' GROUP BY doc_id, sku_id HAVING sum(reserved_delta) <> 0"
            )
        ):
            held[int(oid)][int(sku)] += int(qty)
        mismatch = [
            oid
            for oid in set(expected) | set(held)
            if +expected.get(oid, Counter()) != +held.get(oid, Counter())
        ]
        status: dict[int, str] = {
            int(i): str(st) for i, st in c.execute(sa.text("SELECT id, status FROM orders_order"))
        }
        not_allocated = [
            oid for oid in held if status.get(oid) not in ("allocated", "in_fulfillment")
        ]
    return {
        "verify_differences": len(diffs),
        "oversold_units": int(oversold) + int(ledger_over),
        "double_reserved": int(twice) + int(line_over),
        "order_mismatch": len(mismatch),
        "reserved_not_allocated": len(not_allocated),
        "orders_holding_stock": len(held),
    }


def stock_ok(result: dict[str, Any]) -> bool:
    keys = (
        "verify_differences",
        "oversold_units",
        "double_reserved",
        "order_mismatch",
        "reserved_not_allocated",
    )
    return all(result[k] == 0 for k in keys)


def status_counts(url: str) -> dict[str, int]:
    with UnitOfWork(engine_for(url), readonly=True) as uow:
        rows = uow.conn.execute(
            sa.text("SELECT status, count(*) FROM orders_order GROUP BY status ORDER BY status")
        ).all()
    return {str(s): int(n) for s, n in rows}


def hold_counts(url: str) -> dict[str, int]:
    with UnitOfWork(engine_for(url), readonly=True) as uow:
        rows = uow.conn.execute(
            sa.text("SELECT code, count(*) FROM orders_order_hold GROUP BY code ORDER BY 2 DESC")
        ).all()
    return {str(s): int(n) for s, n in rows}


class CollectorWatch:
    """The cyclic garbage collector's runs while the pipeline is timed, by generation, and
    their time, apart before and after the collector settled (``lvyue.core.collector``: after
    the first batch, one full collection, then only the young collections it makes at batch
    boundaries, since the bulk path leaves no cycles of its own)."""

    def __init__(self) -> None:
        self.runs = {False: [0, 0, 0], True: [0, 0, 0]}
        self.seconds = {False: 0.0, True: 0.0}
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        after = collector.settled()
        self.runs[after][info["generation"]] += 1
        self.seconds[after] += time.perf_counter() - self._started

    def __enter__(self) -> CollectorWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> str:
        def part(after: bool) -> str:
            young, middle, full = self.runs[after]
            ms = self.seconds[after] * 1000
            return f"{young} young, {middle} middle, {full} full ({ms:.0f} ms)"

        return f"cyclic GC: first batch {part(False)}; after it {part(True)}"
