"""Pure helpers more than one adapter needs: Asia/Shanghai gateway times, cutting a pull into
windows, paging backwards, keeping each order version once, and small amounts of arithmetic
and configuration the platforms share. Nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from lvyue.channels.adapters.base import RawOrder, ShopCredentials
from lvyue.core.clock import SHANGHAI
from lvyue.core.money import ZERO

T = TypeVar("T")

LOCAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# --- Asia/Shanghai local time -----------------------------------------------------------------


def format_local_time(value: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Asia/Shanghai, the way the Chinese gateways read times."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: a time zone is required")
    return value.astimezone(SHANGHAI).strftime(LOCAL_TIME_FORMAT)


def parse_local_time(value: str) -> datetime:
    """Parse a ``yyyy-MM-dd HH:mm:ss`` Asia/Shanghai string to an aware datetime."""
    value = value.strip()
    # Three times per order on the import path: the exact shape goes through the C parser,
    # anything else through strptime, which enforces the format (and names it on failure).
    if len(value) == 19 and value[10] == " " and value[4] == value[7] == "-" and value.isascii():
        try:
            return datetime.fromisoformat(value).replace(tzinfo=SHANGHAI)
        except ValueError:
            pass
    return datetime.strptime(value, LOCAL_TIME_FORMAT).replace(tzinfo=SHANGHAI)


def floor_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def ceil_second(value: datetime) -> datetime:
    return value if value.microsecond == 0 else floor_second(value) + timedelta(seconds=1)


# --- incremental pulls ------------------------------------------------------------------------


def split_windows(
    since: datetime, until: datetime, span: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Cut [since, until) into consecutive half-open windows no longer than ``span``."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("naive datetime: a time zone is required")
    start = since
    while start < until:
        end = min(start + span, until)
        yield start, end
        start = end


def read_pages_backwards(
    fetch_page: Callable[[int], tuple[Sequence[T], int]], page_size: int, *, max_passes: int = 3
) -> list[T]:
    """Every row of a list sorted newest-first, read from the last page back to the first.

    ``fetch_page(page_no)`` returns that page's rows and the total count. An order changed
    while we page leaves the window (its new modified time is later), so every row behind it
    moves one place forward: read front-to-back, the row crossing a page boundary would be
    skipped; read back-to-front it is only seen twice. Callers dedupe. If the total grew
    during the pass (new orders inside a window that reaches "now"), rows moved backwards
    instead, so the pass is repeated.
    """
    rows, total = fetch_page(1)
    out = list(rows)
    for _ in range(max_passes):
        pages = math.ceil(total / page_size)
        if pages <= 1:
            break
        latest_total = total
        for page_no in range(pages, 0, -1):
            rows, latest_total = fetch_page(page_no)
            out.extend(rows)
        if latest_total <= total:
            break
        total = latest_total
    return out


def within(raw: RawOrder, start: datetime, end: datetime) -> bool:
    """Whether ``raw`` belongs to [start, end). The platforms' bounds are whole seconds and
    often inclusive, so the adapters ask wider and cut here: an order on an edge then lands in
    exactly one of two adjacent windows. A row without a time cannot be placed; it is kept,
    not lost."""
    return raw.updated_at is None or start <= raw.updated_at < end


def each_version_once(raws: Iterable[RawOrder]) -> Iterator[RawOrder]:
    """``raws`` without repeats of the same order version (id and modified time): paging and
    overlapping windows may show a row twice, while a newer version is news."""
    seen: set[tuple[str, datetime | None]] = set()
    for raw in raws:
        key = (raw.external_id, raw.updated_at)
        if key not in seen:
            seen.add(key)
            yield raw


def pull_windows(
    since: datetime,
    until: datetime,
    span: timedelta,
    read_window: Callable[[datetime, datetime], Iterable[RawOrder]],
) -> Iterator[RawOrder]:
    """Every order version changed in [since, until): ``read_window`` lists one window of at
    most ``span``; each row is kept in the window its time falls in, and only once."""
    yield from each_version_once(
        raw
        for start, end in split_windows(since, until, span)
        for raw in read_window(start, end)
        if within(raw, start, end)
    )


# --- amounts, addresses, settings -------------------------------------------------------------


def discount_to_match(goods: Decimal, shipping: Decimal, paid: Decimal) -> Decimal:
    """The order-level discount that makes goods + shipping - discount equal what the buyer
    paid, so the canonical total is the platform's paid amount whatever mix of coupons, platform
    subsidies and manual price changes produced it (the raw payload keeps the breakdown).
    A price raised by hand would make it negative; the canonical order cannot carry that."""
    return max(ZERO, goods + shipping - paid)


def country_code(text: str | None) -> str:
    """ISO code for the receiver's country: these platforms sell inside mainland China and
    leave the field empty or write it out (中国); pass a two-letter code through."""
    text = (text or "").strip()
    return text.upper() if len(text) == 2 and text.isascii() else "CN"


def check_page_size(page_size: int, maximum: int) -> None:
    if not 1 <= page_size <= maximum:
        raise ValueError(f"page_size must be 1..{maximum}")


def gateway_url(base_url: str, path: str) -> str:
    """The router endpoint: ``path`` appended to the shop's base URL unless already there."""
    base = base_url.rstrip("/")
    return base if base.endswith(path) else base + path


def stock_sku_key(credentials: ShopCredentials) -> str:
    """Which SKU key stock is pushed under: the platform's ``sku_id`` (default), or
    ``outer_id`` when the shop's stock mapping holds merchant SKU codes."""
    key = credentials.extra.get("stock_sku_key", "sku_id")
    if key not in ("sku_id", "outer_id"):
        raise ValueError("stock_sku_key must be sku_id or outer_id")
    return key
