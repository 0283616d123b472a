"""Receiver normalisation on import: parse and complete the address, check the phone.

The channel's receiver fields are kept as sent; what this returns goes into the ``addr_*``
columns beside them, with the issues review turns into hold reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lvyue.core.crypto import phone_index
from lvyue.geo.address import (
    INVALID_PHONE,
    ISSUE_ORDER,
    MISSING_DETAIL,
    AddressResult,
    parse_address,
)
from lvyue.geo.divisions import children, find
from lvyue.geo.regions import region_of
from lvyue.orders.canonical import CanonicalReceiver

# Platforms mask the buyer's number (138****5678, *******8000) and reveal it only through
# their own decrypt or privacy-number service: a masked number is not a wrong number.
MASK = "*"
PHONE_ISSUES = frozenset({"invalid_phone", "missing_phone"})


# Receivers read ahead of their import, while the database wrote the batch before
# (``channels.lookahead``), by the fields the reading depends on; each handed out once.
_AHEAD: dict[tuple[str | None, ...], dict[str, Any]] = {}


def _reading_key(r: CanonicalReceiver) -> tuple[str | None, ...]:
    return (r.address, r.province, r.city, r.district, r.phone)


def normalise_ahead(r: CanonicalReceiver) -> None:
    """Normalise ``r`` now, for :func:`normalise_receiver` to hand out when its order is
    imported (until :func:`drop_ahead`)."""
    _AHEAD[_reading_key(r)] = _normalise(r)


def drop_ahead(receivers: Iterable[CanonicalReceiver] | None = None) -> None:
    """Forget the readings done ahead for ``receivers`` (all when None) and not taken: their
    orders were known already."""
    if receivers is None:
        _AHEAD.clear()
        return
    for r in receivers:
        _AHEAD.pop(_reading_key(r), None)


def normalise_receiver(r: CanonicalReceiver) -> dict[str, Any]:
    if _AHEAD:
        ready = _AHEAD.pop(_reading_key(r), None)
        if ready is not None:
            return ready
    return _normalise(r)


def _normalise(r: CanonicalReceiver) -> dict[str, Any]:
    masked = bool(r.phone and MASK in r.phone)
    result = parse_address(
        r.address,
        province=r.province,
        city=r.city,
        district=r.district,
        phone=None if masked else r.phone,
    )
    issues = [i for i in result.issues if not (masked and i in PHONE_ISSUES)]
    phone = result.phone if not masked and "invalid_phone" not in issues else None
    return {
        "addr_province": result.province,
        "addr_city": result.city,
        "addr_district": result.district,
        "addr_street": result.street,
        "addr_detail": (result.detail or "")[:300] or None,
        "phone_number": phone,
        "phone_extension": result.extension,
        # What a phone search matches: the checked number, else the phone as sent.
        "receiver_phone_hash": phone_index(phone or r.phone),
        "region": region_of(result.province),
        "address_issues": issues,
    }


def fixed_receiver(
    text: str | None,
    *,
    province: str | None = None,
    city: str | None = None,
    district: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    """The same columns for an operator's correction (free text or fields)."""
    return normalise_receiver(
        CanonicalReceiver(
            province=province, city=city, district=district, address=text or "", phone=phone
        )
    )


# --------------------------------------------------------------------------- suggestions

# Issues of the region (province, city, district), as opposed to the detail line or phone.
REGION_ISSUES = frozenset(ISSUE_ORDER) - {MISSING_DETAIL, INVALID_PHONE}


@dataclass(frozen=True)
class AddressSuggestion:
    """A better reading of a receiver than the one stored: the inputs to parse again
    (``text`` with the region fields that were kept) and what they read as."""

    text: str
    province: str | None
    city: str | None
    district: str | None
    reading: AddressResult

    @property
    def region(self) -> tuple[str | None, str | None, str | None]:
        return self.reading.province, self.reading.city, self.reading.district


def suggest_address(
    address: str | None,
    *,
    province: str | None = None,
    city: str | None = None,
    district: str | None = None,
) -> AddressSuggestion | None:
    """Read the receiver again, leaving out the fields that may be wrong (the district, then
    the city), and as free text (the buyer may have typed the whole address on the detail
    line); the reading with the fewest region issues wins, if it has fewer than the
    receiver as sent. None when no reading is better."""
    text = address or ""
    joined = " ".join(v for v in (province, city, district, text) if v)
    candidates = [
        (text, province, city, district),
        (text, province, city, None),
        (text, province, None, None),
        (joined, None, None, None),
        (text, None, None, None),
    ]

    def region_issues(r: AddressResult) -> int:
        return sum(1 for i in r.issues if i in REGION_ISSUES) + (r.province is None)

    readings = [parse_address(t, province=p, city=c, district=d) for t, p, c, d in candidates]
    scores = [region_issues(r) for r in readings]
    best = min(range(len(candidates)), key=lambda i: (scores[i], i))
    if scores[best] >= scores[0] or not text.strip():
        return None
    t, p, c, d = candidates[best]
    return AddressSuggestion(t, p, c, d, readings[best])


def district_choices(province: str | None, city: str | None) -> list[str]:
    """The districts (county-level units) of ``city`` in ``province``, for a picker; the
    districts of a municipality when only the province is known. Empty when unknown."""
    if not province:
        return []
    for d in find(city or province):
        if d.level == "city" and d.province_code != (find_province(province) or ""):
            continue
        if d.level == "province" and not d.is_municipality:
            continue
        if d.level in ("city", "province"):
            return [c.name for c in children(d.code)]
    return []


def find_province(name: str) -> str | None:
    for d in find(name):
        if d.level == "province":
            return d.code
    return None
