"""Pure stock rules: kinds of move, how each changes a level, and the invariants.

A level is (on_hand, reserved); available = on_hand - reserved. Every move is a pair of deltas.
The invariants 0 <= reserved <= on_hand hold after every move; the database enforces them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MoveKind(StrEnum):
    ADJUST = "adjust"  # count correction or manual change of on hand
    RECEIVE = "receive"  # goods in (purchase, return, transfer in)
    RESERVE = "reserve"  # an order takes stock
    RELEASE = "release"  # an order gives it back (cancel, refund, re-route)
    SHIP = "ship"  # reserved stock leaves the warehouse


@dataclass(frozen=True)
class Level:
    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def valid(self) -> bool:
        return 0 <= self.reserved <= self.on_hand

    def apply(self, on_hand_delta: int, reserved_delta: int) -> Level:
        return Level(self.on_hand + on_hand_delta, self.reserved + reserved_delta)


def deltas(kind: MoveKind, quantity: int) -> tuple[int, int]:
    """(on_hand_delta, reserved_delta) of a move of ``quantity`` units (signed for ADJUST)."""
    if kind is MoveKind.ADJUST:
        return quantity, 0
    if quantity <= 0:
        raise ValueError(f"{kind.value} quantity must be positive, got {quantity}")
    if kind is MoveKind.RECEIVE:
        return quantity, 0
    if kind is MoveKind.RESERVE:
        return 0, quantity
    if kind is MoveKind.RELEASE:
        return 0, -quantity
    return -quantity, -quantity  # SHIP consumes a reservation
