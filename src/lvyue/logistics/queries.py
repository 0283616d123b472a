"""Logistics reads: selection candidates for the batch pipeline, carrier listings."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lvyue.core import revisions
from lvyue.core.db import table_of
from lvyue.core.uow import UnitOfWork
from lvyue.logistics.models import Carrier, CarrierService, Rate
from lvyue.logistics.rates import RateCard
from lvyue.logistics.selection import Candidate

CARRIER = table_of(Carrier)
SERVICE = table_of(CarrierService)
RATE = table_of(Rate)


# Carriers, services and rates: every write to them replaces this revision's token
# (triggers of migration 0018).
SERVICES_REVISION = "logistics.services"


def load_services(uow: UnitOfWork) -> list[Candidate]:
    """Every active service of an active carrier, with its whole rate table, ordered by service
    code, to pass to :func:`lvyue.logistics.selection.select_service` for each order. Loaded
    once per process while the carriers and rates stay as they are (``core.revisions``): a
    rate table of every province pair is thousands of rows, read at every pipeline batch."""
    return revisions.cached(uow, SERVICES_REVISION, lambda: _load_services(uow))


def _load_services(uow: UnitOfWork) -> list[Candidate]:
    conn = uow.conn
    carriers = dict(
        conn.execute(
            sa.select(CARRIER.c.id, CARRIER.c.code).where(CARRIER.c.active.is_(True))
        ).all()
    )
    services = [
        s
        for s in conn.execute(
            sa.select(SERVICE).where(SERVICE.c.active.is_(True)).order_by(SERVICE.c.code)
        )
        .mappings()
        .all()
        if s["carrier_id"] in carriers
    ]
    rates: dict[int, dict[tuple[str, str], RateCard]] = {s["id"]: {} for s in services}
    active_ids = sa.select(SERVICE.c.id).where(SERVICE.c.active.is_(True)).scalar_subquery()
    for r in (
        conn.execute(sa.select(RATE).where(RATE.c.service_id.in_(active_ids))).mappings().all()
    ):
        table = rates.get(r["service_id"])
        if table is None:  # the carrier is inactive
            continue
        table[(r["origin_province"], r["dest_province"])] = RateCard(
            origin_province=r["origin_province"],
            dest_province=r["dest_province"],
            first_weight_g=r["first_weight_g"],
            first_price=r["first_price"],
            additional_unit_g=r["additional_unit_g"],
            additional_price=r["additional_price"],
        )
    return [
        Candidate(
            service_code=s["code"],
            carrier_code=carriers[s["carrier_id"]],
            name=s["name"],
            handles=frozenset(s["handles"] or ()),
            max_weight_g=s["max_weight_g"],
            is_cold_chain=bool(s["is_cold_chain"]),
            is_freight=bool(s["is_freight"]),
            excluded_provinces=frozenset(s["excluded_provinces"] or ()),
            rates=rates[s["id"]],
        )
        for s in services
    ]


def list_carriers(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every carrier (active or not) with its services and how many rate rows each has."""
    conn = uow.conn
    rate_counts: dict[int, int] = dict(
        conn.execute(
            sa.select(RATE.c.service_id, sa.func.count()).group_by(RATE.c.service_id)
        ).all()
    )
    services: dict[int, list[dict[str, Any]]] = {}
    for s in conn.execute(sa.select(SERVICE).order_by(SERVICE.c.code)).mappings():
        services.setdefault(s["carrier_id"], []).append(
            {
                "code": s["code"],
                "name": s["name"],
                "handles": list(s["handles"] or []),
                "is_cold_chain": bool(s["is_cold_chain"]),
                "is_freight": bool(s["is_freight"]),
                "max_weight_g": s["max_weight_g"],
                "excluded_provinces": list(s["excluded_provinces"] or []),
                "active": bool(s["active"]),
                "rates": int(rate_counts.get(s["id"], 0)),
            }
        )
    return [
        {
            "code": c.code,
            "name": c.name,
            "active": bool(c.active),
            "services": services.get(c.id, []),
        }
        for c in conn.execute(sa.select(CARRIER).order_by(CARRIER.c.code))
    ]


def rate_table(uow: UnitOfWork, carrier_code: str) -> list[dict[str, Any]]:
    """The rate rows of every service of one carrier, by service, origin and destination."""
    stmt = (
        sa.select(
            SERVICE.c.code.label("service"),
            SERVICE.c.name.label("service_name"),
            RATE.c.origin_province,
            RATE.c.dest_province,
            RATE.c.first_weight_g,
            RATE.c.first_price,
            RATE.c.additional_unit_g,
            RATE.c.additional_price,
        )
        .join(SERVICE, SERVICE.c.id == RATE.c.service_id)
        .join(CARRIER, CARRIER.c.id == SERVICE.c.carrier_id)
        .where(CARRIER.c.code == carrier_code)
        .order_by(SERVICE.c.code, RATE.c.origin_province, RATE.c.dest_province)
    )
    return [dict(r._mapping) for r in uow.conn.execute(stmt)]
