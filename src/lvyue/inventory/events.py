"""Facts the inventory capability publishes for the capabilities above it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lvyue.core.events import Event


@dataclass(frozen=True)
class LowLevel:
    sku_id: int
    warehouse_id: int
    available: int
    threshold: int


@dataclass(frozen=True)
class StockLow(Event):
    """Available stock fell to or below its low-stock threshold (it was above before this
    change), for one or more levels changed together."""

    levels: tuple[LowLevel, ...]
    at: datetime
