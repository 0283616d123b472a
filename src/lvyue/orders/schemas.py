"""Pydantic input and output of the orders API. The output models are allow-lists: a column
added to the order table is not shown to API clients until it is named here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from lvyue.core.http import BIGINT_MAX


class LineSummary(BaseModel):
    sku: str
    quantity: int
    reserved: int


class OrderSummary(BaseModel):
    id: int
    shop: str
    external_id: str
    status: str
    hold_reasons: list[str]
    warehouse: str | None
    lines: list[LineSummary]


class OrderPage(BaseModel):
    items: list[OrderSummary]
    total: int


class HoldRead(BaseModel):
    code: str
    detail: str


class HistoryRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    at: datetime
    from_status: str | None = Field(alias="from")
    to_status: str = Field(alias="to")
    actor: str
    reason: str


class OrderDetail(OrderSummary):
    order_type: str
    channel_status: str
    ordered_at: datetime
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    buyer_id: str | None
    buyer_nick: str | None
    receiver_name: str | None
    receiver_phone: str | None
    receiver_province: str | None
    receiver_city: str | None
    receiver_district: str | None
    receiver_address: str
    receiver_zip: str | None
    addr_province: str | None
    addr_city: str | None
    addr_district: str | None
    addr_street: str | None
    addr_detail: str | None
    phone_number: str | None
    address_issues: list[str]
    region: str | None
    currency: str
    goods_amount: Decimal
    shipping_fee: Decimal
    discount: Decimal
    total_amount: Decimal
    item_count: int
    buyer_message: str
    seller_memo: str
    tags: list[str]
    customer_id: int | None
    parent_id: int | None
    merge_group: int | None
    oversell_policy: str | None
    review_log: list[dict[str, Any]]
    review_steps: list[str]
    approved_rules: list[str]
    buyer_id_number: str | None
    service_code: str | None
    shipping_cost: Decimal | None
    carrier: str | None
    tracking_no: str | None
    shipped_at: datetime | None
    holds: list[HoldRead]
    history: list[HistoryRead]
    pii_masked: bool = False


# --------------------------------------------------------------------------- input


OrderId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]


class Note(BaseModel):
    reason: str = Field(default="", max_length=300)


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=300, description="why: kept in the history")


class WarehouseChoice(BaseModel):
    warehouse: str = Field(min_length=1, max_length=64, description="warehouse code")


class CarrierChoice(BaseModel):
    carrier: str = Field(
        min_length=1, max_length=64, description="carrier code (SF) or service code (SF-COLD)"
    )


class SplitLine(BaseModel):
    line_no: int = Field(ge=1, le=10_000, description="the line's number on the order")
    quantity: int = Field(ge=1, le=1_000_000, description="units to move to the new order")


class SplitRequest(BaseModel):
    lines: list[SplitLine] = Field(min_length=1, max_length=500)
    reason: str = Field(default="", max_length=200)


class SplitResult(BaseModel):
    order: OrderDetail
    new_order: OrderDetail


class MergeRequest(BaseModel):
    order_ids: list[OrderId] = Field(min_length=2, max_length=100)


class MergeResult(BaseModel):
    merge_group: int
    order_ids: list[int]


class AddressFix(BaseModel):
    """An operator's correction: the full address text, or region fields, or just the phone."""

    text: str | None = Field(default=None, max_length=300)
    province: str | None = Field(default=None, max_length=32)
    city: str | None = Field(default=None, max_length=32)
    district: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=40)


class AddressResult(BaseModel):
    issues: list[str]
    order: OrderDetail


# --------------------------------------------------------------------------- workbench filters


def _blank_is_none(value: Any) -> Any:
    """A form sends empty fields as ""; they mean "no filter"."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# Optional query fields: blank means absent; the constraints apply to a given value.
Blank = BeforeValidator(_blank_is_none)
Code = Annotated[Annotated[str, Field(max_length=64)] | None, Blank]
Phone = Annotated[Annotated[str, Field(max_length=40)] | None, Blank]
Money = Annotated[
    Annotated[Decimal, Field(ge=0, le=Decimal("99999999.99"), decimal_places=2)] | None, Blank
]
Day = Annotated[date | None, Blank]
Cursor = Annotated[Annotated[str, Field(max_length=80)] | None, Blank]

SORT_KEYS = ("ordered_at", "total_amount", "id")


class OrderFilter(BaseModel):
    """What the order workbench asks for: a status tab, filters, a sort and a page cursor.
    Days are the merchant's calendar days (``settings.timezone``), both ends included."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    status: Code = None
    shop: Code = None
    platform: Code = None
    warehouse: Code = None
    carrier: Code = None
    hold: Code = None
    buyer: Code = None
    phone: Phone = None
    sku: Code = None
    ordered_from: Day = None
    ordered_to: Day = None
    amount_min: Money = None
    amount_max: Money = None
    sort: Literal["ordered_at", "total_amount", "id"] = "ordered_at"
    direction: Literal["desc", "asc"] = "desc"
    after: Cursor = None
    before: Cursor = None

    @model_validator(mode="after")
    def _ranges(self) -> OrderFilter:
        if self.ordered_from and self.ordered_to and self.ordered_from > self.ordered_to:
            raise ValueError("ordered_from: the first day is after the last day")
        if (
            self.amount_min is not None
            and self.amount_max is not None
            and self.amount_min > self.amount_max
        ):
            raise ValueError("amount_min: the lowest amount is above the highest")
        return self

    def filters(self) -> dict[str, Any]:
        """The filters only (no tab, sort or page): for links that keep them."""
        return self.model_dump(
            exclude={"status", "sort", "direction", "after", "before"}, exclude_none=True
        )

    @property
    def active(self) -> bool:
        return bool(self.filters())
