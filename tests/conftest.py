"""Test database: SQLite by default, PostgreSQL when LVYUE_TEST_DATABASE_URL says so.

The schema is built once per session through the real migrations; every test starts from
empty tables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.engine import Engine

from lvyue import bootstrap
from lvyue.accounts import passwords
from lvyue.core.db import engine_for
from lvyue.core.uow import UnitOfWork


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("LVYUE_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    bootstrap.reset(url)
    return url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Engine:
    return engine_for(db_url)


# Tables whose triggers refuse DELETE (migration 0015): tests empty them another way.
APPEND_ONLY = frozenset({"accounts_audit"})


def _clear_append_only(conn: sa.Connection, table: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"TRUNCATE {table}")  # fires no row triggers
        return
    # SQLite has no TRUNCATE: set the triggers aside for the delete, in the same transaction.
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
    ).all()
    for name, _ in triggers:
        conn.exec_driver_sql(f"DROP TRIGGER {name}")
    conn.exec_driver_sql(f"DELETE FROM {table}")
    for _, sql in triggers:
        conn.exec_driver_sql(sql)


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(bootstrap.metadata.sorted_tables):
            if table.name in APPEND_ONLY:
                _clear_append_only(conn, table.name)
            else:
                conn.execute(table.delete())


@pytest.fixture
def db(engine: Engine, db_url: str) -> Iterator[str]:
    """An empty database; yields its URL."""
    _wipe(engine)
    yield db_url
    _wipe(engine)


UowFactory = Callable[..., UnitOfWork]


@pytest.fixture
def uow(db: str, engine: Engine) -> UowFactory:
    def make(actor: str = "tester", readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(engine, actor=actor, readonly=readonly)

    return make


@pytest.fixture
def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(autouse=True)
def fast_hasher(request: pytest.FixtureRequest) -> Iterator[None]:
    """Argon2id with small costs: the same code path, a fraction of the time. Tests that ask
    for the ``real_hasher`` fixture keep the production parameters."""
    if "real_hasher" in request.fixturenames:
        yield
        return
    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    original = passwords._hasher
    passwords._hasher = lambda: cheap  # type: ignore[assignment]
    passwords._dummy_hash.cache_clear()
    try:
        yield
    finally:
        passwords._hasher = original  # type: ignore[assignment]
        passwords._dummy_hash.cache_clear()
