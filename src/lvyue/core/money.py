"""Money is Decimal in code and integer fen (1/100 yuan) in the database; never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: object) -> Decimal:
    """Parse a money amount (str, int, Decimal) and round it to cents, half up."""
    if type(value) is str:
        return _money_text(value)
    if isinstance(value, float):
        # Floats reach us from JSON numbers; go through repr so 19.9 stays 19.90.
        return _money_text(repr(value))
    return _money_text(str(value))


@lru_cache(maxsize=4096)
def _money_text(text: str) -> Decimal:
    # Remembered by text: a catalogue's prices and fees come back order after order, and a
    # Decimal is immutable. Only exact str keys, so 1, 1.0 and True never share an entry.
    try:
        return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a money amount: {text!r}") from exc


def to_fen(value: Decimal) -> int:
    return int((value * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_fen(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)  # exact, always two places: 1250 -> 12.50
