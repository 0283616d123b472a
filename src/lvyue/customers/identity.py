"""Pure rules for recognising the same buyer across orders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

_DIGITS = re.compile(r"\D")
# Platforms hide real numbers behind shared virtual numbers with an extension; those identify
# nobody, so they must never merge two buyers.
_WITH_EXTENSION = re.compile(r"(?:\+?86|0086)?1\d{10}(?:[-_#转,]|\[|ext)\d{1,6}\]?", re.IGNORECASE)


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
    """Mainland mobile numbers identify a person; landlines, virtual numbers with an
    extension and masked numbers (138****5678) do not."""
    if not phone or "*" in phone or _WITH_EXTENSION.fullmatch(re.sub(r"\s+", "", phone)):
        return None
    digits = _DIGITS.sub("", phone)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) == 11 and digits.startswith("1") else None
