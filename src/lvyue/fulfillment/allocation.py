"""Pure warehouse choice: a chain of strategies, each explaining itself.

Input is what an order needs per SKU, what each warehouse has available now, and facts about
the warehouses and the destination. Strategies run in the configured order; each narrows or
orders the candidates that can fill the whole order; the first candidate left wins. When none
can fill it and splitting is allowed, the order is split greedily across warehouses (nearest
first), never reserving more than is available.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

STRATEGIES = ("specified", "nearest", "cheapest", "most_stock", "priority")
DEFAULT_CHAIN = ("specified", "nearest", "priority")


@dataclass(frozen=True)
class WarehouseFacts:
    id: int
    code: str
    name: str
    priority: int


@dataclass
class Allocation:
    """One warehouse for the whole order, or parts per warehouse when split; ``why`` says how."""

    warehouse_id: int | None = None
    parts: dict[int, dict[int, int]] = field(default_factory=dict)  # wh -> sku -> qty
    why: str = ""

    @property
    def ok(self) -> bool:
        return self.warehouse_id is not None or bool(self.parts)


def can_fill(demand: Mapping[int, int], available: Mapping[tuple[int, int], int], wh: int) -> bool:
    for sku, qty in demand.items():  # noqa: SIM110 (a generator per order and warehouse)
        if available.get((sku, wh), 0) < qty:
            return False
    return True


def choose_warehouse(
    demand: Mapping[int, int],
    available: Mapping[tuple[int, int], int],
    warehouses: Sequence[int],
) -> int | None:
    """The first warehouse, in the given order, able to ship every SKU of ``demand``."""
    return next((wh for wh in warehouses if can_fill(demand, available, wh)), None)


def allocate(
    demand: Mapping[int, int],
    available: Mapping[tuple[int, int], int],
    warehouses: Sequence[WarehouseFacts],
    *,
    chain: Sequence[str] = DEFAULT_CHAIN,
    specified: str | None = None,
    distance_km: Callable[[WarehouseFacts], float | None] | None = None,
    cost: Callable[[WarehouseFacts], float | None] | None = None,
    allow_split: bool = False,
) -> Allocation:
    if not demand:
        return Allocation(why="nothing to ship")
    able = [w for w in warehouses if can_fill(demand, available, w.id)]
    notes: list[str] = []
    ordered = sorted(able, key=lambda w: (w.priority, w.id))
    for strategy in chain:
        if not ordered:
            break
        if strategy == "specified" and specified:
            hit = [w for w in ordered if w.code == specified]
            if hit:
                return Allocation(hit[0].id, why=f"指定仓库 {specified}")
            notes.append(f"指定仓库 {specified} 库存不足")
        elif strategy == "nearest" and distance_km is not None:
            dist = {w.id: distance_km(w) for w in ordered}
            known = [w for w in ordered if dist[w.id] is not None]
            if known:
                best = min(known, key=lambda w: (dist[w.id], w.priority))
                skipped = [
                    w
                    for w in warehouses
                    if w not in able and (distance_km(w) or 1e9) < (dist[best.id] or 0)
                ]
                why = f"最近的有货仓 {best.code} ({dist[best.id]:.0f} km)"
                if skipped:
                    why += "; 更近的 " + ", ".join(w.code for w in skipped) + " 缺货"
                return Allocation(best.id, why="; ".join([*notes, why]))
        elif strategy == "cheapest" and cost is not None:
            costs = {w.id: cost(w) for w in ordered}
            known = [w for w in ordered if costs[w.id] is not None]
            if known:
                best = min(known, key=lambda w: (costs[w.id], w.priority))
                return Allocation(
                    best.id,
                    why="; ".join([*notes, f"运费最低 {best.code} (¥{costs[best.id]:.2f})"]),
                )
        elif strategy == "most_stock":
            best = max(
                ordered,
                key=lambda w: (sum(available.get((s, w.id), 0) for s in demand), -w.priority),
            )
            return Allocation(best.id, why="; ".join([*notes, f"库存最多 {best.code}"]))
        elif strategy == "priority":
            return Allocation(
                ordered[0].id, why="; ".join([*notes, f"优先级最高的有货仓 {ordered[0].code}"])
            )
    if ordered:
        return Allocation(ordered[0].id, why="; ".join([*notes, f"有货仓 {ordered[0].code}"]))
    if allow_split:
        return _split(demand, available, warehouses, distance_km)
    return Allocation(why="没有一个仓库能发全部商品" + ("" if allow_split else " (不允许拆单)"))


def _split(
    demand: Mapping[int, int],
    available: Mapping[tuple[int, int], int],
    warehouses: Sequence[WarehouseFacts],
    distance_km: Callable[[WarehouseFacts], float | None] | None,
) -> Allocation:
    order = sorted(
        warehouses, key=lambda w: ((distance_km(w) if distance_km else None) or 1e9, w.priority)
    )
    left = dict(demand)
    parts: dict[int, dict[int, int]] = {}
    for w in order:
        for sku, qty in list(left.items()):
            take = min(qty, available.get((sku, w.id), 0))
            if take > 0:
                parts.setdefault(w.id, {})[sku] = take
                left[sku] -= take
                if not left[sku]:
                    del left[sku]
    if left:
        return Allocation(why="拆单后仍缺货")
    codes = {w.id: w.code for w in warehouses}
    return Allocation(parts=parts, why="拆单发货: " + " + ".join(codes[w] for w in parts))


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
