"""Errors of authentication and authorisation, each with a stable code and an HTTP status.

Codes: ``invalid_credentials``, ``account_locked``, ``account_disabled``, ``invalid_token``
(401); ``unknown_key``, ``key_revoked``, ``bad_signature``, ``stale_timestamp``,
``reused_nonce``, ``invalid_nonce``, ``invalid_timestamp`` (401); ``forbidden`` (403);
``rate_limited`` (429).
"""

from __future__ import annotations

from lvyue.core.errors import LvyueError


class AccessError(LvyueError):
    http_status = 401


class AuthenticationFailed(AccessError):
    code = "invalid_credentials"


class SignatureError(AccessError):
    """A signed request was refused; ``code`` says why (see ``docs/api-signing.md``)."""

    code = "bad_signature"


class RateLimited(AccessError):
    code = "rate_limited"
    http_status = 429


class PermissionDenied(AccessError):
    code = "forbidden"
    http_status = 403
