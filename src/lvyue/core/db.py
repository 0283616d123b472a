"""Engine, declarative base and column types shared by every capability.

SQLite is tuned for concurrent use: WAL journal, a busy timeout, and ``BEGIN IMMEDIATE`` for
write transactions so that a writer takes the database lock up front instead of failing on
upgrade from a read lock (the classic SQLITE_BUSY deadlock). Read-only units of work use a
plain deferred ``BEGIN`` so that readers never queue behind writers.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase

from lvyue.core import pgcopy, waiting
from lvyue.core.money import from_fen, to_fen

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


def direct_bind(decorator: sa.types.TypeDecorator[Any], dialect: sa.Dialect, convert: Any) -> Any:
    """``convert`` as the bind processor when the underlying type has none of its own on this
    dialect: SQLAlchemy's generic one wraps it in two more calls per value, and the order
    pipeline binds some thirty processed values per order."""
    if decorator.impl_instance.dialect_impl(dialect).bind_processor(dialect) is None:
        return convert
    return sa.types.TypeDecorator.bind_processor(decorator, dialect)


# Bind conversions remember their last few thousand results: the same prices, fees and
# seconds come back row after row (at peak, many orders are placed in the same second), and a
# look-up costs a tenth of converting (a time's text: 12,000 instructions). Equal inputs give
# equal outputs: the result depends on the value (an amount, an instant) alone.
_BIND_MEMO = 4096


@lru_cache(maxsize=_BIND_MEMO)
def _fen(value: Decimal | None) -> int | None:
    return None if value is None else to_fen(Decimal(value))


class Money(sa.types.TypeDecorator[Decimal]):
    """Decimal yuan in Python, integer fen in the database: exact on every backend."""

    impl = sa.BigInteger
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        return direct_bind(self, dialect, _fen)

    def process_bind_param(self, value: Decimal | None, dialect: sa.Dialect) -> int | None:
        return _fen(value)

    def process_result_value(self, value: int | None, dialect: sa.Dialect) -> Decimal | None:
        return None if value is None else from_fen(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime stored: a time zone is required")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _sqlite_bind(value: datetime | None) -> str | None:
    # SQLAlchemy's own SQLite DATETIME text, written by C code (isoformat) instead of %-format.
    return None if value is None else _sqlite_text(value)


@lru_cache(maxsize=_BIND_MEMO)
def _sqlite_text(value: datetime) -> str:
    # The UTC wall time with the zone's suffix cut off, rather than a converted copy without
    # a zone: the platforms' times come in +08:00.
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime stored: a time zone is required")
    if offset:
        value = value - offset  # the same zone still attached, its wall time now UTC's
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_result(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both SQLite (which drops the zone) and PostgreSQL.

    On SQLite the value is the text SQLAlchemy's DATETIME writes ("YYYY-MM-DD HH:MM:SS.ffffff"),
    converted with ``isoformat`` / ``fromisoformat``: bulk paths convert millions of these."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        if dialect.name == "sqlite":
            return _sqlite_bind
        return super().bind_processor(dialect)

    def result_processor(self, dialect: sa.Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":
            return _sqlite_result
        return super().result_processor(dialect, coltype)

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else _utc(value)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_dumps(value: Any) -> str:
    # Non-string keys become strings, as json.dumps makes them.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


SQLITE_CACHE_KIB = 64 * 1024  # per connection
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
# A checkpoint copies the WAL's pages back into the database file and syncs it. On a
# multi-GB order database a batch dirties a different leaf of each random-key index per order;
# letting the WAL grow to 50,000 pages (200 MB) before copying writes each hot page back once
# for many batches: at 300,000 orders the commits cost 128 instead of 186 µs per order
# (10,000 pages), end to end 8% faster (docs/performance-history.md). The file is cut back after.
SQLITE_CHECKPOINT_PAGES = 50_000
SQLITE_WAL_LIMIT_BYTES = 256 * 1024 * 1024


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    # SQLite's default page cache is 2 MB: on a multi-GB order database every batch's index
    # updates would re-read their B-tree pages through the OS. A larger cache and a memory map
    # keep the hot interior pages at hand, and the WAL file is cut back after checkpoints.
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cur.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_LIMIT_BYTES}")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
    cur.close()


class _SQLiteCompiler(SQLiteCompiler):
    """Renders ``select.with_hint(table, "INDEXED BY ix", "sqlite")``: on a large table whose
    statistics favour a wide index, SQLite would otherwise read and sort a whole range where a
    partial index walks straight to the next rows (the review queue at a million orders)."""

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


def _sqlite_commit_while_working(conn: Connection) -> None:
    # The commit writes the batch's pages to the WAL with the GIL released: given tasks
    # (the next batch's parsing, core.waiting), this thread does them meanwhile. SQLAlchemy's
    # own commit then finds no transaction open, which pysqlite takes as nothing to do.
    if waiting.work() is None:
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is None or not dbapi.in_transaction:
        return
    try:
        waiting.in_thread_while_working(dbapi.commit)
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance("COMMIT", None, exc, sqlite3.Error) from exc


def _sqlite_on_begin(conn: Connection) -> None:
    mode = "DEFERRED" if conn.get_execution_options().get("lvyue_readonly") else "IMMEDIATE"
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    url_obj = sa.make_url(url)
    if url_obj.get_backend_name() == "postgresql" and url_obj.drivername == "postgresql":
        url_obj = url_obj.set(drivername="postgresql+psycopg")
    # JSON columns (review logs, tags, issues) are written on every order: orjson is C.
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url_obj.get_backend_name() == "sqlite":
        # Pooled connections: closing the last connection to a WAL database checkpoints it,
        # which cost ~30 ms per unit of work when every checkout opened a new connection.
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = sa.create_engine(url_obj, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        event.listen(engine, "commit", _sqlite_commit_while_working)
        engine.dialect.statement_compiler = _SQLiteCompiler
    else:
        kwargs.setdefault("pool_pre_ping", True)
        _register_array_dumpers()  # first: the dialect copies psycopg's adapters when made
        engine = sa.create_engine(url_obj, **kwargs)
        pgcopy.install(engine)
    _ENGINES.add(engine)
    return engine


@cache
def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process."""
    return make_engine(url)


