"""What the adapter tests share besides fixtures: one fake-platform server for a whole module
with each test's fresh fake switched in behind it, httpx clients closed after each test, and
reading order ids off a pull."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, NamedTuple, TypeVar

import httpx

from lvyue.channels.adapters.base import RawOrder
from tests.channels.fakes.server import FakePlatform, Request, Response

F = TypeVar("F", bound=FakePlatform)

_OPEN: list[httpx.Client] = []


class Switch:
    """Serves whichever fake the running test put in: stopping a server takes a while, so one
    serves a whole test module."""

    fake: FakePlatform

    def use(self, fake: F) -> F:
        self.fake = fake
        return fake

    def handle(self, request: Request) -> Response:
        return self.fake.handle(request)


class Served(NamedTuple):
    switch: Switch
    url: str


def new_client(**options: Any) -> httpx.Client:
    """An httpx client for one test; the ``_close_clients`` fixture closes it afterwards."""
    _OPEN.append(httpx.Client(**{"timeout": 5, **options}))
    return _OPEN[-1]


def close_clients() -> None:
    while _OPEN:
        _OPEN.pop().close()


def changed(payload: dict[str, Any], path: tuple[Any, ...], value: object = None) -> dict[str, Any]:
    """A deep copy of ``payload`` with the field at ``path`` set to ``value``, or removed when
    ``value`` is None: a broken payload for a parse test."""
    copied = copy.deepcopy(payload)
    target: Any = copied
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copied


def ids(raws: Iterable[RawOrder]) -> list[str]:
    return [r.external_id for r in raws]
