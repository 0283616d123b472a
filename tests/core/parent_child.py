"""A parent table and a child table with a foreign key to it, for tests of how a failed
insert or commit is reported (``core.pgcopy``, ``core.waiting``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa


def parent_and_child(
    prefix: str, *, deferred: bool = False
) -> tuple[sa.MetaData, sa.Table, sa.Table]:
    """``{prefix}_parent`` and ``{prefix}_child``; with ``deferred`` the child's foreign key
    is checked at commit rather than at the insert."""
    meta = sa.MetaData()
    parent = sa.Table(f"{prefix}_parent", meta, sa.Column("id", sa.Integer, primary_key=True))
    fk = (
        sa.ForeignKey(parent.c.id, deferrable=True, initially="DEFERRED")
        if deferred
        else (sa.ForeignKey(parent.c.id))
    )
    child = sa.Table(
        f"{prefix}_child",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", fk, nullable=False),
    )
    return meta, parent, child


def tables_fixture(meta: sa.MetaData) -> Callable[..., Any]:
    """A ``tables`` fixture: ``meta``'s tables created for the test and dropped after it."""

    @pytest.fixture
    def tables(engine: sa.Engine) -> Iterator[None]:
        meta.create_all(engine)
        yield
        meta.drop_all(engine)

    return tables
