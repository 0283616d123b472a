"""Encryption at rest: shop and API-key secrets (Fernet), buyers' personal data (AES-256-GCM)
and the keyed hash that lets an encrypted phone be searched (ADR 0006).

Every key comes from ``LVYUE_SECRET_KEY``; ``LVYUE_OLD_SECRET_KEYS`` (comma-separated) lists
previous secrets that still decrypt during a rotation while the current one encrypts. Key
material is derived once per secret and cached: nothing is derived per value.

Personal data is stored as ``"e1" + base64(key id (4) | nonce (12) | ciphertext + tag)``: the
key id names the secret that encrypted the value, so old values stay readable and
``lvyue pii rotate`` can tell which ones to rewrite. Pure module: no database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lvyue.config import get_settings
from lvyue.core.errors import LvyueError

# --------------------------------------------------------------------------- Fernet secrets


def _fernet_key(secret: str) -> bytes:
    """The 32 bytes behind a secret's Fernet key (signing half, then encryption half)."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_fernet_key(secret)))


def _secrets() -> tuple[str, tuple[str, ...]]:
    s = get_settings()
    return s.secret_key, tuple(k.strip() for k in s.old_secret_keys.split(",") if k.strip())


@cache
def _box(secret: str, old: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(secret), *(_fernet(o) for o in old)])


def _current() -> MultiFernet:
    return _box(*_secrets())


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise LvyueError(
            "stored secret cannot be decrypted: LVYUE_SECRET_KEY changed without listing the "
            "old key in LVYUE_OLD_SECRET_KEYS",
            code="secret_undecryptable",
        ) from None


def rotate_secret(token: str) -> str | None:
    """The secret encrypted with the current key, or None when it already is."""
    secret, old = _secrets()
    try:
        _fernet(secret).decrypt(token.encode("ascii"))
        return None
    except InvalidToken:
        pass
    try:
        return _box(secret, old).rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise LvyueError(
            "stored secret cannot be decrypted with the current or any old key",
            code="secret_undecryptable",
        ) from None


# --------------------------------------------------------------------------- personal data

PII_PREFIX = "e1"
_PREFIX_BYTES = PII_PREFIX.encode("ascii")
_KID, _NONCE = 4, 12
_SHA256_BLOCK = 64  # bytes; the 32-byte index key is padded to it
INDEX_HEX = 24  # 96 bits of HMAC-SHA256: no collisions in practice, less to match offline


def _derive(secret: str, label: str, length: int = 32) -> bytes:
    # HKDF with a label per use: the AES key, the index key and the key id never coincide,
    # and none of them is the Fernet key derived from the same secret.
    return HKDF(hashes.SHA256(), length, salt=None, info=label.encode("ascii")).derive(
        secret.encode("utf-8")
    )


@dataclass(frozen=True)
class _Key:
    kid: bytes
    aead: AESGCM
    # HMAC-SHA256 of the blind index as its two keyed SHA-256 states (RFC 2104), copied per
    # value: copying an ``hmac.HMAC`` duplicates an OpenSSL 3 MAC context, which took 6 µs a
    # value in the order pipeline (12 µs per order), where a SHA-256 state copies cheaply.
    inner: Any
    outer: Any


def _key(secret: str) -> _Key:
    block = _derive(secret, "lvyue/pii/blind-index/v1").ljust(_SHA256_BLOCK, b"\0")
    return _Key(
        kid=_derive(secret, "lvyue/pii/key-id/v1", _KID),
        aead=AESGCM(_derive(secret, "lvyue/pii/aes-256-gcm/v1")),
        inner=hashlib.sha256(bytes(b ^ 0x36 for b in block)),
        outer=hashlib.sha256(bytes(b ^ 0x5C for b in block)),
    )


