"""Pure rules for recognising the same buyer across orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from lvyue.geo.phone import check_phone


@dataclass(frozen=True)
class BuyerFacts:
    platform: str
    buyer_id: str | None
    nick: str | None
    phone: str | None
    ordered_at: datetime
    amount: Decimal


def buyer_key(platform: str, buyer_id: str | None) -> str | None:
    return f"{platform}:{buyer_id.strip()}" if buyer_id and buyer_id.strip() else None


def phone_key(phone: str | None) -> str | None:
    """Mainland mobile numbers identify a person; landlines, masked numbers (138****5678) and
    the platforms' shared virtual numbers with an extension (17012345678-1234) do not, so they
    must never merge two buyers."""
    result = check_phone(phone)
    if not result.valid or result.kind != "mobile" or result.extension:
        return None
    return result.number
