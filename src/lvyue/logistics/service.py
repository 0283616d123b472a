"""Logistics use cases: add carriers with their services, import rate tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from lvyue.core.db import Money, table_of
from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.logistics.models import Carrier, CarrierService, Rate
from lvyue.logistics.rates import RateRow, RateRowError, official_province, parse_rate_row
from lvyue.logistics.selection import SERVICE_TAGS

CARRIER = table_of(Carrier)
SERVICE = table_of(CarrierService)
RATE = table_of(Rate)

_CARRIER_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_]{0,15}$")
_SERVICE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,23}$")


@dataclass(frozen=True)
class ServiceSpec:
    """A service to create with its carrier. ``excluded_provinces`` may use short names
    (西藏, 新疆); they are stored as official names."""

    code: str
    name: str
    handles: tuple[str, ...] = ()
    is_cold_chain: bool = False
    is_freight: bool = False
    max_weight_g: int | None = None
    excluded_provinces: tuple[str, ...] = ()


def _service_values(spec: ServiceSpec, taken: set[str]) -> dict[str, object]:
    code = spec.code.strip().upper()
    where = f"service[{code or '?'}]"
    if not _SERVICE_CODE.match(code):
        raise ValidationError(
            f"{where}.code", "1-24 letters, digits, '-' or '_', e.g. SF-COLD", value=spec.code
        )
    if code in taken:
        raise ValidationError(f"{where}.code", f"service {code} already exists")
    name = spec.name.strip()
    if not name:
        raise ValidationError(f"{where}.name", "is required")
    handles = sorted({t.strip().lower() for t in spec.handles if t.strip()})
    unknown = [t for t in handles if t not in SERVICE_TAGS]
    if unknown:
        raise ValidationError(
            f"{where}.handles",
            f"unknown tag(s) {', '.join(unknown)}; allowed: {', '.join(sorted(SERVICE_TAGS))}",
        )
    if spec.max_weight_g is not None and spec.max_weight_g <= 0:
        raise ValidationError(f"{where}.max_weight_g", "must be positive")
    excluded: list[str] = []
    for raw in spec.excluded_provinces:
        if not raw.strip():
            continue
        official = official_province(raw)
        if official is None:
            raise ValidationError(f"{where}.excluded_provinces", f"{raw!r} is not a province")
        if official not in excluded:
            excluded.append(official)
    taken.add(code)
    return {
        "code": code,
        "name": name,
        "handles": handles,
        "max_weight_g": spec.max_weight_g,
        "is_cold_chain": spec.is_cold_chain,
        "is_freight": spec.is_freight,
        "excluded_provinces": excluded,
        "active": True,
    }


def add_carrier(
    uow: UnitOfWork, *, code: str, name: str, services: Iterable[ServiceSpec] = ()
) -> int:
    """Create a carrier and its services; returns the carrier id. Codes are upper-cased."""
    code = code.strip().upper()
    if not _CARRIER_CODE.match(code):
        raise ValidationError("code", "1-16 letters, digits or '_', e.g. SF, ZTO, DBL")
    if not name.strip():
        raise ValidationError("name", "is required")
    conn = uow.conn
    if conn.execute(sa.select(CARRIER.c.id).where(CARRIER.c.code == code)).first():
        raise ValidationError("code", f"carrier {code} already exists")
    taken = set(conn.execute(sa.select(SERVICE.c.code)).scalars())
    rows = [_service_values(s, taken) for s in services]
    res = conn.execute(sa.insert(CARRIER).values(code=code, name=name.strip(), active=True))
    assert res.inserted_primary_key is not None
    carrier_id = int(res.inserted_primary_key[0])
    if rows:
        conn.execute(sa.insert(SERVICE), [{**r, "carrier_id": carrier_id} for r in rows])
    return carrier_id


def add_service(uow: UnitOfWork, *, carrier_code: str, spec: ServiceSpec) -> int:
    """Add one service to an existing carrier; returns its id. Same checks as
    :func:`add_carrier` (code format and uniqueness, known tags, provinces)."""
    code = carrier_code.strip().upper()
    conn = uow.conn
    row = conn.execute(sa.select(CARRIER.c.id).where(CARRIER.c.code == code)).first()
    if row is None:
        raise NotFound(f"carrier {code} does not exist", code="unknown_carrier")
    taken = set(conn.execute(sa.select(SERVICE.c.code)).scalars())
    values = _service_values(spec, taken)
    res = conn.execute(sa.insert(SERVICE).values(**values, carrier_id=row.id))
    assert res.inserted_primary_key is not None
    return int(res.inserted_primary_key[0])


@dataclass(frozen=True, order=True)
class RowProblem:
    """A rejected line of a rate file: its line number, the column and what is wrong."""

    line: int
    field: str
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.problem}"


@dataclass
class RateImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowProblem] = field(default_factory=list)


_RATE_FIELDS = ("first_weight_g", "first_price", "additional_unit_g", "additional_price")


def import_rates(
    uow: UnitOfWork, rows: Iterable[tuple[int, Mapping[str, str | None]]]
) -> RateImportReport:
    """Insert or update rates keyed by (service, origin province, destination province).

    ``rows`` are (line number, CSV row) with the columns of
    :data:`lvyue.logistics.rates.RATE_COLUMNS`. A bad row is reported with its line number and
    column and skipped; the good rows are kept. Importing the same file again changes nothing.
    A route given twice in one file is rejected at its second line.
    """
    report = RateImportReport()
    parsed: list[tuple[int, RateRow]] = []
    for line_no, raw in rows:
        try:
            parsed.append((line_no, parse_rate_row(raw)))
        except RateRowError as exc:
            report.rejected.append(RowProblem(line_no, exc.field, exc.problem))
    conn = uow.conn
    service_ids: dict[str, int] = dict(conn.execute(sa.select(SERVICE.c.code, SERVICE.c.id)).all())
    wanted = {service_ids[r.service] for _, r in parsed if r.service in service_ids}
    existing: dict[tuple[int, str, str], tuple[int, tuple[object, ...]]] = {}
    if wanted:
        for r in conn.execute(
            sa.select(RATE).where(RATE.c.service_id.in_(sorted(wanted)))
        ).mappings():
            key = (r["service_id"], r["origin_province"], r["dest_province"])
            existing[key] = (r["id"], tuple(r[f] for f in _RATE_FIELDS))
    seen: dict[tuple[int, str, str], int] = {}
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for line_no, row in parsed:
        sid = service_ids.get(row.service)
        if sid is None:
            report.rejected.append(RowProblem(line_no, "service", f"unknown service {row.service}"))
            continue
        rate = row.rate
        key = (sid, rate.origin_province, rate.dest_province)
        if key in seen:
            report.rejected.append(
                RowProblem(
                    line_no,
                    "dest_province",
                    f"{row.service} {rate.origin_province} → {rate.dest_province} "
                    f"already on line {seen[key]}",
                )
            )
            continue
        seen[key] = line_no
        values = tuple(getattr(rate, f) for f in _RATE_FIELDS)
        if key not in existing:
            inserts.append(
                {
                    "service_id": sid,
                    "origin_province": rate.origin_province,
                    "dest_province": rate.dest_province,
                    **dict(zip(_RATE_FIELDS, values, strict=True)),
                }
            )
            report.imported += 1
        elif existing[key][1] != values:
            updates.append(
                {
                    "rate_id": existing[key][0],
                    **{f"new_{k}": v for k, v in zip(_RATE_FIELDS, values, strict=True)},
                }
            )
            report.updated += 1
        else:
            report.unchanged += 1
    if inserts:
        conn.execute(sa.insert(RATE), inserts)
    if updates:
        conn.execute(
            sa.update(RATE)
            .where(RATE.c.id == sa.bindparam("rate_id"))
            .values(
                first_weight_g=sa.bindparam("new_first_weight_g", type_=sa.Integer()),
                first_price=sa.bindparam("new_first_price", type_=Money()),
                additional_unit_g=sa.bindparam("new_additional_unit_g", type_=sa.Integer()),
                additional_price=sa.bindparam("new_additional_price", type_=Money()),
            ),
            updates,
        )
    report.rejected.sort()
    return report