class PiiKeyring:
    """The current key (encrypts, indexes) and the old ones (decrypt, still found by index)."""

    def __init__(self, current: str, old: tuple[str, ...]) -> None:
        self.current = _key(current)
        self.keys = (self.current, *(_key(o) for o in old if o != current))
        self._by_kid = {k.kid: k for k in reversed(self.keys)}

    def encrypt(self, plain: str | bytes) -> str:
        """``plain`` as text, or as its UTF-8 bytes when the caller has them already (a raw
        payload's JSON: a kilobyte not decoded and encoded again)."""
        key = self.current
        nonce = os.urandom(_NONCE)
        data = plain if isinstance(plain, bytes) else plain.encode("utf-8")
        sealed = key.aead.encrypt(nonce, data, _PREFIX_BYTES + key.kid)
        return PII_PREFIX + binascii.b2a_base64(key.kid + nonce + sealed, newline=False).decode(
            "ascii"
        )

    def _unpack(self, token: str) -> tuple[bytes, bytes, bytes]:
        if not token.startswith(PII_PREFIX):
            raise LvyueError("stored personal data is not encrypted", code="pii_not_encrypted")
        try:
            raw = binascii.a2b_base64(token[len(PII_PREFIX) :])
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) < _KID + _NONCE + 16:  # 16: the GCM tag
            raise LvyueError("stored personal data is damaged", code="pii_undecryptable")
        return raw[:_KID], raw[_KID : _KID + _NONCE], raw[_KID + _NONCE :]

    def decrypt(self, token: str) -> str:
        kid, nonce, sealed = self._unpack(token)
        key = self._by_kid.get(kid)
        if key is None:
            raise LvyueError(
                "personal data was encrypted with a key that is not configured: list the "
                "previous LVYUE_SECRET_KEY in LVYUE_OLD_SECRET_KEYS",
                code="pii_undecryptable",
                key_id=kid.hex(),
            )
        try:
            return key.aead.decrypt(nonce, sealed, _PREFIX_BYTES + kid).decode("utf-8")
        except InvalidTag:
            raise LvyueError(
                "stored personal data is damaged", code="pii_undecryptable", key_id=kid.hex()
            ) from None

    def is_current(self, token: str) -> bool:
        """Whether the value was encrypted with the current key (rotation skips it)."""
        return self._unpack(token)[0] == self.current.kid

    def index(self, normalised: str) -> str:
        return _index(self.current, normalised)

    def indexes(self, normalised: str) -> tuple[str, ...]:
        """The index under every configured key, current first: during a rotation rows not
        yet rewritten carry an old key's index and must still be found."""
        return tuple(_index(k, normalised) for k in self.keys)


def _index(key: _Key, normalised: str) -> str:
    inner = key.inner.copy()
    inner.update(normalised.encode("utf-8"))
    outer = key.outer.copy()
    outer.update(inner.digest())
    return outer.hexdigest()[:INDEX_HEX]


@cache
def _keyring(secret: str, old: tuple[str, ...]) -> PiiKeyring:
    return PiiKeyring(secret, old)


_last: tuple[object, PiiKeyring] | None = None


def pii_keyring() -> PiiKeyring:
    """The keyring for the current settings, built once per set of secrets. Called per value
    on the hot path: a new settings object (tests, reloads) is noticed by identity."""
    global _last
    settings = get_settings()
    if _last is None or _last[0] is not settings:
        _last = (settings, _keyring(*_secrets()))
    return _last[1]


def encrypt_pii(plain: str) -> str:
    return pii_keyring().encrypt(plain)


def decrypt_pii(token: str) -> str:
    return pii_keyring().decrypt(token)


# --------------------------------------------------------------------------- phone index

_NON_DIGITS = re.compile(r"\D")


def phone_digits(phone: str | None) -> str | None:
    """A phone reduced to what identifies it: digits only, the +86 / 0086 country code
    dropped. None for nothing usable: empty, too short, or masked by the platform
    (138****5678 is many people)."""
    if not phone or "*" in phone:
        return None
    text = unicodedata.normalize("NFKC", phone).strip()
    digits = _NON_DIGITS.sub("", text)
    if text.startswith("+86"):
        digits = digits[2:]
    elif text.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    return digits if len(digits) >= 5 else None


def phone_index(phone: str | None) -> str | None:
    """The keyed hash stored beside an encrypted phone (current key)."""
    digits = phone_digits(phone)
    return pii_keyring().index(digits) if digits else None


def phone_indexes(phone: str | None) -> tuple[str, ...]:
    """Every index a stored phone may carry (current and old keys), for lookups."""
    digits = phone_digits(phone)
    return pii_keyring().indexes(digits) if digits else ()
