"""The order workbench pages: the list with status tabs, filters, bulk actions and exports,
and the order detail with the audited reveal of the receiver.

Thin, like ``api.py``: parse, call one query or service per order, render. Personal data on
these pages is masked for everyone; a person with ``pii.view`` reveals one receiver at a time
(audited), and exports carry plain data only for them (the export is audited).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import parse_qs, unquote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from openpyxl import Workbook

from lvyue.accounts.api import audit, client_address, page_require
from lvyue.accounts.roles import Principal
from lvyue.accounts.web import render_page
from lvyue.config import get_settings
from lvyue.core.errors import LvyueError, NotFound, ValidationError
from lvyue.core.http import PathId
from lvyue.core.uow import UnitOfWork
from lvyue.inventory import queries as stock_queries
from lvyue.logistics import queries as logistics_queries
from lvyue.orders import queries, service
from lvyue.orders.api import visible
from lvyue.orders.holds import HOLD_REASONS
from lvyue.orders.masking import mask_order
from lvyue.orders.schemas import OrderFilter
from lvyue.web.i18n import N_, translate
from lvyue.web.pages import language_of, toast

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
BULK_MAX = 500
EXCEL_MAX_ROWS = 1_048_575  # the sheet's limit, less the header

# The workbench's tabs, in the order of the order's way through the system.
STATUS_TABS: tuple[tuple[str, str], ...] = (
    ("pending_payment", N_("Pending payment")),
    ("pending_review", N_("Pending review")),
    ("held", N_("Held")),
    ("approved", N_("Approved")),
    ("allocated", N_("Allocated")),
    ("in_fulfillment", N_("In fulfilment")),
    ("shipped", N_("Shipped")),
    ("completed", N_("Completed")),
    ("cancelled", N_("Cancelled")),
)
STATUS_LABELS = dict(STATUS_TABS)

PLATFORM_NAMES = {
    "manual": N_("Manual"),
    "shopify": N_("Shopify"),
    "woocommerce": N_("WooCommerce"),
    "taobao": N_("Taobao"),
    "tmall": N_("Tmall"),
    "pinduoduo": N_("Pinduoduo"),
    "jd": N_("JD"),
    "douyin": N_("Douyin"),
    "kuaishou": N_("Kuaishou"),
    "livestream": N_("Livestream"),
    "offline": N_("Offline store"),
    "wholesale": N_("Wholesale"),
}

OUTCOMES = {
    "approve": N_("approved"),
    "hold": N_("held"),
    "manual_review": N_("manual review"),
    "allocate": N_("allocated"),
}

Reader = Annotated[Principal, Depends(page_require("orders.read"))]


def _scope(principal: Principal) -> queries.Scope:
    return queries.Scope(
        tuple(sorted(principal.shop_codes)), tuple(sorted(principal.warehouse_codes))
    )


def _filter(request: Request, principal: Principal) -> OrderFilter:
    f = OrderFilter.model_validate(dict(request.query_params))
    if f.phone:
        # Without pii.view a search by phone would confirm the digits a mask hides.
        principal.require("pii.view")
    if f.status and f.status not in STATUS_LABELS:
        raise ValidationError("status", f"unknown status {f.status!r}")
    return f


def _hold_label(code: str, language: str) -> str:
    reason = HOLD_REASONS.get(code)
    if reason is None:
        return code
    return reason.zh if language == "zh-CN" else reason.en


def _options(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
    shops = [s for s in queries.shop_options(uow) if principal.sees_shop(s["code"])]
    warehouses = [
        {"code": w["code"], "name": w["name"]}
        for w in stock_queries.list_warehouses(uow)
        if principal.sees_warehouse(w["code"])
    ]
    carriers = [
        {"code": c["code"], "name": c["name"]} for c in logistics_queries.list_carriers(uow)
    ]
    return {
        "shops": shops,
        "platforms": sorted({s["platform"] for s in shops}),
        "warehouses": warehouses,
        "carriers": carriers,
    }


def _tab_counts(counts: dict[str, int]) -> dict[str, Any]:
    """What the tabs show: a number, or "10,000+" past the count's cap."""

    def shown(n: int) -> str:
        return f"{queries.COUNT_CAP:,}+" if n > queries.COUNT_CAP else f"{n:,}"

    total = sum(counts.values())
    capped = any(n > queries.COUNT_CAP for n in counts.values())
    return {
        "counts": {status: shown(n) for status, n in counts.items()},
        "total": shown(queries.COUNT_CAP + 1) if capped else f"{total:,}",
    }


