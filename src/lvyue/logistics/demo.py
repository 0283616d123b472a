"""Demo carriers, services and rate tables: plausible 2025 merchant contract prices.

Rates are generated, not typed per province: each destination falls in a distance band from the
origin warehouse's province (great-circle distance between the provincial capitals, from
:mod:`lvyue.geo.coordinates`), 西藏 and 新疆 always in the remote band, and each service has one
first-weight price and one additional-unit price per band.
"""

from __future__ import annotations

from lvyue.core.uow import UnitOfWork
from lvyue.geo import coordinates, divisions
from lvyue.logistics.rates import RATE_COLUMNS, official_province
from lvyue.logistics.service import RateImportReport, ServiceSpec, add_carrier, import_rates

ORIGINS = ("浙江省", "广东省", "北京市")  # the demo warehouses' provinces (HZ, GZ, BJ)
REMOTE = frozenset({"西藏自治区", "新疆维吾尔自治区"})
FAR_WEST = ("西藏", "新疆")

# Band: 0 same province, 1 < 600 km, 2 < 1200 km, 3 < 2000 km, 4 farther, 5 西藏/新疆.
BAND_LIMITS_KM = (600.0, 1200.0, 2000.0)

# carrier code, carrier name, [(service spec, first weight g, first prices by band,
#                                 additional unit g, additional prices by band)]
Prices = tuple[str, str, str, str, str, str]
CARRIERS: list[tuple[str, str, list[tuple[ServiceSpec, int, Prices, int, Prices]]]] = [
    (
        "SF",
        "顺丰速运",
        [
            (
                ServiceSpec("SF-STD", "顺丰标快", handles=("fragile",), max_weight_g=50_000),
                1000,
                ("12", "13", "18", "22", "23", "26"),
                1000,
                ("2", "4", "6", "9", "12", "15"),
            ),
            (
                ServiceSpec(
                    "SF-COLD",
                    "顺丰冷运",
                    handles=("fresh", "frozen"),
                    is_cold_chain=True,
                    max_weight_g=30_000,
                    excluded_provinces=(*FAR_WEST, "青海"),
                ),
                1000,
                ("18", "22", "28", "35", "40", "45"),
                1000,
                ("4", "6", "9", "12", "15", "18"),
            ),
        ],
    ),
    (
        "ZTO",
        "中通快递",
        [
            (
                ServiceSpec(
                    "ZTO-STD", "中通标快", max_weight_g=40_000, excluded_provinces=FAR_WEST
                ),
                1000,
                ("3.8", "4.5", "5.5", "6.5", "8", "15"),
                1000,
                ("1", "1.5", "2.5", "4", "6", "10"),
            )
        ],
    ),
    (
        "YTO",
        "圆通速递",
        [
            (
                ServiceSpec(
                    "YTO-STD", "圆通标快", max_weight_g=30_000, excluded_provinces=("西藏",)
                ),
                1000,
                ("3.6", "4.6", "5.6", "6.8", "8.5", "16"),
                1000,
                ("1", "1.5", "2.5", "4", "6", "12"),
            )
        ],
    ),
    (
        "DBL",
        "德邦快递",
        [
            (
                ServiceSpec(
                    "DBL-HEAVY",
                    "德邦大件",
                    handles=("bulky", "fragile"),
                    is_freight=True,
                    max_weight_g=200_000,
                ),
                10_000,
                ("25", "30", "38", "48", "58", "80"),
                1000,
                ("1", "1.5", "2.2", "3", "3.8", "6"),
            )
        ],
    ),
    (
        "JD",
        "京东快递",
        [
            (
                ServiceSpec("JD-STD", "京东标快", handles=("fragile",), max_weight_g=50_000),
                1000,
                ("10", "12", "15", "19", "22", "25"),
                1000,
                ("2", "3.5", "5", "7", "9", "12"),
            )
        ],
    ),
    (
        "EMS",
        "中国邮政EMS",
        [
            (
                ServiceSpec("EMS-STD", "EMS标准快递", max_weight_g=40_000),
                1000,
                ("9", "11", "14", "18", "21", "24"),
                1000,
                ("2", "4", "6", "8", "10", "12"),
            )
        ],
    ),
]


def band(origin: str, dest: str) -> int:
    """The distance band (0-5) of a route between two official province names."""
    if dest in REMOTE:
        return 5
    if origin == dest:
        return 0
    a, b = coordinates.locate(origin), coordinates.locate(dest)
    if a is None or b is None:
        raise ValueError(f"no coordinates for {origin} or {dest}")
    km = coordinates.distance_km(a, b)
    return sum(km >= limit for limit in BAND_LIMITS_KM) + 1


def mainland_provinces() -> list[str]:
    """The 31 mainland province-level divisions, official names, by code."""
    return [
        p.name
        for p in sorted(divisions.provinces(), key=lambda p: p.code)
        if divisions.find(p.name)  # Hong Kong, Macao and Taiwan are not in the name lookups
    ]


def demo_rate_rows(origins: tuple[str, ...] = ORIGINS) -> list[dict[str, str | None]]:
    """Rate-file rows for every demo service from each origin to every covered province."""
    rows: list[dict[str, str | None]] = []
    provinces = mainland_provinces()
    for _, _, services in CARRIERS:
        for spec, first_g, first, unit_g, extra in services:
            excluded = {official_province(p) for p in spec.excluded_provinces}
            for origin in origins:
                for dest in provinces:
                    if dest in excluded:
                        continue
                    b = band(origin, dest)
                    values = (spec.code, origin, dest, first_g, first[b], unit_g, extra[b])
                    rows.append(dict(zip(RATE_COLUMNS, map(str, values), strict=True)))
    return rows


def seed_demo_logistics(uow: UnitOfWork) -> RateImportReport:
    """Create the demo carriers and services and import their rate tables (one transaction:
    the caller's unit of work)."""
    for code, name, services in CARRIERS:
        add_carrier(uow, code=code, name=name, services=[s for s, *_ in services])
    report = import_rates(uow, enumerate(demo_rate_rows(), start=2))
    if report.rejected:
        raise RuntimeError(f"demo rates rejected: {[str(p) for p in report.rejected[:3]]}")
    return report
