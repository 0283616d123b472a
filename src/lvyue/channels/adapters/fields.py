"""Reading platform payloads: typed field reads and validation failures, each turned into a
:class:`PayloadError` that names the field, so a bad payload can be found and fixed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from lvyue.channels.adapters.base import PayloadError
from lvyue.channels.adapters.common import parse_local_time
from lvyue.core.money import to_money


class Fields:
    """Typed reads from one JSON object; every failure is a PayloadError naming the field path
    (``orders.order[1].num``) so a bad payload can be found and fixed."""

    def __init__(self, data: object, path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise PayloadError(f"{path or 'payload'}: expected an object, got {data!r:.80}")
        self.data: Mapping[str, Any] = data
        self.path = path

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if type(value) is str:  # the common case first: thirty reads per order
            return value.strip() or None
        if value is None or isinstance(value, bool):
            return None
        if not isinstance(value, str | int):
            raise PayloadError(f"{self.name(key)}: expected text, got {value!r:.80}")
        text = str(value).strip()
        return text or None

    def text(self, key: str) -> str:
        value = self.opt_text(key)
        if value is None:
            raise PayloadError(f"{self.name(key)}: required field is missing or empty")
        return value

    def integer(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool):
            raise PayloadError(f"{self.name(key)}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if value is None:
            raise PayloadError(f"{self.name(key)}: required field is missing")
        raise PayloadError(f"{self.name(key)}: expected an integer, got {value!r:.80}")

    def opt_integer(self, key: str) -> int | None:
        return None if self.data.get(key) in (None, "") else self.integer(key)

    def count(self, key: str) -> int:
        """A line quantity: an integer above zero."""
        value = self.integer(key)
        if value <= 0:
            raise PayloadError(f"{self.name(key)}: quantity must be above zero, got {value}")
        return value

    def money(self, key: str, *, default: Decimal | None = None) -> Decimal:
        """A yuan amount: decimal string (TOP) or JSON number (Pinduoduo). Floats are read
        through their shortest repr, so ``64.1`` stays 64.10 and never becomes 64.0999…"""
        value = self.data.get(key)
        if value in (None, ""):
            if default is not None:
                return default
            raise PayloadError(f"{self.name(key)}: required amount is missing")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise PayloadError(f"{self.name(key)}: not a money amount: {value!r:.80}")
        try:
            amount = to_money(value)
        except ValueError:
            raise PayloadError(f"{self.name(key)}: not a money amount: {value!r:.80}") from None
        if not amount.is_finite() or amount < 0:
            raise PayloadError(f"{self.name(key)}: not a non-negative amount: {value!r:.80}")
        return amount

    def opt_local_time(self, key: str) -> datetime | None:
        value = self.opt_text(key)
        if value is None:
            return None
        try:
            return parse_local_time(value)
        except ValueError:
            raise PayloadError(
                f"{self.name(key)}: expected 'yyyy-MM-dd HH:mm:ss', got {value!r:.40}"
            ) from None

    def local_time(self, key: str) -> datetime:
        value = self.opt_local_time(key)
        if value is None:
            raise PayloadError(f"{self.name(key)}: required time is missing")
        return value

    def objects(self, key: str, *, required: bool = True) -> list[Fields]:
        value = self.data.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise PayloadError(f"{self.name(key)}: expected a list, got {value!r:.80}")
        return [Fields(item, f"{self.name(key)}[{i}]") for i, item in enumerate(value)]

    def obj(self, key: str) -> Fields:
        return Fields(self.data.get(key), self.name(key))


@contextmanager
def payload_errors() -> Iterator[None]:
    """Turn a pydantic validation failure (of a platform's payload model or of the canonical
    order) into a PayloadError naming every bad field by its dotted path, e.g.
    ``line_items.0.price``, so ``parse`` raises one kind of error whatever caught the problem."""
    try:
        yield
    except ValidationError as exc:
        raise PayloadError(
            "; ".join(
                f"{'.'.join(str(part) for part in e['loc']) or 'order'}: {e['msg']}"
                for e in exc.errors()
            )
        ) from exc
