"""Errors with stable codes.

Every error a user or integrator can see carries a machine-readable ``code`` that never changes,
a human message, and optional details (for example the field that was wrong).
"""

from __future__ import annotations

from typing import Any


class LvyueError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(LvyueError):
    """Bad input: names the field and the problem."""

    code = "invalid_input"

    def __init__(self, field: str, problem: str, **details: Any) -> None:
        super().__init__(f"{field}: {problem}", field=field, **details)
        self.field = field
        self.problem = problem


class NotFound(LvyueError):
    code = "not_found"


class Conflict(LvyueError):
    code = "conflict"


class InsufficientStock(LvyueError):
    code = "insufficient_stock"


class InvalidTransition(LvyueError):
    code = "invalid_transition"
