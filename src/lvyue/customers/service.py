"""Customer use cases: link incoming orders to one profile per buyer, in batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from lvyue.core.clock import now
from lvyue.core.db import table_of
from lvyue.core.uow import UnitOfWork
from lvyue.customers.identity import BuyerFacts, buyer_key, phone_key
from lvyue.customers.models import Customer, CustomerIdentity

CUSTOMER = table_of(Customer)
IDENTITY = table_of(CustomerIdentity)


def link_customers(uow: UnitOfWork, facts: Sequence[BuyerFacts]) -> list[int | None]:
    """The customer id of each new order's buyer, creating profiles and identities as needed
    and counting the order into the profile. The platform buyer id wins over the phone; a
    phone seen with another platform's buyer links both to one profile."""
    keys: list[tuple[tuple[str, str] | None, tuple[str, str] | None]] = []
    for f in facts:
        b, p = buyer_key(f.platform, f.buyer_id), phone_key(f.phone)
        keys.append((("buyer", b) if b else None, ("phone", p) if p else None))
    wanted = {k for pair in keys for k in pair if k}
    known: dict[tuple[str, str], int] = {}
    for kind in ("buyer", "phone"):
        values = [v for k, v in wanted if k == kind]
        for i in range(0, len(values), 900):
            rows = uow.conn.execute(
                sa.select(IDENTITY.c.value, IDENTITY.c.customer_id).where(
                    IDENTITY.c.kind == kind, IDENTITY.c.value.in_(values[i : i + 900])
                )
            )
            known.update({(kind, v): cid for v, cid in rows})

    ts = now()
    result: list[int | None] = []
    stats: dict[int, _Counts] = {}
    new_identities: list[dict[str, object]] = []
    for f, (bk, pk) in zip(facts, keys, strict=True):
        if bk is None and pk is None:
            result.append(None)
            continue
        cid = known.get(bk) if bk else None
        if cid is None and pk:
            cid = known.get(pk)
        if cid is None:
            res = uow.conn.execute(
                sa.insert(CUSTOMER).values(
                    display_name=(f.nick or "")[:100],
                    order_count=0,
                    total_amount=Decimal("0.00"),
                    tags=[],
                    created_at=ts,
                )
            )
            assert res.inserted_primary_key is not None
            cid = int(res.inserted_primary_key[0])
        for key in (bk, pk):
            if key and key not in known:
                known[key] = cid
                new_identities.append({"kind": key[0], "value": key[1], "customer_id": cid})
        stats.setdefault(cid, _Counts(first=f.ordered_at, last=f.ordered_at)).add(f)
        result.append(cid)
    if new_identities:
        uow.conn.execute(sa.insert(IDENTITY), new_identities)
    for cid, c in stats.items():
        uow.conn.execute(
            sa.update(CUSTOMER)
            .where(CUSTOMER.c.id == cid)
            .values(
                order_count=CUSTOMER.c.order_count + c.orders,
                total_amount=CUSTOMER.c.total_amount + c.amount,
                first_order_at=sa.case(
                    (CUSTOMER.c.first_order_at.is_(None), c.first),
                    (CUSTOMER.c.first_order_at > c.first, c.first),
                    else_=CUSTOMER.c.first_order_at,
                ),
                last_order_at=sa.case(
                    (CUSTOMER.c.last_order_at.is_(None), c.last),
                    (CUSTOMER.c.last_order_at < c.last, c.last),
                    else_=CUSTOMER.c.last_order_at,
                ),
            )
        )
    return result


@dataclass
class _Counts:
    first: datetime
    last: datetime
    orders: int = 0
    amount: Decimal = Decimal("0.00")

    def add(self, f: BuyerFacts) -> None:
        self.orders += 1
        self.amount += f.amount
        self.first = min(self.first, f.ordered_at)
        self.last = max(self.last, f.ordered_at)
