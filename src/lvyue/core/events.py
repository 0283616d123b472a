"""A synchronous, in-process event bus.

Lower capabilities publish facts ("stock reserved", "order cancelled"); upper capabilities
subscribe handlers at start-up (see ``lvyue.bootstrap``). Handlers run inside the publisher's
unit of work, so their writes commit or roll back together with the fact that caused them.
Anything that leaves the process goes through the outbox instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lvyue.core.uow import UnitOfWork


@dataclass(frozen=True)
class Event:
    """Base class of all domain events."""


Handler = Callable[["UnitOfWork", Any], None]

_handlers: dict[type[Event], list[Handler]] = defaultdict(list)


def subscribe(event_type: type[Event], handler: Handler) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def handlers_for(event: Event) -> list[Handler]:
    found: list[Handler] = []
    for cls in type(event).__mro__:
        found.extend(_handlers.get(cls, ()))
    return found
