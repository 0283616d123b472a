"""Passwords: argon2id hashing (pwdlib), the password policy and the lock-out rule.

Pure module: no database. The lock-out rule is a function of the stored state and the clock,
so tests inject the time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

from lvyue.core.errors import ValidationError

MIN_LENGTH = 10
# Longer inputs are refused before hashing: argon2 of megabytes is a cheap denial of service.
MAX_LENGTH = 256


@cache
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, stored_hash: str) -> tuple[bool, str | None]:
    """(matches, new hash if the stored one should be upgraded to current parameters)."""
    if len(password) > MAX_LENGTH:
        return False, None
    try:
        return _hasher().verify_and_update(password, stored_hash)
    except UnknownHashError:
        return False, None


@cache
def _dummy_hash() -> str:
    return hash_password("lvyue-no-such-user-dummy")


def burn_time(password: str) -> None:
    """Spend the time of one verification, so an unknown username answers as slowly as a
    wrong password does (no user enumeration by timing)."""
    verify_password(password, _dummy_hash())


def check_policy(username: str, password: str, *, old_password: str | None = None) -> None:
    """Raise ``ValidationError`` (field ``password``, code ``weak_password``) if not allowed."""
    problem = None
    if len(password) < MIN_LENGTH:
        problem = f"must be at least {MIN_LENGTH} characters"
    elif len(password) > MAX_LENGTH:
        problem = f"must be at most {MAX_LENGTH} characters"
    elif not password.strip():
        problem = "must not be blank"
    elif password.strip().casefold() == username.strip().casefold():
        problem = "must not be the username"
    elif old_password is not None and password == old_password:
        problem = "must differ from the old password"
    if problem:
        err = ValidationError("password", problem)
        err.code = "weak_password"
        raise err


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    # Failures further apart than this do not add up.
    failure_window: timedelta = timedelta(minutes=15)


DEFAULT_POLICY = LockoutPolicy()


@dataclass(frozen=True)
class LoginState:
    """The lock-out columns of a user row."""

    failed_logins: int = 0
    last_failed_at: datetime | None = None
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def current_state(state: LoginState, now: datetime, policy: LockoutPolicy) -> LoginState:
    """The state as it stands at ``now``: an expired lock or stale failures are forgotten."""
    if state.locked_until is not None and now >= state.locked_until:
        return LoginState()
    if state.last_failed_at is not None and now - state.last_failed_at > policy.failure_window:
        return replace(state, failed_logins=0, last_failed_at=None)
    return state


def after_failure(
    state: LoginState, now: datetime, policy: LockoutPolicy = DEFAULT_POLICY
) -> LoginState:
    """The state after a wrong password at ``now``.

    A failure while locked changes nothing: the lock ends ``lock_for`` after it began, however
    often someone keeps trying.
    """
    state = current_state(state, now, policy)
    if state.is_locked(now):
        return state
    failures = state.failed_logins + 1
    locked_until = now + policy.lock_for if failures >= policy.max_failures else None
    return LoginState(failures, now, locked_until)


def after_success() -> LoginState:
    return LoginState()
