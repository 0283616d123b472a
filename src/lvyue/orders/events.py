"""Facts the orders capability publishes for the capabilities above it."""

from __future__ import annotations

from dataclasses import dataclass

from lvyue.core.events import Event


@dataclass(frozen=True)
class OrderShipped(Event):
    order_id: int
    shop_id: int
    external_id: str
    carrier_code: str
    tracking_no: str
    channel_line_ids: tuple[str, ...] = ()
