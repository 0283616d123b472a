"""API keys as the admin page lists them: never the secret, with when each was last used."""

from __future__ import annotations

from datetime import UTC, datetime

from lvyue.accounts import queries, signing
from lvyue.accounts import service as accounts


def test_api_key_last_use_is_the_rate_window(uow):
    with uow() as u:
        key = accounts.create_api_key(u, name="ERP", role="viewer")
    at = datetime(2026, 11, 11, 10, 0, 30, tzinfo=UTC)
    ts = str(int(at.timestamp()))
    sig = signing.sign(
        key.secret,
        signing.canonical_string(
            method="GET", path="/x", query="", body=b"", timestamp=ts, nonce="n" * 16
        ),
    )
    with uow() as u:
        accounts.verify_request(
            u,
            app_key=key.app_key,
            signature=sig,
            method="GET",
            path="/x",
            query="",
            body=b"",
            timestamp=ts,
            nonce="n" * 16,
            now=at,
        )
    with uow(readonly=True) as u:
        (listed,) = queries.list_api_keys(u)
    assert listed["last_used_at"] == datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
