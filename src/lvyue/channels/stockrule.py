"""Pure rule: how many units to show on a channel for one SKU.

Merchants rarely show all their stock everywhere: they share it out by percentage, keep a
safety buffer back, and cap what one shop may sell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class StockRule:
    percent: int = 100
    buffer: int = 0
    warehouses: tuple[str, ...] = ()  # empty: every warehouse
    maximum: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> StockRule:
        percent = int(str(data.get("percent", 100)))
        buffer = int(str(data.get("buffer", 0)))
        maximum = data.get("max")
        if not 0 <= percent <= 100:
            raise ValueError("percent must be between 0 and 100")
        if buffer < 0:
            raise ValueError("buffer must not be negative")
        whs = data.get("warehouses") or ()
        if not isinstance(whs, list | tuple):
            raise ValueError("warehouses must be a list of warehouse codes")
        return cls(
            percent,
            buffer,
            tuple(str(w) for w in whs),
            None if maximum is None else int(str(maximum)),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "percent": self.percent,
            "buffer": self.buffer,
            "warehouses": list(self.warehouses),
            "max": self.maximum,
        }


def push_quantity(available: Mapping[str, int], rule: StockRule) -> int:
    """``available`` per warehouse code for one SKU (bundles already reduced to what their
    components allow) → the quantity to publish: share, minus buffer, clamped."""
    chosen = rule.warehouses or tuple(available)
    total = sum(max(available.get(w, 0), 0) for w in chosen)
    qty = total * rule.percent // 100 - rule.buffer
    if rule.maximum is not None:
        qty = min(qty, rule.maximum)
    return max(qty, 0)


def bundle_available(components: Mapping[int, int], available: Mapping[int, int]) -> int:
    """How many bundles the components allow (components: sku -> units per bundle)."""
    return min((available.get(sku, 0) // per for sku, per in components.items()), default=0)
