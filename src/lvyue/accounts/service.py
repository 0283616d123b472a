"""Account use cases: users and log-in, bearer tokens, API keys and signed requests, audit.

One call = one transaction (the caller's unit of work). Failures that must be remembered
(a wrong password counts towards the lock-out and is audited) are *returned* by ``log_in``
rather than raised, so that the unit of work commits them; the caller raises afterwards with
``LoginResult.raise_for_error()``::

    with UnitOfWork(engine) as uow:
        result = service.log_in(uow, username=u, password=p, ip=ip, user_agent=ua)
    result.raise_for_error()          # AuthenticationFailed: invalid_credentials / account_locked
    token = result.token

``change_password`` works the same way (``PasswordChangeResult``): a wrong old password counts
towards the same lock-out as a failed log-in, and every refused change is audited.

Everything else raises inside the unit of work, which rolls back: a refused signed request
leaves no nonce and no rate count behind.

Actions taken on the command line pass ``ip=CLI_ORIGIN, user_agent=CLI_AGENT``: the audit
log's "from where" for them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lvyue.accounts import passwords, signing
from lvyue.accounts.errors import AuthenticationFailed, RateLimited, SignatureError
from lvyue.accounts.models import ApiKey, ApiNonce, ApiRate, AuditEntry, Token, User
from lvyue.accounts.passwords import DEFAULT_POLICY, LockoutPolicy, LoginState
from lvyue.accounts.roles import Principal, Role, parse_role
from lvyue.core.clock import now as clock_now
from lvyue.core.crypto import decrypt, encrypt
from lvyue.core.db import table_of
from lvyue.core.errors import Conflict, LvyueError, NotFound, ValidationError
from lvyue.core.uow import UnitOfWork

USER = table_of(User)
TOKEN = table_of(Token)
API_KEY = table_of(ApiKey)
NONCE = table_of(ApiNonce)
RATE = table_of(ApiRate)
AUDIT = table_of(AuditEntry)

TOKEN_TTL = timedelta(hours=12)
TOKEN_PREFIX = "lvt_"
APP_KEY_PREFIX = "lvk_"
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-@")
# "From where" of an action taken on the command line (its audit row's ip and user agent).
CLI_ORIGIN = "cli"
CLI_AGENT = "lvyue-cli"


# ---------------------------------------------------------------------------------------------
# audit


def record(
    uow: UnitOfWork,
    *,
    action: str,
    actor: str | None = None,
    target_type: str = "",
    target: str = "",
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    at: datetime | None = None,
) -> int:
    """Append one audit row (``actor`` defaults to the unit of work's actor)."""
    result = uow.conn.execute(
        sa.insert(AUDIT).values(
            at=at or clock_now(),
            actor=(actor or uow.actor)[:100],
            action=action[:64],
            target_type=target_type[:32],
            target=str(target)[:200],
            details=details or {},
            ip=(ip or "")[:64],
            user_agent=(user_agent or "")[:300],
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def record_cli(
    uow: UnitOfWork,
    *,
    action: str,
    target_type: str = "",
    target: str = "",
    details: dict[str, Any] | None = None,
) -> int:
    """The audit row of a command that changes something, in the command's own transaction:
    who (the unit of work's actor, ``cli:<os user>``), what, when, and from where (``cli``)."""
    return record(
        uow,
        action=action,
        target_type=target_type,
        target=target,
        details=details,
        ip=CLI_ORIGIN,
        user_agent=CLI_AGENT,
    )


# ---------------------------------------------------------------------------------------------
# users


def _clean_username(username: str) -> str:
    name = username.strip().lower()
    if not 2 <= len(name) <= 64 or not set(name) <= USERNAME_CHARS:
        raise ValidationError(
            "username", "2 to 64 characters of a-z 0-9 . _ - @", username=username
        )
    return name


def _codes(values: Iterable[str]) -> list[str]:
    return sorted({v.strip() for v in values if v and v.strip()})


def _principal(row: Any) -> Principal:
    return Principal.of(
        user_id=row.id,
        username=row.username,
        role=row.role,
        warehouse_codes=row.warehouse_codes or (),
        shop_codes=row.shop_codes or (),
    )


def add_user(
    uow: UnitOfWork,
    *,
    username: str,
    password: str,
    role: Role | str,
    display_name: str = "",
    warehouse_codes: Iterable[str] = (),
    shop_codes: Iterable[str] = (),
    now: datetime | None = None,
    ip: str = "",
    user_agent: str = "",
) -> int:
    name = _clean_username(username)
    r = parse_role(role) if isinstance(role, str) else role
    passwords.check_policy(name, password)
    if uow.conn.execute(sa.select(USER.c.id).where(USER.c.username == name)).first():
        raise Conflict(f"user {name} already exists", code="user_exists", username=name)
    at = now or clock_now()
    result = uow.conn.execute(
        sa.insert(USER).values(
            username=name,
            display_name=display_name.strip(),
            password_hash=passwords.hash_password(password),
            role=r.value,
            warehouse_codes=_codes(warehouse_codes),
            shop_codes=_codes(shop_codes),
            active=True,
            failed_logins=0,
            password_changed_at=at,
            created_at=at,
        )
    )
    assert result.inserted_primary_key is not None
    record(
        uow,
        action="user.created",
        target_type="user",
        target=name,
        details={
            "role": r.value,
            "warehouses": _codes(warehouse_codes),
            "shops": _codes(shop_codes),
        },
        ip=ip,
        user_agent=user_agent,
        at=at,
    )
    return int(result.inserted_primary_key[0])


def _user_row(uow: UnitOfWork, username: str, *, lock: bool = False) -> Any:
    stmt = sa.select(USER).where(USER.c.username == username.strip().lower())
    if lock:
        stmt = stmt.with_for_update()
    return uow.conn.execute(stmt).first()


def _existing_user(uow: UnitOfWork, username: str, *, lock: bool = False) -> Any:
    row = _user_row(uow, username, lock=lock)
    if row is None:
        raise NotFound(f"user {username} does not exist", code="unknown_user", username=username)
    return row


def update_user(
    uow: UnitOfWork,
    *,
    username: str,
    role: Role | str | None = None,
    warehouse_codes: Iterable[str] | None = None,
    shop_codes: Iterable[str] | None = None,
    active: bool | None = None,
    display_name: str | None = None,
    ip: str = "",
    user_agent: str = "",
) -> None:
    """Change role, scope, active flag or display name (``None`` = leave as is)."""
    row = _existing_user(uow, username, lock=True)
    values: dict[str, Any] = {}
    if role is not None:
        values["role"] = (parse_role(role) if isinstance(role, str) else role).value
    if warehouse_codes is not None:
        values["warehouse_codes"] = _codes(warehouse_codes)
    if shop_codes is not None:
        values["shop_codes"] = _codes(shop_codes)
    if active is not None:
        values["active"] = active
    if display_name is not None:
        values["display_name"] = display_name.strip()
    if not values:
        return
    uow.conn.execute(sa.update(USER).where(USER.c.id == row.id).values(**values))
    if active is False:
        _revoke_tokens(uow, row.id, clock_now())
    record(
        uow,
        action="user.updated",
        target_type="user",
        target=row.username,
        details=values,
        ip=ip,
        user_agent=user_agent,
    )


# ---------------------------------------------------------------------------------------------
# log-in and lock-out


class _Refusable:
    """A use case whose refusal must still commit its bookkeeping (a failure count, an audit
    row): it returns the error, and the caller raises it once the unit of work has committed."""

    error: LvyueError | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise self.error


@dataclass(frozen=True)
class LoginResult(_Refusable):
    principal: Principal | None = None
    token: str | None = None
    error: AuthenticationFailed | None = None


def _state(row: Any) -> LoginState:
    return LoginState(row.failed_logins, row.last_failed_at, row.locked_until)


def _count_failure(
    uow: UnitOfWork, user_id: int, state: LoginState, at: datetime, policy: LockoutPolicy
) -> LoginState:
    """One more wrong password (at log-in or password change): counted, locking when due."""
    after = passwords.after_failure(state, at, policy)
    uow.conn.execute(
        sa.update(USER)
        .where(USER.c.id == user_id)
        .values(
            failed_logins=after.failed_logins,
            last_failed_at=after.last_failed_at,
            locked_until=after.locked_until,
        )
    )
    return after


def _locked_error(locked_until: datetime) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"account locked after repeated failures until {locked_until.isoformat()}",
        code="account_locked",
        locked_until=locked_until.isoformat(),
    )


def _invalid() -> AuthenticationFailed:
    return AuthenticationFailed("wrong username or password")


def log_in(
    uow: UnitOfWork,
    *,
    username: str,
    password: str,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
    policy: LockoutPolicy = DEFAULT_POLICY,
    issue: bool = True,
    token_ttl: timedelta = TOKEN_TTL,
) -> LoginResult:
    """Check a password, apply the lock-out rule, audit the attempt, issue a token on success.

    Never raises for bad credentials: see the module docstring.
    """
    at = now or clock_now()
    where: dict[str, Any] = {"ip": ip, "user_agent": user_agent, "at": at}
    row = _user_row(uow, username, lock=True)
    if row is None:
        passwords.burn_time(password)
        record(
            uow,
            action="login.failed",
            actor=username[:100],
            target_type="user",
            target=username,
            details={"reason": "unknown_user"},
            **where,
        )
        return LoginResult(error=_invalid())
    state = passwords.current_state(_state(row), at, policy)
    if state.is_locked(at):
        assert state.locked_until is not None
        record(
            uow,
            action="login.locked",
            actor=row.username,
            target_type="user",
            target=row.username,
            details={"reason": "locked", "locked_until": state.locked_until.isoformat()},
            **where,
        )
        return LoginResult(error=_locked_error(state.locked_until))
    matches, new_hash = passwords.verify_password(password, row.password_hash)
    if not matches:
        after = _count_failure(uow, row.id, state, at, policy)
        locked = after.is_locked(at)
        record(
            uow,
            action="login.failed",
            actor=row.username,
            target_type="user",
            target=row.username,
            details={
                "reason": "wrong_password",
                "failures": after.failed_logins,
                **({"locked_until": after.locked_until.isoformat()} if after.locked_until else {}),
            },
            **where,
        )
        if locked:
            assert after.locked_until is not None
            return LoginResult(error=_locked_error(after.locked_until))
        return LoginResult(error=_invalid())
    if not row.active:
        record(
            uow,
            action="login.failed",
            actor=row.username,
            target_type="user",
            target=row.username,
            details={"reason": "disabled"},
            **where,
        )
        return LoginResult(
            error=AuthenticationFailed("account is disabled", code="account_disabled")
        )
    values: dict[str, Any] = {
        "failed_logins": 0,
        "last_failed_at": None,
        "locked_until": None,
        "last_login_at": at,
    }
    if new_hash:
        values["password_hash"] = new_hash
    uow.conn.execute(sa.update(USER).where(USER.c.id == row.id).values(**values))
    principal = _principal(row)
    token = (
        issue_token(uow, principal, now=at, ttl=token_ttl, ip=ip, user_agent=user_agent)
        if issue
        else None
    )
    record(
        uow,
        action="login.succeeded",
        actor=row.username,
        target_type="user",
        target=row.username,
        **where,
    )
    return LoginResult(principal=principal, token=token)


def unlock_user(uow: UnitOfWork, *, username: str, ip: str = "", user_agent: str = "") -> None:
    row = _existing_user(uow, username, lock=True)
    uow.conn.execute(
        sa.update(USER)
        .where(USER.c.id == row.id)
        .values(failed_logins=0, last_failed_at=None, locked_until=None)
    )
    record(
        uow,
        action="user.unlocked",
        target_type="user",
        target=row.username,
        ip=ip,
        user_agent=user_agent,
    )


# ---------------------------------------------------------------------------------------------
# passwords


@dataclass(frozen=True)
class PasswordChangeResult(_Refusable):
    """What ``change_password`` did: the number of other sessions it ended, or the error to
    raise once the unit of work has committed the failure's bookkeeping."""

    sessions_ended: int = 0
    error: LvyueError | None = None


def change_password(
    uow: UnitOfWork,
    *,
    username: str,
    old_password: str,
    new_password: str,
    keep_token: str | None = None,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
    policy: LockoutPolicy = DEFAULT_POLICY,
) -> PasswordChangeResult:
    """The user changes their own password; every other session of the user ends.

    Never raises for a refused change (see the module docstring): a locked account, a wrong
    old password (``wrong_password``, counted towards the log-in lock-out, since guessing it
    here is guessing the password) or a new password against the policy (``weak_password``)
    each leave a ``password.change_failed`` audit row naming the reason, never the password.
    An unknown user raises ``NotFound``: there is nothing to count or lock.
    """
    at = now or clock_now()
    row = _existing_user(uow, username, lock=True)
    where: dict[str, Any] = {"ip": ip, "user_agent": user_agent, "at": at}

    def failed(error: LvyueError, reason: str, **details: Any) -> PasswordChangeResult:
        record(
            uow,
            action="password.change_failed",
            actor=row.username,
            target_type="user",
            target=row.username,
            details={"reason": reason, **details},
            **where,
        )
        return PasswordChangeResult(error=error)

    state = passwords.current_state(_state(row), at, policy)
    if state.is_locked(at):
        assert state.locked_until is not None
        return failed(
            _locked_error(state.locked_until),
            "locked",
            locked_until=state.locked_until.isoformat(),
        )
    matches, _ = passwords.verify_password(old_password, row.password_hash)
    if not matches:
        after = _count_failure(uow, row.id, state, at, policy)
        wrong: LvyueError = ValidationError("old_password", "is not the current password")
        wrong.code = "wrong_password"
        if after.is_locked(at):
            assert after.locked_until is not None
            wrong = _locked_error(after.locked_until)
        return failed(
            wrong,
            "wrong_password",
            failures=after.failed_logins,
            **({"locked_until": after.locked_until.isoformat()} if after.locked_until else {}),
        )
    try:
        passwords.check_policy(row.username, new_password, old_password=old_password)
    except ValidationError as exc:
        weak = ValidationError("new_password", exc.problem)
        weak.code = exc.code
        return failed(weak, exc.code, problem=exc.problem)
    _set_password(uow, row.id, new_password, at)
    ended = _revoke_tokens(uow, row.id, at, keep=_token_hash(keep_token) if keep_token else None)
    record(
        uow,
        action="password.changed",
        actor=row.username,
        target_type="user",
        target=row.username,
        details={"sessions_ended": ended},
        **where,
    )
    return PasswordChangeResult(sessions_ended=ended)


def reset_password(
    uow: UnitOfWork,
    *,
    username: str,
    new_password: str,
    now: datetime | None = None,
    ip: str = "",
    user_agent: str = "",
) -> None:
    """An administrator sets a new password; the user's sessions end and any lock is lifted."""
    at = now or clock_now()
    row = _existing_user(uow, username, lock=True)
    passwords.check_policy(row.username, new_password)
    _set_password(uow, row.id, new_password, at)
    _revoke_tokens(uow, row.id, at)
    record(
        uow,
        action="password.reset",
        target_type="user",
        target=row.username,
        ip=ip,
        user_agent=user_agent,
        at=at,
    )


def _set_password(uow: UnitOfWork, user_id: int, password: str, at: datetime) -> None:
    uow.conn.execute(
        sa.update(USER)
        .where(USER.c.id == user_id)
        .values(
            password_hash=passwords.hash_password(password),
            password_changed_at=at,
            failed_logins=0,
            last_failed_at=None,
            locked_until=None,
        )
    )


# ---------------------------------------------------------------------------------------------
# bearer tokens


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    uow: UnitOfWork,
    user: Principal | int,
    *,
    ttl: timedelta = TOKEN_TTL,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> str:
    """A new random bearer token for the user; only its SHA-256 is stored."""
    user_id = user.user_id if isinstance(user, Principal) else user
    if user_id is None:
        raise ValidationError("user", "an API key cannot hold a bearer token")
    at = now or clock_now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    uow.conn.execute(
        sa.insert(TOKEN).values(
            user_id=user_id,
            token_hash=_token_hash(token),
            created_at=at,
            expires_at=at + ttl,
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
    )
    return token


def user_for_token(uow: UnitOfWork, token: str, *, now: datetime | None = None) -> Principal | None:
    """The principal behind a bearer token, or ``None`` if unknown, expired, revoked or the
    user is disabled. Reads only."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    at = now or clock_now()
    row = uow.conn.execute(
        sa.select(USER)
        .join(TOKEN, TOKEN.c.user_id == USER.c.id)
        .where(
            TOKEN.c.token_hash == _token_hash(token),
            TOKEN.c.revoked_at.is_(None),
            TOKEN.c.expires_at > at,
            USER.c.active.is_(True),
        )
    ).first()
    return None if row is None else _principal(row)


def log_out(
    uow: UnitOfWork,
    *,
    token: str,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> bool:
    """Revoke one token. False if it was unknown or already ended."""
    at = now or clock_now()
    row = uow.conn.execute(
        sa.select(TOKEN.c.id, USER.c.username)
        .join(USER, USER.c.id == TOKEN.c.user_id)
        .where(TOKEN.c.token_hash == _token_hash(token), TOKEN.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return False
    uow.conn.execute(sa.update(TOKEN).where(TOKEN.c.id == row.id).values(revoked_at=at))
    record(
        uow,
        action="logout",
        actor=row.username,
        target_type="user",
        target=row.username,
        ip=ip,
        user_agent=user_agent,
        at=at,
    )
    return True


def _revoke_tokens(uow: UnitOfWork, user_id: int, at: datetime, keep: str | None = None) -> int:
    """End the user's live sessions (but ``keep``); return how many ended. Expired tokens
    are left as they are: they end by themselves."""
    stmt = sa.update(TOKEN).where(
        TOKEN.c.user_id == user_id, TOKEN.c.revoked_at.is_(None), TOKEN.c.expires_at > at
    )
    if keep:
        stmt = stmt.where(TOKEN.c.token_hash != keep)
    return int(uow.conn.execute(stmt.values(revoked_at=at)).rowcount)


# ---------------------------------------------------------------------------------------------
# API keys and signed requests


@dataclass(frozen=True)
class NewApiKey:
    """Shown once: the secret is never displayed again."""

    app_key: str
    secret: str
    name: str
    role: str


def create_api_key(
    uow: UnitOfWork,
    *,
    name: str,
    role: Role | str,
    warehouse_codes: Iterable[str] = (),
    shop_codes: Iterable[str] = (),
    rate_limit_per_minute: int = 600,
    now: datetime | None = None,
    ip: str = "",
    user_agent: str = "",
) -> NewApiKey:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("name", "1 to 100 characters")
    if rate_limit_per_minute < 1:
        raise ValidationError("rate_limit_per_minute", "must be at least 1")
    r = parse_role(role) if isinstance(role, str) else role
    if r is Role.ADMIN:
        # An integration that can manage users and keys is a standing skeleton key.
        raise ValidationError(
            "role", "API keys cannot have the admin role; pick the role of the job"
        )
    at = now or clock_now()
    app_key = APP_KEY_PREFIX + secrets.token_hex(10)
    secret = secrets.token_urlsafe(32)
    uow.conn.execute(
        sa.insert(API_KEY).values(
            name=name,
            app_key=app_key,
            secret_encrypted=encrypt(secret),
            role=r.value,
            warehouse_codes=_codes(warehouse_codes),
            shop_codes=_codes(shop_codes),
            rate_limit_per_minute=rate_limit_per_minute,
            created_at=at,
            created_by=uow.actor[:100],
            revoked_by="",
        )
    )
    record(
        uow,
        action="apikey.created",
        target_type="api_key",
        target=app_key,
        details={
            "name": name,
            "role": r.value,
            "warehouses": _codes(warehouse_codes),
            "shops": _codes(shop_codes),
            "rate_limit_per_minute": rate_limit_per_minute,
        },
        ip=ip,
        user_agent=user_agent,
        at=at,
    )
    return NewApiKey(app_key=app_key, secret=secret, name=name, role=r.value)


def revoke_api_key(
    uow: UnitOfWork,
    *,
    app_key: str,
    now: datetime | None = None,
    ip: str = "",
    user_agent: str = "",
) -> None:
    at = now or clock_now()
    row = uow.conn.execute(sa.select(API_KEY).where(API_KEY.c.app_key == app_key)).first()
    if row is None:
        raise NotFound(f"API key {app_key} does not exist", code="unknown_key")
    if row.revoked_at is not None:
        return
    uow.conn.execute(
        sa.update(API_KEY)
        .where(API_KEY.c.id == row.id)
        .values(revoked_at=at, revoked_by=uow.actor[:100])
    )
    record(
        uow,
        action="apikey.revoked",
        target_type="api_key",
        target=app_key,
        details={"name": row.name},
        ip=ip,
        user_agent=user_agent,
        at=at,
    )


def _insert(uow: UnitOfWork, table: sa.Table) -> Any:
    return postgresql.insert(table) if uow.is_postgres else sqlite.insert(table)


def verify_request(
    uow: UnitOfWork,
    *,
    app_key: str,
    signature: str,
    method: str,
    path: str,
    query: signing.Query,
    body: bytes | str,
    timestamp: str | int,
    nonce: str,
    now: datetime | None = None,
) -> Principal:
    """Authenticate one signed API request, or raise ``SignatureError`` / ``RateLimited``.

    Checks, in order: key known (``unknown_key``), not revoked (``key_revoked``), nonce and
    timestamp well-formed, signature (``bad_signature``), timestamp within ±5 minutes
    (``stale_timestamp``), nonce not seen (``reused_nonce``), rate (``rate_limited``).
    The nonce insert relies on the unique constraint (``ON CONFLICT DO NOTHING``), so two
    processes cannot both accept one nonce. Call it in its own unit of work.
    """
    at = now or clock_now()
    row = uow.conn.execute(sa.select(API_KEY).where(API_KEY.c.app_key == app_key)).first()
    if row is None:
        raise SignatureError("unknown app key", code="unknown_key")
    if row.revoked_at is not None:
        raise SignatureError("this app key has been revoked", code="key_revoked")
    signing.check_nonce(nonce)
    sent_at = signing.parse_timestamp(timestamp)
    canonical = signing.canonical_string(
        method=method, path=path, query=query, body=body, timestamp=timestamp, nonce=nonce
    )
    if not signing.signature_matches(decrypt(row.secret_encrypted), canonical, signature or ""):
        raise SignatureError("signature does not match the request", code="bad_signature")
    signing.check_fresh(sent_at, at)

    inserted = uow.conn.execute(
        _insert(uow, NONCE)
        .values(api_key_id=row.id, nonce=nonce, expires_at=sent_at + signing.MAX_SKEW)
        .on_conflict_do_nothing(index_elements=["api_key_id", "nonce"])
        .returning(NONCE.c.id)
    ).first()
    if inserted is None:
        raise SignatureError("this nonce was already used", code="reused_nonce")

    window = signing.window_start(at)
    counted = uow.conn.execute(
        _insert(uow, RATE)
        .values(api_key_id=row.id, window_start=window, count=1)
        .on_conflict_do_update(
            index_elements=["api_key_id", "window_start"], set_={"count": RATE.c.count + 1}
        )
        .returning(RATE.c.count)
    ).scalar_one()
    if counted == 1:
        # First request of a new window: forget old windows and nonces that can no longer
        # be replayed (their timestamps are stale by now).
        uow.conn.execute(
            sa.delete(RATE).where(RATE.c.api_key_id == row.id, RATE.c.window_start < window)
        )
        uow.conn.execute(
            sa.delete(NONCE).where(NONCE.c.api_key_id == row.id, NONCE.c.expires_at < at)
        )
    if counted > row.rate_limit_per_minute:
        retry = window + signing.RATE_WINDOW - at
        raise RateLimited(
            f"more than {row.rate_limit_per_minute} requests this minute",
            limit=row.rate_limit_per_minute,
            retry_after=max(1, int(retry.total_seconds() + 0.999)),
        )
    return Principal.of(
        user_id=None,
        username=row.name,
        role=row.role,
        warehouse_codes=row.warehouse_codes or (),
        shop_codes=row.shop_codes or (),
        app_key=row.app_key,
    )
