"""Masking of buyers' personal data for people without ``pii.view`` (pure)."""

from __future__ import annotations

import re
from typing import Any

PII_FIELDS = (
    "receiver_name",
    "receiver_phone",
    "receiver_address",
    "phone_number",
    "addr_detail",
    "addr_street",
    "buyer_id_number",
    "buyer_nick",
)


def mask_name(name: str | None) -> str | None:
    return None if not name else name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "****"


def mask_order(order: dict[str, Any]) -> dict[str, Any]:
    """The order as someone without ``pii.view`` may see it: region kept, street detail gone."""
    masked = dict(order)
    masked["receiver_name"] = mask_name(order.get("receiver_name"))
    masked["buyer_nick"] = mask_name(order.get("buyer_nick"))
    for key in ("receiver_phone", "phone_number"):
        masked[key] = mask_phone(order.get(key))
    for key in ("receiver_address", "addr_detail", "addr_street", "buyer_id_number"):
        if order.get(key):
            masked[key] = "******"
    masked["pii_masked"] = True
    return masked
