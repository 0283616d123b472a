"""The review-rules editor: the rule book in priority order in plain words, a form to add or
change one rule (no JSON to type), reordering, switching rules on and off, deleting, and the
dry run of an edited rule over current orders.

Thin: the form becomes a rule document, and ``orders.rules`` validates it (its errors name the
field, which is mapped back to the form's input). Every save goes through ``rules_service``
(a new book version; the other rules keep theirs) with the same ``rules.change`` audit row as
``PUT /api/v1/rules``, and carries the book version the form was made from, so a change made
meanwhile by someone else is refused rather than overwritten.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lvyue.accounts.api import audit, page_require
from lvyue.accounts.roles import Principal
from lvyue.accounts.web import render_page
from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import queries as stock_queries
from lvyue.logistics import queries as logistics_queries
from lvyue.orders import queries, rules_service, service
from lvyue.orders.api import visible
from lvyue.orders.holds import HOLD_REASONS
from lvyue.orders.masking import mask_order
from lvyue.orders.rules import ACTIONS, FACTS, NO_VALUE, OPS, ROLES
from lvyue.orders.rules_service import InvalidRule
from lvyue.orders.web import STATUS_LABELS
from lvyue.web.i18n import N_
from lvyue.web.pages import is_htmx, language_of, toast

router = APIRouter(include_in_schema=False)

Writer = Annotated[Principal, Depends(page_require("rules.write"))]

# The facts and operators of the rule engine (orders.rules), as people call them.
FACT_LABELS: dict[str, str] = {
    "shop": N_("Shop"),
    "platform": N_("Platform"),
    "order_type": N_("Order type"),
    "total_amount": N_("Amount paid (¥)"),
    "item_count": N_("Units in the order"),
    "line_count": N_("Order lines"),
    "weight_g": N_("Weight (g)"),
    "skus": N_("SKU codes"),
    "categories": N_("Categories"),
    "sku_tags": N_("Item handling tags"),
    "tags": N_("Order tags"),
    "receiver_province": N_("Receiver province"),
    "receiver_city": N_("Receiver city"),
    "region": N_("Sales region"),
    "distance_km": N_("Distance to the nearest warehouse (km)"),
    "customer_tags": N_("Customer tags"),
    "customer_order_count": N_("Customer's orders so far"),
    "cross_border": N_("Cross-border order"),
    "buyer_id_number": N_("Buyer ID number"),
    "customs_data": N_("Customs data present"),
    "buyer_message": N_("Buyer message"),
    "seller_memo": N_("Seller memo"),
}
OP_LABELS: dict[str, str] = {
    "eq": N_("equals"),
    "ne": N_("does not equal"),
    "gt": N_("greater than"),
    "gte": N_("at least"),
    "lt": N_("less than"),
    "lte": N_("at most"),
    "in": N_("is one of"),
    "not_in": N_("is none of"),
    "contains": N_("contains"),
    "contains_any": N_("contains any of"),
    "matches": N_("matches the pattern"),
    "empty": N_("is empty"),
    "not_empty": N_("is not empty"),
}
ACTION_LABELS: dict[str, str] = {
    "approve": N_("Approve automatically"),
    "hold": N_("Hold"),
    "manual_review": N_("Manual review"),
    "assign_warehouse": N_("Ship from warehouse"),
    "assign_carrier": N_("Ship with carrier"),
    "add_tag": N_("Add a tag"),
}
ROLE_LABELS: dict[str, str] = {
    "customer_service": N_("Customer service"),
    "operations": N_("Operations"),
    "finance": N_("Finance"),
    "admin": N_("Administrator"),
}
# What the engine's problems mean for the person filling the form (its own text follows).
PROBLEMS: tuple[tuple[str, str], ...] = (
    ("is used by another rule", N_("Another rule already has this name.")),
    ("expected a number", N_("Enter a number.")),
    ("expected a finite number", N_("Enter a number.")),
    ("needs a non-empty list", N_("Enter at least one value; separate values with commas.")),
    ("expected true or false", N_("Enter yes or no.")),
    ("does not apply to", N_("This comparison does not apply to this field.")),
    ("bad pattern", N_("This is not a valid pattern.")),
    ("say why", N_("Say why the order needs a person.")),
    ("a hold needs a code", N_("Pick a hold reason (a code like customs_data_missing).")),
    ("whole number", N_("Enter a whole number.")),
    ("expected -1000000 to 1000000", N_("Enter a number from -1,000,000 to 1,000,000.")),
    ("at most 100 characters", N_("At most 100 characters.")),
    ("only a manual_review rule", N_("Only a manual review has review steps.")),
    ("non-empty list of actions", N_("Give at least one action.")),
    ("is required", N_("This is required.")),
)
EXTRA_CONDITION_ROWS = 2
EXTRA_ACTION_ROWS = 1
MAX_ROWS = 20
DRY_RUN_ROWS = 200
LIST_SPLIT = re.compile(r"\s*[,，、;；\n]\s*")
TRUE_WORDS = {"true": True, "yes": True, "是": True, "false": False, "no": False, "否": False}


# --------------------------------------------------------------------------- form <-> rule


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _flat(when: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """(all|any, tests) when the condition fits the form's rows, else None."""
    if isinstance(when, dict) and "fact" in when:
        return "all", [when]
    for kind in ("all", "any"):
        items = when.get(kind) if isinstance(when, dict) else None
        if (
            isinstance(items, list)
            and items
            and all(isinstance(t, dict) and "fact" in t for t in items)
        ):
            return kind, items
    return None


