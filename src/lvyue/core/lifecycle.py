"""Transitions as data: a state machine is a frozenset of allowed (from, to) pairs."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Generic, TypeVar

from lvyue.core.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


class Lifecycle(Generic[S]):
    def __init__(self, name: str, transitions: Iterable[tuple[S, S]]) -> None:
        self.name = name
        self.transitions: frozenset[tuple[S, S]] = frozenset(transitions)

    def can(self, current: S, target: S) -> bool:
        return (current, target) in self.transitions

    def check(self, current: S, target: S) -> None:
        if not self.can(current, target):
            raise InvalidTransition(
                f"{self.name} cannot go from {current.value} to {target.value}",
                current=current.value,
                target=target.value,
            )

    def sources_of(self, target: S) -> frozenset[S]:
        return frozenset(a for a, b in self.transitions if b == target)
