"""Webhook signature checks shared by the platforms that sign with base64(HMAC-SHA256).

Shopify (``X-Shopify-Hmac-Sha256``) and WooCommerce (``X-WC-Webhook-Signature``) both sign the
raw request body with HMAC-SHA256 and send the digest base64-encoded. The check must run on the
bytes as received: re-serialised JSON would not match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping


def base64_hmac_sha256(secret: str | bytes, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, body)), the value both platforms put in their header."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


def verify_base64_hmac_sha256(secret: str | bytes, body: bytes, signature: str | None) -> bool:
    """True if ``signature`` is the base64 HMAC-SHA256 of ``body``.

    The decoded digests are compared in constant time so the check leaks nothing about how
    much of a forged signature was right.
    """
    if not signature or not secret:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    expected = hmac.new(key, body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup: web frameworks differ in how they spell header names."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
