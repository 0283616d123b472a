"""Signed open-API requests: the published test vectors, then verification against the DB."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lvyue.accounts import queries, service, signing
from lvyue.accounts.errors import RateLimited, SignatureError
from lvyue.accounts.roles import Role
from lvyue.core.errors import NotFound, ValidationError
from tests.accounts.conftest import T0
from tests.conftest import UowFactory, count

SECRET = "demo-secret-3f9a1c"
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# The vectors of docs/api-signing.md §5 (reproduced with `openssl dgst -sha256 -hmac`).
VECTORS: list[tuple[dict[str, Any], str, str]] = [
    (
        dict(
            method="GET",
            path="/api/v1/orders",
            query="status=approved&shop=TB-01&page=2",
            body=b"",
            timestamp=1700000000,
            nonce="n0nce-0001",
        ),
        "LVYUE-HMAC-SHA256\nGET\n/api/v1/orders\npage=2&shop=TB-01&status=approved\n"
        f"{EMPTY}\n1700000000\nn0nce-0001",
        "200aaaf1ef6eaf48cc8d5849756620e84b341f7bbc6ea8b0ae719dd090d8e1ed",
    ),
    (
        dict(
            method="POST",
            path="/api/v1/orders",
            query="",
            body='{"shop":"TB-01","external_id":"E1001","receiver":"张三"}'.encode(),
            timestamp=1700000000,
            nonce="a1b2c3d4e5f6",
        ),
        "LVYUE-HMAC-SHA256\nPOST\n/api/v1/orders\n\n"
        "db5e5945c4a076e89c64ef0f940d3ee6aab201abd89164907c001a2b3bef8be8\n"
        "1700000000\na1b2c3d4e5f6",
        "3bc06ce5ec90cd1d35ce1f4af7e1f4b1ccb24acda03156da91036d3765533dbb",
    ),
    (
        dict(
            method="get",
            path="/api/v1/skus/T%E6%81%A4%20M",
            query="tag=b&tag=a&q=%E7%99%BD%E8%89%B2+T%E6%81%A4&empty=",
            body=b"",
            timestamp="1700000300",
            nonce="Z_9-xyzw",
        ),
        "LVYUE-HMAC-SHA256\nGET\n/api/v1/skus/T%E6%81%A4%20M\n"
        f"empty=&q=%E7%99%BD%E8%89%B2%20T%E6%81%A4&tag=a&tag=b\n{EMPTY}\n1700000300\nZ_9-xyzw",
        "dbcf86380f36f94e69284691fd9a2d7e2d51b4a8c39c290f72f34029552b327f",
    ),
]


@pytest.mark.parametrize(("request_", "canonical", "signature"), VECTORS)
def test_vectors(request_: dict[str, Any], canonical: str, signature: str) -> None:
    assert signing.canonical_string(**request_) == canonical
    assert signing.sign(SECRET, canonical) == signature
    assert signing.sign_request(SECRET, **request_) == signature


def test_equivalent_encodings_give_one_canonical_form() -> None:
    assert signing.canonical_query("q=a+b") == signing.canonical_query("q=a%20b") == "q=a%20b"
    assert signing.canonical_query({"b": "2", "a": "1"}) == "a=1&b=2"
    assert signing.canonical_query([("x", "白"), ("flag", "")]) == "flag=&x=%E7%99%BD"
    assert signing.canonical_query("?flag") == "flag="
    assert signing.canonical_path("/api/v1/skus/T恤 M") == "/api/v1/skus/T%E6%81%A4%20M"
    assert signing.canonical_path("/a%2fb") == "/a%2Fb"  # an encoded slash stays in its segment
    assert signing.canonical_path("") == "/"
    assert signing.body_digest("") == EMPTY


def test_window_start() -> None:
    assert signing.window_start(T0 + timedelta(seconds=59.9)) == T0
    assert signing.window_start(T0 + timedelta(seconds=60)) == T0 + timedelta(minutes=1)


# --- verification against the database ------------------------------------------------------

NOW = T0
TS = int(NOW.timestamp())


def make_key(uow: UowFactory, **kw: Any) -> service.NewApiKey:
    kw.setdefault("role", "operations")
    with uow(actor="admin") as u:
        return service.create_api_key(u, name="金蝶ERP", now=NOW, **kw)


def signed(key: service.NewApiKey, **over: Any) -> dict[str, Any]:
    req: dict[str, Any] = {
        "method": "POST",
        "path": "/api/v1/orders",
        "query": "shop=TB-01",
        "body": b'{"external_id":"E1"}',
        "timestamp": str(TS),
        "nonce": signing.new_nonce(),
    }
    req.update(over)
    return {**req, "app_key": key.app_key, "signature": signing.sign_request(key.secret, **req)}


def verify(uow: UowFactory, req: dict[str, Any], now: Any = NOW) -> Any:
    with uow(actor="api") as u:
        return service.verify_request(u, now=now, **req)


def code_of(uow: UowFactory, req: dict[str, Any], now: Any = NOW) -> str:
    with pytest.raises((SignatureError, RateLimited)) as exc:
        verify(uow, req, now)
    return str(exc.value.code)


def test_good_request_passes_with_the_keys_role_and_scope(uow: UowFactory) -> None:
    key = make_key(uow, shop_codes=["TB-01"])
    p = verify(uow, signed(key))
    assert p.app_key == key.app_key and p.user_id is None and p.username == "金蝶ERP"
    assert p.role is Role.OPERATIONS and p.can("orders.create")
    assert p.sees_shop("TB-01") and not p.sees_shop("JD-01")
    assert p.actor == f"api:{key.app_key}"
    # a query given as pairs or as a raw string in another order is the same request
    req = signed(key, query="b=2&a=1")
    assert verify(uow, {**req, "query": [("a", "1"), ("b", "2")]}).app_key == key.app_key


def test_secret_is_stored_encrypted_and_never_listed(uow: UowFactory, engine: sa.Engine) -> None:
    key = make_key(uow)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT secret_encrypted FROM accounts_api_key")).scalar()
    assert stored and key.secret not in stored
    with uow(readonly=True) as u:
        (listed,) = queries.list_api_keys(u)
    assert listed["app_key"] == key.app_key and key.secret not in str(listed)
    assert "secret_encrypted" not in listed


def test_each_refusal_has_its_own_code(uow: UowFactory) -> None:
    key = make_key(uow)
    other = make_key(uow)
    good = signed(key)
    assert code_of(uow, {**good, "app_key": "lvk_nobody"}) == "unknown_key"
    assert code_of(uow, {**good, "signature": "0" * 64}) == "bad_signature"
    assert code_of(uow, {**good, "signature": ""}) == "bad_signature"
    assert code_of(uow, {**good, "app_key": other.app_key}) == "bad_signature"
    assert code_of(uow, {**good, "body": b'{"external_id":"E2"}'}) == "bad_signature"
    assert code_of(uow, {**good, "query": "shop=TB-02"}) == "bad_signature"
    assert code_of(uow, {**good, "path": "/api/v1/orders/1"}) == "bad_signature"
    assert code_of(uow, {**good, "method": "PUT"}) == "bad_signature"
    assert code_of(uow, {**good, "timestamp": str(TS + 1)}) == "bad_signature"
    assert code_of(uow, {**good, "nonce": "another-nonce"}) == "bad_signature"
    assert code_of(uow, {**good, "nonce": "short"}) == "invalid_nonce"
    assert code_of(uow, {**good, "timestamp": "2026-11-23"}) == "invalid_timestamp"
    # none of the refusals used up the nonce
    assert verify(uow, good).app_key == key.app_key
    assert code_of(uow, good) == "reused_nonce"


def test_stale_timestamps_either_way(uow: UowFactory) -> None:
    key = make_key(uow)
    five = timedelta(minutes=5)
    assert verify(uow, signed(key), NOW + five).app_key == key.app_key
    assert verify(uow, signed(key), NOW - five).app_key == key.app_key
    late = timedelta(minutes=5, seconds=1)
    assert code_of(uow, signed(key), NOW + late) == "stale_timestamp"
    assert code_of(uow, signed(key), NOW - late) == "stale_timestamp"
    with pytest.raises(SignatureError) as exc:
        verify(uow, signed(key), NOW + late)
    assert exc.value.details["server_time"] == TS + 301


def test_nonce_is_remembered_as_long_as_the_timestamp_can_pass(
    uow: UowFactory, engine: sa.Engine
) -> None:
    key = make_key(uow)
    req = signed(key)
    verify(uow, req)
    assert code_of(uow, req, NOW + timedelta(minutes=4)) == "reused_nonce"
    assert code_of(uow, req, NOW + timedelta(minutes=5)) == "reused_nonce"
    assert code_of(uow, req, NOW + timedelta(minutes=5, seconds=1)) == "stale_timestamp"
    # the same nonce with another key is another request
    other = make_key(uow)
    assert verify(uow, signed(other, nonce=req["nonce"])).app_key == other.app_key
    # expired nonces are purged when a key starts a new rate window
    later = NOW + timedelta(minutes=10)
    verify(uow, signed(key, timestamp=str(TS + 600)), later)
    assert count(engine, "accounts_api_nonce") == 2  # the new one, and the other key's


def test_two_processes_cannot_both_accept_one_nonce(uow: UowFactory) -> None:
    key = make_key(uow)
    req = signed(key)
    outcome: list[str] = []

    def second() -> None:
        try:
            verify(uow, req)
            outcome.append("accepted")
        except SignatureError as exc:
            outcome.append(exc.code)

    with uow(actor="api") as first:
        service.verify_request(first, now=NOW, **req)
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)  # the second transaction now waits on the first's lock
        assert outcome == []
    thread.join(timeout=30)
    assert outcome == ["reused_nonce"]


def test_revoked_key(uow: UowFactory) -> None:
    key = make_key(uow)
    req = signed(key)
    with uow(actor="admin") as u:
        service.revoke_api_key(u, app_key=key.app_key, now=NOW)
    with uow(actor="admin") as u:
        service.revoke_api_key(u, app_key=key.app_key, now=NOW)  # idempotent
    assert code_of(uow, req) == "key_revoked"
    with pytest.raises(NotFound), uow() as u:
        service.revoke_api_key(u, app_key="lvk_nobody")
    with uow(readonly=True) as u:
        (listed,) = queries.list_api_keys(u)
        assert queries.list_api_keys(u, include_revoked=False) == []
        entries = queries.list_audit(u)
    assert listed["revoked_by"] == "admin" and listed["revoked_at"] == NOW
    assert [(e["action"], e["actor"], e["target"]) for e in entries] == [
        ("apikey.revoked", "admin", key.app_key),
        ("apikey.created", "admin", key.app_key),
    ]
    assert entries[1]["details"]["role"] == "operations"
    assert key.secret not in str(entries)


def test_rate_limit_per_key_per_minute(uow: UowFactory, engine: sa.Engine) -> None:
    key = make_key(uow, rate_limit_per_minute=3)
    other = make_key(uow, rate_limit_per_minute=3)
    at = NOW + timedelta(seconds=10)
    for _ in range(3):
        verify(uow, signed(key), at)
    with pytest.raises(RateLimited) as exc:
        verify(uow, signed(key), at)
    assert exc.value.code == "rate_limited" and exc.value.http_status == 429
    assert exc.value.details == {"limit": 3, "retry_after": 50}
    assert code_of(uow, signed(key), at + timedelta(seconds=49)) == "rate_limited"
    verify(uow, signed(other), at)  # another key has its own budget
    # the next minute starts afresh and forgets the old window
    verify(uow, signed(key), NOW + timedelta(minutes=1))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count FROM accounts_api_rate ORDER BY id")).all()
    assert sorted(r[0] for r in rows) == [1, 1]


def test_api_keys_cannot_be_admins(uow):
    with pytest.raises(ValidationError, match="admin"), uow() as u:
        service.create_api_key(u, name="root-integration", role="admin")
