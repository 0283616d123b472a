"""What every platform adapter offers, and the pieces they share.

An adapter is constructed from a :class:`ShopCredentials` and an ``httpx.Client`` (so tests and
the sync service choose transport, timeouts and base URL). It never touches the database:
the sync service stores what it returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from lvyue.orders.canonical import CanonicalOrder

T = TypeVar("T")


@dataclass(frozen=True)
class ShopCredentials:
    base_url: str
    app_key: str | None = None
    app_secret: str | None = None
    token: str | None = None  # access token / session key
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawOrder:
    """One order as the platform sent it, before any parsing.

    ``payload`` is the platform's own JSON object for the order (for list+detail platforms,
    the detail response's order object), kept verbatim for storage.
    """

    external_id: str
    updated_at: datetime | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class Shipment:
    external_id: str
    carrier_code: str  # our carrier code; adapters map it to the platform's company code
    tracking_no: str
    line_ids: tuple[str, ...] = ()  # channel line ids when only some lines ship


@dataclass(frozen=True)
class StockQuantity:
    channel_sku: str  # the platform's SKU id / outer code, as mapped for the shop
    quantity: int
    channel_item: str | None = None  # product / item id where the platform needs it


class ChannelError(Exception):
    """The platform answered with an error. ``code`` is the platform's own code."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class RateLimited(ChannelError):
    def __init__(self, message: str, *, code: str = "rate_limited", retry_after: float = 1.0):
        super().__init__(message, code=code, retryable=True)
        self.retry_after = retry_after


class AuthError(ChannelError):
    """Bad signature, token or key: retrying will not help."""


class PayloadError(ValueError):
    """A payload could not be mapped to a canonical order; the message names the field."""


class ChannelAdapter(Protocol):
    platform: ClassVar[str]

    def fetch_orders(self, since: datetime, until: datetime) -> Iterator[RawOrder]:
        """Every order created or changed in [since, until), following all pages and splitting
        the range into windows the platform accepts."""
        ...

    def fetch_order(self, external_id: str) -> RawOrder: ...

    def parse(self, raw: RawOrder) -> CanonicalOrder:
        """Map a raw order to the canonical shape; raise PayloadError naming the field."""
        ...

    def ship(self, shipment: Shipment) -> None: ...

    def push_stock(self, items: list[StockQuantity]) -> None: ...


class WebhookVerifier(Protocol):
    def verify_webhook(self, headers: dict[str, str], body: bytes) -> bool: ...


def with_retries(
    call: Callable[[], T],
    *,
    attempts: int = 5,
    base_delay: float = 0.2,
    max_delay: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call``; on a retryable ChannelError wait (honouring Retry-After) and try again,
    with exponential back-off, up to ``attempts`` times."""
    delay = base_delay
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ChannelError as exc:
            if not exc.retryable or attempt == attempts:
                raise
            wait = exc.retry_after if isinstance(exc, RateLimited) else delay
            sleep(min(max(wait, delay), max_delay))
            delay = min(delay * 2, max_delay)
    raise AssertionError("unreachable")
