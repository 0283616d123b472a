"""Test controls the fake platforms share: a clock the test moves, and flow control that
refuses the next few requests."""

from __future__ import annotations

from datetime import datetime, timedelta


class MovableClock:
    """``now`` for a fake whose clock is a datetime: tests set or advance it."""

    now: datetime

    def set_clock(self, value: datetime) -> None:
        self.now = value

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Throttle:
    """The next requests a fake refuses, as the platform's flow control would: each with HTTP
    429 and a Retry-After, or with the platform's own error in an ordinary answer."""

    def __init__(self) -> None:
        self._refusals: list[tuple[float, bool]] = []

    def arm(self, n: int, wait: float, *, http: bool) -> None:
        self._refusals += [(wait, http)] * n

    def take(self) -> tuple[float, bool] | None:
        """``(wait, http)`` if this request is refused, else None."""
        return self._refusals.pop(0) if self._refusals else None


def retry_after_header(wait: float) -> dict[str, str]:
    return {"Retry-After": str(wait)}
