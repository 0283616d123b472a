"""`lvyue user|apikey|audit ...` through Typer's test runner."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from typer.testing import CliRunner

from lvyue.accounts import service, signing
from lvyue.accounts.cli import apikey_app, audit_app, user_app
from lvyue.core.db import engine_for
from lvyue.core.errors import ValidationError
from lvyue.core.uow import UnitOfWork
from tests.accounts.conftest import PASSWORD

runner = CliRunner()


def test_user_add_and_list(db: str) -> None:
    result = runner.invoke(
        user_app,
        [
            "add",
            "Li.Si",
            "--role",
            "warehouse",
            "--warehouse",
            "HZ",
            "--warehouse",
            "SH",
            "--password-stdin",
            "--db",
            db,
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "user li.si added" in result.output
    # prompted twice, hidden
    result = runner.invoke(
        user_app,
        ["add", "wang", "--role", "customer_service", "--shop", "TB-01", "--db", db],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    result = runner.invoke(
        user_app, ["add", "zhao", "--role", "viewer", "--db", db], input="a\nb\na\na\n"
    )
    assert isinstance(result.exception, ValidationError)  # the retyped 'a' is too short
    result = runner.invoke(user_app, ["list", "--json", "--db", db])
    assert result.exit_code == 0, result.output
    users = json.loads(result.output)
    assert [(u["username"], u["role"], u["warehouse_codes"], u["shop_codes"]) for u in users] == [
        ("li.si", "warehouse", ["HZ", "SH"], []),
        ("wang", "customer_service", [], ["TB-01"]),
    ]
    assert "password_hash" not in result.output and "argon2" not in result.output
    result = runner.invoke(user_app, ["list", "--db", db], env={"COLUMNS": "200"})
    assert "li.si" in result.output and "HZ,SH" in result.output
    with UnitOfWork(engine_for(db)) as uow:
        assert service.log_in(uow, username="li.si", password=PASSWORD).ok


def test_user_set_password_and_unlock(db: str) -> None:
    runner.invoke(
        user_app,
        ["add", "li", "--role", "viewer", "--password-stdin", "--db", db],
        input=PASSWORD + "\n",
    )
    result = runner.invoke(
        user_app, ["set-password", "li", "--password-stdin", "--db", db], input="brand new pw\n"
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(user_app, ["unlock", "li", "--db", db]).exit_code == 0
    with UnitOfWork(engine_for(db)) as uow:
        assert service.log_in(uow, username="li", password="brand new pw").ok


def test_apikey_create_list_revoke(db: str) -> None:
    result = runner.invoke(
        apikey_app, ["create", "金蝶ERP", "--role", "finance", "--rate", "100", "--db", db]
    )
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.output.splitlines() if ":" in line)
    app_key, secret = lines["app key"].strip(), lines["app secret"].strip()
    assert app_key.startswith("lvk_") and len(secret) >= 40
    with UnitOfWork(engine_for(db)) as uow:
        req = {"method": "GET", "path": "/x", "query": "", "body": b"", "nonce": "abcdefgh"}
        ts = signing.parse_timestamp(1_900_000_000)
        sig = signing.sign_request(secret, timestamp=1_900_000_000, **req)
        p = service.verify_request(
            uow, app_key=app_key, signature=sig, timestamp=1_900_000_000, now=ts, **req
        )
    assert p.can("finance.read")
    result = runner.invoke(apikey_app, ["list", "--json", "--db", db])
    (listed,) = json.loads(result.output)
    assert listed["app_key"] == app_key and listed["rate_limit_per_minute"] == 100
    assert secret not in result.output
    result = runner.invoke(apikey_app, ["create", "bi", "--role", "viewer", "--json", "--db", db])
    assert json.loads(result.output)["role"] == "viewer"
    result = runner.invoke(apikey_app, ["revoke", app_key, "--db", db])
    assert result.exit_code == 0, result.output
    result = runner.invoke(apikey_app, ["list", "--db", db], env={"COLUMNS": "200"})
    assert app_key in result.output and "金蝶ERP" in result.output


def test_audit_list_and_export(db: str, tmp_path: Path) -> None:
    runner.invoke(
        user_app,
        ["add", "li", "--role", "viewer", "--password-stdin", "--db", db],
        input=PASSWORD + "\n",
    )
    with UnitOfWork(engine_for(db)) as uow:
        service.log_in(uow, username="li", password="wrong wrong", ip="10.1.2.3")
    result = runner.invoke(audit_app, ["list", "--json", "--db", db])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [e["action"] for e in entries] == ["login.failed", "user.created"]
    assert entries[0]["ip"] == "10.1.2.3"
    assert (entries[1]["actor"], entries[1]["ip"]) == (f"cli:{getpass.getuser()}", "cli")
    result = runner.invoke(audit_app, ["list", "--action", "login.*", "--db", db])
    assert "login.failed" in result.output and "user.created" not in result.output
    result = runner.invoke(audit_app, ["list", "--since", "2999-01-01", "--json", "--db", db])
    assert json.loads(result.output) == []
    out = tmp_path / "audit.csv"
    result = runner.invoke(audit_app, ["export", "-o", str(out), "--db", db])
    assert result.exit_code == 0, result.output
    # the export is audited first, so it lists itself
    assert "3 entries" in result.output
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("id,at,actor,action")
    assert ",audit.export,audit,," in text.splitlines()[-1]
    result = runner.invoke(audit_app, ["export", "--actor", "li", "--db", db])
    assert result.output.count("\n") == 2 and "login.failed" in result.output
    result = runner.invoke(audit_app, ["list", "--action", "audit.export", "--json", "--db", db])
    exports = json.loads(result.output)
    assert [e["details"] for e in exports] == [
        {"filters": {"actor": "li"}, "rows": 1, "output": "stdout"},
        {"filters": {}, "rows": 2, "output": str(out)},
    ]