def _link(f: OrderFilter, **change: Any) -> str:
    """The list URL for ``f`` with ``change`` applied (None removes a parameter)."""
    params = {
        **f.filters(),
        "status": f.status,
        "sort": f.sort if f.sort != "ordered_at" else None,
        "direction": f.direction if f.direction != "desc" else None,
    }
    params.update(change)
    query = urlencode({k: str(v) for k, v in params.items() if v is not None and v != ""})
    return "/orders" + (f"?{query}" if query else "")


def _sort_link(f: OrderFilter, key: str) -> str:
    direction = "asc" if f.sort == key and f.direction == "desc" else "desc"
    return _link(f, sort=key, direction=direction)


def _workbench(request: Request, principal: Principal) -> dict[str, Any]:
    f = _filter(request, principal)
    zone = get_settings().timezone
    scope = _scope(principal)
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        page = queries.workbench_page(uow, f, scope=scope, zone=zone, limit=PAGE_SIZE)
        counts = queries.workbench_counts(uow, STATUS_LABELS, scope=scope)
        options = _options(uow, principal)
    language = language_of(request)
    items = [mask_order(item) for item in page["items"]]
    for item in items:
        item["holds"] = [(c, _hold_label(c, language)) for c in item["hold_reasons"]]
    return {
        "f": f,
        "items": items,
        "next_link": _link(f, after=page["next"]) if page["next"] else "",
        "prev_link": _link(f, before=page["prev"]) if page["prev"] else "",
        "first_link": _link(f) if page["prev"] else "",
        **_tab_counts(counts),
        "tabs": STATUS_TABS,
        "tab_link": lambda status: _link(f, status=status),
        "sort_link": lambda key: _sort_link(f, key),
        "clear_link": _link(OrderFilter(status=f.status)),
        "export_link": lambda fmt: (
            f"/orders/export.{fmt}?"
            + urlencode({k: str(v) for k, v in {**f.filters(), "status": f.status}.items() if v})
        ),
        "statuses": STATUS_LABELS,
        "platforms_named": PLATFORM_NAMES,
        "hold_reasons": [(code, _hold_label(code, language)) for code in HOLD_REASONS],
        "list_link": _link(f, after=f.after, before=f.before),
        **options,
    }


@router.get("/orders", response_class=HTMLResponse)
def order_list(request: Request, principal: Reader) -> HTMLResponse:
    context = _workbench(request, principal)
    partial = request.headers.get("hx-target") == "workbench"
    return render_page(
        request, principal, "orders/_workbench.html" if partial else "orders/list.html", context
    )


@router.get("/orders/counts", response_class=HTMLResponse)
def order_counts(request: Request, principal: Reader) -> HTMLResponse:
    """The status tabs alone, for live refreshes."""
    f = _filter(request, principal)
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        counts = queries.workbench_counts(uow, STATUS_LABELS, scope=_scope(principal))
    return render_page(
        request,
        principal,
        "orders/_tabs.html",
        {
            "f": f,
            **_tab_counts(counts),
            "tabs": STATUS_TABS,
            "tab_link": lambda status: _link(f, status=status),
        },
    )


# --------------------------------------------------------------------------- bulk actions


