"""Fixtures for the adapter tests: the module's fake-platform server, the client bookkeeping
and a sleep that records its waits instead of waiting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.fakes.server import serve
from tests.channels.helpers import Served, Switch, close_clients


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    switch = Switch()
    with serve(switch) as url:
        yield Served(switch, url)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_clients()
