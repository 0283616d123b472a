"""One profile per real buyer, found again through any of its identities."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lvyue.core.clock import now
from lvyue.core.db import Base, Money, UTCDateTime
from lvyue.core.pii import PHONE_INDEX_OF, EncryptedText


class Customer(Base):
    __tablename__ = "customers_customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The buyer's nickname on the platform of the first order: personal, encrypted.
    display_name: Mapped[str] = mapped_column(EncryptedText(), default="")
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_count: Mapped[int] = mapped_column(default=0)
    total_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class CustomerIdentity(Base):
    """A key that names a customer: a platform buyer id (``taobao:b-77``) or a phone number,
    the phone as its keyed hash (ADR 0006)."""

    __tablename__ = "customers_identity"

    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)  # buyer | phone
    value: Mapped[str] = mapped_column(
        sa.String(120), primary_key=True, info={PHONE_INDEX_OF: ("phone",)}
    )
    # The phone itself, encrypted: shown (masked) on the profile, and the source a key
    # rotation recomputes ``value`` from. None for buyer ids.
    phone: Mapped[str | None] = mapped_column(EncryptedText())
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers_customer.id"), index=True)
