"""Facts the orders capability publishes for the capabilities above it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lvyue.core.events import Event


@dataclass(frozen=True)
class OrderShipped(Event):
    order_id: int
    shop_id: int
    external_id: str
    carrier_code: str
    tracking_no: str
    channel_line_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderRef:
    """Who an order is, as notices name it: set by the bulk paths (import, pipeline), which
    have it in hand, so that handlers need not read every changed order back."""

    shop_id: int
    external_id: str
    warehouse_id: int | None


@dataclass(frozen=True)
class StatusChange:
    order_id: int
    old: str | None  # None: the order was just created
    new: str
    reason: str
    ref: OrderRef | None = None  # None: handlers look the order up


@dataclass(frozen=True)
class OrderStatusChanged(Event):
    """Orders changed status. Bulk paths change many orders in one statement and publish one
    event for all of them, so that handlers can react set-based."""

    changes: tuple[StatusChange, ...]
    at: datetime
