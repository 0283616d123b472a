"""Commands that change things leave an audit row: who (``cli:<os user>``), what, when, and from
where (``cli``), written in the command's own transaction, and one row per action."""

from __future__ import annotations

import getpass
import io
from pathlib import Path
from typing import Any

import pytest

from lvyue.accounts import queries
from lvyue.accounts.queries import AuditFilter
from lvyue.cli import main
from lvyue.orders import queries as order_queries
from lvyue.webhooks import queries as webhook_queries
from tests.conftest import UowFactory
from tests.factories import canonical, import_dicts, process_all, setup_world

ME = f"cli:{getpass.getuser()}"
PASSWORD = "correct horse 9"
RULES = """\
rules:
  - name: 大额订单人工复核
    priority: 30
    when: {fact: total_amount, op: gt, value: 5000}
    then:
      - {action: manual_review, reason: 订单金额超过5000元}
"""
RATES = (
    "service,origin_province,dest_province,first_weight_g,first_price,additional_unit_g,"
    "additional_price\n"
    "SF-STD,浙江,广东,1000,12.00,1000,2.00\n"
    "SF-STD,浙江,火星,1000,12.00,1000,2.00\n"
)


@pytest.fixture
def lvyue(db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    def run(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        rc = main([*args, "--db", db])
        capsys.readouterr()
        return rc

    return run


def audit(uow: UowFactory, **filters: Any) -> list[dict[str, Any]]:
    with uow(readonly=True) as u:
        return list(reversed(queries.list_audit(u, AuditFilter(**filters), limit=1000)))


def what(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["action"], r["target_type"], r["target"]) for r in rows]


def test_settings_commands_are_audited_once_each(lvyue: Any, uow: UowFactory, tmp: Path) -> None:
    assert lvyue("warehouse", "add", "HZ", "--name", "杭州仓", "--province", "浙江省",
                 "--city", "杭州市") == 0  # fmt: skip
    assert lvyue("shop", "add", "TB01", "--platform", "taobao", "--name", "旗舰店",
                 "--base-url", "https://key:hunter2@gw.example.com/router?sign=abc",
                 "--app-key", "k1", "--app-secret", "s3cret-value",
                 "--webhook-secret", "wh-s3cret") == 0  # fmt: skip
    assert lvyue("carrier", "add", "SF", "--name", "顺丰速运", "-s", "SF-STD:顺丰标快") == 0
    rates = tmp / "rates.csv"
    rates.write_text(RATES, encoding="utf-8")
    assert lvyue("rates", "import", str(rates)) == 1  # one bad row, the good one kept
    assert lvyue("user", "add", "li", "--role", "viewer", "--password-stdin", stdin=PASSWORD) == 0
    assert lvyue("user", "set-password", "li", "--password-stdin", stdin="another pass 1") == 0
    assert lvyue("user", "unlock", "li") == 0
    assert lvyue("apikey", "create", "erp", "--role", "finance", "--json") == 0
    with uow(readonly=True) as u:
        app_key = queries.list_api_keys(u)[0]["app_key"]
    assert lvyue("apikey", "revoke", app_key) == 0
    assert lvyue("webhook", "add", "http://127.0.0.1:9/hook?token=t0p", "--event",
                 "order.shipped") == 0  # fmt: skip
    with uow(readonly=True) as u:
        hook = str(webhook_queries.list_subscriptions(u)[0]["id"])
    assert lvyue("webhook", "disable", hook) == 0

    rows = audit(uow)
    assert what(rows) == [
        ("warehouse.create", "warehouse", "HZ"),
        ("shop.create", "shop", "TB01"),
        ("carrier.create", "carrier", "SF"),
        ("rates.import", "rates", "rates.csv"),
        ("user.created", "user", "li"),
        ("password.reset", "user", "li"),
        ("user.unlocked", "user", "li"),
        ("apikey.created", "api_key", app_key),
        ("apikey.revoked", "api_key", app_key),
        ("webhook.add", "webhook", hook),
        ("webhook.disable", "webhook", hook),
    ]
    assert {(r["actor"], r["ip"], r["user_agent"]) for r in rows} == {(ME, "cli", "lvyue-cli")}
    shop = rows[1]["details"]
    assert shop["secrets"] == ["app_key", "app_secret", "webhook_secret"]
    assert shop["base_url"] == "https://gw.example.com/router"
    assert rows[3]["details"] == {"imported": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert rows[2]["details"]["services"][0]["code"] == "SF-STD"
    text = repr(rows)
    secrets = ("hunter2", "s3cret-value", "wh-s3cret", "sign=abc", "t0p", "another pass 1")
    for secret in (*secrets, PASSWORD):
        assert secret not in text


def held(uow: UowFactory, n: int) -> int:
    import_dicts(uow, [canonical(f"C{n}", [("A", 1)])])
    process_all(uow)
    with uow(readonly=True) as u:
        return next(o["id"] for o in order_queries.list_orders(u) if o["external_id"] == f"C{n}")


def test_order_stock_and_rule_commands_are_audited_in_their_transaction(
    lvyue: Any, uow: UowFactory, tmp: Path
) -> None:
    setup_world(uow, skus={"A": {"HZ": 10}})
    one, two, three = (held(uow, n) for n in (1, 2, 3))
    assert lvyue("orders", "hold", str(one), "--reason", "等买家回复") == 0
    assert lvyue("orders", "approve", str(one), "--note", "已电话确认") == 0
    assert lvyue("orders", "hold", str(two), "--reason", "疑似重复") == 0
    assert lvyue("orders", "reject", str(two), "--reason", "重复订单") == 0
    assert lvyue("orders", "cancel", str(three), "--reason", "买家取消") == 0
    assert lvyue("stock", "adjust", "A", "--warehouse", "HZ", "--qty", "-2",
                 "--reason", "盘点差异") == 0  # fmt: skip
    book = tmp / "rules.yaml"
    book.write_text(RULES, encoding="utf-8")
    assert lvyue("rules", "load", str(book)) == 0
    # Refused commands roll back, their audit rows with them.
    assert lvyue("orders", "approve", str(three)) == 2  # cancelled: nothing to approve
    assert lvyue("stock", "adjust", "A", "--warehouse", "HZ", "--qty", "-999",
                 "--reason", "too many") == 2  # fmt: skip

    rows = audit(uow, ip="cli")
    assert what(rows) == [
        ("order.hold", "order", str(one)),
        ("order.approve", "order", str(one)),
        ("order.hold", "order", str(two)),
        ("order.reject", "order", str(two)),
        ("order.cancel", "order", str(three)),
        ("stock.adjust", "stock", "A@HZ"),
        ("rules.change", "rules", rows[-1]["target"]),
    ]
    assert {r["actor"] for r in rows} == {ME}
    assert rows[1]["details"] == {"note": "已电话确认", "role": "admin"}
    assert rows[3]["details"] == {"reason": "重复订单"}
    assert rows[5]["details"]["delta"] == -2 and rows[5]["details"]["on_hand"] == 8
    assert rows[6]["details"]["added"] == ["大额订单人工复核"]
    # The history names the same person as the audit log.
    with uow(readonly=True) as u:
        history = order_queries.get_order(u, one)["history"]
    assert [(h["to"], h["actor"]) for h in history][3:5] == [("held", ME), ("pending_review", ME)]