def form_of(rule: dict[str, Any] | None) -> dict[str, Any]:
    """The form's values for an existing rule (or an empty form)."""
    rule = rule or {}
    flat = _flat(rule.get("when")) if rule else ("all", [])
    match, tests = flat if flat is not None else ("all", [])
    conditions = [
        {"fact": t.get("fact", ""), "op": t.get("op", "eq"), "value": _value_text(t.get("value"))}
        for t in tests
    ]
    actions = []
    for a in rule.get("then", []):
        a = {"action": a} if isinstance(a, str) else a
        target = a.get("code") or a.get("warehouse") or a.get("carrier") or a.get("tag") or ""
        actions.append(
            {"action": a.get("action", ""), "target": target, "reason": a.get("reason", "")}
        )
    return {
        "name": rule.get("name", ""),
        "priority": str(rule.get("priority", 100)),
        "enabled": rule.get("enabled", True),
        "match": match,
        "conditions": conditions,
        "actions": actions,
        "review_steps": list(rule.get("review_steps", [])),
        "when_json": json.dumps(rule["when"], ensure_ascii=False) if flat is None else "",
    }


def _rows(form: dict[str, list[str]], prefix: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
    rows = []
    for i in range(MAX_ROWS):
        row = {k: form.get(f"{prefix}-{i}-{k}", [""])[0].strip() for k in keys}
        rows.append(row)
    return rows


def _condition(fact: str, op: str, text: str) -> dict[str, Any]:
    test: dict[str, Any] = {"fact": fact, "op": op}
    if op in NO_VALUE:
        return test
    if text == "":
        return test  # the engine says the value is required, for this row
    kind = FACTS.get(fact, ("text", ""))[0]
    if op in ("in", "not_in", "contains_any"):
        test["value"] = [v for v in LIST_SPLIT.split(text) if v]
    elif kind == "bool":
        test["value"] = TRUE_WORDS.get(text.lower(), text)
    else:
        test["value"] = text
    return test


def _action(kind: str, target: str, reason: str) -> dict[str, Any]:
    action: dict[str, Any] = {"action": kind}
    if reason:
        action["reason"] = reason
    key = {
        "hold": "code",
        "assign_warehouse": "warehouse",
        "assign_carrier": "carrier",
        "add_tag": "tag",
    }.get(kind)
    if key and target:
        action[key] = target
    return action


def parse_form(form: dict[str, list[str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the rule document for the engine, the form's values to show again). Rows left blank
    are ignored; whether the rest makes a rule is the engine's call."""

    def one(key: str) -> str:
        return form.get(key, [""])[0].strip()

    match = "any" if one("match") == "any" else "all"
    cond_rows = _rows(form, "cond", ("fact", "op", "value"))
    act_rows = _rows(form, "act", ("action", "target", "reason"))
    # Row numbers are kept so the engine's "when.all[i]" points at the row on the page.
    conditions = [(i, r) for i, r in enumerate(cond_rows) if r["fact"]]
    actions = [(i, r) for i, r in enumerate(act_rows) if r["action"]]
    rule: dict[str, Any] = {"name": one("name")}
    priority = one("priority") or "100"
    rule["priority"] = int(priority) if re.fullmatch(r"-?\d{1,7}", priority) else priority
    rule["enabled"] = bool(one("enabled"))
    when_json = one("when_json")
    if when_json:
        try:
            rule["when"] = json.loads(when_json)
        except ValueError:
            raise ValidationError(
                "conditions", "reload the rule: its conditions are unreadable"
            ) from None
    elif conditions:
        tests = [_condition(r["fact"], r["op"] or "eq", r["value"]) for _, r in conditions]
        rule["when"] = {match: tests}
    rule["then"] = [_action(r["action"], r["target"], r["reason"]) for _, r in actions]
    steps = [s for s in form.get("review_steps", []) if s]
    if steps:
        rule["review_steps"] = steps
    shown = {
        "name": rule["name"],
        "priority": priority,
        "enabled": rule["enabled"],
        "match": match,
        "conditions": [r for _, r in conditions],
        "actions": [r for _, r in actions],
        "review_steps": steps,
        "when_json": when_json,
        "cond_rows": [i for i, _ in conditions],
        "act_rows": [i for i, _ in actions],
    }
    return rule, shown


def field_of(engine_field: str, shown: dict[str, Any]) -> str:
    """The form input an engine error names: ``when.all[2].value`` is the value of the third
    condition row given, ``then[0].reason`` the first action's reason."""
    m = re.fullmatch(r"when(?:\.(?:all|any)\[(\d+)\])?\.(fact|op|value)", engine_field)
    if m and not shown["when_json"]:
        return f"cond-{int(m.group(1) or 0)}-{m.group(2)}"
    if engine_field.startswith("when"):
        return "conditions"
    m = re.fullmatch(r"then\[(\d+)\]\.(\w+)", engine_field)
    if m:
        part = (
            "reason"
            if m.group(2) == "reason"
            else ("action" if m.group(2) == "action" else "target")
        )
        return f"act-{int(m.group(1))}-{part}"
    if engine_field.startswith("then"):
        return "actions"
    if engine_field in ("name", "priority", "review_steps"):
        return engine_field
    return "rule"


def _problem(exc: InvalidRule) -> tuple[str, str]:
    """(the message to show, in the visitor's words, and the engine's own text)."""
    detail = exc.message.split(f"{exc.field}: ", 1)[-1]
    for needle, message in PROBLEMS:
        if needle in detail:
            return message, detail
    return N_("Please check the input."), detail


# --------------------------------------------------------------------------- pages


def _choices(uow: UnitOfWork) -> dict[str, Any]:
    warehouses = [(w["code"], w["name"]) for w in stock_queries.list_warehouses(uow)]
    carriers = [(c["code"], c["name"]) for c in logistics_queries.list_carriers(uow)]
    return {"warehouses": warehouses, "carriers": carriers}


def _labels(request: Request) -> dict[str, Any]:
    language = language_of(request)
    return {
        "fact_labels": FACT_LABELS,
        "fact_types": {k: v[0] for k, v in FACTS.items()},
        "op_labels": OP_LABELS,
        "ops_for": {op: types for op, types in OPS.items()},
        "action_labels": ACTION_LABELS,
        "actions": ACTIONS,
        "role_labels": ROLE_LABELS,
        "roles": ROLES,
        "no_value": NO_VALUE,
        "hold_labels": {
            code: (r.zh if language == "zh-CN" else r.en) for code, r in HOLD_REASONS.items()
        },
        "hold_choices": [
            (code, r.zh if language == "zh-CN" else r.en)
            for code, r in HOLD_REASONS.items()
            if code not in ("unpaid", "out_of_stock", "no_carrier", "unknown_sku")
        ],
    }


def _book(request: Request) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        book = rules_service.rule_book(uow)
        choices = _choices(uow)
    return {"book": book, **choices, **_labels(request)}


def _list(
    request: Request, principal: Principal, headers: dict[str, str] | None = None
) -> HTMLResponse:
    partial = is_htmx(request)
    return render_page(
        request,
        principal,
        "orders/rules_list.html" if partial else "orders/rules.html",
        _book(request),
        headers={**(headers or {}), **({"HX-Push-Url": "/rules"} if partial else {})},
    )


@router.get("/rules", response_class=HTMLResponse)
def rule_list(request: Request, principal: Writer) -> HTMLResponse:
    return _list(request, principal)


def _editor(
    request: Request,
    principal: Principal,
    values: dict[str, Any],
    *,
    original: str,
    version: str,
    errors: dict[str, tuple[str, str]] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        choices = _choices(uow)
    conditions = list(values["conditions"])
    actions = list(values["actions"])
    blank_c = {"fact": "", "op": "eq", "value": ""}
    blank_a = {"action": "", "target": "", "reason": ""}
    cond_rows = values.get("cond_rows") or list(range(len(conditions)))
    act_rows = values.get("act_rows") or list(range(len(actions)))
    # Each row keeps the number the engine's error refers to; blank rows follow.
    rows_c = list(zip(cond_rows, conditions, strict=True))
    rows_a = list(zip(act_rows, actions, strict=True))
    nc = max(cond_rows, default=-1) + 1
    na = max(act_rows, default=-1) + 1
    rows_c += [
        (nc + i, blank_c) for i in range(EXTRA_CONDITION_ROWS if not values["when_json"] else 0)
    ]
    rows_a += [(na + i, blank_a) for i in range(EXTRA_ACTION_ROWS if len(rows_a) else 2)]
    partial = is_htmx(request)
    return render_page(
        request,
        principal,
        "orders/rules_form.html" if partial else "orders/rules_edit.html",
        {
            "v": values,
            "cond_rows": rows_c[:MAX_ROWS],
            "act_rows": rows_a[:MAX_ROWS],
            "original": original,
            "version": version,
            "errors": errors or {},
            "when_text": json.loads(values["when_json"]) if values["when_json"] else None,
            **choices,
            **_labels(request),
        },
        status_code=status_code,
        headers=headers,
    )


@router.get("/rules/new", response_class=HTMLResponse)
def new_rule(request: Request, principal: Writer) -> HTMLResponse:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        version = rules_service.rule_book(uow)["version"]
    values = form_of(None)
    values["conditions"] = []
    return _editor(request, principal, values, original="", version=version)


@router.get("/rules/edit", response_class=HTMLResponse)
def edit_rule(request: Request, principal: Writer, name: str = "") -> HTMLResponse:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        book = rules_service.rule_book(uow)
    rule = next((r for r in book["rules"] if r["name"] == name), None)
    if rule is None:
        raise NotFound(f"rule {name} does not exist", code="unknown_rule")
    return _editor(request, principal, form_of(rule), original=name, version=book["version"])


async def _form(request: Request) -> dict[str, list[str]]:
    return parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)


def _invalid(
    request: Request,
    principal: Principal,
    exc: InvalidRule,
    shown: dict[str, Any],
    original: str,
    version: str,
) -> HTMLResponse:
    message, detail = _problem(exc)
    where = field_of(exc.field, shown)
    return _editor(
        request,
        principal,
        shown,
        original=original,
        version=version,
        errors={where: (message, detail)},
        status_code=200 if is_htmx(request) else 400,
        headers=toast(
            request,
            N_("The rule was not saved: check the marked field."),
            level="error",
            detail=[detail],
        ),
    )


def _audit_change(
    request: Request, uow: UnitOfWork, report: rules_service.LoadReport, what: dict[str, Any]
) -> str:
    version = str(rules_service.rule_book(uow)["version"])
    result = {"version": version, **report.__dict__, "via": "web", **what}
    audit(uow, request, action="rules.change", target_type="rules", target=version, details=result)
    return version


@router.post("/rules/save", response_model=None)
async def save_rule(request: Request, principal: Writer) -> Response:
    form = await _form(request)
    original = form.get("original", [""])[0]
    version = form.get("expected_version", [""])[0]
    rule, shown = parse_form(form)
    try:
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            report = rules_service.save_rule(
                uow, rule, replaces=original or None, expected_version=version or None
            )
            new_version = _audit_change(
                request, uow, report, {"rule": rule["name"], "replaces": original or None}
            )
    except InvalidRule as exc:
        return _invalid(request, principal, exc, shown, original, version)
    headers = toast(
        request,
        N_("Rule “%(name)s” saved. The rule book is now version %(version)s."),
        name=rule["name"],
        version=new_version,
    )
    if not is_htmx(request):
        return RedirectResponse("/rules?" + urlencode({"saved": rule["name"]}), status_code=303)
    return _list(
        request, principal, {**headers, "HX-Retarget": "#rules-page", "HX-Reswap": "outerHTML"}
    )


def _named_action(form: dict[str, list[str]]) -> tuple[str, str]:
    name = form.get("name", [""])[0]
    if not name:
        raise ValidationError("name", "which rule?")
    return name, form.get("expected_version", [""])[0]


@router.post("/rules/toggle", response_model=None)
async def toggle_rule(request: Request, principal: Writer) -> Response:
    form = await _form(request)
    name, version = _named_action(form)
    enabled = form.get("enabled", [""])[0] == "true"
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        report = rules_service.set_rule_enabled(
            uow, name, enabled, expected_version=version or None
        )
        _audit_change(request, uow, report, {"rule": name, "enabled": enabled})
    message = N_("Rule “%(name)s” is on.") if enabled else N_("Rule “%(name)s” is off.")
    return _list(request, principal, toast(request, message, name=name))


@router.post("/rules/move", response_model=None)
async def move_rule(request: Request, principal: Writer) -> Response:
    form = await _form(request)
    name, version = _named_action(form)
    direction = form.get("direction", [""])[0]
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        report = rules_service.move_rule(uow, name, direction, expected_version=version or None)
        _audit_change(request, uow, report, {"rule": name, "move": direction})
    return _list(request, principal, toast(request, N_("Rule order changed.")))


@router.post("/rules/delete", response_model=None)
async def delete_rule(request: Request, principal: Writer) -> Response:
    form = await _form(request)
    name, version = _named_action(form)
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        report = rules_service.delete_rule(uow, name, expected_version=version or None)
        _audit_change(request, uow, report, {"rule": name, "deleted": True})
    return _list(request, principal, toast(request, N_("Rule “%(name)s” deleted."), name=name))


# --------------------------------------------------------------------------- dry run

DECISION_PART = re.compile(
    r"approve\((?P<rule>.*?)\)|(?P<kind>hold|warehouse|carrier|tag):(?P<code>[^,]+)"
)


def decision_parts(text: str) -> list[tuple[str, str]]:
    """A dry run's decision ("approve(rule), hold:manual_review, tag:x" or "-") as
    (kind, value) pairs the page words: approve, hold, warehouse, carrier, tag."""
    parts: list[tuple[str, str]] = []
    for m in DECISION_PART.finditer(text):
        if m.group("kind"):
            parts.append((m.group("kind"), m.group("code").strip()))
        else:
            parts.append(("approve", m.group("rule")))
    return parts


def _kind(part: tuple[str, str]) -> tuple[str, str]:
    """What the counts group by: the approving rule's name does not make another kind."""
    return ("approve", "") if part[0] == "approve" else part


@router.post("/rules/dry-run", response_class=HTMLResponse)
async def dry_run(request: Request, principal: Writer) -> HTMLResponse:
    """Which current orders the book with this rule (as on the form, not saved) would treat
    differently from the active book."""
    form = await _form(request)
    original = form.get("original", [""])[0]
    version = form.get("expected_version", [""])[0]
    rule, shown = parse_form(form)
    try:
        with UnitOfWork(request.app.state.engine, readonly=True) as uow:
            document = rules_service.book_with(uow, rule, replaces=original or None)
            rules = rules_service.checked_rules({"rules": document})
            examined, changes = service.dry_run_rules(uow, rules)
            places = queries.order_places(uow, [c.order_id for c in changes])
            changes = [c for c in changes if visible(principal, *places[c.order_id])]
            rows = queries.workbench_rows(uow, [c.order_id for c in changes[:DRY_RUN_ROWS]])
    except InvalidRule as exc:
        response = _invalid(request, principal, exc, shown, original, version)
        response.headers["HX-Retarget"] = "#rules-page"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    shown_rows = [
        {
            **mask_order(rows[c.order_id]),
            "before": decision_parts(c.before),
            "after": decision_parts(c.after),
            "fired": c.fired,
        }
        for c in changes[:DRY_RUN_ROWS]
        if c.order_id in rows
    ]
    kinds: Counter[tuple[str, str]] = Counter()
    for c in changes:
        before = {_kind(p) for p in decision_parts(c.before)}
        kinds.update({_kind(p) for p in decision_parts(c.after)} - before)
    return render_page(
        request,
        principal,
        "orders/rules_dry_run.html",
        {
            "examined": examined,
            "changed": len(changes),
            "rows": shown_rows,
            "more": max(len(changes) - DRY_RUN_ROWS, 0),
            "kinds": sorted(kinds.items()),
            "statuses": STATUS_LABELS,
            **_labels(request),
        },
        headers=toast(
            request,
            N_("Dry run: %(changed)s of %(examined)s orders would change. Nothing was saved."),
            level="info",
            changed=len(changes),
            examined=examined,
        ),
    )
