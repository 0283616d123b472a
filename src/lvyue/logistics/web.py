"""Settings → carriers and rates: carriers with their services, each carrier's rate table by
region and weight, and importing a rate CSV (bad rows listed with their line and column,
good rows kept). ``logistics.write`` and the audit rows of the API and CLI
(``carrier.create``, ``rates.import``; ``carrier.service_add`` for a service added later).
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lvyue.accounts.api import audit, page_require
from lvyue.accounts.roles import Principal
from lvyue.accounts.settings_web import Partial, form_fields, one
from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.logistics import queries, service
from lvyue.logistics.rates import RATE_COLUMNS, RateRowError, format_kg, read_rate_csv
from lvyue.logistics.selection import SERVICE_TAGS
from lvyue.web.i18n import N_

router = APIRouter(include_in_schema=False)

LogisticsAdmin = Annotated[Principal, Depends(page_require("logistics.write"))]

MAX_CSV_CHARS = 2_000_000

TAG_LABELS: dict[str, str] = {
    "fresh": N_("Fresh"),
    "frozen": N_("Frozen"),
    "bulky": N_("Bulky"),
    "fragile": N_("Fragile"),
}
SERVICE_FIELDS: dict[str, str] = {
    "code": N_("Service code"),
    "name": N_("Service name"),
    "handles": N_("Takes"),
    "max_weight_g": N_("Maximum weight (kg)"),
    "max_weight_kg": N_("Maximum weight (kg)"),
    "excluded_provinces": N_("Does not deliver to"),
}
CARRIER_FIELDS: dict[str, str] = {
    "code": N_("Carrier code"),
    "name": N_("Carrier name"),
    "service_code": N_("Service code"),
    "service_name": N_("Service name"),
    "service_handles": N_("Takes"),
    "service_max_weight_kg": N_("Maximum weight (kg)"),
    "service_excluded_provinces": N_("Does not deliver to"),
    "handles": N_("Takes"),
    "max_weight_g": N_("Maximum weight (kg)"),
    "max_weight_kg": N_("Maximum weight (kg)"),
    "excluded_provinces": N_("Does not deliver to"),
    "carrier": N_("Carrier"),
    "csv": N_("Rate file"),
    "header": N_("Rate file"),
}
CARRIERS = Partial("carriers", "settings/_carriers.html", CARRIER_FIELDS)
SERVICES = Partial("carriers", "settings/_carriers.html", SERVICE_FIELDS)
RATES = Partial("carriers", "settings/_rates.html", {})


def _list_context(request: Request) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        carriers = queries.list_carriers(uow)
    return {
        "carriers": carriers,
        "tags": [(t, TAG_LABELS[t]) for t in sorted(SERVICE_TAGS)],
        "tag_labels": TAG_LABELS,
        "format_kg": format_kg,
        "columns": RATE_COLUMNS,
        "report": None,
    }


@router.get("/settings/carriers", response_class=HTMLResponse)
def carriers_page(request: Request, principal: LogisticsAdmin) -> HTMLResponse:
    return CARRIERS.render(request, principal, _list_context(request))


def _kg(text: str, field: str) -> int | None:
    if not text:
        return None
    try:
        grams = Decimal(text.replace(",", ".")) * 1000
    except InvalidOperation:
        raise ValidationError(field, "a number of kg, e.g. 30") from None
    if grams <= 0 or grams != grams.to_integral_value():
        raise ValidationError(field, "a positive number of kg (to the gram)")
    return int(grams)


def _spec(form: dict[str, list[str]], prefix: str = "") -> service.ServiceSpec:
    return service.ServiceSpec(
        code=one(form, prefix + "code", limit=24),
        name=one(form, prefix + "name", limit=100),
        handles=tuple(form.get(prefix + "handles", [])),
        is_cold_chain=one(form, prefix + "cold") == "on",
        is_freight=one(form, prefix + "freight") == "on",
        max_weight_g=_kg(one(form, prefix + "max_weight_kg", limit=12), prefix + "max_weight_kg"),
        excluded_provinces=tuple(
            p
            for p in one(form, prefix + "excluded_provinces").replace("，", ",").split(",")
            if p.strip()
        ),
    )


@router.post("/settings/carriers", response_class=HTMLResponse)
async def add_carrier(request: Request, principal: LogisticsAdmin) -> HTMLResponse:
    """A carrier with its first service (more services are added on the list)."""
    form = await form_fields(request)
    values = {k: one(form, k) for k in ("code", "name", "service_code", "service_name")}
    try:
        specs = [_spec(form, "service_")] if values["service_code"] else []
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            service.add_carrier(uow, code=values["code"], name=values["name"], services=specs)
            code = values["code"].strip().upper()
            audit(
                uow,
                request,
                action="carrier.create",
                target_type="carrier",
                target=code,
                details={
                    "code": code,
                    "name": values["name"],
                    "services": [asdict(s) for s in specs],
                    "via": "web",
                },
            )
    except ValidationError as exc:
        if exc.field.startswith("service["):  # the form's service fields carry a prefix
            exc = ValidationError("service_" + exc.field.split(".")[-1], exc.problem)
        return CARRIERS.refused(
            request, principal, _list_context(request), exc, {**values, "form": "carrier"}
        )
    return CARRIERS.render(
        request, principal, _list_context(request), N_("Carrier %(code)s added."), code=code
    )


@router.post("/settings/carriers/{carrier}/services", response_class=HTMLResponse)
async def add_service(request: Request, carrier: str, principal: LogisticsAdmin) -> HTMLResponse:
    form = await form_fields(request)
    try:
        spec = _spec(form)
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            service.add_service(uow, carrier_code=carrier, spec=spec)
            audit(
                uow,
                request,
                action="carrier.service_add",
                target_type="carrier",
                target=carrier.upper(),
                details={**asdict(spec), "via": "web"},
            )
    except ValidationError as exc:
        return SERVICES.refused(
            request,
            principal,
            _list_context(request),
            ValidationError(exc.field.split(".")[-1], exc.problem),
            {"form": f"service-{carrier.upper()}", **{k: one(form, k) for k in form}},
        )
    return CARRIERS.render(
        request,
        principal,
        _list_context(request),
        N_("Service %(code)s added to %(carrier)s."),
        code=spec.code.upper(),
        carrier=carrier.upper(),
    )


@router.get("/settings/carriers/{carrier}/rates", response_class=HTMLResponse)
def rates_page(request: Request, carrier: str, principal: LogisticsAdmin) -> HTMLResponse:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        found = [c for c in queries.list_carriers(uow) if c["code"] == carrier]
        rates = queries.rate_table(uow, carrier)
    if not found:
        raise NotFound(f"carrier {carrier} does not exist", code="unknown_carrier")
    return RATES.render(
        request, principal, {"carrier": found[0], "rates": rates, "format_kg": format_kg}
    )


@router.post("/settings/carriers/rates/import", response_class=HTMLResponse)
async def import_rates(request: Request, principal: LogisticsAdmin) -> HTMLResponse:
    """A rate CSV, pasted or read from a file by the page, as the form field ``csv``."""
    form = await form_fields(request)
    text = (form.get("csv") or [""])[0]
    filename = one(form, "filename", limit=200) or "rates.csv"
    try:
        if not text.strip():
            raise ValidationError("csv", "choose a CSV file or paste its text")
        if len(text) > MAX_CSV_CHARS:
            raise ValidationError("csv", f"at most {MAX_CSV_CHARS:,} characters; split the file")
        try:
            rows = read_rate_csv(text)
        except RateRowError as exc:
            raise ValidationError("csv", exc.problem) from None
        with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
            report = service.import_rates(uow, rows)
            audit(
                uow,
                request,
                action="rates.import",
                target_type="rates",
                target=filename,
                details={
                    "imported": report.imported,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "rejected": len(report.rejected),
                    "via": "web",
                },
            )
    except ValidationError as exc:
        return CARRIERS.refused(request, principal, _list_context(request), exc, {"form": "rates"})
    return CARRIERS.render(
        request,
        principal,
        {**_list_context(request), "report": report},
        N_("Rates: %(imported)s new, %(updated)s updated, %(rejected)s rejected."),
        level="success" if not report.rejected else "info",
        imported=report.imported,
        updated=report.updated,
        rejected=len(report.rejected),
    )
