"""Accounts fixtures: the tables (until bootstrap imports them), a fast hasher, a clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from lvyue.accounts import models as _models  # noqa: F401  (registers the tables for wiping)
from lvyue.accounts import passwords

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse 9"


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


@pytest.fixture
def real_hasher() -> None:
    """Ask for this to hash with the production parameters."""
