"""The merchant rule book over HTTP: read it, replace it (versioned, audited), try one out.

A rule that cannot be used is refused whole with the one error body, ``code`` ``invalid_rule``
and ``details`` naming the rule and the field, exactly as ``lvyue rules load`` reports it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from lvyue.accounts.api import audit, require
from lvyue.accounts.roles import Principal
from lvyue.core.uow import UnitOfWork
from lvyue.orders import queries, rules_service, service
from lvyue.orders.api import visible

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])


class RuleRead(BaseModel):
    name: str
    version: int
    priority: int
    enabled: bool
    active: bool
    created_at: datetime
    created_by: str
    when: dict[str, Any]
    then: list[dict[str, Any]]
    review_steps: list[str] = []


class RuleBookRead(BaseModel):
    version: str = Field(description="fingerprint of the active rule book")
    rules: list[RuleRead]


class RuleBook(BaseModel):
    # Items stay free-form here so that a bad rule is reported by the rule parser, naming the
    # rule and its field, rather than as a generic schema error.
    rules: list[Any] = Field(max_length=1000, description="rules as in docs/examples/rules.yaml")
    expected_version: str | None = Field(
        default=None, max_length=64, description="refuse with 409 if the book changed since"
    )


class LoadResult(BaseModel):
    version: str
    added: list[str]
    changed: list[str]
    unchanged: list[str]
    retired: list[str]


class DryRunChange(BaseModel):
    order_id: int
    external_id: str
    status: str
    before: str
    after: str
    fired: list[str] = Field(default=[], description="rules whose actions make the new decision")


class DryRunResult(BaseModel):
    examined: int
    changes: list[DryRunChange]


@router.get("", response_model=RuleBookRead)
def get_rules(
    request: Request, principal: Annotated[Principal, Depends(require("orders.read"))]
) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        return rules_service.rule_book(uow)


@router.put("", response_model=LoadResult)
def put_rules(
    request: Request,
    body: RuleBook,
    principal: Annotated[Principal, Depends(require("rules.write"))],
) -> dict[str, Any]:
    """Make the body the active rule book: changed rules get a new version, missing ones
    are retired."""
    document = {"rules": body.rules}
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        report = rules_service.load_rules(uow, document, expected_version=body.expected_version)
        version = rules_service.rule_book(uow)["version"]
        result = {"version": version, **report.__dict__}
        audit(
            uow, request, action="rules.change", target_type="rules", target=version, details=result
        )
    return result


@router.post("/dry-run", response_model=DryRunResult)
def dry_run(
    request: Request,
    body: RuleBook,
    principal: Annotated[Principal, Depends(require("rules.write"))],
) -> dict[str, Any]:
    """Which current orders these rules would treat differently; nothing is saved."""
    rules = rules_service.checked_rules({"rules": body.rules})
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        examined, changes = service.dry_run_rules(uow, rules)
        places = queries.order_places(uow, [c.order_id for c in changes])
    shown = [c.__dict__ for c in changes if visible(principal, *places[c.order_id])]
    return {"examined": examined, "changes": shown}
