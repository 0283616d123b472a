"""Pydantic input and output of the catalogue API."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

# Characters that separate parts in the catalogue's text forms (spec, barcodes, tags).
_PLAIN = r"^[^;；,，|/:：=*×\s][^;；,，|/:：=*×]*$"
SpecPart = Annotated[str, Field(min_length=1, max_length=50, pattern=_PLAIN)]
BarcodeText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s;；,，|]+$")]
TagText = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[a-z]+$")]
SkuCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s*x×;；]+$")]
Amount = Annotated[Decimal, Field(ge=0, le=10_000_000_000, decimal_places=2)]


class Component(BaseModel):
    sku: SkuCode
    quantity: int = Field(ge=1, le=100_000)


class SkuWrite(BaseModel):
    """A SKU to create, or to update when the code exists (every field is replaced)."""

    sku: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")]
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    product: str | None = Field(
        default=None, max_length=64, description="product (style) code; default: by name"
    )
    spec: dict[SpecPart, SpecPart] = Field(default_factory=dict, max_length=20)
    barcodes: list[BarcodeText] = Field(default_factory=list, max_length=20)
    category: str = Field(default="", max_length=100)
    price: Amount = Decimal("0")
    cost: Amount = Decimal("0")
    weight_g: int = Field(default=0, ge=0, le=1_000_000_000)
    tags: list[TagText] = Field(default_factory=list, max_length=10)
    components: list[Component] = Field(
        default_factory=list, max_length=50, description="for a bundle: what it ships as"
    )

    def as_row(self) -> dict[str, str | None]:
        """The same fields as a catalogue file row, so one parser validates both."""
        return {
            "sku": self.sku,
            "name": self.name,
            "product": self.product or "",
            "spec": ";".join(f"{k}:{v}" for k, v in self.spec.items()),
            "barcode": " ".join(self.barcodes),
            "category": self.category,
            "price": str(self.price),
            "cost": str(self.cost),
            "weight_g": str(self.weight_g),
            "tags": ",".join(self.tags),
            "components": ";".join(f"{c.sku}*{c.quantity}" for c in self.components),
        }


class SkuRead(BaseModel):
    code: str
    name: str
    product: str
    spec: dict[str, str]
    spec_text: str
    category: str
    price: Decimal
    cost: Decimal
    weight_g: int
    tags: list[str]
    is_bundle: bool
    active: bool
    barcodes: list[str]
    components: list[Component] = []


class SkuPage(BaseModel):
    items: list[SkuRead]
    total: int
