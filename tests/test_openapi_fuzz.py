"""Schemathesis against the app's own OpenAPI schema, in process (ASGI), signed in as admin.

Every operation gets a few generated requests, valid and invalid; none may answer 5xx, and
every answer must match the schema the operation declares (the response models, and the one
error body for 4xx). Bounded so that the whole run stays well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.engine import Engine

from lvyue.accounts import service as accounts
from lvyue.core.uow import UnitOfWork
from lvyue.main import create_app
from tests.conftest import _wipe as wipe
from tests.factories import canonical, import_dicts, process_all, setup_world

PASSWORD = "correct horse 9"


# The schema is read at import (one test per operation); the fixture below points the same
# app at the test database and seeds it before each operation's run.
APP = create_app("sqlite://")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(
    # Logging out would revoke the token the rest of the run signs in with.
    path="/api/v1/auth/logout"
)
# /api/v1/me/password stays in: generated old passwords never match, so the admin's password
# is never changed; its wrong guesses may lock the admin's log-in, which leaves the token the
# run signs in with working (a lock ends no session).


@pytest.fixture(scope="module")
def admin_token(engine: Engine) -> Iterator[str]:
    """A small world, seeded once for the module (the operations' examples add to it), and an
    admin's bearer token."""
    wipe(engine)

    def uow(actor: str = "fuzz", readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(engine, actor=actor, readonly=readonly)

    setup_world(uow, skus={"A": {"HZ": 20, "GZ": 20}, "B": {"HZ": 5}})
    import_dicts(uow, [canonical(f"F{i}", [("A", 2), ("B", 1)]) for i in range(1, 6)])
    process_all(uow)
    with uow() as u:
        accounts.add_user(u, username="fuzz-admin", password=PASSWORD, role="admin")
    with uow() as u:
        token = accounts.log_in(u, username="fuzz-admin", password=PASSWORD).token
    assert token
    APP.state.engine = engine
    yield token
    wipe(engine)


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    # The seeded world is shared by the examples of one operation, on purpose.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_no_server_error_and_responses_match_the_schema(case, admin_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
