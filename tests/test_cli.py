"""The CLI contract other tools script against: command names, exit codes and JSON keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lvyue.cli import main
from tests.factories import canonical


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--db", db])
    out, err = capsys.readouterr()
    return rc, out, err


def run_json(capsys, db, *args):
    rc, out, err = run(capsys, db, *args, "--json")
    assert rc == 0, err
    return json.loads(out)


CSV = (
    "sku,name,spec,barcode,category,price,cost,weight_g,tags\n"
    "TEE-M-WHITE,纯棉T恤,颜色:白色;尺码:M,6901234567892,服装,59.00,18.00,220,\n"
    "CRAB-8,大闸蟹,数量:8只,,生鲜,398.00,210.00,2500,fresh\n"
    ",无编码,,,,1,1,1,\n"
    "SOFA,沙发,,,家具,abc,1,1,bulky\n"
    "LAMP,台灯,,,家居,1,1,1,shiny\n"
)


def test_full_cli_story(capsys, db, tmp_path: Path):
    csv = tmp_path / "catalog.csv"
    csv.write_text(CSV, encoding="utf-8")
    rc, out, _ = run(capsys, db, "catalog", "import", str(csv))
    assert rc == 1  # some rows were rejected...
    assert "created 2" in out  # ...and the good ones kept
    assert "line 4: sku: is required" in out
    assert "line 5: price: 'abc' is not an amount" in out
    assert "line 6: tags: unknown tag(s) shiny" in out

    assert (
        run(
            capsys,
            db,
            "warehouse",
            "add",
            "HZ",
            "--name",
            "杭州仓",
            "--province",
            "浙江省",
            "--city",
            "杭州市",
            "--district",
            "余杭区",
        )[0]
        == 0
    )
    assert (
        run(capsys, db, "shop", "add", "TB01", "--platform", "manual", "--name", "旗舰店")[0] == 0
    )
    rc, _, err = run(capsys, db, "shop", "add", "X", "--platform", "myspace", "--name", "x")
    assert rc == 2 and "platform" in err
    assert (
        run(
            capsys,
            db,
            "stock",
            "adjust",
            "TEE-M-WHITE",
            "--warehouse",
            "HZ",
            "--qty",
            "3",
            "--reason",
            "opening",
        )[0]
        == 0
    )
    rc, _, err = run(
        capsys,
        db,
        "stock",
        "adjust",
        "TEE-M-WHITE",
        "--warehouse",
        "HZ",
        "--qty",
        "-5",
        "--reason",
        "count",
    )
    assert rc == 2 and "insufficient_stock" in err

    assert run_json(capsys, db, "stock", "show", "TEE-M-WHITE") == [
        {"sku": "TEE-M-WHITE", "warehouse": "HZ", "on_hand": 3, "reserved": 0, "available": 3}
    ]

    jsonl = tmp_path / "orders.jsonl"
    jsonl.write_text(
        "\n".join(
            [
                json.dumps(canonical("T1001", [("TEE-M-WHITE", 2)]), ensure_ascii=False),
                "{not json",
                json.dumps(canonical("T1002", [("TEE-M-WHITE", 2)]), ensure_ascii=False),
                json.dumps(
                    canonical("T1003", [("6901234567892", 1)], status="unpaid"), ensure_ascii=False
                ),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    rc, out, _ = run(capsys, db, "orders", "import", str(jsonl), "--shop", "TB01")
    assert rc == 0
    assert "imported 3, updated 0, unchanged 0, rejected 1" in out
    assert "line 2: invalid JSON" in out
    rc, out, _ = run(capsys, db, "orders", "import", str(jsonl), "--shop", "TB01")
    assert "imported 0, updated 0, unchanged 3, rejected 1" in out

    rc, out, _ = run(capsys, db, "orders", "process")
    assert rc == 0 and "allocated 1" in out

    listed = run_json(capsys, db, "orders", "list")
    assert set(listed[0]) == {
        "id",
        "shop",
        "external_id",
        "status",
        "hold_reasons",
        "warehouse",
        "lines",
    }
    by_ext = {o["external_id"]: o for o in listed}
    assert by_ext["T1001"]["status"] == "allocated" and by_ext["T1001"]["warehouse"] == "HZ"
    assert by_ext["T1002"]["hold_reasons"] == ["out_of_stock"]
    assert by_ext["T1003"]["lines"] == [{"sku": "6901234567892", "quantity": 1, "reserved": 0}]
    assert [
        o["external_id"] for o in run_json(capsys, db, "orders", "list", "--status", "held")
    ] == ["T1002"]

    oid = str(by_ext["T1001"]["id"])
    assert run(capsys, db, "orders", "cancel", oid, "--reason", "买家取消")[0] == 0
    shown = run_json(capsys, db, "orders", "show", oid)
    assert shown["status"] == "cancelled"
    assert shown["history"][-1]["reason"] == "买家取消"
    assert run(capsys, db, "stock", "verify")[0] == 0
    assert run_json(capsys, db, "stock", "show", "TEE-M-WHITE")[0]["reserved"] == 0
    rc, _, err = run(capsys, db, "orders", "show", "999999")
    assert rc == 2 and "unknown_order" in err


def test_missing_file_and_bad_type_are_clear_errors(capsys, db, tmp_path: Path):
    rc, _, err = run(capsys, db, "orders", "import", str(tmp_path / "nope.jsonl"), "--shop", "X")
    assert rc == 2 and "does not exist" in err
    bad = tmp_path / "orders.pdf"
    bad.write_text("x", encoding="utf-8")
    rc, _, err = run(capsys, db, "orders", "import", str(bad), "--shop", "X")
    assert rc == 2 and "unsupported file type" in err


def test_demo_runs_the_pipeline_and_leaves_a_clean_ledger(capsys, db):
    rc, out, _ = run(capsys, db, "demo", "--orders", "300")
    assert rc == 0
    assert "imported 300" in out
    assert "every level equals the ledger" in out
    statuses = {o["status"] for o in run_json(capsys, db, "orders", "list")}
    assert {"allocated", "pending_payment", "held"} <= statuses
    assert run(capsys, db, "stock", "verify")[0] == 0


def test_wholesale_spreadsheet_import(capsys, db, uow, tmp_path: Path):
    from tests.factories import setup_world

    setup_world(
        uow,
        skus={s: {"HZ": 100} for s in ("LJ-MQ-250", "BLC-DT-100", "ZY-MF-500", "TGY-QX-250")},
        shop="PIFA",
    )
    example = Path(__file__).parent.parent / "docs" / "examples" / "wholesale-orders.csv"
    rc, out, _ = run(capsys, db, "orders", "import", str(example), "--shop", "PIFA")
    assert rc == 0 and "imported 3, updated 0, unchanged 0, rejected 0" in out
    rc, out, _ = run(capsys, db, "orders", "import", str(example), "--shop", "PIFA")
    assert "imported 0, updated 0, unchanged 3, rejected 0" in out
    bad = tmp_path / "bad.csv"
    bad.write_text(
        example.read_text(encoding="utf-8").replace(",12,¥520.00", ",-12,¥520.00"), encoding="utf-8"
    )
    rc, out, _ = run(capsys, db, "orders", "import", str(bad), "--shop", "PIFA")
    assert "rejected 1" in out and "数量" in out
    run(capsys, db, "orders", "process")
    orders = {o["external_id"]: o for o in run_json(capsys, db, "orders", "list")}
    assert orders["PF20261111001"]["status"] == "allocated"
    assert orders["PF20261111001"]["lines"] == [
        {"sku": "LJ-MQ-250", "quantity": 20, "reserved": 20},
        {"sku": "BLC-DT-100", "quantity": 30, "reserved": 30},
    ]
    assert orders["PF20261112003"]["status"] == "pending_payment"


def test_rules_commands(capsys, db, uow, tmp_path: Path):
    from tests.factories import setup_world

    setup_world(uow, skus={"A": {"HZ": 10}})
    example = Path(__file__).parent.parent / "docs" / "examples" / "rules.yaml"
    rc, out, _ = run(capsys, db, "rules", "load", str(example))
    assert rc == 0 and "added 5" in out
    assert run_json(capsys, db, "rules", "list")[0]["name"] == "本地订单自动审核"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n  - name: 坏\n    when: {fact: total_amount, op: gt, value: 很多}\n"
        "    then: [approve]\n",
        encoding="utf-8",
    )
    rc, _, err = run(capsys, db, "rules", "load", str(bad))
    assert rc == 2 and "坏" in err and "when.value" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n", encoding="utf-8")
    rc, _, err = run(capsys, db, "rules", "load", str(broken))
    assert rc == 2 and "invalid YAML" in err

    order = canonical("BIG", [("A", 1)])
    order["lines"][0]["unit_price"] = "9000.00"
    order["receiver"] = {
        **order["receiver"],
        "province": "四川省",
        "city": "成都市",
        "district": "武侯区",
        "address": "人民南路四段1号",
    }
    jsonl = tmp_path / "o.jsonl"
    jsonl.write_text(json.dumps(order, ensure_ascii=False) + "\n", encoding="utf-8")
    run(capsys, db, "orders", "import", str(jsonl), "--shop", "S1")
    run(capsys, db, "orders", "process")
    oid = str(run_json(capsys, db, "orders", "list")[0]["id"])
    shown = run_json(capsys, db, "orders", "show", oid)
    assert shown["hold_reasons"] == ["manual_review"]
    assert any(e["source"].startswith("rule:大额订单人工复核") for e in shown["review_log"])
    rc, out, _ = run(capsys, db, "rules", "dry-run", str(example))
    assert rc == 0 and "0 would change" in out
    assert run(capsys, db, "orders", "approve", oid, "--role", "customer_service")[0] == 0
    rc, out, _ = run(capsys, db, "orders", "approve", oid, "--role", "finance")
    assert rc == 0 and "now allocated" in out


def test_address_check_through_the_root_command(capsys, db):
    rc, out, _ = run(capsys, db, "address", "check", "杭州市西湖区文三路90号", "--json")
    result = json.loads(out)
    assert rc == 0 and result["province"] == "浙江省" and result["completed"] == ["province"]


def test_import_reviews_new_orders_when_asked(capsys, db, uow, tmp_path: Path, monkeypatch):
    from lvyue.config import get_settings
    from tests.factories import setup_world

    setup_world(uow, skus={"A": {"HZ": 3}})

    def write(name: str, *docs: dict) -> str:
        path = tmp_path / name
        path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
        return str(path)

    def status(ext: str) -> str:
        by_ext = {o["external_id"]: o for o in run_json(capsys, db, "orders", "list")}
        return str(by_ext[ext]["status"])

    def import_(path: str, *flags: str) -> tuple[int, str]:
        rc, out, _ = run(capsys, db, "orders", "import", path, "--shop", "S1", *flags)
        return rc, out

    rc, out = import_(write("a.jsonl", canonical("R1", [("A", 2)])))
    assert rc == 0 and "reviewed" not in out and status("R1") == "pending_review"
    f = write("b.jsonl", canonical("R2", [("A", 2)]), canonical("R3", [("A", 1)], status="unpaid"))
    rc, out = import_(f, "--review")
    assert rc == 0 and "imported 2" in out and "reviewed 1: allocated 1, held 0" in out
    assert status("R2") == "allocated" and status("R3") == "pending_payment"
    # The setting turns it on for every import; R4 finds the stock R2 took.
    monkeypatch.setattr(get_settings(), "review_on_import", True)
    rc, out = import_(write("c.jsonl", canonical("R4", [("A", 2)])))
    assert "reviewed 1: allocated 0, held 1" in out and status("R4") == "held"
    assert run(capsys, db, "stock", "verify")[0] == 0
    # R1 still waits for the pipeline, which now finds the last unit not enough either.
    rc, out, _ = run(capsys, db, "orders", "process")
    assert status("R1") == "held"
