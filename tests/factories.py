"""Small builders for test data, going through the real services."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lvyue.catalog.service import import_catalog
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import service as inventory
from lvyue.orders import service as orders


def sku_row(code: str, **kw: str) -> dict[str, str | None]:
    row = {
        "sku": code,
        "name": kw.pop("name", f"商品 {code}"),
        "spec": "",
        "barcode": "",
        "category": "测试",
        "price": "10.00",
        "cost": "5.00",
        "weight_g": "100",
        "tags": "",
        "components": "",
    }
    row.update(kw)
    return dict(row)


def setup_world(
    make_uow: Callable[..., UnitOfWork],
    *,
    skus: dict[str, dict[str, int]],
    warehouses: tuple[str, ...] = ("HZ", "GZ"),
    bundles: dict[str, str] | None = None,
    shop: str = "S1",
) -> None:
    """SKUs with stock per warehouse, e.g. {"A": {"HZ": 5}}; bundles {"KIT": "A*2;B*1"}."""
    with make_uow() as uow:
        rows = [(i, sku_row(code)) for i, code in enumerate(skus, start=2)]
        rows += [
            (100 + i, sku_row(code, components=comp))
            for i, (code, comp) in enumerate((bundles or {}).items())
        ]
        report = import_catalog(uow, rows)
        assert not report.rejected, report.rejected
        for prio, wh in enumerate(warehouses):
            inventory.add_warehouse(
                uow, code=wh, name=f"{wh}仓", province="浙江省", city="杭州市", priority=prio
            )
        orders.add_shop(uow, code=shop, platform="manual", name="测试店")
        for code, per_wh in skus.items():
            for wh, qty in per_wh.items():
                if qty:
                    inventory.adjust_stock(
                        uow, sku_code=code, warehouse_code=wh, quantity=qty, reason="opening"
                    )


def canonical(
    external_id: str, lines: list[tuple[str, int]], *, status: str = "paid", **extra: Any
) -> dict[str, Any]:
    order: dict[str, Any] = {
        "external_id": external_id,
        "status": status,
        "created_at": "2026-11-11T00:00:05+08:00",
        "paid_at": "2026-11-11T00:00:09+08:00" if status != "unpaid" else None,
        "buyer": {"id": f"b-{external_id}", "nick": "小王"},
        "receiver": {
            "name": "张三",
            "phone": "13812345678",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "address": "余杭塘路866号",
        },
        "lines": [{"sku": s, "quantity": q, "unit_price": "59.00"} for s, q in lines],
        "shipping_fee": "0.00",
        "discount": "5.00",
        "buyer_message": "",
        "seller_memo": "",
        "tags": [],
    }
    order.update(extra)
    return order


def import_dicts(
    make_uow: Callable[..., UnitOfWork], docs: list[dict[str, Any]], shop: str = "S1"
) -> orders.ImportReport:
    with make_uow() as uow:
        return orders.import_orders(
            uow, shop, [(i, json.dumps(d, ensure_ascii=False)) for i, d in enumerate(docs, 1)]
        )


def process_all(
    make_uow: Callable[..., UnitOfWork], batch: int = 500, *, recheck_waiting: bool = False
) -> orders.ProcessReport:
    total = orders.ProcessReport()
    while True:
        with make_uow() as uow:
            r = orders.process_orders(
                uow, after_id=total.last_id, limit=batch, recheck_waiting=recheck_waiting
            )
        if not r.examined:
            return total
        total.add(r)
