"""One HTTP POST of a webhook and what its answer means. No database here.

2xx is delivered. 408, 429, 5xx, timeouts and connection errors are worth retrying (the outbox
backs off). Any other 4xx is permanent: the receiver says the request itself is wrong or
unwanted (a 410 Gone means "stop sending"). Redirects are not followed, and count as permanent:
register the final URL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from lvyue import __version__

RETRYABLE_4XX = frozenset({408, 429})
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = f"lvyue-webhooks/{__version__}"


@dataclass(frozen=True)
class Result:
    status_code: int | None
    duration_ms: int
    error: str = ""
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def judge(status: int) -> tuple[str, bool]:
    """(error text, permanent) for an HTTP status; no error for 2xx."""
    if 200 <= status < 300:
        return "", False
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed", True
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return f"HTTP {status}: refused by the receiver, not retried", True
    return f"HTTP {status}", False


def post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> Result:
    """POST ``body``; the answer's body is not read (nor logged)."""
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        with client.stream(
            "POST",
            url,
            content=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                **headers,
            },
        ) as response:
            status = response.status_code
    except httpx.TimeoutException as exc:
        return Result(None, elapsed(), f"timeout: {type(exc).__name__}")
    except httpx.HTTPError as exc:
        return Result(None, elapsed(), f"{type(exc).__name__}: {exc}"[:500])
    error, permanent = judge(status)
    return Result(status, elapsed(), error, permanent)


def client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False)
