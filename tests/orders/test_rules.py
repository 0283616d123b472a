"""Merchant rules as data: validation that names the rule and field, and evaluation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from lvyue.orders.rules import RuleError, evaluate, parse_rule, parse_rules, rule_to_json

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "rules.yaml"


def example_rules():
    return parse_rules(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))


def facts(**kw):
    base = {
        "receiver_province": "四川省",
        "total_amount": Decimal("100"),
        "customer_order_count": 3,
        "cross_border": False,
        "buyer_id_number": None,
        "customs_data": False,
        "sku_tags": [],
    }
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("doc", "field", "message"),
    [
        (
            {
                "name": "r",
                "when": {"fact": "total_amount", "op": "gt", "value": "lots"},
                "then": ["approve"],
            },
            "when.value",
            "expected a number",
        ),
        (
            {"name": "r", "when": {"fact": "colour", "op": "eq", "value": 1}, "then": ["approve"]},
            "when.fact",
            "unknown fact 'colour'",
        ),
        (
            {"name": "r", "when": {"fact": "shop", "op": "gt", "value": 1}, "then": ["approve"]},
            "when.op",
            "gt does not apply to shop",
        ),
        (
            {
                "name": "r",
                "when": {"fact": "shop", "op": "eq", "value": "A"},
                "then": [{"action": "hold"}],
            },
            "then[0].code",
            "a hold needs a code",
        ),
        (
            {
                "name": "r",
                "when": {"fact": "shop", "op": "eq", "value": "A"},
                "then": [{"action": "explode"}],
            },
            "then[0].action",
            "unknown action",
        ),
        (
            {
                "name": "r",
                "priority": "high",
                "when": {"fact": "shop", "op": "eq", "value": "A"},
                "then": ["approve"],
            },
            "priority",
            "whole number",
        ),
        ({"name": "r", "when": {"all": []}, "then": ["approve"]}, "when.all", "non-empty list"),
        (
            {
                "name": "r",
                "when": {"fact": "cross_border", "op": "eq", "value": "yes"},
                "then": ["approve"],
            },
            "when.value",
            "true or false",
        ),
        (
            {
                "name": "r",
                "when": {"fact": "shop", "op": "eq", "value": "A"},
                "then": [{"action": "manual_review", "reason": "x"}],
                "review_steps": ["boss"],
            },
            "review_steps",
            "roles",
        ),
    ],
)
def test_bad_rules_name_the_rule_and_the_field(doc, field, message):
    with pytest.raises(RuleError) as exc:
        parse_rule(doc, 2)
    assert exc.value.field == field
    assert "'r' (#3)" in str(exc.value) and message in str(exc.value)


def test_duplicate_names_are_refused():
    rule = {"name": "same", "when": {"fact": "shop", "op": "eq", "value": "A"}, "then": ["approve"]}
    with pytest.raises(RuleError, match="used by another rule"):
        parse_rules([rule, rule])


def test_rules_round_trip_through_json():
    for rule in example_rules():
        assert parse_rule(rule_to_json(rule)) == rule


def test_example_rules_decide_as_merchants_expect():
    rules = example_rules()
    local_big = evaluate(rules, facts(receiver_province="浙江省", total_amount=Decimal("8000")))
    assert local_big.approved_by == "本地订单自动审核" and not local_big.holds
    assert any(e["outcome"] == "skipped" for e in local_big.log)  # and the log says why

    big = evaluate(rules, facts(total_amount=Decimal("8000")))
    assert big.holds == {"manual_review": "订单金额超过5000元"}
    assert big.review_steps == ("customer_service", "finance")

    new_customer = evaluate(rules, facts(total_amount=Decimal("1200"), customer_order_count=1))
    assert new_customer.holds == {"manual_review": "新客户首单超过1000元"}
    assert evaluate(rules, facts(total_amount=Decimal("1200"))).holds == {}

    cross = evaluate(rules, facts(cross_border=True, buyer_id_number="330106199001011234"))
    assert list(cross.holds) == ["customs_data_missing"]
    assert (
        evaluate(
            rules, facts(cross_border=True, buyer_id_number="330106199001011234", customs_data=True)
        ).holds
        == {}
    )

    fresh = evaluate(rules, facts(sku_tags=["fresh"]))
    assert (fresh.warehouse, fresh.tags) == ("HZ", ["生鲜"])

    approved = evaluate(
        rules, facts(total_amount=Decimal("8000")), skip=frozenset({"大额订单人工复核"})
    )
    assert approved.holds == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"priority": 10**12}, "priority"),
        ({"name": "长" * 101}, "name"),
        ({"when": {"fact": "total_amount", "op": "gt", "value": float("inf")}}, "when.value"),
    ],
)
def test_values_the_rule_book_cannot_store_are_refused(change, field):
    rule = {
        "name": "r",
        "when": {"fact": "total_amount", "op": "gt", "value": 1},
        "then": ["approve"],
        **change,
    }
    with pytest.raises(RuleError) as exc:
        parse_rule(rule)
    assert exc.value.field == field