async def _bulk_form(request: Request) -> tuple[list[int], str, dict[str, list[str]]]:
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    ids: list[int] = []
    for value in form.get("ids", []):
        if not value.isdigit() or not 1 <= int(value) < 2**63:
            raise ValidationError("ids", f"{value!r} is not an order id")
        ids.append(int(value))
    ids = sorted(set(ids))
    if not ids:
        raise ValidationError("ids", "select at least one order")
    if len(ids) > BULK_MAX:
        raise ValidationError("ids", f"at most {BULK_MAX} orders at once")
    reason = form.get("reason", [""])[0].strip()
    if not reason and request.headers.get("hx-prompt"):
        prompt = request.headers["hx-prompt"]
        encoded = request.headers.get("hx-prompt-uri-autoencoded") == "true"
        reason = (unquote(prompt) if encoded else prompt).strip()
    return ids, reason[:300], form


def _run_each(
    request: Request,
    principal: Principal,
    ids: list[int],
    action: Callable[[UnitOfWork, int], Any],
    audited: str,
    details: dict[str, Any],
) -> tuple[list[int], list[str]]:
    """Run ``action`` on each order in its own transaction with its audit row: one order
    that cannot move does not stop the others. Returns (done ids, failure lines)."""
    engine = request.app.state.engine
    with UnitOfWork(engine, readonly=True) as uow:
        places = queries.order_places(uow, ids)
    done: list[int] = []
    failed: list[str] = []
    for oid in ids:
        if oid not in places or not visible(principal, *places[oid]):
            failed.append(f"#{oid}: {NotFound(f'order {oid} does not exist').message}")
            continue
        try:
            with UnitOfWork(engine, actor=principal.actor) as uow:
                action(uow, oid)
                audit(
                    uow,
                    request,
                    action=audited,
                    target_type="order",
                    target=str(oid),
                    details=details,
                )
        except LvyueError as exc:
            failed.append(f"#{oid}: {exc.message}")
            continue
        done.append(oid)
    return done, failed


def _then_review(request: Request, principal: Principal, ids: list[int]) -> None:
    """After an approval the order goes through review at once, as ``lvyue orders approve``
    does; an order a worker is reviewing meanwhile is simply left to it."""
    for oid in ids:
        try:
            with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
                service.review_again(uow, oid)
        except LvyueError:
            continue


BULK: dict[str, tuple[str, str, str]] = {
    # action: (permission, audit action, toast message)
    "approve": ("orders.review", "order.approve", N_("%(done)s of %(total)s orders approved.")),
    "review": ("orders.review", "order.review", N_("%(done)s of %(total)s orders reviewed again.")),
    "hold": ("orders.hold", "order.hold", N_("%(done)s of %(total)s orders held.")),
    "cancel": ("orders.cancel", "order.cancel", N_("%(done)s of %(total)s orders cancelled.")),
    "warehouse": (
        "orders.review",
        "order.assign_warehouse",
        N_("%(done)s of %(total)s orders assigned to the warehouse."),
    ),
    "carrier": (
        "orders.review",
        "order.assign_carrier",
        N_("%(done)s of %(total)s orders assigned to the carrier."),
    ),
}


