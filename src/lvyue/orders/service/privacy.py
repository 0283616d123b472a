"""Revealing a buyer's personal data: the plain receiver, with an audit row for every reveal
(DESIGN §8, ADR 0006). Who may reveal (``pii.view``) is checked by the caller."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lvyue.accounts import service as accounts
from lvyue.core.errors import NotFound
from lvyue.core.uow import UnitOfWork
from lvyue.orders.service._base import ORDER

RECEIVER_FIELDS = (
    "receiver_name",
    "receiver_phone",
    "receiver_province",
    "receiver_city",
    "receiver_district",
    "receiver_address",
    "receiver_zip",
    "addr_province",
    "addr_city",
    "addr_district",
    "addr_street",
    "addr_detail",
    "phone_number",
    "phone_extension",
)


def record_reveal(
    uow: UnitOfWork,
    target: int,
    *,
    via: str,
    target_type: str = "order",
    ip: str = "",
    user_agent: str = "",
) -> None:
    """The audit row of one reveal: who (the unit of work's actor), what, when, from where."""
    accounts.record(
        uow,
        action="pii.reveal",
        target_type=target_type,
        target=str(target),
        details={"via": via},
        ip=ip,
        user_agent=user_agent,
    )


def reveal_receiver(
    uow: UnitOfWork, order_id: int, *, via: str, ip: str = "", user_agent: str = ""
) -> dict[str, Any]:
    """The order's receiver in plain text; the reveal is audited in the same transaction."""
    row = uow.conn.execute(
        sa.select(*(ORDER.c[name] for name in RECEIVER_FIELDS)).where(ORDER.c.id == order_id)
    ).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    record_reveal(uow, order_id, via=via, ip=ip, user_agent=user_agent)
    return {"order_id": order_id, **row._mapping}
