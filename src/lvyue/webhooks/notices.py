"""Notices: the public form of a domain event, as webhooks and the live stream carry it.

Pure module: which event types exist, the envelope ``{"id", "type", "occurred_at", "data"}``,
and who may see a notice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lvyue.accounts.roles import Principal
from lvyue.core.errors import ValidationError

ORDER_STATUS_CHANGED = "order.status_changed"
ORDER_SHIPPED = "order.shipped"
ORDER_HELD = "order.held"
STOCK_LOW = "stock.low"
EVENT_TYPES = (ORDER_STATUS_CHANGED, ORDER_SHIPPED, ORDER_HELD, STOCK_LOW)


def new_id(prefix: str = "evt") -> str:
    # 128 random bits as 32 hex digits, as uuid4().hex but without building a UUID: the bulk
    # paths make two of these per order.
    return f"{prefix}_{os.urandom(16).hex()}"


@dataclass(frozen=True)
class Notice:
    id: str
    type: str
    at: datetime
    data: dict[str, Any] = field(hash=False)
    # Scope, for filtering by the reader's shops and warehouses (codes).
    shop: str | None = None
    warehouse: str | None = None
    order_id: int | None = None
    sku: str | None = None

    def envelope(self) -> dict[str, Any]:
        return envelope(self.id, self.type, self.at, self.data)

    def log_row(self) -> dict[str, Any]:
        return {
            "event_id": self.id,
            "type": self.type,
            "shop": self.shop,
            "warehouse": self.warehouse,
            "order_id": self.order_id,
            "sku": self.sku,
            "payload": self.data,
            "at": self.at,
        }


def envelope(event_id: str, type_: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "occurred_at": at.isoformat(), "data": data}


def parse_event_types(values: Iterable[str]) -> list[str]:
    """The distinct known event types asked for, in the canonical order."""
    asked = {v.strip() for v in values if v and v.strip()}
    if not asked:
        raise ValidationError("events", f"name at least one of {', '.join(EVENT_TYPES)}")
    unknown = sorted(asked - set(EVENT_TYPES))
    if unknown:
        raise ValidationError(
            "events",
            f"unknown event type {', '.join(unknown)}; one of {', '.join(EVENT_TYPES)}",
            unknown=unknown,
        )
    return [t for t in EVENT_TYPES if t in asked]


def visible_to(principal: Principal, type_: str, shop: str | None, warehouse: str | None) -> bool:
    """Order notices need orders.read and the order's shop and warehouse in scope (an order not
    yet in a warehouse is seen by every warehouse, as in the order list); stock notices need
    stock.read and the warehouse in scope."""
    if type_.startswith("order."):
        return (
            principal.can("orders.read")
            and (shop is None or principal.sees_shop(shop))
            and (warehouse is None or principal.sees_warehouse(warehouse))
        )
    if type_.startswith("stock."):
        return principal.can("stock.read") and (
            warehouse is not None and principal.sees_warehouse(warehouse)
        )
    return False
