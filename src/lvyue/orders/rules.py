"""Merchant review rules: conditions over order facts and the actions they take.

Pure: rules are data (a YAML/JSON document), validated into typed objects with errors that
name the rule and the field, and evaluated against one order's facts at a time. The pipeline
loads the active rules once per batch.

A rule::

    name: 大额订单人工复核
    priority: 20              # lower runs first
    when: {fact: total_amount, op: gt, value: 5000}
    then: [{action: manual_review, reason: 订单金额超过5000元}]
    review_steps: [customer_service, finance]   # who must approve, in order

Conditions nest with ``all`` / ``any`` / ``not``. Every matching rule's actions apply, in
priority order, except that once a rule has approved the order, hold and manual-review
actions of later rules are skipped (and the log says so). Built-in checks are not rules and
always apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

FactType = Literal["number", "text", "list", "bool"]

FACTS: dict[str, tuple[FactType, str]] = {
    "shop": ("text", "shop code"),
    "platform": ("text", "taobao, jd, douyin, pinduoduo, shopify, woocommerce, manual..."),
    "order_type": ("text", "online, livestream, offline, wholesale, distribution"),
    "total_amount": ("number", "amount paid, yuan"),
    "item_count": ("number", "units in the order"),
    "line_count": ("number", "order lines"),
    "weight_g": ("number", "total weight in grams"),
    "skus": ("list", "SKU codes"),
    "categories": ("list", "SKU categories"),
    "sku_tags": ("list", "handling tags of the items: fresh, bulky, fragile..."),
    "tags": ("list", "order tags"),
    "receiver_province": ("text", "official province name, e.g. 浙江省"),
    "receiver_city": ("text", "official city name, e.g. 杭州市"),
    "region": ("text", "华东, 华南, 华北, 华中, 西南, 西北, 东北"),
    "distance_km": ("number", "to the nearest active warehouse"),
    "customer_tags": ("list", "tags of the customer profile"),
    "customer_order_count": ("number", "orders of this customer so far, this one included"),
    "cross_border": ("bool", "receiver outside mainland China or order tagged 跨境"),
    "buyer_id_number": ("text", "buyer's ID number for customs"),
    "customs_data": ("bool", "customs declaration data present"),
    "buyer_message": ("text", "buyer message"),
    "seller_memo": ("text", "seller memo"),
}

OPS: dict[str, tuple[FactType, ...]] = {
    "eq": ("number", "text", "bool"),
    "ne": ("number", "text", "bool"),
    "gt": ("number",),
    "gte": ("number",),
    "lt": ("number",),
    "lte": ("number",),
    "in": ("number", "text"),
    "not_in": ("number", "text"),
    "contains": ("list", "text"),
    "contains_any": ("list",),
    "matches": ("text",),
    "empty": ("text", "list"),
    "not_empty": ("text", "list"),
}
NO_VALUE = frozenset({"empty", "not_empty"})

ACTIONS = ("approve", "hold", "manual_review", "assign_warehouse", "assign_carrier", "add_tag")
DECISIONS = frozenset({"approve", "hold", "manual_review"})
HOLD_CODE = re.compile(r"^[a-z][a-z0-9_]{2,31}$")
ROLES = ("customer_service", "operations", "finance", "admin")


class RuleError(ValueError):
    """A rule that cannot be used; the message names the rule and the field."""

    def __init__(self, rule: str, field: str, problem: str) -> None:
        super().__init__(f"rule {rule}: {field}: {problem}")
        self.rule = rule
        self.field = field


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Test:
    fact: str
    op: str
    value: Any = None

    def describe(self) -> str:
        return f"{self.fact} {self.op}" + ("" if self.op in NO_VALUE else f" {self.value!r}")


@dataclass(frozen=True)
class Group:
    kind: Literal["all", "any", "not"]
    items: tuple[Condition, ...]


Condition = Test | Group


@dataclass(frozen=True)
class Action:
    action: str
    reason: str = ""
    code: str = ""  # hold code, warehouse code, carrier code or tag, by action


@dataclass(frozen=True)
class Rule:
    name: str
    priority: int
    when: Condition
    then: tuple[Action, ...]
    enabled: bool = True
    review_steps: tuple[str, ...] = ()
    version: int = 1


# --------------------------------------------------------------------------- validation


def _number(rule: str, where: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise RuleError(rule, where, f"expected a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise RuleError(rule, where, f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise RuleError(rule, where, f"expected a finite number, got {value!r}")
    return number


def _condition(rule: str, where: str, data: Any) -> Condition:
    if not isinstance(data, Mapping):
        raise RuleError(rule, where, "expected a condition object (fact/op/value, all, any or not)")
    groups = [k for k in ("all", "any", "not") if k in data]
    if groups:
        if len(groups) > 1 or len(data) > 1:
            raise RuleError(rule, where, "a group has exactly one key: all, any or not")
        kind: Literal["all", "any", "not"] = (
            "all" if groups[0] == "all" else ("any" if groups[0] == "any" else "not")
        )
        items = data[kind]
        if kind == "not":
            items = [items]
        if not isinstance(items, list) or not items:
            raise RuleError(rule, f"{where}.{kind}", "expected a non-empty list of conditions")
        return Group(
            kind, tuple(_condition(rule, f"{where}.{kind}[{i}]", c) for i, c in enumerate(items))
        )
    unknown = set(data) - {"fact", "op", "value"}
    if unknown:
        raise RuleError(rule, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    fact, op = data.get("fact"), data.get("op", "eq")
    if fact not in FACTS:
        raise RuleError(rule, f"{where}.fact", f"unknown fact {fact!r}; known: {', '.join(FACTS)}")
    if op not in OPS:
        raise RuleError(rule, f"{where}.op", f"unknown operator {op!r}; known: {', '.join(OPS)}")
    ftype = FACTS[fact][0]
    if ftype not in OPS[op]:
        raise RuleError(rule, f"{where}.op", f"{op} does not apply to {fact} ({ftype})")
    if op in NO_VALUE:
        return Test(fact, op)
    if "value" not in data:
        raise RuleError(rule, f"{where}.value", "is required")
    value = data["value"]
    if op in ("in", "not_in", "contains_any"):
        if not isinstance(value, list) or not value:
            raise RuleError(rule, f"{where}.value", f"{op} needs a non-empty list")
        if ftype == "number":
            value = tuple(_number(rule, f"{where}.value", v) for v in value)
        else:
            value = tuple(str(v) for v in value)
    elif ftype == "number":
        value = _number(rule, f"{where}.value", value)
    elif ftype == "bool":
        if not isinstance(value, bool):
            raise RuleError(
                rule, f"{where}.value", f"expected true or false for {fact}, got {value!r}"
            )
    elif op == "matches":
        try:
            re.compile(str(value))
        except re.error as exc:
            raise RuleError(rule, f"{where}.value", f"bad pattern: {exc}") from None
        value = str(value)
    else:
        value = str(value)
    return Test(fact, op, value)


def _action(rule: str, where: str, data: Any) -> Action:
    if isinstance(data, str):
        data = {"action": data}
    if not isinstance(data, Mapping):
        raise RuleError(rule, where, "expected an action object")
    kind = data.get("action")
    if kind not in ACTIONS:
        raise RuleError(
            rule, f"{where}.action", f"unknown action {kind!r}; known: {', '.join(ACTIONS)}"
        )
    unknown = set(data) - {"action", "reason", "code", "warehouse", "carrier", "tag"}
    if unknown:
        raise RuleError(rule, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    reason = str(data.get("reason") or "")
    if kind == "hold":
        code = str(data.get("code") or data.get("reason") or "")
        if not HOLD_CODE.match(code):
            raise RuleError(rule, f"{where}.code", "a hold needs a code like customs_data_missing")
        return Action(kind, reason or code, code)
    if kind == "manual_review":
        if not reason:
            raise RuleError(rule, f"{where}.reason", "say why the order needs a person")
        return Action(kind, reason, "manual_review")
    if kind in ("assign_warehouse", "assign_carrier", "add_tag"):
        key = {"assign_warehouse": "warehouse", "assign_carrier": "carrier", "add_tag": "tag"}[kind]
        code = str(data.get(key) or data.get("code") or "")
        if not code:
            raise RuleError(rule, f"{where}.{key}", "is required")
        return Action(kind, reason, code)
    return Action(kind, reason)


def parse_rule(data: Any, index: int = 0) -> Rule:
    if not isinstance(data, Mapping):
        raise RuleError(f"#{index + 1}", "rule", "expected an object with name, when, then")
    name = str(data.get("name") or "").strip()
    label = f"{name!r} (#{index + 1})" if name else f"#{index + 1}"
    if not name:
        raise RuleError(label, "name", "is required")
    unknown = set(data) - {
        "name",
        "priority",
        "when",
        "then",
        "enabled",
        "review_steps",
        "description",
    }
    if unknown:
        raise RuleError(label, "rule", f"unknown key(s) {', '.join(sorted(unknown))}")
    priority = data.get("priority", 100)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RuleError(label, "priority", f"expected a whole number, got {priority!r}")
    if not -1_000_000 <= priority <= 1_000_000:
        raise RuleError(label, "priority", f"expected -1000000 to 1000000, got {priority}")
    if len(name) > 100:
        raise RuleError(label, "name", "at most 100 characters")
    if "when" not in data:
        raise RuleError(
            label, "when", "is required (use {all: []}? no: give at least one condition)"
        )
    then = data.get("then")
    if isinstance(then, Mapping | str):
        then = [then]
    if not isinstance(then, list) or not then:
        raise RuleError(label, "then", "expected a non-empty list of actions")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleError(label, "enabled", f"expected true or false, got {enabled!r}")
    steps = data.get("review_steps") or []
    if not isinstance(steps, list) or any(s not in ROLES for s in steps):
        raise RuleError(label, "review_steps", f"expected a list of roles among {', '.join(ROLES)}")
    actions = tuple(_action(label, f"then[{i}]", a) for i, a in enumerate(then))
    if steps and not any(a.action == "manual_review" for a in actions):
        raise RuleError(label, "review_steps", "only a manual_review rule has review steps")
    return Rule(
        name, priority, _condition(label, "when", data["when"]), actions, enabled, tuple(steps)
    )


def parse_rules(document: Any) -> list[Rule]:
    """A rules document: ``{"rules": [...]}`` or a bare list. Names must be unique."""
    items = document.get("rules") if isinstance(document, Mapping) else document
    if not isinstance(items, list):
        raise RuleError("document", "rules", "expected a list of rules")
    rules = [parse_rule(r, i) for i, r in enumerate(items)]
    seen: set[str] = set()
    for i, r in enumerate(rules):
        if r.name in seen:
            raise RuleError(f"{r.name!r} (#{i + 1})", "name", "is used by another rule")
        seen.add(r.name)
    return sorted(rules, key=lambda r: (r.priority, r.name))


def rule_to_json(rule: Rule) -> dict[str, Any]:
    def cond(c: Condition) -> Any:
        if isinstance(c, Group):
            inner = [cond(i) for i in c.items]
            return {c.kind: inner[0] if c.kind == "not" else inner}
        out: dict[str, Any] = {"fact": c.fact, "op": c.op}
        if c.op not in NO_VALUE:
            v = c.value
            out["value"] = [_plain(x) for x in v] if isinstance(v, tuple) else _plain(v)
        return out

    def act(a: Action) -> dict[str, Any]:
        out: dict[str, Any] = {"action": a.action}
        if a.reason:
            out["reason"] = a.reason
        if a.action == "hold":
            out["code"] = a.code
        elif a.action in ("assign_warehouse", "assign_carrier", "add_tag"):
            out[
                {"assign_warehouse": "warehouse", "assign_carrier": "carrier", "add_tag": "tag"}[
                    a.action
                ]
            ] = a.code
        return out

    data: dict[str, Any] = {
        "name": rule.name,
        "priority": rule.priority,
        "when": cond(rule.when),
        "then": [act(a) for a in rule.then],
        "enabled": rule.enabled,
    }
    if rule.review_steps:
        data["review_steps"] = list(rule.review_steps)
    return data


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


# --------------------------------------------------------------------------- evaluation


def _test(t: Test, facts: Mapping[str, Any]) -> bool:
    actual: Any = facts.get(t.fact)
    op, v = t.op, t.value
    if op == "empty":
        return not actual
    if op == "not_empty":
        return bool(actual)
    if actual is None:
        return op == "ne"
    if FACTS[t.fact][0] == "number":
        actual = Decimal(str(actual))
    if op == "eq":
        return bool(actual == v)
    if op == "ne":
        return bool(actual != v)
    if op == "gt":
        return bool(actual > v)
    if op == "gte":
        return bool(actual >= v)
    if op == "lt":
        return bool(actual < v)
    if op == "lte":
        return bool(actual <= v)
    if op == "in":
        return actual in v
    if op == "not_in":
        return actual not in v
    if op == "contains":
        return v in actual
    if op == "contains_any":
        return any(x in actual for x in v)
    if op == "matches":
        return re.search(v, str(actual)) is not None
    raise AssertionError(op)


def matches(c: Condition, facts: Mapping[str, Any]) -> bool:
    if isinstance(c, Test):
        return _test(c, facts)
    if c.kind == "all":
        return all(matches(i, facts) for i in c.items)
    if c.kind == "any":
        return any(matches(i, facts) for i in c.items)
    return not matches(c.items[0], facts)


@dataclass
class RuleOutcome:
    """What the rules decided for one order, and the log that explains it."""

    approved_by: str | None = None
    holds: dict[str, str] = field(default_factory=dict)
    review_steps: tuple[str, ...] = ()
    warehouse: str | None = None
    carrier: str | None = None
    tags: list[str] = field(default_factory=list)
    log: list[dict[str, str]] = field(default_factory=list)


def evaluate(
    rules: Sequence[Rule], facts: Mapping[str, Any], *, skip: frozenset[str] = frozenset()
) -> RuleOutcome:
    """Apply ``rules`` (sorted by priority) to one order's facts. ``skip`` names rules whose
    manual review a person has already approved for this order."""
    out = RuleOutcome()
    for rule in rules:
        if not rule.enabled or not matches(rule.when, facts):
            continue
        source = f"rule:{rule.name}@v{rule.version}"
        for a in rule.then:
            if a.action in DECISIONS and out.approved_by and a.action != "approve":
                out.log.append(
                    {
                        "source": source,
                        "outcome": "skipped",
                        "detail": f"{a.action} skipped: approved by {out.approved_by}",
                    }
                )
                continue
            if a.action == "approve":
                out.approved_by = out.approved_by or rule.name
                out.log.append({"source": source, "outcome": "approve", "detail": a.reason})
            elif a.action == "hold":
                out.holds.setdefault(a.code, a.reason)
                out.log.append({"source": source, "outcome": f"hold:{a.code}", "detail": a.reason})
            elif a.action == "manual_review":
                if rule.name in skip:
                    out.log.append(
                        {
                            "source": source,
                            "outcome": "reviewed",
                            "detail": f"{a.reason} (already approved by a person)",
                        }
                    )
                    continue
                out.holds.setdefault("manual_review", a.reason)
                out.review_steps = out.review_steps or rule.review_steps
                out.log.append({"source": source, "outcome": "manual_review", "detail": a.reason})
            elif a.action == "assign_warehouse":
                out.warehouse = out.warehouse or a.code
                out.log.append(
                    {"source": source, "outcome": f"warehouse:{a.code}", "detail": a.reason}
                )
            elif a.action == "assign_carrier":
                out.carrier = out.carrier or a.code
                out.log.append(
                    {"source": source, "outcome": f"carrier:{a.code}", "detail": a.reason}
                )
            elif a.action == "add_tag":
                if a.code not in out.tags:
                    out.tags.append(a.code)
                out.log.append({"source": source, "outcome": f"tag:{a.code}", "detail": a.reason})
    return out
