"""Pure review of the minimal pipeline: what holds an order, given facts loaded in batch.

Issue 5 adds merchant rules on top; the built-in checks stay here and stay pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LineFacts:
    sku_code: str
    sku_id: int | None
    quantity: int
    refunding: bool = False


@dataclass(frozen=True)
class OrderFacts:
    order_id: int
    lines: Sequence[LineFacts]
    # Issues found by address and phone normalisation (geo), as hold codes.
    address_issues: Sequence[str] = ()
    paid: bool = True


@dataclass
class Verdict:
    holds: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.holds


def expand_demand(
    lines: Sequence[LineFacts], bundles: Mapping[int, Mapping[int, int]]
) -> dict[int, int]:
    """Units needed per stocked SKU: bundle lines expand into their components."""
    demand: dict[int, int] = {}
    for line in lines:
        if line.sku_id is None:
            continue
        parts = bundles.get(line.sku_id) or {line.sku_id: 1}
        for sku, per in parts.items():
            demand[sku] = demand.get(sku, 0) + per * line.quantity
    return demand


def review(facts: OrderFacts) -> Verdict:
    verdict = Verdict()
    if not facts.paid:
        verdict.holds["unpaid"] = "平台显示未付款"
    unknown = sorted({ln.sku_code for ln in facts.lines if ln.sku_id is None})
    if unknown:
        verdict.holds["unknown_sku"] = "未匹配商品: " + ", ".join(unknown)
    refunding = sorted({ln.sku_code for ln in facts.lines if ln.refunding})
    if refunding:
        verdict.holds["channel_refund"] = "退款处理中: " + ", ".join(refunding)
    elif not facts.lines:
        verdict.holds["channel_refund"] = "全部商品已退款"
    for code in facts.address_issues:
        verdict.holds.setdefault(code, "")
    return verdict
