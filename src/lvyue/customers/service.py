"""Customer use cases: link incoming orders to one profile per buyer, in batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from lvyue.core.bulk import allocate_ids, execute_many, insert_many
from lvyue.core.clock import now
from lvyue.core.crypto import pii_keyring
from lvyue.core.db import Money, UTCDateTime, in_clauses, table_of
from lvyue.core.uow import UnitOfWork
from lvyue.customers.identity import BuyerFacts, buyer_key, phone_key
from lvyue.customers.models import Customer, CustomerIdentity

CUSTOMER = table_of(Customer)
IDENTITY = table_of(CustomerIdentity)


_FIRST = sa.bindparam("first", type_=UTCDateTime())
_LAST = sa.bindparam("last", type_=UTCDateTime())
# A returning buyer's profile: one more order, its amount, and the first/last order times.
_COUNT_ORDERS = (
    sa.update(CUSTOMER)
    .where(CUSTOMER.c.id == sa.bindparam("cid"))
    .values(
        order_count=CUSTOMER.c.order_count + sa.bindparam("n", type_=sa.Integer()),
        total_amount=CUSTOMER.c.total_amount + sa.bindparam("amount", type_=Money()),
        first_order_at=sa.case(
            (CUSTOMER.c.first_order_at.is_(None), _FIRST),
            (CUSTOMER.c.first_order_at > _FIRST, _FIRST),
            else_=CUSTOMER.c.first_order_at,
        ),
        last_order_at=sa.case(
            (CUSTOMER.c.last_order_at.is_(None), _LAST),
            (CUSTOMER.c.last_order_at < _LAST, _LAST),
            else_=CUSTOMER.c.last_order_at,
        ),
    )
)


def link_customers(uow: UnitOfWork, facts: Sequence[BuyerFacts]) -> list[int | None]:
    """The customer id of each new order's buyer, creating profiles and identities as needed
    and counting the order into the profile. The platform buyer id wins over the phone; a
    phone seen with another platform's buyer links both to one profile. Phones are stored
    and looked up as their keyed hash (under every configured key during a rotation)."""
    keys: list[tuple[tuple[str, str] | None, tuple[str, str] | None]] = []
    for f in facts:
        b, p = buyer_key(f.platform, f.buyer_id), phone_key(f.phone)
        keys.append((("buyer", b) if b else None, ("phone", p) if p else None))
    wanted = {k for pair in keys for k in pair if k}
    keyring = pii_keyring()
    # Stored value -> the key it stands for: buyer keys as they are, phones by their hashes.
    lookup: dict[str, dict[str, tuple[str, str]]] = {"buyer": {}, "phone": {}}
    hashes: dict[str, tuple[str, ...]] = {}  # phone -> its indexes, current key first
    for kind, v in wanted:
        if kind == "phone":
            hashes[v] = keyring.indexes(v)
        for stored in hashes[v] if kind == "phone" else (v,):
            lookup[kind][stored] = (kind, v)
    known: dict[tuple[str, str], int] = {}
    for kind, by_stored in lookup.items():
        # "= ANY(:array)" on PostgreSQL since the array is sent typed (core.db.array_literal):
        # as psycopg's list it had made this look-up twice as slow as IN lists (customer
        # link 118 -> 233 µs per order, docs/performance-history.md); typed it takes 3.5 µs,
        # IN lists 10.6.
        for cond in in_clauses(uow.conn, IDENTITY.c.value, by_stored):
            rows = uow.conn.execute(
                sa.select(IDENTITY.c.value, IDENTITY.c.customer_id).where(
                    IDENTITY.c.kind == kind, cond
                )
            ).all()
            for stored, cid in rows:
                known.setdefault(by_stored[stored], cid)

    # Assign every fact a customer: a known one, or a new one numbered -1, -2, ... until the
    # batch insert below gives it a real id. Identities seen earlier in the batch count too.
    result: list[int] = []
    stats: dict[int, _Counts] = {}
    new_identities: list[tuple[tuple[str, str], int]] = []
    new_names: dict[int, str] = {}
    for f, (bk, pk) in zip(facts, keys, strict=True):
        if bk is None and pk is None:
            result.append(0)
            continue
        cid = known.get(bk) if bk else None
        if cid is None and pk:
            cid = known.get(pk)
        if cid is None:
            cid = -(len(new_names) + 1)
            new_names[cid] = (f.nick or "")[:100]
        for key in (bk, pk):
            if key and key not in known:
                known[key] = cid
                new_identities.append((key, cid))
        stats.setdefault(cid, _Counts(first=f.ordered_at, last=f.ordered_at)).add(f)
        result.append(cid)

    ts = now()
    real: dict[int, int] = {}
    if new_names:
        temp = list(new_names)
        ids = allocate_ids(uow.conn, CUSTOMER, len(temp))
        insert_many(
            uow.conn,
            CUSTOMER,
            [
                {
                    "id": cid,
                    "display_name": new_names[t],
                    "order_count": stats[t].orders,
                    "total_amount": stats[t].amount,
                    "first_order_at": stats[t].first,
                    "last_order_at": stats[t].last,
                    "tags": [],
                    "created_at": ts,
                }
                for t, cid in zip(temp, ids, strict=True)
            ],
        )
        real = dict(zip(temp, ids, strict=True))
    insert_many(
        uow.conn,
        IDENTITY,
        [
            {
                "kind": k,
                "value": hashes[v][0] if k == "phone" else v,  # the current key's index
                "phone": v if k == "phone" else None,
                "customer_id": real.get(c, c),
            }
            for (k, v), c in new_identities
        ],
    )
    execute_many(
        uow.conn,
        _COUNT_ORDERS,
        [
            {"cid": cid, "n": c.orders, "amount": c.amount, "first": c.first, "last": c.last}
            for cid, c in stats.items()
            if cid > 0
        ],
    )
    return [real.get(cid, cid) or None for cid in result]


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
