"""Reference data loaded once per process and kept while it does not change.

Triggers on the reference tables replace their kind's token in ``core_revision`` on every
write, whoever makes it (migration 0018); :func:`cached` reads the token (one primary-key
look-up) and reloads only when it differs from the one its copy was loaded under. Random
tokens, not counters: a database emptied and filled again (tests, a restore) never hands out
a token an old copy was loaded under.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from lvyue.core.db import table_of
from lvyue.core.models import Revision
from lvyue.core.uow import UnitOfWork

T = TypeVar("T")
REVISION = table_of(Revision)
_COPIES: dict[tuple[str, str], tuple[int | None, Any]] = {}


def cached(uow: UnitOfWork, name: str, load: Callable[[], T]) -> T:
    """``load()``'s result, reused while ``name``'s token stays the one it was loaded under.
    The result is shared between units of work: callers must not change it."""
    token = uow.conn.execute(
        sa.select(REVISION.c.token).where(REVISION.c.name == name)
    ).scalar_one_or_none()
    key = (str(uow.conn.engine.url), name)
    copy = _COPIES.get(key)
    if copy is not None and copy[0] == token:
        return copy[1]
    value = load()
    _COPIES[key] = (token, value)
    return value
