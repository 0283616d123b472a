"""The canonical order: the one shape every channel adapter and file import maps to.

It is the contract between the outside world and lvyue. Channel-specific quirks (money in fen,
local time without zone, 0-based paging) are resolved by the adapters before this point.
Fields beyond these are allowed and kept in the raw payload.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from lvyue.core.money import to_money

ChannelStatus = Literal["unpaid", "paid", "cancelled"]
RefundStatus = Literal["none", "refunding", "refunded"]
OrderType = Literal["online", "livestream", "offline", "wholesale", "distribution"]

NonNegMoney = Annotated[Decimal, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class CanonicalBuyer(_Model):
    id: str | None = None
    nick: str | None = None
    # Cross-border orders: the buyer's ID number for customs (身份证号).
    id_number: str | None = None


class CanonicalReceiver(_Model):
    name: str | None = None
    phone: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    # The street and door number, or the whole address when the region fields are empty.
    address: str = ""
    zip: str | None = None
    country: str = "CN"


class CanonicalLine(_Model):
    sku: str = Field(min_length=1, description="our SKU code or the channel's outer code")
    quantity: int = Field(gt=0)
    unit_price: NonNegMoney = Decimal("0.00")
    name: str | None = None
    spec: str | None = None
    channel_sku_id: str | None = None
    channel_line_id: str | None = None
    refund_status: RefundStatus = "none"

    @field_validator("unit_price", mode="before")
    @classmethod
    def _money(cls, v: object) -> Decimal:
        return to_money(v)


class CanonicalOrder(_Model):
    external_id: str = Field(min_length=1, max_length=64)
    status: ChannelStatus
    created_at: AwareDatetime
    paid_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    order_type: OrderType = "online"
    buyer: CanonicalBuyer = Field(default_factory=CanonicalBuyer)
    receiver: CanonicalReceiver = Field(default_factory=CanonicalReceiver)
    lines: list[CanonicalLine] = Field(min_length=1)
    currency: str = "CNY"
    shipping_fee: NonNegMoney = Decimal("0.00")
    discount: NonNegMoney = Decimal("0.00")
    buyer_message: str = ""
    seller_memo: str = ""
    tags: list[str] = Field(default_factory=list)
    # Customs declaration data for cross-border orders (payment and logistics declarations).
    customs: dict[str, Any] | None = None

    @field_validator("shipping_fee", "discount", mode="before")
    @classmethod
    def _money(cls, v: object) -> Decimal:
        return to_money(v)

    @property
    def goods_amount(self) -> Decimal:
        return sum((ln.unit_price * ln.quantity for ln in self.lines), Decimal("0.00"))

    @property
    def total_amount(self) -> Decimal:
        return self.amounts()[1]

    def amounts(self) -> tuple[Decimal, Decimal]:
        """Goods and total, the lines summed once (the import needs both)."""
        goods = self.goods_amount
        return goods, goods + self.shipping_fee - self.discount

    @property
    def changed_at(self) -> datetime:
        return self.updated_at or self.paid_at or self.created_at
