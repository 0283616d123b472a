"""How the adapters talk HTTP: the client, sleep and clock every adapter is built with, and
one mapping from what goes wrong on the wire to our exceptions."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, TypedDict, TypeVar

import httpx

from lvyue.channels.adapters.base import (
    AuthError,
    ChannelError,
    RateLimited,
    ShopCredentials,
    with_retries,
)
from lvyue.core.clock import now as utc_now

T = TypeVar("T")


class Injected(TypedDict, total=False):
    """What tests and the sync service may swap in: the wait between retries and the clock
    that timestamps (and signs) requests."""

    sleep: Callable[[float], None]
    clock: Callable[[], datetime]


class HttpAdapter:
    """The part of every adapter that is not the platform: the shop's credentials, an
    ``httpx.Client`` (the caller's, so it chooses transport, timeouts and base URL; else one
    of our own that :meth:`close` releases), and the injectable sleep and clock."""

    timeout: ClassVar[float] = 30.0  # for a client of our own

    def __init__(
        self,
        credentials: ShopCredentials,
        client: httpx.Client | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._credentials = credentials
        self._owns_client = client is None
        self._http = client
        self._sleep = sleep
        self._clock = clock

    @property
    def _client(self) -> httpx.Client:
        # Made on the first request, not with the adapter: a client loads the CA bundle into a
        # new TLS context (20-40 ms), and most adapters only parse or verify a webhook.
        if self._http is None:
            self._http = httpx.Client(timeout=self.timeout)
        return self._http

    def close(self) -> None:
        """Close the client if the adapter made it; a client passed in stays the caller's."""
        if self._owns_client and self._http is not None:
            self._http.close()
            self._http = None

    def _retrying(self, call: Callable[[], T]) -> T:
        return with_retries(call, sleep=self._sleep)


def retry_after(header: str | None, default: float) -> float:
    """Seconds from a ``Retry-After`` header; ``default`` when it is missing or an HTTP date
    (rare from these platforms: a short wait is fine)."""
    try:
        return max(0.0, float(header)) if header else default
    except ValueError:
        return default


def http_error(response: httpx.Response, message: str, code: str) -> ChannelError:
    """The error for a REST platform's non-2xx answer: a bad key, token or scope is never
    retried, a rate limit waits as told, and a server error is worth another try."""
    status = response.status_code
    if status in (401, 403):
        return AuthError(message, code=code)
    if status == 429:
        wait = retry_after(response.headers.get("Retry-After"), default=2.0)
        return RateLimited(message, code=code, retry_after=wait)
    return ChannelError(message, code=code, retryable=status >= 500)


def response_json(response: httpx.Response, platform: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ChannelError(f"{platform}: response is not JSON ({response.status_code})") from exc


def exchange(send: Callable[[], httpx.Response]) -> dict[str, Any]:
    """Run one HTTP exchange with a gateway and return its JSON object.

    The gateways answer business errors with HTTP 200 and an error body (the adapter reads
    that); this maps what happens below it: network failures and 5xx are worth retrying, 429
    is a rate limit honouring Retry-After, and a body that is not a JSON object is an error.
    """
    try:
        response = send()
    except httpx.TransportError as exc:
        raise ChannelError(f"network error: {exc!r}", code="network", retryable=True) from exc
    if response.status_code == 429:
        wait = retry_after(response.headers.get("Retry-After"), default=1.0)
        raise RateLimited("HTTP 429", retry_after=wait)
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
