"""Request signing for the open API (see ``docs/api-signing.md``): LVYUE-HMAC-SHA256.

Pure module: the canonical string, the signature, and the checks that need no database.

Canonical string (lines joined by ``\\n``, no trailing newline)::

    LVYUE-HMAC-SHA256
    <METHOD, upper case>
    <canonical path>
    <canonical query>
    <hex SHA-256 of the raw body bytes, lower case>
    <timestamp: Unix seconds, decimal>
    <nonce>

signature = lower-case hex of HMAC-SHA256(key = app secret as UTF-8, msg = canonical string
as UTF-8).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote

from lvyue.accounts.errors import SignatureError

ALGORITHM = "LVYUE-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
RATE_WINDOW = timedelta(minutes=1)

# Header names the HTTP layer reads.
HEADER_KEY = "X-Lvyue-Key"
HEADER_TIMESTAMP = "X-Lvyue-Timestamp"
HEADER_NONCE = "X-Lvyue-Nonce"
HEADER_SIGNATURE = "X-Lvyue-Signature"

_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_UNRESERVED = "-_.~"

Query = str | Mapping[str, str] | Iterable[tuple[str, str]]


def _encode(value: str) -> str:
    return quote(value, safe=_UNRESERVED)


def canonical_path(path: str) -> str:
    """Each segment percent-decoded then encoded again (RFC 3986 unreserved kept)."""
    path = path.split("?", 1)[0] or "/"
    return "/".join(_encode(unquote(segment)) for segment in path.split("/"))


def _pairs(query: Query) -> list[tuple[str, str]]:
    if isinstance(query, str):
        return parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if isinstance(query, Mapping):
        return [(str(k), str(v)) for k, v in query.items()]
    return [(str(k), str(v)) for k, v in query]


def canonical_query(query: Query) -> str:
    """Pairs encoded, sorted by encoded name then value, joined ``name=value`` with ``&``.

    A raw query string is decoded first (``+`` and ``%20`` are both a space), so any correct
    encoding by the client gives the same canonical form.
    """
    encoded = sorted((_encode(k), _encode(v)) for k, v in _pairs(query))
    return "&".join(f"{k}={v}" for k, v in encoded)


def body_digest(body: bytes | str) -> str:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return hashlib.sha256(data).hexdigest()


def canonical_string(
    *, method: str, path: str, query: Query, body: bytes | str, timestamp: str | int, nonce: str
) -> str:
    return "\n".join(
        (
            ALGORITHM,
            method.upper(),
            canonical_path(path),
            canonical_query(query),
            body_digest(body),
            str(timestamp),
            nonce,
        )
    )


def sign(secret: str, canonical: str) -> str:
    return hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_request(
    secret: str,
    *,
    method: str,
    path: str,
    query: Query = "",
    body: bytes | str = b"",
    timestamp: str | int,
    nonce: str,
) -> str:
    """What a client does: the signature for one request."""
    return sign(
        secret,
        canonical_string(
            method=method, path=path, query=query, body=body, timestamp=timestamp, nonce=nonce
        ),
    )


def signature_matches(secret: str, canonical: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, canonical), signature.strip().lower())


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def check_nonce(nonce: str) -> None:
    if not _NONCE.fullmatch(nonce or ""):
        raise SignatureError(
            "nonce must be 8 to 64 characters of A-Z a-z 0-9 _ -", code="invalid_nonce"
        )


def parse_timestamp(timestamp: str | int) -> datetime:
    text = str(timestamp).strip()
    if not _TIMESTAMP.fullmatch(text):
        raise SignatureError(
            "timestamp must be Unix seconds (decimal digits)", code="invalid_timestamp"
        )
    return datetime.fromtimestamp(int(text), UTC)


def check_fresh(sent_at: datetime, now: datetime, max_skew: timedelta = MAX_SKEW) -> None:
    if abs(now - sent_at) > max_skew:
        raise SignatureError(
            f"timestamp is more than {int(max_skew.total_seconds())} s away from server time",
            code="stale_timestamp",
            server_time=int(now.timestamp()),
        )


def window_start(now: datetime, window: timedelta = RATE_WINDOW) -> datetime:
    """Start of the fixed rate-limit window that contains ``now``."""
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)
