"""Carrier choice in the pipeline: cold chain for fresh goods, special line for bulky ones,
remote regions only with a carrier that covers them; cost stored on the order."""

from __future__ import annotations

from lvyue.catalog.service import import_catalog
from lvyue.inventory import service as inventory
from lvyue.logistics.demo import seed_demo_logistics
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
