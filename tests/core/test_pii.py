"""Personal data encryption: the token format, the keyed phone hash, the column type and key
rotation (ADR 0005)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from lvyue import bootstrap
from lvyue.accounts import service as accounts
from lvyue.channels import service as channels
from lvyue.channels.adapters.base import PayloadError, RawOrder
from lvyue.cli import main
from lvyue.config import get_settings
from lvyue.core import crypto
from lvyue.core.crypto import (
    PiiKeyring,
    decrypt_pii,
    encrypt_pii,
    phone_digits,
    phone_index,
    pii_keyring,
)
from lvyue.core.errors import LvyueError
from lvyue.core.pii import EncryptedText
from lvyue.orders import queries
from lvyue.orders import service as orders_service
from lvyue.orders.canonical import CanonicalOrder
from tests.factories import canonical, import_dicts, setup_world

KEY_A = "key-a-0123456789abcdef0123456789abcdef"
KEY_B = "key-b-fedcba9876543210fedcba9876543210"

UseKeys = Callable[..., None]


@pytest.fixture
def use_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[UseKeys]:
    """Switch LVYUE_SECRET_KEY / LVYUE_OLD_SECRET_KEYS as an operator would (new settings)."""

    def use(current: str, *old: str) -> None:
        monkeypatch.setenv("LVYUE_SECRET_KEY", current)
        monkeypatch.setenv("LVYUE_OLD_SECRET_KEYS", ",".join(old))
        get_settings.cache_clear()

    yield use
    monkeypatch.undo()
    get_settings.cache_clear()


@given(st.text(min_size=1, max_size=300))
def test_round_trip_hides_the_text_and_never_repeats(plain):
    token = encrypt_pii(plain)
    assert token.startswith("e1") and decrypt_pii(token) == plain
    assert encrypt_pii(plain) != token  # a fresh nonce every time
    if len(plain.strip()) >= 3:
        assert plain not in token


@given(st.text(max_size=300))
def test_the_column_takes_utf8_bytes_as_the_same_text(plain):
    # Raw payloads are bound as their UTF-8 JSON, never decoded and encoded again.
    bind = EncryptedText().bind_processor(sqlite.dialect())
    for value in (plain, plain.encode("utf-8")):
        token = bind(value)
        assert token == "" if not plain else decrypt_pii(token) == plain


def test_damaged_plain_and_foreign_values_are_refused(use_keys):
    token = encrypt_pii("张三")
    damaged = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(LvyueError) as exc:
        decrypt_pii(damaged)
    assert exc.value.code == "pii_undecryptable"
    with pytest.raises(LvyueError) as exc:
        decrypt_pii("张三")
    assert exc.value.code == "pii_not_encrypted"
    use_keys(KEY_A)
    from_a = encrypt_pii("张三")
    use_keys(KEY_B)
    with pytest.raises(LvyueError) as exc:
        decrypt_pii(from_a)
    assert exc.value.code == "pii_undecryptable" and "LVYUE_OLD_SECRET_KEYS" in exc.value.message


def test_keys_are_derived_per_purpose():
    ring = PiiKeyring(KEY_A, ())
    # The AES key is not the Fernet key of the same secret, nor the index key.
    fernet_key = crypto._fernet_key(KEY_A)
    aes_key = crypto._derive(KEY_A, "lvyue/pii/aes-256-gcm/v1")
    assert aes_key != crypto._derive(KEY_A, "lvyue/pii/blind-index/v1")
    assert aes_key != fernet_key
    assert fernet_key[:16] not in aes_key and fernet_key[16:] not in aes_key
    # ... and _fernet_key is the key Fernet really uses: a token made with it decrypts.
    token = crypto._fernet(KEY_A).encrypt(b"x")
    assert Fernet(base64.urlsafe_b64encode(fernet_key)).decrypt(token) == b"x"
    assert ring.index("13812345678") != PiiKeyring(KEY_B, ()).index("13812345678")


@pytest.mark.parametrize(
    ("phone", "digits"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
        ("0571-88886666", "057188886666"),
        ("138****5678", None),  # masked by the platform: many people
        ("", None),
        (None, None),
        ("abc", None),
    ],
)
def test_phone_digits(phone, digits):
    assert phone_digits(phone) == digits


def test_phone_index_is_keyed_truncated_hex_and_format_blind():
    h = phone_index("13812345678")
    assert h is not None and len(h) == 24 and int(h, 16) >= 0
    assert phone_index("+86 138 1234 5678") == h
    assert phone_index("13812345679") != h
    assert phone_index("138****5678") is None


@given(st.text(max_size=40))
def test_the_blind_index_is_hmac_sha256_of_the_derived_key(value):
    # Computed from SHA-256 states for speed, it must stay the HMAC every stored index is.
    ring = PiiKeyring(KEY_A, (KEY_B,))
    keys = [crypto._derive(k, "lvyue/pii/blind-index/v1") for k in (KEY_A, KEY_B)]
    expected = [hmac.new(k, value.encode("utf-8"), hashlib.sha256).hexdigest()[:24] for k in keys]
    assert ring.index(value) == expected[0]
    assert list(ring.indexes(value)) == expected


def test_encrypted_columns_cannot_be_compared_in_sql():
    order = bootstrap.metadata.tables["orders_order"]
    with pytest.raises(TypeError, match="receiver_phone_hash"):
        _ = order.c.receiver_phone == "13812345678"
    with pytest.raises(TypeError):
        order.c.receiver_name.in_(["张三"])
    with pytest.raises(TypeError, match="encrypted"):
        _ = order.c.receiver_name == order.c.buyer_nick
    with pytest.raises(TypeError):
        order.c.addr_detail.desc()
    assert order.c.receiver_name.is_(None) is not None  # NULL tests stay possible
    assert (order.c.receiver_address == "") is not None


def _tokens(engine: sa.Engine) -> list[str]:
    """Every stored ciphertext of personal data, read raw."""
    found = []
    with engine.connect() as conn:
        for table, cols in (
            ("orders_order", ("receiver_name", "receiver_phone", "phone_number", "addr_detail")),
            ("customers_identity", ("phone",)),
            ("customers_customer", ("display_name",)),
            ("channels_raw_order", ("payload",)),
        ):
            for row in conn.execute(sa.text(f"SELECT {', '.join(cols)} FROM {table}")):
                found.extend(v for v in row if v)
    return found


def _unread(raw: RawOrder) -> CanonicalOrder:
    raise PayloadError("stored, not read, in this test")


def test_key_rotation(use_keys, uow, engine, db, capsys):
    use_keys(KEY_A)
    setup_world(uow, skus={"A": {"HZ": 5}})
    with uow() as u:
        channels.add_shop(
            u,
            code="TB1",
            platform="taobao",
            name="淘宝店",
            base_url="http://127.0.0.1:1",
            secrets={"app_key": "k", "app_secret": "s3cret-A"},
        )
        stored = channels.ingest(
            u,
            orders_service.shop_id(u, "TB1"),
            "TB1",
            [RawOrder("T1", None, {"tid": "T1", "receiver_mobile": "13900001111"})],
            "pull",
            _unread,
        ).stored
        assert stored
        key = accounts.create_api_key(u, name="erp", role="operations")
    import_dicts(
        uow,
        [
            canonical(
                "R1",
                [("A", 1)],
                receiver={**canonical("x", [])["receiver"], "phone": "13900001111"},
            )
        ],
    )
    with uow(readonly=True) as u:
        [oid] = [o["id"] for o in queries.list_orders(u, phone="13900001111")]

    # The new key encrypts, the old one only decrypts: everything stays readable and findable.
    use_keys(KEY_B, KEY_A)
    with uow(readonly=True) as u:
        assert queries.get_order(u, oid)["receiver_phone"] == "13900001111"
        assert [o["id"] for o in queries.list_orders(u, phone="13900001111")] == [oid]
        assert channels.shop_access(u, "TB1").credentials.app_secret == "s3cret-A"
    # A second order of the same phone (another platform's buyer) finds the same customer
    # through the old key's hash.
    import_dicts(
        uow,
        [
            canonical(
                "R2",
                [("A", 1)],
                buyer={"id": "other", "nick": "老王"},
                receiver={**canonical("x", [])["receiver"], "phone": "13900001111"},
            )
        ],
    )
    with uow(readonly=True) as u:
        orders = {o["external_id"]: queries.get_order(u, o["id"]) for o in queries.list_orders(u)}
    assert orders["R1"]["customer_id"] == orders["R2"]["customer_id"]
    ring = pii_keyring()
    assert not all(ring.is_current(t) for t in _tokens(engine))

    # Dropping A now would lock the data away: the test's control.
    use_keys(KEY_B)
    with pytest.raises(LvyueError) as exc, uow(readonly=True) as u:
        queries.get_order(u, oid)
    assert exc.value.code == "pii_undecryptable"

    use_keys(KEY_B, KEY_A)
    capsys.readouterr()
    assert main(["pii", "rotate", "--batch", "1", "--db", db]) == 0
    out = capsys.readouterr().out
    # Batches of one row, each in its own transaction; R2 was written with B already.
    assert "orders_order: 1 rows examined, 1 rewritten" in out
    assert "orders_order: 2 rows examined, 1 rewritten" in out
    assert "key rotation done" in out
    assert main(["pii", "rotate", "--db", db]) == 0  # again: nothing left to rewrite
    assert "key rotation done: 0 rows rewritten" in capsys.readouterr().out

    # A can go: every value is B's, hashes are B's, secrets are B's.
    use_keys(KEY_B)
    ring = pii_keyring()
    assert all(ring.is_current(t) for t in _tokens(engine))
    with uow(readonly=True) as u:
        assert queries.get_order(u, oid)["receiver_phone"] == "13900001111"
        assert len(queries.list_orders(u, phone="13900001111")) == 2
        assert channels.shop_access(u, "TB1").credentials.app_secret == "s3cret-A"
        secret = u.conn.execute(
            sa.text("SELECT secret_encrypted FROM accounts_api_key WHERE app_key = :k"),
            {"k": key.app_key},
        ).scalar_one()
        assert crypto.decrypt(secret) == key.secret
        payload = u.conn.execute(sa.text("SELECT payload FROM channels_raw_order")).scalar_one()
        assert json.loads(decrypt_pii(payload))["receiver_mobile"] == "13900001111"
        hashes = u.conn.execute(
            sa.text("SELECT value FROM customers_identity WHERE kind = 'phone'")
        ).scalars()
        assert list(hashes) == [phone_index("13900001111")]
        audit = u.conn.execute(
            sa.text("SELECT actor FROM accounts_audit WHERE action = 'pii.rotate'")
        ).scalars()
        assert list(audit) == ["cli:pii-rotate", "cli:pii-rotate"]
