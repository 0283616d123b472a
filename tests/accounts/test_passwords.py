"""Hashing, the password policy and the lock-out rule: pure, with an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lvyue.accounts import passwords
from lvyue.accounts.passwords import LockoutPolicy, LoginState, after_failure, current_state
from lvyue.core.errors import ValidationError
from tests.accounts.conftest import T0

MIN = timedelta(minutes=1)


def test_hash_is_salted_argon2id_and_verifies(real_hasher: None) -> None:
    h1 = passwords.hash_password("correct horse 9")
    h2 = passwords.hash_password("correct horse 9")
    assert h1.startswith("$argon2id$") and h1 != h2
    assert "m=65536,t=3,p=4" in h1
    assert passwords.verify_password("correct horse 9", h1) == (True, None)
    assert passwords.verify_password("correct horse 8", h1) == (False, None)
    assert passwords.verify_password("correct horse 9", "not-a-hash") == (False, None)
    assert passwords.verify_password("x" * 10_000, h1) == (False, None)


def test_weaker_hashes_are_upgraded_on_verify(real_hasher: None) -> None:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    old = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    ok, new = passwords.verify_password("correct horse 9", old.hash("correct horse 9"))
    assert ok and new is not None and "m=65536,t=3,p=4" in new


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short9", "at least 10"),
        ("          ", "blank"),
        ("Zhang.San1", "username"),
        (" zhang.san1 ", "username"),
        ("y" * 257, "at most"),
    ],
)
def test_policy_refuses(password: str, problem: str) -> None:
    with pytest.raises(ValidationError) as exc:
        passwords.check_policy("zhang.san1", password)
    assert exc.value.code == "weak_password" and exc.value.field == "password"
    assert problem in exc.value.problem


def test_policy_accepts_and_refuses_reuse() -> None:
    passwords.check_policy("zhang.san1", "长城长城长城长城长城")  # ten characters, any script
    with pytest.raises(ValidationError, match="differ"):
        passwords.check_policy("li", "same password", old_password="same password")


def test_five_failures_lock_for_fifteen_minutes() -> None:
    s = LoginState()
    for i in range(4):
        s = after_failure(s, T0 + i * MIN)
        assert s.failed_logins == i + 1 and not s.is_locked(T0 + i * MIN)
    s = after_failure(s, T0 + 4 * MIN)
    assert s.locked_until == T0 + 19 * MIN
    assert s.is_locked(T0 + 19 * MIN - timedelta(seconds=1))
    assert not s.is_locked(T0 + 19 * MIN)


def test_failures_while_locked_do_not_extend_the_lock() -> None:
    s = LoginState()
    for i in range(5):
        s = after_failure(s, T0 + i * MIN)
    locked_until = s.locked_until
    for i in range(5, 19):
        s = after_failure(s, T0 + i * MIN)
        assert s.locked_until == locked_until
    # once the lock has ended, a new failure starts a fresh count
    s = after_failure(s, T0 + 20 * MIN)
    assert s.failed_logins == 1 and s.locked_until is None


def test_failures_far_apart_do_not_add_up() -> None:
    policy = LockoutPolicy(max_failures=3, failure_window=timedelta(minutes=10))
    s = LoginState()
    for i in range(5):
        s = after_failure(s, T0 + i * 11 * MIN, policy)
        assert s.failed_logins == 1
    assert current_state(s, T0 + 100 * MIN, policy) == LoginState(0, None, None)
