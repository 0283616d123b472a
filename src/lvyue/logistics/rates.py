"""Pure rate rules: what a parcel costs under a rate, and checking one rate-table row.

A rate is first weight + additional units, the way every Chinese courier quotes (首重 + 续重):
``first_price`` covers the parcel up to ``first_weight_g``; each started ``additional_unit_g``
beyond it adds ``additional_price``. A weight of 0 (unknown or not weighed yet) costs the first
weight price.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from lvyue.core.money import CENT, to_money
from lvyue.geo import divisions

ANY_ORIGIN = "*"  # a rate row whose origin is '*' applies from every warehouse province

RATE_COLUMNS = (
    "service",
    "origin_province",
    "dest_province",
    "first_weight_g",
    "first_price",
    "additional_unit_g",
    "additional_price",
)


class RateTerms(Protocol):
    """What :func:`shipping_cost` needs of a rate (a :class:`RateCard` or a table row)."""

    @property
    def first_weight_g(self) -> int: ...
    @property
    def first_price(self) -> Decimal: ...
    @property
    def additional_unit_g(self) -> int: ...
    @property
    def additional_price(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class RateCard:
    """One row of a service's rate table."""

    origin_province: str
    dest_province: str
    first_weight_g: int
    first_price: Decimal
    additional_unit_g: int
    additional_price: Decimal


def shipping_cost(rate: RateTerms, weight_g: int) -> Decimal:
    """Cost of a parcel of ``weight_g`` grams: the first weight, then each started additional
    unit. ``shipping_cost(1 kg ¥12 + ¥2/kg, 2001 g) == 16.00`` (1 kg first, 2 started units)."""
    if weight_g < 0:
        raise ValueError(f"weight must not be negative: {weight_g} g")
    if rate.first_weight_g <= 0 or rate.additional_unit_g <= 0:
        raise ValueError("first weight and additional unit must be positive")
    extra_g = max(0, weight_g - rate.first_weight_g)
    units = -(-extra_g // rate.additional_unit_g)  # ceiling division: a started unit counts
    return (rate.first_price + units * rate.additional_price).quantize(CENT)


def format_kg(weight_g: int) -> str:
    """45000 → '45 kg', 30500 → '30.5 kg', 1250 → '1.25 kg'."""
    kg = (Decimal(weight_g) / 1000).normalize()
    return f"{kg:f} kg"


def official_province(name: str) -> str | None:
    """The official full name of a mainland province-level division from its official or short
    name (浙江 → 浙江省, 内蒙 → 内蒙古自治区, 北京 → 北京市); None if unknown or ambiguous."""
    found = {d.name for d in divisions.find(name.strip()) if d.level == "province"}
    return found.pop() if len(found) == 1 else None


def read_rate_csv(text: str) -> list[tuple[int, dict[str, str | None]]]:
    """(line number, row) of a rate CSV (a leading BOM is fine), for ``import_rates``.
    Raises ``RateRowError`` on the header when a column of :data:`RATE_COLUMNS` is missing."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    missing = [c for c in RATE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RateRowError("header", f"missing column(s): {', '.join(missing)}")
    return [(reader.line_num, row) for row in reader]


class RateRowError(ValueError):
    """A bad rate-table row: names the column and the problem."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class RateRow:
    service: str
    rate: RateCard


def _grams(raw: str, field: str) -> int:
    if not raw.isdigit() or int(raw) <= 0:
        raise RateRowError(field, f"{raw!r} is not a positive whole number of grams")
    return int(raw)


def _price(raw: str, field: str) -> Decimal:
    try:
        value = to_money(raw)
    except ValueError:
        raise RateRowError(field, f"{raw!r} is not an amount") from None
    if value < 0:
        raise RateRowError(field, "must not be negative")
    return value


def _province(raw: str, field: str, *, allow_any: bool) -> str:
    if not raw:
        raise RateRowError(field, "is required")
    if raw == ANY_ORIGIN:
        if allow_any:
            return ANY_ORIGIN
        raise RateRowError(field, "'*' is allowed only as origin_province")
    name = official_province(raw)
    if name is None:
        raise RateRowError(field, f"{raw!r} is not a mainland province")
    return name


def parse_rate_row(raw: Mapping[str, str | None]) -> RateRow:
    """Check one CSV row (columns :data:`RATE_COLUMNS`) and name the first bad field.
    Province names are normalised to official full names; the service code to upper case."""

    def get(name: str) -> str:
        return (raw.get(name) or "").strip()

    service = get("service").upper()
    if not service:
        raise RateRowError("service", "is required")
    origin = _province(get("origin_province"), "origin_province", allow_any=True)
    dest = _province(get("dest_province"), "dest_province", allow_any=False)
    first_weight_g = _grams(get("first_weight_g"), "first_weight_g")
    first_price = _price(get("first_price"), "first_price")
    additional_unit_g = _grams(get("additional_unit_g"), "additional_unit_g")
    additional_price = _price(get("additional_price"), "additional_price")
    return RateRow(
        service,
        RateCard(origin, dest, first_weight_g, first_price, additional_unit_g, additional_price),
    )