@router.post("/orders/bulk/{action}")
async def bulk(request: Request, action: str, principal: Reader) -> Response:
    if action not in BULK:
        raise NotFound(f"no bulk action {action!r}", code="not_found")
    permission, audited, message = BULK[action]
    principal.require(permission)
    ids, reason, form = await _bulk_form(request)
    role = principal.role.value
    run: Callable[[UnitOfWork, int], Any]
    details: dict[str, Any] = {"bulk": True}
    if action == "approve":
        run = lambda uow, oid: service.approve_order(uow, oid, role=role, note=reason)  # noqa: E731
        details["note"] = reason
    elif action == "review":
        run = service.review_again
    elif action in ("hold", "cancel"):
        if not reason:
            raise ValidationError("reason", "say why (it is kept in the history)")
        details["reason"] = reason
        run = (
            (lambda uow, oid: service.hold_order(uow, oid, note=reason))
            if action == "hold"
            else (lambda uow, oid: service.cancel_order(uow, oid, reason=reason))
        )
    elif action in ("warehouse", "carrier"):
        code = form.get(action, [""])[0].strip()[:64]
        if not code:
            raise ValidationError(action, f"pick a {action}")
        if action == "warehouse" and not principal.sees_warehouse(code):
            raise ValidationError("warehouse", f"warehouse {code} is outside your warehouses")
        details[action] = code
        scope = principal.warehouse_codes
        assign = service.assign_warehouse if action == "warehouse" else service.assign_carrier
        run = lambda uow, oid: assign(uow, [oid], code, scope=scope).check(oid)  # noqa: E731
    done, failed = await run_in_threadpool(
        _run_each, request, principal, ids, run, audited, details
    )
    if action == "approve" and done:
        await run_in_threadpool(_then_review, request, principal, done)
    headers = toast(
        request,
        message,
        level="success" if not failed else ("error" if not done else "info"),
        detail=failed[:8],
        events={"orders-reload": True, "orders-changed": True},
        done=len(done),
        total=len(ids),
    )
    return Response(status_code=204 if not failed or done else 400, headers=headers)


# --------------------------------------------------------------------------- exports

EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", N_("Order ID")),
    ("external_id", N_("Platform order no.")),
    ("shop", N_("Shop")),
    ("platform", N_("Platform")),
    ("status", N_("Status")),
    ("hold_reasons", N_("Hold reasons")),
    ("ordered_at", N_("Ordered at")),
    ("paid_at", N_("Paid at")),
    ("goods_amount", N_("Goods amount")),
    ("shipping_fee", N_("Shipping fee")),
    ("discount", N_("Discount")),
    ("total_amount", N_("Total amount")),
    ("item_count", N_("Items")),
    ("lines", N_("Lines")),
    ("buyer_id", N_("Buyer ID")),
    ("receiver_name", N_("Receiver")),
    ("receiver_phone", N_("Phone")),
    ("receiver_province", N_("Province")),
    ("receiver_city", N_("City")),
    ("receiver_district", N_("District")),
    ("receiver_address", N_("Address")),
    ("warehouse", N_("Warehouse")),
    ("carrier_code", N_("Carrier")),
    ("tracking_no", N_("Tracking no.")),
    ("shipping_cost", N_("Shipping cost")),
    ("buyer_message", N_("Buyer message")),
    ("seller_memo", N_("Seller memo")),
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, zone: str, *, text: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    if isinstance(value, Decimal | int):
        return str(value) if text else value
    value = str(value)
    # A spreadsheet would run "=..." typed by a buyer as a formula: keep it text.
    return "'" + value if value.startswith(FORMULA_START) else value


def _export_rows(
    request: Request, principal: Principal, f: OrderFilter, *, text: bool
) -> Iterator[list[Any]]:
    engine = request.app.state.engine
    zone = get_settings().timezone
    plain = principal.can("pii.view")
    language = language_of(request)
    for batch in queries.export_batches(
        lambda: UnitOfWork(engine, readonly=True), f, scope=_scope(principal), zone=zone
    ):
        for row in batch:
            order = row if plain else mask_order(row)
            order["status"] = translate(language, STATUS_LABELS.get(row["status"], row["status"]))
            order["platform"] = translate(
                language, PLATFORM_NAMES.get(row["platform"], row["platform"])
            )
            yield [_cell(order.get(key), zone, text=text) for key, _ in EXPORT_COLUMNS]


def _audit_export(request: Request, principal: Principal, f: OrderFilter, fmt: str) -> None:
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        audit(
            uow,
            request,
            action="orders.export",
            target_type="order_list",
            target=fmt,
            details={
                "format": fmt,
                "filters": {k: str(v) for k, v in {**f.filters(), "status": f.status}.items() if v},
                # Plain receiver data left the system with this export (ADR 0006).
                "pii": principal.can("pii.view"),
            },
        )


