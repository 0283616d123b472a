"""The channel commands as an operator runs them, against a fake Taobao over HTTP."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from lvyue.cli import main
from lvyue.core.clock import SHANGHAI
from tests.channels.fakes.server import serve
from tests.channels.fakes.taobao import FakeTaobao
from tests.factories import setup_world

LINE = {
    "num_iid": 680000000001,
    "sku_id": "5000000001",
    "outer_iid": "MUG",
    "outer_sku_id": "MUG-BLU",
    "title": "马克杯",
    "sku_properties_name": "颜色:蓝色",
    "num": 1,
    "price": "64.00",
}


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*args, "--db", db])
    out, err = capsys.readouterr()
    return rc, out, err


def test_operator_story_pull_map_ship_push(capsys, db, uow):
    # The fake lives "now" so that the CLI's real clock and the fake's windows agree.
    fake = FakeTaobao(now=datetime.now(SHANGHAI))
    setup_world(uow, skus={"MUG-BLU": {"HZ": 3}}, shop="OTHER")
    with serve(fake) as url:
        rc, out, err = run(
            capsys,
            db,
            "shop",
            "add",
            "TB",
            "--platform",
            "taobao",
            "--name",
            "淘宝旗舰店",
            "--base-url",
            url,
            "--app-key",
            fake.app_key,
            "--app-secret",
            fake.secret,
            "--session",
            fake.session,
        )
        assert rc == 0, err
        assert fake.secret not in out
        tid = fake.add_trade(lines=[LINE], at=fake.now - timedelta(minutes=30))
        old = fake.add_trade(
            lines=[{**LINE, "outer_sku_id": "MUG-OLD", "sku_id": "5000000009"}],
            at=fake.now - timedelta(minutes=20),
        )
        rc, out, _ = run(capsys, db, "channels", "sync", "--shop", "TB")
        assert rc == 0 and "TB: fetched 2, new 2, updated 0, errors 0" in out
        rc, out, _ = run(
            capsys,
            db,
            "channels",
            "sync",
            "--shop",
            "TB",
            "--since",
            (fake.now - timedelta(hours=2)).isoformat(),
        )
        assert "new 0, updated 0" in out
        assert run(capsys, db, "orders", "process")[0] == 0
        listed = {
            o["external_id"]: o for o in json.loads(run(capsys, db, "orders", "list", "--json")[1])
        }
        assert listed[old]["hold_reasons"] == ["unknown_sku"]
        rc, out, _ = run(
            capsys, db, "sku", "map", "MUG-OLD", "MUG-BLU", "--shop", "TB", "--item", "680000000001"
        )
        assert rc == 0 and "allocated 1" in out
        oid = str(listed[tid]["id"])
        assert (
            run(
                capsys,
                db,
                "orders",
                "ship",
                oid,
                "--carrier",
                "YTO",
                "--tracking",
                "YT0000000000001",
            )[0]
            == 0
        )
        rc, out, _ = run(capsys, db, "channels", "push")
        assert rc == 0 and "delivered 1" in out
        assert fake.shipments[0]["out_sid"] == "YT0000000000001"
        shown = json.loads(run(capsys, db, "orders", "show", oid, "--json")[1])
        profile = json.loads(
            run(capsys, db, "customer", "show", str(shown["customer_id"]), "--json")[1]
        )
        assert tid in {o["external_id"] for o in profile["orders"]}
    rc, out, _ = run(capsys, db, "channels", "sync", "--shop", "TB")  # the platform is down now
    assert rc == 1 and "sync failed" in out
