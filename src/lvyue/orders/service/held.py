"""Fixes offered by the held-order queue that the other services do not cover as such: a
corrected region that keeps the street and door already on file, and accepting the address
suggestion. Both end in ``fix_address``, so holds and history work as for any correction."""

from __future__ import annotations

import sqlalchemy as sa

from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.orders.normalise import suggest_address
from lvyue.orders.service._base import ORDER
from lvyue.orders.service.actions import fix_address

FIELD_MAX = 32
DETAIL_MAX = 300


def _order(uow: UnitOfWork, order_id: int) -> sa.Row[tuple[object, ...]]:
    row = uow.conn.execute(sa.select(ORDER).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    return row


def correct_address(
    uow: UnitOfWork,
    order_id: int,
    *,
    province: str,
    city: str,
    district: str | None = None,
    detail: str | None = None,
) -> list[str]:
    """Correct the receiver's region (and, if given, the street and door). Without ``detail``
    the street and door on file are kept, so a person who sees them masked can still fix the
    region. Returns what is still wrong (as ``fix_address``)."""
    province, city = province.strip(), city.strip()
    district = (district or "").strip() or None
    detail = (detail or "").strip() or None
    for name, value, most in (
        ("province", province, FIELD_MAX),
        ("city", city, FIELD_MAX),
        ("district", district, FIELD_MAX),
        ("detail", detail, DETAIL_MAX),
    ):
        if value is not None and len(value) > most:
            raise ValidationError(name, f"at most {most} characters")
    if not province:
        raise ValidationError("province", "is required")
    if not city:
        raise ValidationError("city", "is required")
    if detail is None:
        row = _order(uow, order_id)
        kept = (row.addr_street or "") + (row.addr_detail or "")
        if row.addr_street and row.addr_detail and row.addr_detail.startswith(row.addr_street):
            kept = row.addr_detail
        detail = kept or row.receiver_address or None
        if detail is None:
            raise ValidationError("detail", "no street and door on file: type them")
    return fix_address(uow, order_id, text=detail, province=province, city=city, district=district)


def accept_address_suggestion(uow: UnitOfWork, order_id: int) -> list[str]:
    """Apply the suggested reading of the receiver as sent (``normalise.suggest_address``);
    refused when there is none. Returns what is still wrong."""
    row = _order(uow, order_id)
    suggestion = suggest_address(
        row.receiver_address,
        province=row.receiver_province,
        city=row.receiver_city,
        district=row.receiver_district,
    )
    if suggestion is None:
        raise ValidationError("address", "no better reading of this address: correct it by hand")
    return fix_address(
        uow,
        order_id,
        text=suggestion.text,
        province=suggestion.province,
        city=suggestion.city,
        district=suggestion.district,
    )
