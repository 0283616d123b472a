"""Hold reasons: stable codes, what each means, and whether the system re-checks it itself."""

from __future__ import annotations

from dataclasses import dataclass

from lvyue.geo.address import ISSUE_ORDER
from lvyue.geo.phone import MISSING_PHONE


@dataclass(frozen=True)
class HoldReason:
    code: str
    zh: str
    en: str
    # Re-checked by every `orders process` run; others wait for an operator.
    auto_recheck: bool


HOLD_REASONS: dict[str, HoldReason] = {
    r.code: r
    for r in [
        HoldReason("unpaid", "未付款", "the channel says the order is not paid", False),
        HoldReason("unknown_sku", "商品未匹配", "SKU not in catalogue or not mapped", True),
        HoldReason("out_of_stock", "库存不足", "not enough stock in any warehouse", True),
        HoldReason("unknown_region", "地址无法识别", "province/city not recognised", False),
        HoldReason("ambiguous_region", "地址有歧义", "region name is ambiguous", False),
        HoldReason("missing_district", "缺少区县", "district missing", False),
        HoldReason("missing_city", "缺少城市", "city missing", False),
        HoldReason(
            "city_not_in_province", "城市与省份不符", "city belongs to another province", False
        ),
        HoldReason(
            "region_conflict", "省市区互相矛盾", "region fields contradict each other", False
        ),
        HoldReason("missing_phone", "缺少电话", "receiver phone missing", False),
        HoldReason(
            "district_not_in_city", "区县与城市不符", "district belongs to another city", False
        ),
        HoldReason("missing_detail", "详细地址不全", "street and door number missing", False),
        HoldReason("invalid_phone", "电话无效", "receiver phone invalid", False),
        HoldReason("address_changed", "地址已变更", "the channel changed the address", False),
        HoldReason("lines_changed", "商品已变更", "the channel changed the items", False),
        HoldReason("channel_cancelled", "平台已取消", "cancelled on the channel", False),
        HoldReason("channel_refund", "平台退款", "refund on the channel", False),
        HoldReason("manual_review", "人工复核", "a rule asks a person to review", False),
        HoldReason("operator_hold", "人工挂起", "held by an operator", False),
        HoldReason("blacklisted", "黑名单客户", "the customer is blacklisted", False),
        HoldReason("buyer_message", "买家留言待确认", "the buyer left a message to read", False),
        HoldReason("duplicate_suspect", "疑似重复订单", "same buyer, address and items", False),
        HoldReason(
            "customs_data_missing", "缺少清关资料", "cross-border order lacks customs data", False
        ),
        HoldReason("no_carrier", "无可用快递", "no carrier service can take the parcel", True),
    ]
}

AUTO_RECHECK = frozenset(c for c, r in HOLD_REASONS.items() if r.auto_recheck)

# Every issue the address and phone checks raise, and the channel's own address change.
ADDRESS_HOLDS = frozenset({*ISSUE_ORDER, MISSING_PHONE, "address_changed"})

# Holds a person may wave through after looking; the others need the cause fixed.
OVERRIDABLE = frozenset(
    {"manual_review", "operator_hold", "blacklisted", "buyer_message", "duplicate_suspect"}
)

# What resolves each hold, for the held-order queue: the address or phone corrected, a channel
# SKU mapped, a decision on short stock, a manual review decided, a hold a person waves
# through, the system's own re-check, or the order cancelled (the channel's side changed).
FIX_ADDRESS, FIX_PHONE, FIX_SKU, FIX_STOCK = "address", "phone", "sku", "stock"
FIX_REVIEW, FIX_RELEASE, FIX_RECHECK, FIX_CANCEL = "review", "release", "recheck", "cancel"
FIX_DETAIL = "detail"  # nothing to do inline: the order's own page
PHONE_HOLDS = frozenset({"invalid_phone", MISSING_PHONE})
FIX_OF: dict[str, str] = {
    **{code: FIX_ADDRESS for code in ADDRESS_HOLDS - PHONE_HOLDS},
    **{code: FIX_PHONE for code in PHONE_HOLDS},
    "unknown_sku": FIX_SKU,
    "out_of_stock": FIX_STOCK,
    "manual_review": FIX_REVIEW,
    **{code: FIX_RELEASE for code in OVERRIDABLE - {"manual_review"}},
    "no_carrier": FIX_RECHECK,
    "unpaid": FIX_CANCEL,
    "channel_cancelled": FIX_CANCEL,
    "channel_refund": FIX_CANCEL,
    "lines_changed": FIX_CANCEL,
    "customs_data_missing": FIX_DETAIL,
}


def fix_of(code: str) -> str:
    """How a person resolves the hold ``code``; a merchant rule's own code is looked at on the
    order's page."""
    return FIX_OF.get(code, FIX_DETAIL)
