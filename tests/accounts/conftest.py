"""Accounts fixtures: a clock and the production hasher on request (the fast one is global)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse 9"


@pytest.fixture
def real_hasher() -> None:
    """Ask for this to hash with the production parameters."""
