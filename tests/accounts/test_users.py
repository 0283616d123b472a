"""Users, log-in with lock-out, bearer tokens, password changes and their audit rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lvyue.accounts import queries, service
from lvyue.accounts.errors import AuthenticationFailed
from lvyue.accounts.passwords import DEFAULT_POLICY
from lvyue.accounts.queries import AuditFilter
from lvyue.accounts.roles import Role
from lvyue.core.errors import Conflict, LvyueError, NotFound, ValidationError
from tests.accounts.conftest import PASSWORD, T0
from tests.conftest import UowFactory, count

MIN = timedelta(minutes=1)
WHERE = {"ip": "10.0.0.8", "user_agent": "pytest-browser/1.0"}


def add(uow: UowFactory, username: str = "zhang", role: str = "operations", **kw: object) -> int:
    with uow() as u:
        return service.add_user(u, username=username, password=PASSWORD, role=role, now=T0, **kw)


def log_in(
    uow: UowFactory, password: str, at: datetime, username: str = "zhang"
) -> service.LoginResult:
    with uow() as u:
        return service.log_in(u, username=username, password=password, now=at, **WHERE)


def audit(uow: UowFactory, **filters: str) -> list[dict[str, Any]]:
    with uow(readonly=True) as u:
        return queries.list_audit(u, AuditFilter(**filters))


def test_add_user_validates_and_never_lists_the_hash(uow: UowFactory) -> None:
    add(uow, "Zhang", warehouse_codes=["HZ"], shop_codes=["TB-01", "TB-01"])
    with pytest.raises(Conflict) as exc:
        add(uow, "zhang")
    assert exc.value.code == "user_exists"
    with pytest.raises(ValidationError) as bad, uow() as u:
        service.add_user(u, username="li", password="li", role="viewer")
    assert bad.value.code == "weak_password"
    with pytest.raises(ValidationError) as bad, uow() as u:
        service.add_user(u, username="a b", password=PASSWORD, role="viewer")
    assert bad.value.field == "username"
    with pytest.raises(LvyueError) as role, uow() as u:
        service.add_user(u, username="li", password=PASSWORD, role="boss")
    assert role.value.code == "unknown_role"
    with uow(readonly=True) as u:
        users = queries.list_users(u)
    assert [x["username"] for x in users] == ["zhang"]
    assert users[0]["warehouse_codes"] == ["HZ"] and users[0]["shop_codes"] == ["TB-01"]
    assert "password_hash" not in users[0]
    assert [e["action"] for e in audit(uow)] == ["user.created"]


def test_login_issues_a_token_and_audits(uow: UowFactory, engine: sa.Engine) -> None:
    add(uow, warehouse_codes=["HZ"])
    result = log_in(uow, PASSWORD, T0)
    assert result.ok and result.token and result.token.startswith("lvt_")
    result.raise_for_error()
    assert result.principal is not None and result.principal.role is Role.OPERATIONS
    assert result.principal.warehouse_codes == {"HZ"}
    with uow(readonly=True) as u:
        p = service.user_for_token(u, result.token, now=T0 + MIN)
    assert p == result.principal
    # only the hash of the token is stored
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM accounts_token")).scalar_one()
    assert result.token not in stored and len(stored) == 64
    (entry,) = audit(uow, action="login.*")
    assert entry["action"] == "login.succeeded" and entry["actor"] == "zhang"
    assert entry["ip"] == "10.0.0.8" and entry["user_agent"] == "pytest-browser/1.0"
    assert entry["at"] == T0


def test_wrong_password_and_unknown_user_look_the_same_and_are_audited(uow: UowFactory) -> None:
    add(uow)
    wrong = log_in(uow, "not the password", T0)
    nobody = log_in(uow, PASSWORD, T0, username="nobody")
    for r in (wrong, nobody):
        assert not r.ok and r.token is None and r.error is not None
        assert r.error.code == "invalid_credentials" and r.error.http_status == 401
        assert r.error.message == "wrong username or password"
    with pytest.raises(AuthenticationFailed):
        wrong.raise_for_error()
    failed = audit(uow, action="login.failed")
    assert [(e["target"], e["details"]["reason"]) for e in failed] == [
        ("nobody", "unknown_user"),
        ("zhang", "wrong_password"),
    ]
    assert failed[1]["details"]["failures"] == 1


def test_lockout_after_five_failures_for_fifteen_minutes(uow: UowFactory) -> None:
    add(uow)
    for i in range(4):
        assert log_in(uow, "wrong wrong", T0 + i * MIN).error.code == "invalid_credentials"
    fifth = log_in(uow, "wrong wrong", T0 + 4 * MIN)
    assert fifth.error is not None and fifth.error.code == "account_locked"
    until = T0 + 19 * MIN
    assert fifth.error.details["locked_until"] == until.isoformat()
    # locked: even the right password is refused, and trying does not extend the lock
    for at in (T0 + 5 * MIN, T0 + 10 * MIN, until - timedelta(seconds=1)):
        r = log_in(uow, PASSWORD, at)
        assert r.error is not None and r.error.code == "account_locked"
        assert r.error.details["locked_until"] == until.isoformat()
    r = log_in(uow, "wrong wrong", T0 + 18 * MIN)
    assert r.error is not None and r.error.details["locked_until"] == until.isoformat()
    with uow(readonly=True) as u:
        assert queries.get_user(u, "zhang")["locked_until"] == until
    # the lock ends on time
    assert log_in(uow, PASSWORD, until).ok
    with uow(readonly=True) as u:
        user = queries.get_user(u, "zhang")
    assert user["failed_logins"] == 0 and user["locked_until"] is None
    actions = [e["action"] for e in reversed(audit(uow, action="login.*"))]
    assert actions == ["login.failed"] * 5 + ["login.locked"] * 4 + ["login.succeeded"]


def test_success_resets_the_failure_count_and_unlock(uow: UowFactory) -> None:
    add(uow)
    for i in range(4):
        log_in(uow, "wrong wrong", T0 + i * MIN)
    assert log_in(uow, PASSWORD, T0 + 4 * MIN).ok
    for i in range(4):
        assert log_in(uow, "wrong wrong", T0 + (5 + i) * MIN).error.code == "invalid_credentials"
    assert log_in(uow, "wrong wrong", T0 + 9 * MIN).error.code == "account_locked"
    with uow() as u:
        service.unlock_user(u, username="zhang")
    assert log_in(uow, PASSWORD, T0 + 10 * MIN).ok
    assert audit(uow, action="user.unlocked")


def test_disabled_user_cannot_log_in_and_loses_tokens(uow: UowFactory) -> None:
    add(uow)
    token = log_in(uow, PASSWORD, T0).token
    assert token
    with uow() as u:
        service.update_user(u, username="zhang", active=False)
    with uow(readonly=True) as u:
        assert service.user_for_token(u, token, now=T0 + MIN) is None
    r = log_in(uow, PASSWORD, T0 + MIN)
    assert r.error is not None and r.error.code == "account_disabled"
    assert log_in(uow, "wrong wrong", T0 + MIN).error.code == "invalid_credentials"


def test_token_expiry_and_logout(uow: UowFactory) -> None:
    uid = add(uow)
    with uow() as u:
        short = service.issue_token(u, uid, ttl=timedelta(minutes=30), now=T0)
        other = service.issue_token(u, uid, now=T0)
    with uow(readonly=True) as u:
        assert service.user_for_token(u, short, now=T0 + 29 * MIN) is not None
        assert service.user_for_token(u, short, now=T0 + 30 * MIN) is None
        assert service.user_for_token(u, "lvt_made-up", now=T0) is None
        assert service.user_for_token(u, "", now=T0) is None
    with uow() as u:
        assert service.log_out(u, token=other, now=T0 + MIN, **WHERE)
    with uow() as u:
        assert not service.log_out(u, token=other, now=T0 + MIN)
    with uow(readonly=True) as u:
        assert service.user_for_token(u, other, now=T0 + 2 * MIN) is None
    (entry,) = audit(uow, action="logout")
    assert entry["actor"] == "zhang" and entry["ip"] == "10.0.0.8"


def test_role_changes_apply_to_existing_tokens(uow: UowFactory) -> None:
    add(uow)
    token = log_in(uow, PASSWORD, T0).token
    assert token
    with uow() as u:
        service.update_user(u, username="zhang", role="warehouse", warehouse_codes=["HZ"])
    with uow(readonly=True) as u:
        p = service.user_for_token(u, token, now=T0 + MIN)
    assert p is not None and p.role is Role.WAREHOUSE and not p.can("pii.view")
    assert not p.sees_warehouse("SH")
    with pytest.raises(NotFound), uow() as u:
        service.update_user(u, username="nobody", role="viewer")


def change(
    uow: UowFactory, old: str, new: str, at: datetime, **kw: Any
) -> service.PasswordChangeResult:
    with uow(actor="zhang") as u:
        return service.change_password(
            u, username="zhang", old_password=old, new_password=new, now=at, **WHERE, **kw
        )


def test_change_password(uow: UowFactory) -> None:
    add(uow)
    current = log_in(uow, PASSWORD, T0).token
    elsewhere = log_in(uow, PASSWORD, T0).token
    assert current and elsewhere
    wrong = change(uow, "wrong wrong", "new password 1", T0)
    assert isinstance(wrong.error, ValidationError) and wrong.error.code == "wrong_password"
    assert wrong.error.field == "old_password"
    with pytest.raises(ValidationError):
        wrong.raise_for_error()
    for weak in ("short", "ZHANG", PASSWORD):
        bad = change(uow, PASSWORD, weak, T0)
        assert isinstance(bad.error, ValidationError) and bad.error.code == "weak_password"
        assert bad.error.field == "new_password"
    done = change(uow, PASSWORD, "new password 1", T0 + MIN, keep_token=current)
    assert done.ok and done.sessions_ended == 1
    done.raise_for_error()
    with uow(readonly=True) as u:
        assert service.user_for_token(u, current, now=T0 + 2 * MIN) is not None
        assert service.user_for_token(u, elsewhere, now=T0 + 2 * MIN) is None
    assert not log_in(uow, PASSWORD, T0 + 2 * MIN).ok
    assert log_in(uow, "new password 1", T0 + 2 * MIN).ok
    (entry,) = audit(uow, action="password.changed")
    assert entry["target"] == "zhang" and entry["ip"] == "10.0.0.8"
    assert entry["details"] == {"sessions_ended": 1}


def test_refused_password_changes_are_audited_without_the_passwords(uow: UowFactory) -> None:
    add(uow)
    change(uow, "guess number 1", "new password 1", T0)
    change(uow, PASSWORD, "short", T0 + MIN)
    failed = audit(uow, action="password.change_failed")
    assert [e["details"] for e in reversed(failed)] == [
        {"reason": "wrong_password", "failures": 1},
        {"reason": "weak_password", "problem": "must be at least 10 characters"},
    ]
    assert {(e["actor"], e["target"], e["ip"], e["user_agent"]) for e in failed} == {
        ("zhang", "zhang", WHERE["ip"], WHERE["user_agent"])
    }
    text = repr(audit(uow))
    for secret in ("guess number 1", "new password 1", "short", PASSWORD):
        assert repr(secret)[1:-1] not in text


def error_code(result: service.LoginResult | service.PasswordChangeResult) -> str | None:
    return None if result.error is None else result.error.code


def test_wrong_old_passwords_count_towards_the_login_lockout(uow: UowFactory) -> None:
    """Guessing the old password with a stolen session is guessing the password: the same
    counter and the same lock, whichever door the guesses come through."""
    add(uow)
    for i in range(3):
        assert error_code(log_in(uow, "wrong wrong", T0 + i * MIN)) == "invalid_credentials"
    assert error_code(change(uow, "wrong again", "new password 1", T0 + 3 * MIN)) == (
        "wrong_password"
    )
    locking = change(uow, "wrong again", "new password 1", T0 + 4 * MIN)
    assert isinstance(locking.error, AuthenticationFailed)
    assert locking.error.code == "account_locked"
    # locked: the right password opens neither door until the lock ends
    assert error_code(log_in(uow, PASSWORD, T0 + 5 * MIN)) == "account_locked"
    assert error_code(change(uow, PASSWORD, "new password 1", T0 + 6 * MIN)) == "account_locked"
    failed = list(reversed(audit(uow, action="password.change_failed")))
    assert [e["details"]["reason"] for e in failed] == [
        "wrong_password",
        "wrong_password",
        "locked",
    ]
    assert failed[1]["details"]["failures"] == 5 and "locked_until" in failed[1]["details"]
    later = T0 + 4 * MIN + DEFAULT_POLICY.lock_for
    assert change(uow, PASSWORD, "new password 1", later).ok
    assert log_in(uow, "new password 1", later + MIN).ok


def test_admin_reset_password_lifts_lock(uow: UowFactory) -> None:
    add(uow)
    for i in range(5):
        log_in(uow, "wrong wrong", T0 + i * MIN)
    with uow(actor="admin") as u:
        service.reset_password(u, username="zhang", new_password="fresh start 1")
    assert log_in(uow, "fresh start 1", T0 + 6 * MIN).ok
    (entry,) = audit(uow, action="password.reset")
    assert entry["actor"] == "admin"


def test_audit_is_append_only_filterable_and_exports_csv(
    uow: UowFactory, engine: sa.Engine
) -> None:
    import csv
    import io

    add(uow)
    log_in(uow, "wrong wrong", T0 + MIN)
    log_in(uow, PASSWORD, T0 + 2 * MIN)
    with uow(actor="ops") as u:
        service.record(
            u,
            action="order.pii_revealed",
            target_type="order",
            target="=HYPERLINK(1)",
            details={"field": "phone", "订单": "E1"},
            at=T0 + 3 * MIN,
        )
    assert len(audit(uow)) == 4
    assert [e["action"] for e in audit(uow, actor="zhang")] == ["login.succeeded", "login.failed"]
    with uow(readonly=True) as u:
        window = queries.list_audit(u, AuditFilter(since=T0 + MIN, until=T0 + 3 * MIN))
        page1 = queries.list_audit(u, limit=2)
        page2 = queries.list_audit(u, limit=2, before_id=page1[-1]["id"])
        out = io.StringIO()
        n = queries.export_audit_csv(u, out, AuditFilter(action="login.*"))
    assert [e["action"] for e in window] == ["login.succeeded", "login.failed"]
    assert [e["id"] for e in page1 + page2] == sorted((e["id"] for e in audit(uow)), reverse=True)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert n == 2 and rows[0] == list(queries.CSV_COLUMNS)
    assert [r[3] for r in rows[1:]] == ["login.failed", "login.succeeded"]
    out = io.StringIO()
    with uow(readonly=True) as u:
        queries.export_audit_csv(u, out, AuditFilter(target_type="order"))
    row = list(csv.reader(io.StringIO(out.getvalue())))[1]
    assert row[5] == "'=HYPERLINK(1)"  # no formula for spreadsheets
    assert row[6] == '{"field": "phone", "订单": "E1"}'
    # the database refuses to rewrite history
    for statement in (
        "UPDATE accounts_audit SET actor = 'someone else'",
        "DELETE FROM accounts_audit",
        "DELETE FROM accounts_audit WHERE action = 'login.failed'",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert count(engine, "accounts_audit") == 4
    assert [e["actor"] for e in audit(uow, action="login.*")] == ["zhang", "zhang"]
