"""Incremental pull of one shop: windows, overlap, chunks, cursor.

Network calls happen outside transactions. Each chunk of payloads is first stored verbatim
(one transaction), then parsed and imported (another). The cursor moves only when the whole
range has been imported, and the next pull starts ``OVERLAP`` before it, so an order changed
at a window edge or reported late by the platform is never missed; dedup by payload hash and
content hash means nothing is doubled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

import httpx
from sqlalchemy.engine import Engine

from lvyue.channels import service
from lvyue.channels.adapters.base import ChannelAdapter, ChannelError, RawOrder
from lvyue.channels.adapters.registry import make_adapter as platform_adapter
from lvyue.channels.lookahead import ParseAhead
from lvyue.core.clock import now
from lvyue.core.errors import LvyueError, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.orders import service as orders

OVERLAP = timedelta(minutes=10)
FIRST_PULL = timedelta(days=1)
CHUNK = 200

AdapterFactory = Callable[[service.ShopAccess], ChannelAdapter]


class SyncFailed(LvyueError):
    """A pull stopped part-way; what was imported stays, the cursor does not move."""

    code = "sync_failed"


@dataclass
class SyncReport:
    shop: str
    fetched: int = 0
    new: int = 0
    updated: int = 0
    errors: int = 0
    error_messages: tuple[str, ...] = ()

    def summary(self) -> str:
        return (
            f"{self.shop}: fetched {self.fetched}, new {self.new}, updated {self.updated}, "
            f"errors {self.errors}"
        )


def _chunks(items: Iterator[RawOrder], size: int) -> Iterator[list[RawOrder]]:
    while chunk := list(islice(items, size)):
        yield chunk


def sync_shop(
    engine: Engine,
    shop_code: str,
    make_adapter: AdapterFactory,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    clock: Callable[[], datetime] = now,
) -> SyncReport:
    with UnitOfWork(engine, readonly=True) as uow:
        access = service.shop_access(uow, shop_code)
    end = until or clock()
    start = since or ((access.cursor_at - OVERLAP) if access.cursor_at else end - FIRST_PULL)
    adapter = make_adapter(access)
    report = SyncReport(shop_code)
    messages: list[str] = []
    try:
        # The next chunk is fetched first and parsed while the database writes this one.
        chunks = _chunks(iter(adapter.fetch_orders(start, end)), CHUNK)
        orders.before_batches()
        with ParseAhead() as ahead:
            parse = ahead.parser(adapter.parse)
            for chunk in ahead.over(chunks, lambda c: ((raw, adapter.parse) for raw in c)):
                report.fetched += len(chunk)
                with UnitOfWork(engine, actor=f"sync:{shop_code}") as uow:
                    got = service.ingest(uow, access.shop_id, shop_code, chunk, "pull", parse)
                if not got.stored:
                    continue
                result = got.report
                orders.between_batches(engine)
                report.new += result.imported
                report.updated += result.updated
                report.errors += len(result.rejected)
                messages.extend(f"raw #{rid}: {reason}" for rid, reason in result.rejected)
    except Exception as exc:
        message = service.redact(f"{type(exc).__name__}: {exc}", access.credentials)
        with UnitOfWork(engine) as uow:
            service.record_sync(uow, access.shop_id, status="error", cursor_at=None, error=message)
        raise SyncFailed(message) from exc
    contiguous = access.cursor_at is None or start <= access.cursor_at
    with UnitOfWork(engine) as uow:
        # Only a pull that reached "now" moves the cursor; a pull of a chosen past range
        # (--since/--until) must not skip what lies between.
        service.record_sync(
            uow,
            access.shop_id,
            status="ok" if not report.errors else "partial",
            cursor_at=end if until is None and contiguous else None,
            error="\n".join(messages[:20]),
        )
    report.error_messages = tuple(messages)
    return report


# --------------------------------------------------------------------------- test connection

TEST_WINDOW = timedelta(minutes=5)
TEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class ConnectionCheck:
    """The answer of :func:`test_connection`: ``ok``, or ``error`` (secrets blanked) with the
    platform's error ``code`` when it gave one."""

    shop: str
    platform: str
    ok: bool
    error: str = ""
    code: str = ""
    elapsed_ms: int = 0


class _NoRetry(Exception):
    """Raised instead of waiting between tries: a test answers with the first failure."""


def _no_retry(_: float) -> None:
    raise _NoRetry


def _failure(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, _NoRetry) and exc.__context__ is not None:
        exc = exc.__context__
    if isinstance(exc, ChannelError):
        return str(exc), exc.code
    if isinstance(exc, LvyueError):
        return exc.message, exc.code
    return f"{type(exc).__name__}: {exc}", ""


def test_connection(
    engine: Engine,
    shop_code: str,
    *,
    client: httpx.Client | None = None,
    clock: Callable[[], datetime] = now,
    timeout: float = TEST_TIMEOUT,
) -> ConnectionCheck:
    """One real, signed and cheap call to the shop's platform with its stored credentials:
    the first page of orders changed in the last few minutes, through the shop's adapter.

    Nothing is stored and the sync cursor does not move. A failure is returned, not raised,
    with the shop's secrets blanked from the message; it is not retried (a person is
    waiting). An unknown shop raises ``NotFound``.
    """
    with UnitOfWork(engine, readonly=True) as uow:
        try:
            access = service.shop_access(uow, shop_code)
        except ValidationError as exc:  # no base URL yet
            platform = service.shop_platform(uow, shop_code)
            return ConnectionCheck(shop_code, platform, False, exc.message, exc.code)
    own = client is None
    http = client or httpx.Client(timeout=timeout)
    started = time.monotonic()
    try:
        adapter = platform_adapter(
            access.platform, access.credentials, http, sleep=_no_retry, clock=clock
        )
        end = clock()
        next(iter(adapter.fetch_orders(end - TEST_WINDOW, end)), None)
    except Exception as exc:  # every failure is the answer, shown to the person testing
        message, code = _failure(exc)
        return ConnectionCheck(
            shop_code,
            access.platform,
            False,
            service.redact(message, access.credentials)[:500],
            code,
            int((time.monotonic() - started) * 1000),
        )
    finally:
        if own:
            http.close()
    return ConnectionCheck(
        shop_code, access.platform, True, elapsed_ms=int((time.monotonic() - started) * 1000)
    )
