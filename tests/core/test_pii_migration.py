"""Migration 0013 on a database that already holds personal data in plain text: down to the
plain schema and up again, on SQLite and PostgreSQL, without losing a row."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from lvyue import bootstrap
from lvyue.core.crypto import phone_index
from lvyue.core.db import make_engine
from lvyue.core.uow import UnitOfWork
from lvyue.orders import queries
from tests.factories import canonical, import_dicts, process_all, setup_world

PII_COLUMNS = "receiver_name, receiver_phone, receiver_address, addr_detail, phone_number"


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own (the session's one stays at head for the other tests)."""
    base = os.environ.get("LVYUE_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    url = sa.make_url(base)
    name = f"{url.database}_mig"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(engine: sa.Engine, url: str, revision: str, *, down: bool) -> None:
    cfg = bootstrap.alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_0013_encrypts_rows_already_there_and_downgrades_back(scratch_url):
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            cfg = bootstrap.alembic_config(scratch_url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

        def uow(actor: str = "tester", readonly: bool = False) -> UnitOfWork:
            return UnitOfWork(engine, actor=actor, readonly=readonly)

        setup_world(uow, skus={"A": {"HZ": 5}})
        import_dicts(uow, [canonical(f"G{i}", [("A", 1)]) for i in range(3)])
        process_all(uow)
        lines, history = _count(engine, "orders_order_line"), _count(engine, "orders_order_history")

        before = ScriptDirectory.from_config(cfg).get_revision("0013").down_revision
        assert isinstance(before, str)
        _migrate(engine, scratch_url, before, down=True)
        with engine.connect() as conn:
            plain = conn.execute(sa.text(f"SELECT {PII_COLUMNS} FROM orders_order")).all()
            identity = conn.execute(sa.text("SELECT value FROM customers_identity")).scalars()
            assert "13812345678" in set(identity)
        assert set(plain) == {
            ("张三", "13812345678", "余杭塘路866号", "余杭塘路866号", "13812345678")
        }

        _migrate(engine, scratch_url, "head", down=False)
        # No row lost on the way (SQLite: no table rebuild, so no cascade on the order lines).
        assert (_count(engine, "orders_order_line"), _count(engine, "orders_order_history")) == (
            lines,
            history,
        )
        with engine.connect() as conn:
            sealed = conn.execute(sa.text(f"SELECT {PII_COLUMNS} FROM orders_order")).all()
            hashes = conn.execute(sa.text("SELECT receiver_phone_hash FROM orders_order")).all()
            ident = conn.execute(
                sa.text("SELECT value, phone FROM customers_identity WHERE kind = 'phone'")
            ).one()
            diff = compare_metadata(MigrationContext.configure(conn), bootstrap.metadata)
        assert all(v.startswith("e1") for row in sealed for v in row)
        assert {h for (h,) in hashes} == {phone_index("13812345678")}
        assert ident.value == phone_index("13812345678") and ident.phone.startswith("e1")
        assert diff == []
        with uow(readonly=True) as u:
            found = queries.list_orders(u, phone="13812345678")
            order = queries.get_order(u, found[0]["id"])
        assert len(found) == 3 and order["receiver_name"] == "张三"
        # The customer link still works on the converted identity: one profile for all three.
        import_dicts(uow, [canonical("G9", [("A", 1)])])
        with uow(readonly=True) as u:
            customers = {
                queries.get_order(u, o["id"])["customer_id"] for o in queries.list_orders(u)
            }
        assert len(customers) == 1
    finally:
        engine.dispose()
