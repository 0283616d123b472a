"""Symmetric encryption of secrets at rest (shop credentials, later personal data).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``. The key is derived from
``LVYUE_SECRET_KEY``; older keys can be listed for rotation so existing values stay readable.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from lvyue.config import get_settings
from lvyue.core.errors import LvyueError


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode("utf-8")).digest()))


@cache
def _box(secret: str, old: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(secret), *(_fernet(o) for o in old)])


def _current() -> MultiFernet:
    s = get_settings()
    return _box(s.secret_key, tuple(k for k in s.old_secret_keys.split(",") if k))


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