def _filename(fmt: str) -> str:
    return f"orders-{datetime.now(UTC):%Y%m%d-%H%M%S}.{fmt}"


Exporter = Annotated[Principal, Depends(page_require("orders.export"))]


@router.get("/orders/export.csv")
def export_csv(request: Request, principal: Exporter) -> StreamingResponse:
    """The filtered set as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese),
    streamed in batches."""
    f = _filter(request, principal)
    _audit_export(request, principal, f, "csv")
    language = language_of(request)
    header = [translate(language, label) for _, label in EXPORT_COLUMNS]

    def chunks() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        for i, row in enumerate(_export_rows(request, principal, f, text=True), start=1):
            writer.writerow(row)
            if i % 500 == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename("csv")}"'},
    )


@router.get("/orders/export.xlsx")
def export_xlsx(request: Request, principal: Exporter) -> StreamingResponse:
    """The filtered set as an Excel workbook: written row by row (openpyxl's write-only mode)
    to a temporary file, then streamed."""
    f = _filter(request, principal)
    _audit_export(request, principal, f, "xlsx")
    language = language_of(request)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(translate(language, N_("Orders")))
    sheet.append([translate(language, label) for _, label in EXPORT_COLUMNS])
    for i, row in enumerate(_export_rows(request, principal, f, text=False)):
        if i >= EXCEL_MAX_ROWS:
            break
        sheet.append(row)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the streaming generator
    book.save(spool)
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(1 << 16):
                yield block

    return StreamingResponse(
        chunks(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename("xlsx")}"'},
    )


# --------------------------------------------------------------------------- detail


def _visible_order(request: Request, principal: Principal, order_id: int) -> dict[str, Any]:
    with UnitOfWork(request.app.state.engine, readonly=True) as uow:
        order = queries.get_order(uow, order_id)
        lines = queries.order_lines(uow, order_id)
        warehouses = {w["code"]: w["name"] for w in stock_queries.list_warehouses(uow)}
        carriers = {c["code"]: c["name"] for c in logistics_queries.list_carriers(uow)}
    if not visible(principal, order["shop"], order["warehouse"]):
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    order["lines_detail"] = lines
    order["warehouse_name"] = warehouses.get(order["warehouse"] or "", "")
    order["carrier_name"] = carriers.get(order["carrier"] or "", "")
    return order


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_detail(request: Request, order_id: PathId, principal: Reader) -> HTMLResponse:
    order = mask_order(_visible_order(request, principal, order_id))
    language = language_of(request)
    return render_page(
        request,
        principal,
        "orders/detail.html",
        {
            "o": order,
            "statuses": STATUS_LABELS,
            "outcomes": OUTCOMES,
            "holds": [
                (h["code"], _hold_label(h["code"], language), h["detail"]) for h in order["holds"]
            ],
            "revealed": False,
        },
    )


@router.post("/orders/{order_id}/reveal", response_class=HTMLResponse)
def reveal(
    request: Request,
    order_id: PathId,
    principal: Annotated[Principal, Depends(page_require("pii.view"))],
) -> HTMLResponse:
    """The receiver in plain text, for one order; the reveal is audited (who, when, where)."""
    order = _visible_order(request, principal, order_id)  # existence and scope first
    ip, agent = client_address(request)
    with UnitOfWork(request.app.state.engine, actor=principal.actor) as uow:
        plain = service.reveal_receiver(uow, order_id, via="web", ip=ip, user_agent=agent)
    return render_page(
        request,
        principal,
        "orders/_receiver.html",
        {"o": {**order, **plain, "pii_masked": False}, "revealed": True},
        headers=toast(
            request, N_("Revealed. This view is recorded in the audit log."), level="info"
        ),
    )
