from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.fakes.server import serve
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    fake = Receiver()
    with serve(fake) as base:
        yield fake, base
