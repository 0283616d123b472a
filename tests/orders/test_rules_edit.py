"""Editing the rule book one rule at a time: each change is a new book version through
``load_rules`` (other rules keep their versions), stale edits are refused, bad rules name
the field, and the dry run says which rule fired."""

from __future__ import annotations

import pytest

from lvyue.core.errors import NotFound
from lvyue.orders import rules_service, service
from lvyue.orders.rules_service import InvalidRule, StaleRuleBook
from tests.factories import canonical, import_dicts, setup_world

BIG = {
    "name": "大额订单人工复核",
    "priority": 30,
    "when": {"fact": "total_amount", "op": "gt", "value": 5000},
    "then": [{"action": "manual_review", "reason": "订单金额超过5000元"}],
}
LOCAL = {
    "name": "本地订单自动审核",
    "priority": 10,
    "when": {"fact": "receiver_province", "op": "in", "value": ["浙江省"]},
    "then": [{"action": "approve", "reason": "本地"}],
}
TAG = {
    "name": "打标签",
    "priority": 50,
    "when": {"fact": "item_count", "op": "gte", "value": 2},
    "then": [{"action": "add_tag", "tag": "多件"}],
}


def book(uow) -> list[tuple[str, int, int, bool]]:
    with uow(readonly=True) as u:
        return [
            (r["name"], r["priority"], r["version"], r["enabled"])
            for r in rules_service.list_rules(u)
        ]


def version(uow) -> str:
    with uow(readonly=True) as u:
        return str(rules_service.rule_book(u)["version"])


@pytest.fixture
def loaded(uow):
    with uow() as u:
        rules_service.load_rules(u, {"rules": [BIG, LOCAL, TAG]})


def test_save_adds_or_changes_one_rule_and_leaves_the_others(uow, loaded):
    v1 = version(uow)
    with uow() as u:
        report = rules_service.save_rule(
            u, {**BIG, "when": {**BIG["when"], "value": 500}}, replaces=BIG["name"]
        )
    assert (report.changed, report.unchanged) == ([BIG["name"]], [LOCAL["name"], TAG["name"]])
    assert book(uow) == [
        (LOCAL["name"], 10, 1, True),
        (BIG["name"], 30, 2, True),
        (TAG["name"], 50, 1, True),
    ]
    v2 = version(uow)
    assert v2 != v1
    # Renamed: the old name is retired, the new one starts at version 1.
    with uow() as u:
        report = rules_service.save_rule(
            u, {**TAG, "name": "多件打标"}, replaces=TAG["name"], expected_version=v2
        )
    assert (report.added, report.retired) == (["多件打标"], [TAG["name"]])
    # Someone else's book meanwhile: refused, nothing saved.
    with pytest.raises(StaleRuleBook), uow() as u:
        rules_service.save_rule(u, {**TAG, "name": "又一个"}, expected_version=v2)
    # A new rule under a taken name, or a bad value: refused naming the field.
    with pytest.raises(InvalidRule) as taken, uow() as u:
        rules_service.save_rule(u, {**LOCAL, "priority": 5})
    assert taken.value.field == "name"
    with pytest.raises(InvalidRule) as bad, uow() as u:
        rules_service.save_rule(
            u, {**BIG, "when": {**BIG["when"], "value": "很多"}}, replaces=BIG["name"]
        )
    assert bad.value.field == "when.value" and "很多" in bad.value.message
    with pytest.raises(NotFound), uow() as u:
        rules_service.save_rule(u, BIG, replaces="没有这条")


def test_enable_move_and_delete(uow, loaded):
    with uow() as u:
        rules_service.set_rule_enabled(u, TAG["name"], False)
    assert book(uow)[2] == (TAG["name"], 50, 2, False)
    with uow() as u:
        rules_service.move_rule(u, TAG["name"], "up")
    assert [r[:2] for r in book(uow)] == [
        (LOCAL["name"], 10),
        (TAG["name"], 30),
        (BIG["name"], 50),
    ]
    with uow() as u:  # the top rule up: nothing changes
        report = rules_service.move_rule(u, LOCAL["name"], "up")
    assert not report.changed
    with uow() as u:  # equal priorities: the moved one goes just below its neighbour
        rules_service.save_rule(u, {**BIG, "priority": 30}, replaces=BIG["name"])
    # 大 sorts before 打: at the same priority the big-order rule runs first.
    assert [r[0] for r in book(uow)][1:] == [BIG["name"], TAG["name"]]
    with uow() as u:
        rules_service.move_rule(u, TAG["name"], "up")
    assert [r[:2] for r in book(uow)] == [(LOCAL["name"], 10), (TAG["name"], 29), (BIG["name"], 30)]
    with uow() as u:
        report = rules_service.delete_rule(u, TAG["name"])
    assert report.retired == [TAG["name"]]
    assert [r[0] for r in book(uow)] == [LOCAL["name"], BIG["name"]]
    with pytest.raises(NotFound), uow() as u:
        rules_service.delete_rule(u, TAG["name"])


def test_dry_run_of_one_edited_rule_names_the_rule_that_fired(uow, loaded):
    setup_world(uow, skus={"A": {}})
    import_dicts(uow, [canonical("CHEAP", [("A", 1)]), canonical("DEAR", [("A", 20)])])
    draft = {
        "name": "五百元以上复核",
        "priority": 5,
        "when": {"fact": "total_amount", "op": "gt", "value": 500},
        "then": [{"action": "manual_review", "reason": "超过500元"}],
    }
    with uow(readonly=True) as u:
        rules = rules_service.checked_rules({"rules": rules_service.book_with(u, draft)})
        examined, changes = service.dry_run_rules(u, rules)
    assert examined == 2
    [change] = changes
    assert change.external_id == "DEAR" and change.fired[0] == "五百元以上复核"
    assert "hold:manual_review" in change.after and "hold:manual_review" not in change.before
