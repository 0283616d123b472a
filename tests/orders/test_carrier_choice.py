"""Carrier choice in the pipeline: cold chain for fresh goods, special line for bulky ones,
remote regions only with a carrier that covers them; cost stored on the order."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from lvyue.catalog.service import import_catalog
from lvyue.inventory import service as inventory
from lvyue.logistics import service
from lvyue.logistics.demo import seed_demo_logistics
from lvyue.logistics.service import ServiceSpec
from lvyue.orders import queries
from tests.factories import canonical, import_dicts, process_all, setup_world, sku_row


def receiver(province, city, district, address):
    return {
        "name": "周七",
        "phone": "13500001111",
        "province": province,
        "city": city,
        "district": district,
        "address": address,
    }


def test_fresh_bulky_and_remote_routing(uow):
    setup_world(uow, skus={"TEE": {"HZ": 10}})
    with uow() as u:
        import_catalog(
            u,
            [
                (2, sku_row("CRAB", tags="fresh", weight_g="2500")),
                (3, sku_row("SOFA", tags="bulky", weight_g="65000")),
            ],
        )
        for sku in ("CRAB", "SOFA"):
            inventory.adjust_stock(u, sku_code=sku, warehouse_code="HZ", quantity=10, reason="in")
        seed_demo_logistics(u)
    shanghai = receiver("上海市", "上海市", "浦东新区", "世纪大道100号")
    lhasa = receiver("西藏自治区", "拉萨市", "城关区", "北京中路48号")
    import_dicts(
        uow,
        [
            canonical("FRESH", [("CRAB", 1)], receiver=shanghai),
            canonical("BULKY", [("SOFA", 1)], receiver={**shanghai, "phone": "13500002222"}),
            canonical("PLAIN", [("TEE", 1)], receiver={**shanghai, "phone": "13500003333"}),
            canonical("FAR", [("CRAB", 1)], receiver=lhasa),
        ],
    )
    process_all(uow)
    with uow(readonly=True) as u:
        got = {o["external_id"]: queries.get_order(u, o["id"]) for o in queries.list_orders(u)}
    assert got["FRESH"]["service_code"] == "SF-COLD"
    assert got["BULKY"]["service_code"] == "DBL-HEAVY"
    assert got["PLAIN"]["carrier"] and got["PLAIN"]["service_code"] not in ("SF-COLD", "DBL-HEAVY")
    assert all(got[e]["shipping_cost"] > 0 for e in ("FRESH", "BULKY", "PLAIN"))
    assert got["FAR"]["hold_reasons"] == ["no_carrier"]
    detail = next(e["detail"] for e in got["FAR"]["review_log"] if e["source"] == "carrier")
    assert "没有可用的快递服务" in detail
    carrier_log = next(e for e in got["FRESH"]["review_log"] if e["source"] == "carrier")
    assert carrier_log["outcome"] == "carrier:SF-COLD"


def test_a_new_price_or_a_moved_warehouse_is_quoted_from_the_next_batch_on(uow):
    setup_world(uow, skus={"TEE": {"HZ": 10}}, warehouses=("HZ",))
    with uow() as u:
        service.add_carrier(u, code="SF", name="顺丰", services=[ServiceSpec("SF-STD", "标快")])
        service.import_rates(u, [(2, _rate("浙江省", "12.00")), (3, _rate("江苏省", "20.00"))])
    guangzhou = receiver("广东省", "广州市", "天河区", "天河路385号")

    def cost_of(ext: str) -> Decimal:
        import_dicts(
            uow, [canonical(ext, [("TEE", 1)], receiver={**guangzhou, "phone": f"1350000{ext}"})]
        )
        process_all(uow)
        with uow(readonly=True) as u:
            [o] = [o for o in queries.list_orders(u) if o["external_id"] == ext]
            return queries.get_order(u, o["id"])["shipping_cost"]

    assert cost_of("1001") == Decimal("12.00")
    assert cost_of("1002") == Decimal("12.00")  # the same parcel: the quote kept
    with uow() as u:
        service.import_rates(u, [(2, _rate("浙江省", "15.00"))])
    assert cost_of("1003") == Decimal("15.00")
    with uow() as u:  # the warehouse moves to 江苏: quoted from there
        u.conn.execute(sa.text("UPDATE inventory_warehouse SET province = '江苏省'"))
    assert cost_of("1004") == Decimal("20.00")


def _rate(origin: str, price: str) -> dict[str, str | None]:
    return {
        "service": "SF-STD",
        "origin_province": origin,
        "dest_province": "广东省",
        "first_weight_g": "1000",
        "first_price": price,
        "additional_unit_g": "1000",
        "additional_price": "2.00",
    }