_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_pools_after_fork() -> None:
    # A forked child must not use the parent's pooled connections (SQLAlchemy's advice:
    # dispose(close=False) in the child); it opens its own on first use.
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_pools_after_fork)


def is_postgres(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "postgresql"


IN_CHUNK = 900  # values per IN list: stays under SQLite's bound-parameter limit


def in_clauses(
    conn: Connection,
    column: sa.ColumnElement[Any],
    values: Iterable[Any],
) -> list[sa.ColumnElement[bool]]:
    """``column IN values`` as the conditions to run one statement each; none for no values.

    PostgreSQL gets one ``column = ANY(:array)``: a single parameter, so the statement is the
    same text in every batch, psycopg caches its conversion and the server prepares it once.
    An expanded IN of 500 values is a new 500-parameter statement each time (about 3 ms to
    build, convert and send: a tenth of a pipeline batch). Integers and strings go as a typed
    array literal (:func:`array_literal`), other values as a list.

    SQLite gets ``column IN (SELECT value FROM json_each(:json))`` for integer and text
    columns: one parameter written by orjson, where an IN list costs SQLAlchemy five Python
    calls per value to coerce, name and render (about 11 values per imported order). The
    plan is the same index search per value. Other columns get IN lists of at most IN_CHUNK
    values.
    """
    items = list(values)
    if not items:
        return []
    if is_postgres(conn):
        array = array_literal(items) if isinstance(column.type, _JSON_IN_TYPES) else None
        if array is None:
            return [column == sa.any_(sa.literal(items, postgresql.ARRAY(column.type)))]
        # Untyped for SQLAlchemy, which would process it as a list: psycopg types it.
        return [column == sa.any_(sa.literal(array, sa.types.NullType()))]
    if isinstance(column.type, _JSON_IN_TYPES):
        try:
            text = orjson.dumps(items, option=_JSON_IN_STRICT)
        except TypeError:  # e.g. a Decimal: not a plain integer or text
            return _in_lists(column, items)
        return [column.in_(sa.select(_json_values(text)))]
    return _in_lists(column, items)


_INT8 = 2**63


class PgArray(str):
    """A PostgreSQL array literal that psycopg sends as the array type itself (its dumper,
    :func:`_register_array_dumpers`), so the planner sees a constant array, as with a list:
    cast from text it would not, and chose scans by default estimates."""

    __slots__ = ()


class Int8Array(PgArray):
    __slots__ = ()


class TextArray(PgArray):
    __slots__ = ()


def array_literal(items: list[Any]) -> PgArray | None:
    """``items`` as a bigint[] or text[] literal when they are all plain integers (64-bit) or
    all strings; None for anything else. psycopg writes a list element by element in Python
    (1 µs a string): the look-ups of an imported order cost some 8 µs that way (session 14).
    A varchar column compares with text[] through its index, an int4 column with bigint[]."""
    if all(type(v) is int and -_INT8 <= v < _INT8 for v in items):
        return Int8Array("{" + ",".join(map(str, items)) + "}")
    if all(type(v) is str for v in items):
        # Quoted, so that commas, braces, spaces and the word NULL stay text.
        quoted = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in items]
        return TextArray("{" + ",".join(quoted) + "}")
    return None


