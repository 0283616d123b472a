"""Masking of buyers' personal data for people without ``pii.view`` (pure).

Names keep their first character (张*), phones their first three and last four digits
(138****5678); the street and door are replaced by ``****`` while province, city and district
stay, which is what warehouse and reports need.
"""

from __future__ import annotations

import re
from typing import Any

HIDDEN = "****"
NAME_FIELDS = ("receiver_name", "buyer_nick", "display_name")
PHONE_FIELDS = ("receiver_phone", "phone_number")
HIDDEN_FIELDS = ("receiver_address", "addr_detail", "addr_street", "buyer_id_number")
PII_FIELDS = (*NAME_FIELDS, *PHONE_FIELDS, *HIDDEN_FIELDS)


def mask_name(name: str | None) -> str | None:
    return None if not name else name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "****"


def _mask_fields(data: dict[str, Any]) -> dict[str, Any]:
    masked = dict(data)
    for key in NAME_FIELDS:
        if key in data:
            masked[key] = mask_name(data[key])
    for key in PHONE_FIELDS:
        if key in data:
            masked[key] = mask_phone(data[key])
    for key in HIDDEN_FIELDS:
        if data.get(key):
            masked[key] = HIDDEN
    masked["pii_masked"] = True
    return masked


def mask_order(order: dict[str, Any]) -> dict[str, Any]:
    """The order as someone without ``pii.view`` may see it: region kept, street detail gone."""
    return _mask_fields(order)


def mask_customer(profile: dict[str, Any]) -> dict[str, Any]:
    """A customer profile without the nickname and with its phone identities masked."""
    masked = _mask_fields(profile)
    masked["identities"] = [
        f"phone:{mask_phone(i.removeprefix('phone:'))}" if i.startswith("phone:") else i
        for i in profile.get("identities", [])
    ]
    return masked
