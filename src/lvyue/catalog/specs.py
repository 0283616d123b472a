"""Pure parsing of spec text and catalogue rows."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from lvyue.core.money import to_money

_PAIR_SEP = re.compile(r"[;；,，|/]\s*")
_KV_SEP = re.compile(r"[:：=]")
_TAG_SEP = re.compile(r"[;；,，|\s]+")
_COMPONENT = re.compile(r"^\s*([^*x×]+?)\s*(?:[*x×]\s*(\d+))?\s*$")


def parse_spec(text: str) -> dict[str, str]:
    """``颜色:白色;尺码:M`` → {"颜色": "白色", "尺码": "M"}. Values without a name get
    positional names (``规格1``...), so ``白色 M`` still keeps both parts."""
    text = (text or "").strip()
    if not text:
        return {}
    parts = [p for p in _PAIR_SEP.split(text) if p.strip()]
    if len(parts) == 1 and not _KV_SEP.search(parts[0]):
        parts = parts[0].split()
    spec: dict[str, str] = {}
    for i, part in enumerate(parts, start=1):
        kv = _KV_SEP.split(part, maxsplit=1)
        if len(kv) == 2 and kv[0].strip():
            spec[kv[0].strip()] = kv[1].strip()
        else:
            spec[f"规格{i}"] = part.strip()
    return spec


def spec_text(spec: dict[str, str]) -> str:
    return ";".join(f"{k}:{v}" for k, v in spec.items())


@dataclass
class CatalogRow:
    sku: str
    name: str
    spec: dict[str, str]
    barcodes: list[str]
    category: str
    price: Decimal
    cost: Decimal
    weight_g: int
    tags: list[str]
    product: str
    components: list[tuple[str, int]] = field(default_factory=list)


class RowError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def parse_catalog_row(row: dict[str, str | None], allowed_tags: frozenset[str]) -> CatalogRow:
    """Validate one CSV row (columns sku,name,spec,barcode,category,price,cost,weight_g,tags and
    optional product, components) and name the first bad field."""

    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    sku = get("sku")
    if not sku:
        raise RowError("sku", "is required")
    if len(sku) > 64 or any(c.isspace() for c in sku):
        raise RowError("sku", f"{sku!r} must be at most 64 characters without spaces")
    name = get("name")
    if not name:
        raise RowError("name", "is required")
    money: dict[str, Decimal] = {}
    for col in ("price", "cost"):
        raw = get(col) or "0"
        try:
            money[col] = to_money(raw)
        except ValueError:
            raise RowError(col, f"{raw!r} is not an amount") from None
        if money[col] < 0:
            raise RowError(col, "must not be negative")
    raw_w = get("weight_g") or "0"
    if not raw_w.isdigit():
        raise RowError("weight_g", f"{raw_w!r} is not a whole number of grams")
    tags = [t.lower() for t in _TAG_SEP.split(get("tags")) if t]
    unknown = [t for t in tags if t not in allowed_tags]
    if unknown:
        raise RowError(
            "tags",
            f"unknown tag(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed_tags))}",
        )
    components: list[tuple[str, int]] = []
    for part in filter(None, (p.strip() for p in re.split(r"[;；]", get("components")))):
        m = _COMPONENT.match(part)
        if not m:
            raise RowError("components", f"{part!r} is not SKU*QTY")
        components.append((m.group(1).strip(), int(m.group(2) or 1)))
    spec = parse_spec(get("spec"))
    return CatalogRow(
        sku=sku,
        name=name,
        spec=spec,
        barcodes=[b for b in _TAG_SEP.split(get("barcode")) if b],
        category=get("category"),
        price=money["price"],
        cost=money["cost"],
        weight_g=int(raw_w),
        tags=tags,
        product=get("product") or name,
        components=components,
    )


_SIZE_SUFFIX = re.compile(r"(?<=[0-9A-Za-z])\s*[码号]$")
_SPEC_TOKENS = re.compile(r"[;；,，|/\s]+")


def _norm_value(value: str) -> str:
    v = _SIZE_SUFFIX.sub("", value.strip()).upper()
    # "白色" and "白" name the same colour on different platforms.
    return v[:-1] if len(v) > 1 and v.endswith("色") else v


def spec_key(text: str | dict[str, str] | None) -> frozenset[str]:
    """The spec as a set of normalised values, ignoring attribute names and order, so that
    ``颜色:白色;尺码:M``, ``白色 M码`` and ``M;白`` give the same key."""
    if not text:
        return frozenset()
    if isinstance(text, str):
        return _text_key(text)
    return _values_key(text.values())


@lru_cache(maxsize=65536)  # a catalogue has few distinct spec texts; matching reads them often
def _text_key(text: str) -> frozenset[str]:
    return _values_key(
        _KV_SEP.split(part, maxsplit=1)[-1] for part in _SPEC_TOKENS.split(text) if part.strip()
    )


def _values_key(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v for v in (_norm_value(x) for x in values) if v)
