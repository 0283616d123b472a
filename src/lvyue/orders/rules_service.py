"""Use cases of the merchant rule book: load (versioned), list, and the active set."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from lvyue.core.clock import now
from lvyue.core.db import table_of
from lvyue.core.errors import Conflict, LvyueError, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.orders.models import ReviewRule
from lvyue.orders.rules import Rule, RuleError, parse_rule, parse_rules, rule_to_json

RULE = table_of(ReviewRule)


class InvalidRule(ValidationError):
    """A rule book that cannot be used; the message names the rule and the field."""

    def __init__(self, message: str, *, rule: str, field: str) -> None:
        LvyueError.__init__(self, message, code="invalid_rule", rule=rule, field=field)
        self.field = field
        self.problem = message


def read_document(path: Path) -> Any:
    """A rules file, YAML or JSON; syntax errors name the file and the place."""
    if not path.exists():
        raise ValidationError("FILE", f"{path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            "FILE", f"{path.name}: invalid JSON at line {exc.lineno}: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValidationError(
            "FILE", f"{path.name}: invalid YAML{where}: {getattr(exc, 'problem', exc)}"
        ) from None


def checked_rules(document: Any) -> list[Rule]:
    try:
        return parse_rules(document)
    except RuleError as exc:
        raise InvalidRule(str(exc), rule=exc.rule, field=exc.field) from None


@dataclass
class LoadReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


class StaleRuleBook(Conflict):
    http_status = 409


def load_rules(
    uow: UnitOfWork, document: Any, *, expected_version: str | None = None
) -> LoadReport:
    """Make the document the active rule book. A changed rule gets a new version (the old one
    is kept, inactive, for the record); rules missing from the document are retired. With
    ``expected_version``, refuse when the active book is no longer that one."""
    rules = checked_rules(document)
    current = {r.name: r for r in uow.conn.execute(sa.select(RULE).where(RULE.c.active.is_(True)))}
    if expected_version is not None:
        active = book_version([{"name": r.name, "version": r.version} for r in current.values()])
        if active != expected_version:
            raise StaleRuleBook(
                f"the rule book changed meanwhile (now {active}, you edited {expected_version})",
                code="stale_rule_book",
                version=active,
            )
    report = LoadReport()
    ts = now()
    for rule in rules:
        definition = rule_to_json(rule)
        old = current.pop(rule.name, None)
        if old is not None and old.definition == definition:
            report.unchanged.append(rule.name)
            continue
        if old is not None:
            uow.conn.execute(sa.update(RULE).where(RULE.c.id == old.id).values(active=False))
            report.changed.append(rule.name)
        else:
            report.added.append(rule.name)
        last = uow.conn.execute(
            sa.select(sa.func.max(RULE.c.version)).where(RULE.c.name == rule.name)
        ).scalar()
        uow.conn.execute(
            sa.insert(RULE).values(
                name=rule.name,
                version=(last or 0) + 1,
                priority=rule.priority,
                enabled=rule.enabled,
                definition=definition,
                active=True,
                created_at=ts,
                created_by=uow.actor,
            )
        )
    for name, old in current.items():
        uow.conn.execute(sa.update(RULE).where(RULE.c.id == old.id).values(active=False))
        report.retired.append(name)
    return report


def active_rules(uow: UnitOfWork) -> list[Rule]:
    rows = uow.conn.execute(
        sa.select(RULE.c.version, RULE.c.definition).where(RULE.c.active.is_(True))
    ).all()
    rules = [replace(parse_rule(r.definition), version=r.version) for r in rows]
    return sorted(rules, key=lambda r: (r.priority, r.name))


def list_rules(uow: UnitOfWork, *, history: bool = False) -> list[dict[str, Any]]:
    stmt = sa.select(RULE).order_by(RULE.c.priority, RULE.c.name, RULE.c.version)
    if not history:
        stmt = stmt.where(RULE.c.active.is_(True))
    return [
        {
            "name": r.name,
            "version": r.version,
            "priority": r.priority,
            "enabled": r.enabled,
            "active": r.active,
            "created_at": r.created_at,
            "created_by": r.created_by,
            **r.definition,
        }
        for r in uow.conn.execute(stmt)
    ]


def book_version(rules: list[dict[str, Any]]) -> str:
    """A short fingerprint of the active rule book: it changes whenever any rule does, so a
    client can say which book it edited (``expected_version``) and not overwrite another's."""
    names = sorted(f"{r['name']}@{r['version']}" for r in rules)
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:16]


def rule_book(uow: UnitOfWork) -> dict[str, Any]:
    rules = list_rules(uow)
    return {"version": book_version(rules), "rules": rules}
