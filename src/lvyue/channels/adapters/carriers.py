"""Our carrier codes and what each platform calls the same carrier, in one table.

Where the values come from, per column ([S] secondary source, [U] unverified):

- ``shopify``: Shopify's ``tracking_company`` name. Shopify builds a tracking link only for
  names on its list, so a Kuaidi100 link is always sent too. [U] which of these names Shopify
  recognises; "SF Express" and "China Post" are on its list.
- ``woocommerce``: the provider name shown to the buyer. The Shipment Tracking extension's
  built-in providers are chosen per country and their names for Chinese couriers are [U], so
  we send a custom provider with our own (Kuaidi100) tracking link.
- ``kuaidi100``: Kuaidi100's company code, for the tracking links above.
- ``taobao``: TOP ``company_code`` (taobao.logistics.companies.get), the Cainiao codes in
  common use [S]; a shop with other carriers passes ``carrier_codes``.
- ``pinduoduo``: PDD ``logistics_id`` (pdd.logistics.companies.get), recalled from merchant
  tools, not a primary source [U]: check against the companies call before production, or pass
  ``carrier_codes``.
- ``jd``: JD ``logiCoprId`` [U], commonly cited ids from a single third-party source; JD's
  carrier list for the shop is authoritative.
- ``douyin``: Douyin ``company_code`` (what /order/logisticsCompanyList returns) [U]: Douyin
  uses kuaidi100-style pinyin codes; re-check against logisticsCompanyList per shop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class Carrier:
    shopify: str
    woocommerce: str
    kuaidi100: str
    taobao: str
    pinduoduo: int
    jd: str
    douyin: str


CARRIERS: Mapping[str, Carrier] = {
    # code: Carrier(shopify, woocommerce, kuaidi100, taobao, pinduoduo, jd, douyin)
    "SF": Carrier("SF Express", "顺丰速运", "shunfeng", "SF", 44, "467", "shunfeng"),
    "ZTO": Carrier("ZTO Express", "中通快递", "zhongtong", "ZTO", 115, "1499", "zhongtong"),
    "YTO": Carrier("YTO Express", "圆通速递", "yuantong", "YTO", 85, "463", "yuantong"),
    "STO": Carrier("STO Express", "申通快递", "shentong", "STO", 1, "470", "shentong"),
    "YUNDA": Carrier("Yunda Express", "韵达快递", "yunda", "YUNDA", 121, "1327", "yunda"),
    "JD": Carrier("JD Logistics", "京东物流", "jd", "JD", 120, "2087", "jd"),
    "EMS": Carrier("China EMS", "EMS", "ems", "EMS", 118, "465", "ems"),
}


def carrier(code: str) -> Carrier | None:
    """The row for one of our carrier codes, in any case."""
    return CARRIERS.get(code.upper())


def platform_codes(
    column: Callable[[Carrier], V], overrides: Mapping[str, V] | None = None
) -> dict[str, V]:
    """Our code -> one platform's code (``column`` of the table, unless a shop passes its own
    ``overrides``), keyed upper-case so a lookup is by ``code.upper()``."""
    codes = overrides or {code: column(row) for code, row in CARRIERS.items()}
    return {code.upper(): value for code, value in codes.items()}
