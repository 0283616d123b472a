"""Receiver normalisation on import: parse and complete the address, check the phone.

The channel's receiver fields are kept as sent; what this returns goes into the ``addr_*``
columns beside them, with the issues review turns into hold reasons.
"""

from __future__ import annotations

from typing import Any

from lvyue.core.crypto import phone_index
from lvyue.geo.address import parse_address
from lvyue.geo.regions import region_of
from lvyue.orders.canonical import CanonicalReceiver

# Platforms mask the buyer's number (138****5678, *******8000) and reveal it only through
# their own decrypt or privacy-number service: a masked number is not a wrong number.
MASK = "*"
PHONE_ISSUES = frozenset({"invalid_phone", "missing_phone"})


def normalise_receiver(r: CanonicalReceiver) -> dict[str, Any]:
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