@cache
def _register_array_dumpers() -> None:
    import psycopg
    from psycopg.adapt import Dumper

    for cls, element in ((Int8Array, "int8"), (TextArray, "text")):

        class ArrayDumper(Dumper):
            oid = psycopg.adapters.types[element].array_oid

            def dump(self, obj: Any) -> bytes:
                return str.encode(obj)

        psycopg.adapters.register_dumper(cls, ArrayDumper)


def _in_lists(column: sa.ColumnElement[Any], items: list[Any]) -> list[sa.ColumnElement[bool]]:
    return [column.in_(items[i : i + IN_CHUNK]) for i in range(0, len(items), IN_CHUNK)]


# Columns whose SQLite values are the Python values themselves (no bind processor), so the
# JSON array's numbers and strings compare as the IN list's would. Times, UUIDs and
# dataclasses are refused by orjson with these options rather than written as text.
_JSON_IN_TYPES = (sa.Integer, sa.String)
_JSON_IN_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _json_values(text: bytes) -> Any:
    values = sa.func.json_each(sa.literal(text.decode("utf-8"), sa.Text)).table_valued("value")
    return values.c.value


# 64-bit ids on PostgreSQL; SQLite's INTEGER PRIMARY KEY is already 64-bit and must stay
# "INTEGER" to be the rowid alias (autoincrement).
BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def table_of(model: type[Base]) -> sa.Table:
    """The Core table behind a mapped class, typed as a Table for Core statements."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


STATISTICS_CHECK_SECONDS = 5.0
# While a table's statistics still describe it empty, checks come this often: with no
# statistics the planner takes ``key = ANY(500 keys)`` to match most of the table and scans it
# all, so a fresh database's first import slowed with every batch until the first ANALYZE
# (PostgreSQL, 10k orders: the look-up of existing orders went from 1 to 40 ms a batch).
YOUNG_CHECK_SECONDS = 0.5
# (URL, tables) -> when the next whole check may run, and the next check of young tables only.
_CHECKED: dict[tuple[str, tuple[str, ...]], tuple[float, float]] = {}


# Stale: more rows inserted, updated or deleted than this since the statistics were taken
# (autovacuum's rule, with its 10%), counted from n_mod_since_analyze as this process last saw
# it after its own ANALYZE: an ANALYZE of some columns (below) does not reset the counter. On
# its first look a process judges by growth alone (live rows against pg_class.reltuples), so
# that a command started every minute does not analyse every table each time. Young: rows in
# the table, none in its statistics (never analysed, or analysed empty): stale however few.
STALE_BASE_ROWS = 1000
STALE_SCALE = 0.1
# (URL, table) -> n_mod_since_analyze when this process first saw or last analysed the table.
_ANALYSED_AT: dict[tuple[str, str], int] = {}


def _due(engine: Engine, tables: list[str]) -> bool:
    if engine.dialect.name != "postgresql" or not tables:
        return False
    next_full, next_young = _CHECKED.get((str(engine.url), tuple(tables)), (0.0, 0.0))
    t = time.monotonic()
    return t >= next_full or t >= next_young


# Engine URL -> its statistics refresh running in the background.
_REFRESHING: dict[str, threading.Thread] = {}


def refresh_statistics_in_background(engine: Engine, tables: list[str]) -> None:
    """:func:`refresh_statistics` in a thread of its own, on its own connection, when one is
    due and none is running for ``engine``; returns at once. On a bulk run the ANALYZEs took
    55 µs per order at 100,000 orders (10% of the run) with the client waiting: the server
    does them on its own, and the thread waits for it without the GIL. A batch that comes
    before they are done is planned from the statistics before, one batch late at worst.
    The thread is not a daemon: a process that ends waits for it."""
    key = str(engine.url)
    running = _REFRESHING.get(key)
    if (running is not None and running.is_alive()) or not _due(engine, tables):
        return

    def refresh() -> None:
        try:
            refresh_statistics(engine, tables)
        except Exception:  # the next call tries again; the batches do not depend on it
            log.warning("statistics refresh failed", exc_info=True)

    thread = threading.Thread(target=refresh, name="lvyue-statistics")
    _REFRESHING[key] = thread
    thread.start()


def wait_for_statistics(engine: Engine) -> None:
    """Wait for ``engine``'s statistics refresh running in the background, if any (before
    timing something else on the database, or dropping it)."""
    running = _REFRESHING.pop(str(engine.url), None)
    if running is not None:
        running.join()


def refresh_statistics(engine: Engine, tables: list[str]) -> list[str]:
    """ANALYZE the tables whose planner statistics are stale, as autovacuum would (PostgreSQL
    only; returns the tables analysed).

    The order pipeline's batch queries (``IN`` lists of a batch's keys) are planned from these
    statistics: after a bulk load into a young table they describe the empty table, and the
    planner scans the whole table for every batch, so the cost per order grows with the table.
    Autovacuum fixes that within a minute when it runs; the pipeline runner calls this between
    passes so a bulk load stays flat even where it is off or lagging. Never inside a
    transaction that does other work: ANALYZE holds its lock until commit."""
    if not _due(engine, tables):
        return []  # SQLite, or checked a moment ago: runners call this once per batch
    key = (str(engine.url), tuple(tables))
    t = time.monotonic()
    next_full = _CHECKED.get(key, (0.0, 0.0))[0]
    full = t >= next_full
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT s.relname, s.n_mod_since_analyze, s.n_live_tup, GREATEST(c.reltuples, 0) "
                "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                "WHERE s.relname = ANY(:t)"
            ),
            {"t": tables},
        ).all()
        changed: dict[str, int] = {}
        young = False
        for name, mods, live, tuples in rows:
            first = (key[0], name) not in _ANALYSED_AT
            seen = _ANALYSED_AT.setdefault((key[0], name), mods)
            if mods < seen:  # a whole-table ANALYZE (autovacuum, a person) reset the counter
                seen = _ANALYSED_AT[(key[0], name)] = 0
            grown = live - tuples if first else mods - seen
            if tuples <= 0 < live or (full and grown > STALE_BASE_ROWS + STALE_SCALE * tuples):
                changed[name] = mods
            elif tuples <= 0:
                young = True  # no rows yet, as far as the (up to 1 s late) counters show
        if full:
            next_full = t + STATISTICS_CHECK_SECONDS
        _CHECKED[key] = (next_full, t + YOUNG_CHECK_SECONDS if young else next_full)
        stale = sorted(changed)
        quote = conn.dialect.identifier_preparer.quote
        for name in stale:
            # Only the indexed columns, which the batch look-ups filter on: a whole-table ANALYZE
            # of orders_order (55 columns, ciphertext and JSON among them) took 4-5 times longer.
            columns = conn.execute(
                sa.text(
                    "SELECT DISTINCT a.attname FROM pg_index i JOIN pg_attribute a "
                    "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                    "WHERE i.indrelid = CAST(:t AS regclass) ORDER BY a.attname"
                ),
                {"t": name},
            ).scalars()
            listed = ", ".join(quote(c) for c in columns)
            conn.exec_driver_sql(f"ANALYZE {quote(name)}" + (f" ({listed})" if listed else ""))
            _ANALYSED_AT[(key[0], name)] = changed[name]
        conn.commit()
    return stale
