"""Pure warehouse choice for the minimal pipeline (issue 5 widens it to a strategy chain).

Input is what an order needs per SKU and what each warehouse has available now; the answer is
the first warehouse, in the given preference order, that can fill the whole order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def choose_warehouse(
    demand: Mapping[int, int],
    available: Mapping[tuple[int, int], int],
    warehouses: Sequence[int],
) -> int | None:
    """Return the first warehouse id able to ship every SKU of ``demand``, else None.

    ``available`` is keyed by (sku_id, warehouse_id).
    """
    for wh in warehouses:
        if all(available.get((sku, wh), 0) >= qty for sku, qty in demand.items()):
            return wh
    return None


def shortages(
    demand: Mapping[int, int],
    available: Mapping[tuple[int, int], int],
    warehouses: Sequence[int],
) -> dict[int, int]:
    """Per SKU, how many units are missing even in the best single warehouse for that SKU."""
    short: dict[int, int] = {}
    for sku, qty in demand.items():
        best = max((available.get((sku, wh), 0) for wh in warehouses), default=0)
        if best < qty:
            short[sku] = qty - best
    return short
