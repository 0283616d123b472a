"""The order lifecycle as data (DESIGN §5). Status changes only through ``ORDER_LIFECYCLE``."""

from __future__ import annotations

from enum import StrEnum

from lvyue.core.lifecycle import Lifecycle


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PENDING_REVIEW = "pending_review"
    HELD = "held"
    APPROVED = "approved"
    ALLOCATED = "allocated"
    IN_FULFILLMENT = "in_fulfillment"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


S = OrderStatus

ORDER_LIFECYCLE = Lifecycle[OrderStatus](
    "order",
    [
        (S.PENDING_PAYMENT, S.PENDING_REVIEW),
        (S.PENDING_PAYMENT, S.CANCELLED),
        (S.PENDING_REVIEW, S.HELD),
        (S.PENDING_REVIEW, S.APPROVED),
        (S.PENDING_REVIEW, S.CANCELLED),
        (S.HELD, S.PENDING_REVIEW),  # the order changed: review it again from scratch
        (S.HELD, S.APPROVED),  # a re-check found the hold reasons gone
        (S.HELD, S.CANCELLED),
        (S.APPROVED, S.ALLOCATED),
        (S.APPROVED, S.PENDING_REVIEW),  # changed by an operator (split, shortage): review again
        (S.APPROVED, S.HELD),
        (S.APPROVED, S.CANCELLED),
        (S.ALLOCATED, S.IN_FULFILLMENT),
        (S.ALLOCATED, S.PENDING_REVIEW),
        (S.ALLOCATED, S.HELD),  # intercepted before the warehouse started
        (S.ALLOCATED, S.CANCELLED),
        (S.IN_FULFILLMENT, S.SHIPPED),
        (S.IN_FULFILLMENT, S.HELD),  # intercepted in the warehouse
        (S.SHIPPED, S.COMPLETED),
    ],
)

# States in which the warehouse has not started: the order may still change freely.
BEFORE_WAREHOUSE = frozenset({S.PENDING_PAYMENT, S.PENDING_REVIEW, S.HELD, S.APPROVED, S.ALLOCATED})
# States that hold stock reserved for the order.
HOLDS_STOCK = frozenset({S.ALLOCATED, S.IN_FULFILLMENT})
FINAL = frozenset({S.SHIPPED, S.COMPLETED, S.CANCELLED})


def initial_status(channel_status: str) -> OrderStatus:
    return {
        "unpaid": S.PENDING_PAYMENT,
        "paid": S.PENDING_REVIEW,
        "cancelled": S.CANCELLED,
    }[channel_status]
