"""Pure carrier selection (物流匹配): which service ships a parcel, at what cost, and why not
the others.

Rules, checked for every candidate service (all failures of a candidate are reported):

* ``fresh`` / ``frozen`` goods need a cold-chain service. A cold-chain service that names cold
  tags in ``handles`` takes only those (a chilled-only line lists ``fresh`` and refuses
  ``frozen``); one that names none takes both.
* ``bulky`` goods need a freight / special-line service, or one that lists ``bulky``.
* A parcel heavier than the service's maximum weight is refused.
* A destination province the service excludes is not covered.
* A covered route needs a rate from the origin province (or from '*') to the destination.

``fragile`` and other item tags set no hard rule here.

A forced code (from a merchant rule) names a service (``SF-COLD``) or a carrier (``SF``, then its
cheapest eligible service). It wins when eligible; otherwise the reasons say why it could not be
used and the cheapest eligible service is chosen instead. Among eligible services the cheapest
wins, ties broken by the lower service code. No eligible service: no choice, with every reason
(the order is then held with ``no_carrier``).

Province names are compared as given: pass official full names (``浙江省``), as stored by the
rate import and by the address normaliser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from lvyue.logistics.rates import ANY_ORIGIN, RateCard, format_kg, shipping_cost

SERVICE_TAGS = frozenset({"fresh", "frozen", "bulky", "fragile"})
COLD_TAGS = ("fresh", "frozen")
# The review log and hold details are read by the merchant's staff: in Chinese.
GOODS = {"fresh": "生鲜", "frozen": "冷冻品"}

RejectionCode = Literal[
    "no_cold_chain",  # fresh/frozen goods, service not cold chain
    "cold_tag_not_handled",  # cold chain, but not for this kind (chilled-only and frozen goods)
    "not_bulky",  # bulky goods, service neither freight nor handling bulky
    "overweight",
    "no_coverage",  # destination province excluded
    "no_rate",
    "forced_unknown",  # the forced code names no active service or carrier
    "forced_ineligible",  # the forced service/carrier cannot take this parcel
]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A service that could ship, with its rate table keyed by (origin, destination)."""

    service_code: str
    carrier_code: str
    name: str = ""
    handles: frozenset[str] = frozenset()
    max_weight_g: int | None = None
    is_cold_chain: bool = False
    is_freight: bool = False
    excluded_provinces: frozenset[str] = frozenset()
    rates: Mapping[tuple[str, str], RateCard] = field(default_factory=dict)

    def rate_for(self, origin_province: str, dest_province: str) -> RateCard | None:
        """The rate for this route: an exact origin first, else the '*' (any origin) row."""
        return self.rates.get((origin_province, dest_province)) or self.rates.get(
            (ANY_ORIGIN, dest_province)
        )


@dataclass(frozen=True, slots=True)
class Shipment:
    """The facts selection needs about one parcel."""

    origin_province: str  # the shipping warehouse's province
    dest_province: str
    weight_g: int
    tags: frozenset[str] = frozenset()  # handling tags of the items: fresh, frozen, bulky...
    forced: str | None = None  # service code (SF-COLD) or carrier code (SF) from a rule


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one candidate (or the forced code) was not used."""

    service_code: str
    code: RejectionCode
    detail: str

    def __str__(self) -> str:
        return f"{self.service_code}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Quote:
    """An eligible service and what the parcel costs with it."""

    service_code: str
    carrier_code: str
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Selection:
    """The choice (None when nothing is eligible), the eligible quotes cheapest first, and the
    reasons every other candidate was rejected."""

    chosen: Quote | None
    quotes: tuple[Quote, ...]
    rejected: tuple[Rejection, ...]
    forced: bool = False  # the chosen service is the one a rule forced

    @property
    def service_code(self) -> str | None:
        return self.chosen.service_code if self.chosen else None

    @property
    def carrier_code(self) -> str | None:
        return self.chosen.carrier_code if self.chosen else None

    @property
    def cost(self) -> Decimal | None:
        return self.chosen.cost if self.chosen else None

    @property
    def reasons(self) -> list[str]:
        """One line per rejected candidate, for the review log: the forced code's fallback note
        first, then by service code, e.g. ``SF-STD: 无冷链, 不能发生鲜`` or
        ``ZTO-STD: 无冷链, 不能发生鲜; 不配送西藏自治区``."""
        grouped: dict[tuple[str, bool], list[str]] = {}
        for r in self.rejected:
            key = (r.service_code, r.code.startswith("forced_"))
            grouped.setdefault(key, []).append(r.detail)
        return [f"{code}: {'; '.join(details)}" for (code, _), details in grouped.items()]

    def summary(self) -> str:
        """One line for the order's review log."""
        if self.chosen is None:
            return "没有可用的快递服务"
        how = "规则指定" if self.forced else f"{len(self.quotes)} 个可用服务中最便宜"
        return f"{self.chosen.service_code} ¥{self.chosen.cost} ({how})"


