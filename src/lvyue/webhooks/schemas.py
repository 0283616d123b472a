"""Input of the webhook API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SubscriptionCreate(BaseModel):
    url: str = Field(max_length=500, examples=["https://example.com/hooks/lvyue"])
    events: list[str] = Field(min_length=1, examples=[["order.shipped", "stock.low"]])
    description: str = Field(default="", max_length=200)
