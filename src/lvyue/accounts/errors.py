"""Errors of authentication and authorisation, each with a stable code and an HTTP status.

Codes: ``invalid_credentials``, ``account_locked``, ``account_disabled``, ``invalid_token``
(401); ``unknown_key``, ``key_revoked``, ``bad_signature``, ``stale_timestamp``,
``reused_nonce``, ``invalid_nonce``, ``invalid_timestamp``, ``login_required`` (401);
``forbidden``, ``csrf_failed`` (403); ``rate_limited`` (429).
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


class LoginRequired(AuthenticationFailed):
    """A page was asked for without a valid session: pages answer with the login page."""

    code = "login_required"


class CsrfFailed(PermissionDenied):
    """An unsafe request signed in by the session cookie lacks the session's CSRF token."""

    code = "csrf_failed"