def check(candidate: Candidate, shipment: Shipment) -> list[Rejection]:
    """Every reason ``candidate`` cannot ship ``shipment``; empty when it can."""
    code = candidate.service_code
    out: list[Rejection] = []
    for tag in COLD_TAGS:
        if tag not in shipment.tags:
            continue
        if not candidate.is_cold_chain:
            out.append(Rejection(code, "no_cold_chain", f"无冷链, 不能发{GOODS[tag]}"))
        elif candidate.handles.intersection(COLD_TAGS) and tag not in candidate.handles:
            out.append(Rejection(code, "cold_tag_not_handled", f"此冷链不收{GOODS[tag]}"))
    if "bulky" in shipment.tags and not (candidate.is_freight or "bulky" in candidate.handles):
        out.append(Rejection(code, "not_bulky", "非快运或专线, 不能发大件"))
    if candidate.max_weight_g is not None and shipment.weight_g > candidate.max_weight_g:
        out.append(
            Rejection(
                code,
                "overweight",
                f"{format_kg(shipment.weight_g)} 超过上限 {format_kg(candidate.max_weight_g)}",
            )
        )
    if shipment.dest_province in candidate.excluded_provinces:
        out.append(Rejection(code, "no_coverage", f"不配送{shipment.dest_province}"))
    elif candidate.rate_for(shipment.origin_province, shipment.dest_province) is None:
        out.append(
            Rejection(
                code,
                "no_rate",
                f"没有 {shipment.origin_province} → {shipment.dest_province} 的运价",
            )
        )
    return out


def select_service(shipment: Shipment, candidates: Iterable[Candidate]) -> Selection:
    """Choose the service for ``shipment`` among ``candidates`` (see the module rules)."""
    if shipment.weight_g < 0:
        raise ValueError(f"weight must not be negative: {shipment.weight_g} g")
    forced = (shipment.forced or "").strip().upper()
    forced_known = False
    eligible: list[tuple[Quote, bool]] = []  # (quote, matches the forced code)
    rejected: list[Rejection] = []
    for c in candidates:
        is_forced = bool(forced) and forced in (c.service_code.upper(), c.carrier_code.upper())
        forced_known = forced_known or is_forced
        problems = check(c, shipment)
        if problems:
            rejected.extend(problems)
            continue
        rate = c.rate_for(shipment.origin_province, shipment.dest_province)
        assert rate is not None  # check() refused candidates without a rate
        cost = shipping_cost(rate, shipment.weight_g)
        eligible.append((Quote(c.service_code, c.carrier_code, cost), is_forced))
    eligible.sort(key=lambda e: (e[0].cost, e[0].service_code))
    rejected.sort(key=lambda r: r.service_code)
    quotes = tuple(q for q, _ in eligible)
    if forced:
        mine = [q for q, is_forced in eligible if is_forced]
        if mine:
            return Selection(mine[0], quotes, tuple(rejected), forced=True)
        fallback = f"改用 {quotes[0].service_code}" if quotes else "无可替代"
        if forced_known:
            note = Rejection(forced, "forced_ineligible", f"规则指定的服务不能发这单; {fallback}")
        else:
            note = Rejection(forced, "forced_unknown", f"规则指定的服务不存在或已停用; {fallback}")
        rejected.insert(0, note)
    return Selection(quotes[0] if quotes else None, quotes, tuple(rejected))
