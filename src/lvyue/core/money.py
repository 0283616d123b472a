"""Money is Decimal in code and integer fen (1/100 yuan) in the database; never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: object) -> Decimal:
    """Parse a money amount (str, int, Decimal) and round it to cents, half up."""
    if isinstance(value, float):
        # Floats reach us from JSON numbers; go through repr so 19.9 stays 19.90.
        value = repr(value)
    try:
        return Decimal(value if type(value) is str else str(value)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a money amount: {value!r}") from exc


def to_fen(value: Decimal) -> int:
    return int((value * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_fen(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)  # exact, always two places: 1250 -> 12.50
