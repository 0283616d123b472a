"""Signing of outgoing webhooks (see ``docs/webhooks.md``).

``X-Lvyue-Signature`` is the lowercase hex HMAC-SHA256, keyed with the subscription's secret,
of ``"<X-Lvyue-Timestamp>.<raw body>"``. The timestamp (Unix seconds) is inside the signed
text, so a captured request cannot be replayed later with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

HEADER_EVENT = "X-Lvyue-Event"
HEADER_DELIVERY = "X-Lvyue-Delivery"
HEADER_TIMESTAMP = "X-Lvyue-Timestamp"
HEADER_SIGNATURE = "X-Lvyue-Signature"
SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def encode(envelope: dict[str, Any]) -> bytes:
    """The exact body sent: compact UTF-8 JSON. Receivers verify the bytes they received and
    must not re-serialise before checking."""
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (constant-time)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature.strip().lower())
