"""Pydantic input and output of the stock and warehouse API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class StockLevelRead(BaseModel):
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    available: int


class StockLevels(BaseModel):
    items: list[StockLevelRead]
    total: int


class LedgerEntry(BaseModel):
    id: int
    at: datetime
    sku: str
    warehouse: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    doc_type: str
    doc_id: int | None
    reason: str
    actor: str


class LedgerPage(BaseModel):
    items: list[LedgerEntry]
    total: int


class StockAdjust(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    warehouse: str = Field(min_length=1, max_length=32)
    delta: int = Field(
        ge=-1_000_000_000, le=1_000_000_000, description="units to add (negative: take away)"
    )
    reason: str = Field(min_length=1, max_length=200, description="kept on the ledger row")


class WarehouseCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=100)
    province: str = Field(min_length=1, max_length=32)
    city: str = Field(min_length=1, max_length=32)
    district: str | None = Field(default=None, max_length=32)
    address: str = Field(default="", max_length=200)
    priority: int = Field(default=100, ge=0, le=1_000_000, description="lower ships first")


class WarehouseRead(BaseModel):
    code: str
    name: str
    province: str
    city: str
    district: str | None
    address: str
    priority: int
    active: bool


class WarehouseList(BaseModel):
    items: list[WarehouseRead]
