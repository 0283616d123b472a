"""Issue 5 in the pipeline: merchant rules, manual review, built-in checks, nearest warehouse."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from lvyue.catalog.service import import_catalog
from lvyue.config import get_settings
from lvyue.core.errors import ValidationError
from lvyue.inventory import service as inventory
from lvyue.orders import queries, rules_service, service
from tests.factories import canonical, import_dicts, process_all, sku_row

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "rules.yaml"

WAREHOUSES = [("HZ", "浙江省", "杭州市"), ("GZ", "广东省", "广州市"), ("BJ", "北京市", "北京市")]


def world(uow, stock: dict[str, dict[str, int]], rules: bool = True) -> None:
    with uow() as u:
        rows = [
            (2, sku_row("TEE", price="59.00")),
            (3, sku_row("CRAB", tags="fresh")),
            (4, sku_row("SOFA", price="6000.00", tags="bulky")),
        ]
        import_catalog(u, rows)
        # Priorities prefer BJ, so only distance can explain a choice of HZ or GZ.
        for i, (code, prov, city) in enumerate(WAREHOUSES):
            inventory.add_warehouse(
                u, code=code, name=code, province=prov, city=city, priority=30 - i * 10
            )
        service.add_shop(u, code="S1", platform="taobao", name="店")
        for sku, per in stock.items():
            for wh, qty in per.items():
                inventory.adjust_stock(
                    u, sku_code=sku, warehouse_code=wh, quantity=qty, reason="opening"
                )
        if rules:
            rules_service.load_rules(u, yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))


def to(province, city, district, address):
    return {
        "name": "李四",
        "phone": "13900001111",
        "province": province,
        "city": city,
        "district": district,
        "address": address,
    }


SHENZHEN = to("广东省", "深圳市", "南山区", "深南大道10000号")
HANGZHOU = to("浙江省", "杭州市", "西湖区", "文三路90号")
TIANJIN = to("天津市", "天津市", "和平区", "南京路189号")


def priced(doc, price):
    doc["lines"] = [{**ln, "unit_price": price} for ln in doc["lines"]]
    return doc


def by_ext(uow):
    with uow(readonly=True) as u:
        return {o["external_id"]: queries.get_order(u, o["id"]) for o in queries.list_orders(u)}


def test_nearest_warehouse_with_stock_then_the_next_nearest_and_history_says_why(uow):
    world(uow, {"TEE": {"HZ": 5, "GZ": 2, "BJ": 5}}, rules=False)
    # Three different buyers in Shenzhen (one buyer's orders would be merged into one parcel).
    docs = [
        canonical(f"SZ{i}", [("TEE", 1)], receiver={**SHENZHEN, "phone": f"1390000000{i}"})
        for i in range(3)
    ]
    docs += [
        canonical("HZ1", [("TEE", 1)], receiver=HANGZHOU),
        canonical("TJ1", [("TEE", 1)], receiver=TIANJIN),
    ]
    import_dicts(uow, docs)
    process_all(uow)
    got = by_ext(uow)
    assert [got[f"SZ{i}"]["warehouse"] for i in range(3)] == ["GZ", "GZ", "HZ"]  # GZ ran out
    assert got["HZ1"]["warehouse"] == "HZ" and got["TJ1"]["warehouse"] == "BJ"
    last = got["SZ2"]["history"][-1]["reason"]
    assert "最近的有货仓 HZ" in last and "更近的 GZ 缺货" in last
    assert "最近的有货仓 GZ" in got["SZ0"]["history"][-1]["reason"]
    assert got["SZ0"]["review_log"][-1]["source"] == "allocation"


def test_manual_review_two_steps_and_rejection(uow):
    world(uow, {"SOFA": {"GZ": 5}})
    import_dicts(
        uow,
        [
            priced(canonical("BIG", [("SOFA", 1)], receiver=SHENZHEN), "6000.00"),
            priced(canonical("BIG2", [("SOFA", 1)], receiver=TIANJIN), "6000.00"),
            priced(canonical("LOCAL", [("SOFA", 1)], receiver=HANGZHOU), "6000.00"),
        ],
    )
    process_all(uow)
    got = by_ext(uow)
    assert got["LOCAL"]["status"] == "allocated"  # the local rule approves first
    assert got["BIG"]["hold_reasons"] == ["manual_review"]
    assert {
        "source": "rule:大额订单人工复核@v1",
        "outcome": "manual_review",
        "detail": "订单金额超过5000元",
    } in got["BIG"]["review_log"]
    oid = got["BIG"]["id"]
    with pytest.raises(ValidationError), uow() as u:
        service.approve_order(u, oid, role="finance")  # finance is the second step
    with uow(actor="cs-li") as u:
        assert service.approve_order(u, oid, role="customer_service") == "held"
    assert process_all(uow).allocated == 0
    with uow(actor="fin-zhao") as u:
        assert service.approve_order(u, oid, role="finance") == "pending_review"
    process_all(uow)
    got = by_ext(uow)
    assert got["BIG"]["status"] == "allocated"
    actors = [h["actor"] for h in got["BIG"]["history"]]
    assert "cs-li" in actors and "fin-zhao" in actors
    with uow(actor="cs-li") as u:
        service.reject_order(u, got["BIG2"]["id"], reason="客户要求取消大件")
    assert by_ext(uow)["BIG2"]["status"] == "cancelled"


def test_cross_border_and_new_customer_rules(uow):
    world(uow, {"TEE": {"HZ": 50}})
    cross = canonical("X1", [("TEE", 1)], receiver=SHENZHEN, tags=["跨境"])
    ok = {
        **canonical("X2", [("TEE", 1)], receiver=SHENZHEN, tags=["跨境"]),
        "buyer": {"id": "bx2", "id_number": "440301199001011234"},
        "customs": {"declared": True},
    }
    newcomer = {**SHENZHEN, "phone": "13700002222"}
    first = canonical("N1", [("TEE", 20)], receiver=newcomer)  # 1175 yuan, the buyer's first order
    import_dicts(uow, [cross, ok, first])
    process_all(uow)
    got = by_ext(uow)
    assert got["X1"]["hold_reasons"] == ["customs_data_missing"]
    assert got["X2"]["status"] == "allocated"
    assert got["N1"]["hold_reasons"] == ["manual_review"]


def test_duplicates_blacklist_and_buyer_message_checks(uow, monkeypatch):
    world(uow, {"TEE": {"HZ": 50}}, rules=False)
    a = canonical("D1", [("TEE", 1)], receiver=SHENZHEN)
    b = {**canonical("D2", [("TEE", 1)], receiver=SHENZHEN), "buyer": a["buyer"]}
    import_dicts(uow, [a, b])
    process_all(uow)
    got = by_ext(uow)
    assert got["D1"]["status"] == "allocated"
    assert got["D2"]["hold_reasons"] == ["duplicate_suspect"]
    with uow(actor="op") as u:
        service.approve_order(u, got["D2"]["id"], note="客户确认买两件")
    process_all(uow)
    assert by_ext(uow)["D2"]["status"] == "allocated"

    with uow() as u:
        u.conn.execute(sa.text("UPDATE customers_customer SET tags = :t"), {"t": '["blacklist"]'})
    monkeypatch.setattr(get_settings(), "buyer_message_review", "manual")
    import_dicts(uow, [canonical("B1", [("TEE", 2)], receiver=SHENZHEN, buyer_message="周末送")])
    process_all(uow)
    assert by_ext(uow)["B1"]["hold_reasons"] == ["blacklisted", "buyer_message"]


def test_rules_are_versioned_and_dry_run_changes_nothing(uow):
    world(uow, {"TEE": {"HZ": 50}})
    # A returning customer (an earlier order with the same phone) with a 5,895 yuan order.
    import_dicts(
        uow,
        [
            canonical("T0", [("TEE", 1)], receiver=SHENZHEN),
            canonical("T1", [("TEE", 100)], receiver=SHENZHEN),
        ],
    )
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["rules"][2]["when"]["value"] = 10000
    with uow(readonly=True) as u:
        examined, changes = service.dry_run_rules(u, rules_service.checked_rules(document))
    assert examined == 2
    assert [(c.external_id, c.before, c.after) for c in changes] == [
        ("T1", "hold:manual_review", "-")
    ]
    with uow() as u:
        report = rules_service.load_rules(u, document)
        assert (report.changed, report.added) == (["大额订单人工复核"], [])
        versions = {
            (r["name"], r["version"], r["active"])
            for r in rules_service.list_rules(u, history=True)
        }
    assert ("大额订单人工复核", 1, False) in versions and ("大额订单人工复核", 2, True) in versions
    with pytest.raises(ValidationError) as exc, uow() as u:
        rules_service.load_rules(
            u,
            {
                "rules": [
                    {
                        "name": "坏规则",
                        "when": {"fact": "total_amount", "op": "gt", "value": "很多"},
                        "then": ["approve"],
                    }
                ]
            },
        )
    assert "坏规则" in str(exc.value) and "when.value" in str(exc.value)


def test_rules_see_every_fact_of_the_order_each_worked_out_once(uow, monkeypatch):
    from lvyue.orders.service import pipeline

    with uow() as u:
        report = import_catalog(
            u,
            [
                (2, sku_row("TEE", price="59.00", weight_g="200")),
                (3, sku_row("CRAB", tags="fresh", category="生鲜", weight_g="1500")),
                (4, sku_row("KIT", components="TEE*1;CRAB*1", tags="fragile")),
            ],
        )
        assert not report.rejected, report.rejected
        for i, (code, prov, city) in enumerate(WAREHOUSES):
            inventory.add_warehouse(u, code=code, name=code, province=prov, city=city, priority=i)
        service.add_shop(u, code="S1", platform="taobao", name="店")
    seen = []
    real = pipeline.evaluate

    def spy(rules, facts, **kw):
        seen.append(facts)
        return real(rules, facts, **kw)

    monkeypatch.setattr(pipeline, "evaluate", spy)
    import_dicts(
        uow,
        [
            canonical(
                "F1",
                [("TEE", 2), ("KIT", 1)],
                receiver=SHENZHEN,
                tags=["跨境"],
                seller_memo="备注",
            )
        ],
    )
    process_all(uow)
    facts = seen[0]
    # Nothing is worked out before a rule or the placement reads it.
    assert "distance_km" not in facts._known and "customer_tags" not in facts._known
    assert facts.get("no_such_fact") is None
    assert dict(facts) == {
        "shop": "S1",
        "platform": "taobao",
        "order_type": "online",
        "total_amount": Decimal("172.00"),  # 3 x 59.00 less 5.00 discount
        "item_count": 3,
        "line_count": 2,
        "weight_g": 2 * 200 + 200 + 1500,  # the bundle weighs what its components weigh
        "skus": ["TEE", "KIT"],
        "categories": ["测试"],
        "sku_tags": ["fragile", "fresh"],  # the bundle's own and its components'
        "tags": ["跨境"],
        "receiver_province": "广东省",
        "receiver_city": "深圳市",
        "region": "华南",
        "distance_km": facts["distance_km"],
        "customer_tags": [],
        "customer_order_count": 1,
        "cross_border": True,
        "buyer_id_number": None,
        "customs_data": False,
        "buyer_message": "",
        "seller_memo": "备注",
    }
    # Nearest warehouse: GZ is in the receiver's province, far nearer than HZ or BJ.
    assert 0 < facts["distance_km"] < 200
    assert facts["distance_km"] is facts["distance_km"]  # kept, not worked out again
