"""Review one order again now, through the same pipeline batch every order goes through."""

from __future__ import annotations

import sqlalchemy as sa

from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.orders.holds import AUTO_RECHECK
from lvyue.orders.lifecycle import OrderStatus
from lvyue.orders.service._base import HOLD, ORDER, ConcurrentChange
from lvyue.orders.service.pipeline import process_orders

S = OrderStatus
WAITING = frozenset({S.PENDING_REVIEW, S.HELD})


def review_again(uow: UnitOfWork, order_id: int) -> str:
    """Run the checks, rules, warehouse choice and reservation on one order waiting for review
    or held only for reasons the system re-checks itself (stock, SKU, carrier); returns its new
    status. Holds that need a person (address, manual review, operator hold) must be resolved
    first: the order is refused with the reasons named."""
    row = uow.conn.execute(sa.select(ORDER.c.status).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    status = S(row.status)
    if status not in WAITING:
        raise ValidationError(
            "status",
            f"order {order_id} is {status.value}: only waiting or held orders are reviewed",
        )
    manual = sorted(
        code
        for (code,) in uow.conn.execute(sa.select(HOLD.c.code).where(HOLD.c.order_id == order_id))
        if code not in AUTO_RECHECK
    )
    if manual:
        raise ValidationError("holds", f"resolve {', '.join(manual)} first: a person must decide")
    for _ in range(3):  # an oversell policy may send the order back for one more pass
        # The batch starts at this order and takes one: the smallest waiting id after id - 1.
        report = process_orders(uow, after_id=order_id - 1, limit=1)
        if report.examined != 1 or report.last_id != order_id:
            # Claimed by a pipeline worker meanwhile (SKIP LOCKED passed it over): change nothing.
            raise ConcurrentChange(f"order {order_id} is being reviewed by another process")
        new = S(
            uow.conn.execute(sa.select(ORDER.c.status).where(ORDER.c.id == order_id)).scalar_one()
        )
        if not report.requeued or new is not S.PENDING_REVIEW:
            break
    return new.value


def review_if_ready(uow: UnitOfWork, order_id: int) -> str:
    """After a person's fix: review the order again if nothing left needs a person (as
    ``review_again``), else leave it; returns its status either way. An order the pipeline
    does not take now (held for stock with no stock arrived since its last look, or claimed by
    a worker) is left as it is too."""
    row = uow.conn.execute(sa.select(ORDER.c.status).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    if S(row.status) not in WAITING:
        return str(row.status)
    waiting_for_person = uow.conn.execute(
        sa.select(HOLD.c.code).where(
            HOLD.c.order_id == order_id, HOLD.c.code.not_in(sorted(AUTO_RECHECK))
        )
    ).first()
    if waiting_for_person is not None:
        return str(row.status)
    try:
        return review_again(uow, order_id)
    except ConcurrentChange:
        return str(row.status)
