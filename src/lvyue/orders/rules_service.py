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
from lvyue.core.errors import Conflict, LvyueError, NotFound, ValidationError
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


# --------------------------------------------------------------------------- one rule at a time


def active_document(uow: UnitOfWork) -> list[dict[str, Any]]:
    """The active rule book as a document (each rule's stored definition), in priority order."""
    rows = uow.conn.execute(
        sa.select(RULE.c.definition)
        .where(RULE.c.active.is_(True))
        .order_by(RULE.c.priority, RULE.c.name)
    )
    return [dict(r.definition) for r in rows]


def _named(document: list[dict[str, Any]], name: str) -> int:
    for i, rule in enumerate(document):
        if rule.get("name") == name:
            return i
    raise NotFound(f"rule {name} does not exist", code="unknown_rule")


def book_with(
    uow: UnitOfWork, rule: dict[str, Any], *, replaces: str | None = None
) -> list[dict[str, Any]]:
    """The active book with ``rule`` added, or in place of the rule named ``replaces`` (which
    may be renamed); nothing is saved. A new rule may not take an existing rule's name."""
    document = active_document(uow)
    if replaces is not None:
        document.pop(_named(document, replaces))
    return [*document, rule]


def save_rule(
    uow: UnitOfWork,
    rule: dict[str, Any],
    *,
    replaces: str | None = None,
    expected_version: str | None = None,
) -> LoadReport:
    """Add one rule, or change the rule named ``replaces``: the rest of the book stays as it
    is, and the book gets a new version (through :func:`load_rules`)."""
    return load_rules(
        uow, {"rules": book_with(uow, rule, replaces=replaces)}, expected_version=expected_version
    )


def delete_rule(uow: UnitOfWork, name: str, *, expected_version: str | None = None) -> LoadReport:
    """Retire one rule (kept, inactive, for the record)."""
    document = active_document(uow)
    document.pop(_named(document, name))
    return load_rules(uow, {"rules": document}, expected_version=expected_version)


def set_rule_enabled(
    uow: UnitOfWork, name: str, enabled: bool, *, expected_version: str | None = None
) -> LoadReport:
    """Switch one rule on or off (a new version of that rule when it changes)."""
    document = active_document(uow)
    document[_named(document, name)]["enabled"] = enabled
    return load_rules(uow, {"rules": document}, expected_version=expected_version)


def move_rule(
    uow: UnitOfWork, name: str, direction: str, *, expected_version: str | None = None
) -> LoadReport:
    """Run one rule before (``up``) or after (``down``) its neighbour: the two swap priorities,
    or, when they share one, the moved rule goes one below or above it. Only those rules get
    new versions. At the top or the bottom already: nothing changes."""
    if direction not in ("up", "down"):
        raise ValidationError("direction", "up or down")
    document = active_document(uow)
    i = _named(document, name)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(document):
        return load_rules(uow, {"rules": document}, expected_version=expected_version)
    mine, theirs = document[i], document[j]
    p, q = int(mine.get("priority", 100)), int(theirs.get("priority", 100))
    if p != q:
        mine["priority"], theirs["priority"] = q, p
    else:
        mine["priority"] = p - 1 if direction == "up" else p + 1
    return load_rules(uow, {"rules": document}, expected_version=expected_version)


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
