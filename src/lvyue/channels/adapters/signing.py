"""What the TOP-style gateways (Taobao/Tmall TOP, Pinduoduo, JD, Qimen) have in common.

Pinduoduo's and JD's open platforms copied Taobao's TOP router: one POST endpoint, the API name
as a parameter, an upper-case MD5 over ``secret + sorted(key + value) + secret``, Asia/Shanghai
``yyyy-MM-dd HH:mm:ss`` strings, incremental lists by "modified" time in short windows, read from
the last page back to the first. Each of those lives here once, so the adapters only say what
differs (parameter names, envelopes, field maps). Everything here is pure except
:func:`exchange`, which turns one HTTP exchange into JSON or a ChannelError.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from lvyue.channels.adapters.base import ChannelError, PayloadError, RateLimited
from lvyue.core.clock import SHANGHAI
from lvyue.core.money import ZERO, to_money

T = TypeVar("T")

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
LOCAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


# --- signing -------------------------------------------------------------------------------


def sign_value(value: object) -> str:
    """The text a parameter value is signed (and sent) as.

    The gateways sign what they receive as text: booleans as ``true``/``false`` (the Java and
    JSON spelling, not Python's ``True``), lists/objects as compact JSON, nothing as empty
    (and empty values are then left out of the signature).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def top_style_sign(
    params: Mapping[str, str], secret: str, method: str = "md5", body: str = ""
) -> str:
    """Upper-case hex signature of a TOP-style request.

    ``S`` is every parameter except ``sign`` and those with an empty key or value, sorted by key
    (byte order) and concatenated as ``key + value``; ``body`` (Qimen's raw XML) follows ``S``.
    ``md5`` hashes ``secret + S + body + secret``; ``hmac`` / ``hmac-sha256`` key HMAC-MD5 /
    HMAC-SHA256 with the secret over ``S + body``.
    """
    joined = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k and k != "sign" and v)
    payload = joined + body
    if method == "md5":
        return hashlib.md5((secret + payload + secret).encode("utf-8")).hexdigest().upper()
    if method == "hmac":
        digest = hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.md5)
    elif method == "hmac-sha256":
        digest = hmac.new(secret.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256)
    else:
        raise ValueError(f"unknown sign_method {method!r}; expected one of {SIGN_METHODS}")
    return digest.hexdigest().upper()


# --- transport ---------------------------------------------------------------------------------


def exchange(send: Callable[[], httpx.Response]) -> dict[str, Any]:
    """Run one HTTP exchange with a gateway and return its JSON object.

    The gateways answer business errors with HTTP 200 and an ``error_response`` body (the
    adapter reads that); this maps what happens below it: network failures and 5xx are worth
    retrying, 429 is a rate limit honouring Retry-After, and a body that is not a JSON object
    is an error.
    """
    try:
        response = send()
    except httpx.TransportError as exc:
        raise ChannelError(f"network error: {exc!r}", code="network", retryable=True) from exc
    if response.status_code == 429:
        raise RateLimited("HTTP 429", retry_after=_retry_after(response.headers.get("Retry-After")))
    if response.status_code >= 500:
        raise ChannelError(
            f"HTTP {response.status_code}", code=str(response.status_code), retryable=True
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ChannelError(
            f"HTTP {response.status_code}: not a JSON object: {response.text[:200]!r}",
            code=str(response.status_code),
        )
    return body


def _retry_after(header: str | None) -> float:
    try:
        return max(0.0, float(header)) if header else 1.0
    except ValueError:  # an HTTP date: rare from these gateways, a short wait is fine
        return 1.0


# --- Asia/Shanghai local time -----------------------------------------------------------------


def format_local_time(value: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Asia/Shanghai, the way these gateways read times."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: a time zone is required")
    return value.astimezone(SHANGHAI).strftime(LOCAL_TIME_FORMAT)


def parse_local_time(value: str) -> datetime:
    """Parse a ``yyyy-MM-dd HH:mm:ss`` Asia/Shanghai string to an aware datetime."""
    return datetime.strptime(value.strip(), LOCAL_TIME_FORMAT).replace(tzinfo=SHANGHAI)


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


# --- reading payload fields -------------------------------------------------------------------


class Fields:
    """Typed reads from one JSON object; every failure is a PayloadError naming the field path
    (``orders.order[1].num``) so a bad payload can be found and fixed."""

    def __init__(self, data: object, path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise PayloadError(f"{path or 'payload'}: expected an object, got {data!r:.80}")
        self.data: Mapping[str, Any] = data
        self.path = path

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return None
        if not isinstance(value, str | int):
            raise PayloadError(f"{self.name(key)}: expected text, got {value!r:.80}")
        text = str(value).strip()
        return text or None

    def text(self, key: str) -> str:
        value = self.opt_text(key)
        if value is None:
            raise PayloadError(f"{self.name(key)}: required field is missing or empty")
        return value

    def integer(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool):
            raise PayloadError(f"{self.name(key)}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if value is None:
            raise PayloadError(f"{self.name(key)}: required field is missing")
        raise PayloadError(f"{self.name(key)}: expected an integer, got {value!r:.80}")

    def opt_integer(self, key: str) -> int | None:
        return None if self.data.get(key) in (None, "") else self.integer(key)

    def count(self, key: str) -> int:
        """A line quantity: an integer above zero."""
        value = self.integer(key)
        if value <= 0:
            raise PayloadError(f"{self.name(key)}: quantity must be above zero, got {value}")
        return value

    def money(self, key: str, *, default: Decimal | None = None) -> Decimal:
        """A yuan amount: decimal string (TOP) or JSON number (Pinduoduo). Floats are read
        through their shortest repr, so ``64.1`` stays 64.10 and never becomes 64.0999…"""
        value = self.data.get(key)
        if value in (None, ""):
            if default is not None:
                return default
            raise PayloadError(f"{self.name(key)}: required amount is missing")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise PayloadError(f"{self.name(key)}: not a money amount: {value!r:.80}")
        try:
            amount = to_money(value)
        except ValueError:
            raise PayloadError(f"{self.name(key)}: not a money amount: {value!r:.80}") from None
        if not amount.is_finite() or amount < 0:
            raise PayloadError(f"{self.name(key)}: not a non-negative amount: {value!r:.80}")
        return amount

    def opt_local_time(self, key: str) -> datetime | None:
        value = self.opt_text(key)
        if value is None:
            return None
        try:
            return parse_local_time(value)
        except ValueError:
            raise PayloadError(
                f"{self.name(key)}: expected 'yyyy-MM-dd HH:mm:ss', got {value!r:.40}"
            ) from None

    def local_time(self, key: str) -> datetime:
        value = self.opt_local_time(key)
        if value is None:
            raise PayloadError(f"{self.name(key)}: required time is missing")
        return value

    def objects(self, key: str, *, required: bool = True) -> list[Fields]:
        value = self.data.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise PayloadError(f"{self.name(key)}: expected a list, got {value!r:.80}")
        return [Fields(item, f"{self.name(key)}[{i}]") for i, item in enumerate(value)]

    def obj(self, key: str) -> Fields:
        return Fields(self.data.get(key), self.name(key))


@contextmanager
def payload_errors() -> Iterator[None]:
    """Turn a validation failure while building the canonical order into a PayloadError, so
    the adapter's ``parse`` raises one kind of error whatever caught the problem."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "order"
        raise PayloadError(f"{where}: {first['msg']}") from exc
