"""Order reads for the CLI, the API and pages. Never writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from lvyue.catalog.models import Sku
from lvyue.core.crypto import phone_indexes
from lvyue.core.db import table_of
from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.customers.models import Customer, CustomerIdentity
from lvyue.inventory.models import Warehouse
from lvyue.orders.models import Order, OrderHistory, OrderHold, OrderLine, Shop
from lvyue.orders.schemas import OrderFilter

ORDER = table_of(Order)
LINE = table_of(OrderLine)
HOLD = table_of(OrderHold)
HISTORY = table_of(OrderHistory)
SHOP = table_of(Shop)
WAREHOUSE = table_of(Warehouse)
SKU = table_of(Sku)
CUSTOMER = table_of(Customer)
IDENTITY = table_of(CustomerIdentity)


def _holds_and_lines(
    uow: UnitOfWork, ids: list[int]
) -> tuple[dict[int, list[str]], dict[int, list[Any]]]:
    """Hold codes (by code) and lines (in line order) of the orders ``ids``, by order id: two
    queries per 900 ids, whatever the page size."""
    holds: dict[int, list[str]] = defaultdict(list)
    lines: dict[int, list[Any]] = defaultdict(list)
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        for h in uow.conn.execute(
            sa.select(HOLD.c.order_id, HOLD.c.code)
            .where(HOLD.c.order_id.in_(chunk))
            .order_by(HOLD.c.code)
        ):
            holds[h.order_id].append(h.code)
        for ln in uow.conn.execute(
            sa.select(LINE.c.order_id, LINE.c.sku_code, LINE.c.quantity, LINE.c.reserved)
            .where(LINE.c.order_id.in_(chunk))
            .order_by(LINE.c.order_id, LINE.c.line_no)
        ):
            lines[ln.order_id].append(ln)
    return holds, lines


def _summaries(uow: UnitOfWork, rows: list[Any]) -> list[dict[str, Any]]:
    holds, lines = _holds_and_lines(uow, [r.id for r in rows])
    return [
        {
            "id": r.id,
            "shop": r.shop,
            "external_id": r.external_id,
            "status": r.status,
            "hold_reasons": holds.get(r.id, []),
            "warehouse": r.warehouse,
            "lines": [
                {"sku": ln.sku_code, "quantity": ln.quantity, "reserved": ln.reserved}
                for ln in lines.get(r.id, [])
            ],
        }
        for r in rows
    ]


# Lists need no personal data: selecting only these columns spares decrypting it per row.
SUMMARY_COLUMNS = (ORDER.c.id, ORDER.c.external_id, ORDER.c.status)


def _base(*, full: bool = False) -> sa.Select[Any]:
    return (
        sa.select(
            *((ORDER,) if full else SUMMARY_COLUMNS),
            SHOP.c.code.label("shop"),
            WAREHOUSE.c.code.label("warehouse"),
        )
        .join(SHOP, SHOP.c.id == ORDER.c.shop_id)
        .outerjoin(WAREHOUSE, WAREHOUSE.c.id == ORDER.c.warehouse_id)
    )


def _by_phone(stmt: sa.Select[Any], phone: str) -> sa.Select[Any]:
    """Orders whose receiver phone is ``phone``, matched on the keyed hash (ADR 0006)."""
    hashes = phone_indexes(phone)
    if not hashes:
        raise ValidationError("phone", f"{phone!r} has no digits to search by")
    return stmt.where(ORDER.c.receiver_phone_hash.in_(hashes))


def list_orders(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    phone: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    stmt = _base().order_by(ORDER.c.id)
    if status:
        stmt = stmt.where(ORDER.c.status == status)
    if phone:
        stmt = _by_phone(stmt, phone)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return _summaries(uow, list(uow.conn.execute(stmt)))


def get_order(uow: UnitOfWork, order_id: int) -> dict[str, Any]:
    row = uow.conn.execute(_base(full=True).where(ORDER.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id} does not exist", code="unknown_order")
    summary = _summaries(uow, [row])[0]
    hidden = ("shop_id", "warehouse_id", "receiver_phone_hash")
    detail = {k: v for k, v in row._mapping.items() if k not in hidden}
    summary.update({k: v for k, v in detail.items() if k not in summary})
    summary["review_log"] = row.review_log or []
    summary["carrier"] = row.carrier_code
    summary["holds"] = [
        {"code": h.code, "detail": h.detail}
        for h in uow.conn.execute(
            sa.select(HOLD).where(HOLD.c.order_id == order_id).order_by(HOLD.c.code)
        )
    ]
    summary["history"] = [
        {
            "at": h.created_at,
            "from": h.from_status,
            "to": h.to_status,
            "actor": h.actor,
            "reason": h.reason,
        }
        for h in uow.conn.execute(
            sa.select(HISTORY).where(HISTORY.c.order_id == order_id).order_by(HISTORY.c.id)
        )
    ]
    return summary


def status_counts(uow: UnitOfWork) -> dict[str, int]:
    rows = uow.conn.execute(sa.select(ORDER.c.status, sa.func.count()).group_by(ORDER.c.status))
    return {status: int(n) for status, n in rows}


def hold_counts(uow: UnitOfWork) -> dict[str, int]:
    rows = uow.conn.execute(sa.select(HOLD.c.code, sa.func.count()).group_by(HOLD.c.code))
    return {code: int(n) for code, n in rows}


def customer_profile(uow: UnitOfWork, customer_id: int) -> dict[str, Any]:
    """A customer with every order across shops, newest first."""
    row = uow.conn.execute(sa.select(CUSTOMER).where(CUSTOMER.c.id == customer_id)).first()
    if row is None:
        raise NotFound(f"customer {customer_id} does not exist", code="unknown_customer")
    orders = uow.conn.execute(
        sa.select(
            ORDER.c.id,
            SHOP.c.code.label("shop"),
            SHOP.c.platform,
            ORDER.c.external_id,
            ORDER.c.status,
            ORDER.c.ordered_at,
            ORDER.c.total_amount,
        )
        .join(SHOP, SHOP.c.id == ORDER.c.shop_id)
        .where(ORDER.c.customer_id == customer_id)
        .order_by(ORDER.c.ordered_at.desc())
    )
    identities = uow.conn.execute(
        sa.select(IDENTITY.c.kind, IDENTITY.c.value, IDENTITY.c.phone)
        .where(IDENTITY.c.customer_id == customer_id)
        .order_by(IDENTITY.c.kind, IDENTITY.c.value)
    )
    return {
        **dict(row._mapping),
        # Phones are stored as keyed hashes; the encrypted copy is what a person can read.
        "identities": [f"{i.kind}:{i.phone if i.kind == 'phone' else i.value}" for i in identities],
        "orders": [dict(o._mapping) for o in orders],
    }


def page_orders(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    shops: list[str] | None = None,
    warehouses: list[str] | None = None,
    shop: str | None = None,
    warehouse: str | None = None,
    hold: str | None = None,
    ordered_from: datetime | None = None,
    ordered_to: datetime | None = None,
    phone: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of order summaries, newest first, with the total for the same filters. Empty
    ``shops`` / ``warehouses`` mean all; otherwise orders outside them are not there at all.
    ``shop`` / ``warehouse`` narrow to one, ``hold`` to orders held for that reason, and
    ``ordered_from`` (inclusive) / ``ordered_to`` (exclusive) to when the buyer ordered; each
    filter is one indexed column (status, hold code, ordered_at) or a join on a unique code.
    ``phone`` finds the receiver's orders through the phone's keyed hash."""
    stmt = _base()
    if status:
        stmt = stmt.where(ORDER.c.status == status)
    if phone:
        stmt = _by_phone(stmt, phone)
    if shops:
        stmt = stmt.where(SHOP.c.code.in_(shops))
    if warehouses:
        stmt = stmt.where(sa.or_(ORDER.c.warehouse_id.is_(None), WAREHOUSE.c.code.in_(warehouses)))
    if shop:
        stmt = stmt.where(SHOP.c.code == shop)
    if warehouse:
        stmt = stmt.where(WAREHOUSE.c.code == warehouse)
    if hold:
        stmt = stmt.where(ORDER.c.id.in_(sa.select(HOLD.c.order_id).where(HOLD.c.code == hold)))
    if ordered_from is not None:
        stmt = stmt.where(ORDER.c.ordered_at >= ordered_from)
    if ordered_to is not None:
        stmt = stmt.where(ORDER.c.ordered_at < ordered_to)
    total = uow.conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = list(uow.conn.execute(stmt.order_by(ORDER.c.id.desc()).limit(limit).offset(offset)))
    return {"items": _summaries(uow, rows), "total": int(total)}


def order_places(uow: UnitOfWork, order_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """(shop code, warehouse code or None) per existing order id: enough to check scope."""
    found: dict[int, tuple[str, str | None]] = {}
    for i in range(0, len(order_ids), 900):
        rows = uow.conn.execute(
            sa.select(ORDER.c.id, SHOP.c.code, WAREHOUSE.c.code)
            .join(SHOP, SHOP.c.id == ORDER.c.shop_id)
            .outerjoin(WAREHOUSE, WAREHOUSE.c.id == ORDER.c.warehouse_id)
            .where(ORDER.c.id.in_(order_ids[i : i + 900]))
        )
        found.update({oid: (shop, wh) for oid, shop, wh in rows})
    return found


# --------------------------------------------------------------------------- the workbench

# What a row of the order workbench shows; personal data is masked by the page.
WORKBENCH_COLUMNS = (
    ORDER.c.id,
    ORDER.c.external_id,
    ORDER.c.status,
    ORDER.c.ordered_at,
    ORDER.c.total_amount,
    ORDER.c.item_count,
    ORDER.c.buyer_id,
    ORDER.c.receiver_name,
    ORDER.c.receiver_phone,
    ORDER.c.receiver_province,
    ORDER.c.receiver_city,
    ORDER.c.carrier_code,
    ORDER.c.tracking_no,
)
SORT_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "ordered_at": ORDER.c.ordered_at,
    "total_amount": ORDER.c.total_amount,
    "id": ORDER.c.id,
}


@dataclass(frozen=True)
class Scope:
    """The shops and warehouses a person may see (empty: all)."""

    shops: tuple[str, ...] = ()
    warehouses: tuple[str, ...] = ()


def _day_start(day: date, zone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))


def _shop_ids(condition: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return sa.select(SHOP.c.id).where(condition)


def _warehouse_ids(condition: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return sa.select(WAREHOUSE.c.id).where(condition)


def _filtered(stmt: sa.Select[Any], f: OrderFilter, scope: Scope, zone: str) -> sa.Select[Any]:
    """``stmt`` (orders joined with shop and warehouse) narrowed to the scope and filters;
    each filter is an indexed column, a join on a unique code, or narrows what the sort index
    walks (amount, carrier)."""
    if f.status:
        stmt = stmt.where(ORDER.c.status == f.status)
    # Shops and warehouses by id (a subquery on their unique codes), never through the joined
    # code columns: the planner can then walk the order's own indexes in the sort order.
    if scope.shops:
        stmt = stmt.where(ORDER.c.shop_id.in_(_shop_ids(SHOP.c.code.in_(scope.shops))))
    if scope.warehouses:
        stmt = stmt.where(
            sa.or_(
                ORDER.c.warehouse_id.is_(None),
                ORDER.c.warehouse_id.in_(_warehouse_ids(WAREHOUSE.c.code.in_(scope.warehouses))),
            )
        )
    if f.shop:
        stmt = stmt.where(ORDER.c.shop_id.in_(_shop_ids(SHOP.c.code == f.shop)))
    if f.platform:
        stmt = stmt.where(ORDER.c.shop_id.in_(_shop_ids(SHOP.c.platform == f.platform)))
    if f.warehouse:
        stmt = stmt.where(ORDER.c.warehouse_id.in_(_warehouse_ids(WAREHOUSE.c.code == f.warehouse)))
    if f.carrier:
        stmt = stmt.where(ORDER.c.carrier_code == f.carrier.upper())
    if f.hold:
        stmt = stmt.where(ORDER.c.id.in_(sa.select(HOLD.c.order_id).where(HOLD.c.code == f.hold)))
    if f.buyer:
        stmt = stmt.where(ORDER.c.buyer_id == f.buyer)
    if f.phone:
        stmt = _by_phone(stmt, f.phone)
    if f.sku:
        sku_id = sa.select(SKU.c.id).where(SKU.c.code == f.sku).scalar_subquery()
        stmt = stmt.where(ORDER.c.id.in_(sa.select(LINE.c.order_id).where(LINE.c.sku_id == sku_id)))
    if f.ordered_from:
        stmt = stmt.where(ORDER.c.ordered_at >= _day_start(f.ordered_from, zone))
    if f.ordered_to:
        stmt = stmt.where(ORDER.c.ordered_at < _day_start(f.ordered_to + timedelta(days=1), zone))
    if f.amount_min is not None:
        stmt = stmt.where(ORDER.c.total_amount >= f.amount_min)
    if f.amount_max is not None:
        stmt = stmt.where(ORDER.c.total_amount <= f.amount_max)
    return stmt


def _cursor(sort: str, row: Any) -> str:
    value = row._mapping[sort]
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return f"{text}~{row.id}"


def _parse_cursor(sort: str, text: str) -> tuple[Any, int]:
    value, _, id_text = text.rpartition("~")
    try:
        oid = int(id_text)
        if sort == "ordered_at":
            return datetime.fromisoformat(value), oid
        if sort == "total_amount":
            return Decimal(value), oid
        return oid, oid
    except (ValueError, ArithmeticError):
        raise ValidationError("cursor", f"{text!r} is not a page position of this list") from None


def workbench_page(
    uow: UnitOfWork, f: OrderFilter, *, scope: Scope, zone: str, limit: int = 50
) -> dict[str, Any]:
    """One page of the workbench by keyset: ``f.after`` / ``f.before`` are positions
    ("value~id") of the last / first row of a neighbouring page, so every page costs the same
    on a million orders (an index walk from the position; no offset, no count)."""
    column = SORT_COLUMNS[f.sort]
    keys = (column, ORDER.c.id) if f.sort != "id" else (ORDER.c.id,)
    backwards = f.before is not None and f.after is None
    cursor = f.before if backwards else f.after
    descending = (f.direction == "desc") != backwards
    stmt = _filtered(_base_workbench(), f, scope, zone)
    if cursor:
        value, oid = _parse_cursor(f.sort, cursor)
        bound = sa.tuple_(*keys) if len(keys) > 1 else keys[0]
        at = (
            sa.tuple_(sa.literal(value, type_=column.type), sa.literal(oid, type_=ORDER.c.id.type))
            if len(keys) > 1
            else sa.literal(oid, type_=ORDER.c.id.type)
        )
        stmt = stmt.where(bound < at if descending else bound > at)
    stmt = stmt.order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(limit + 1)
    rows = list(uow.conn.execute(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    holds, lines = _holds_and_lines(uow, [r.id for r in rows])
    items = [
        {
            **r._mapping,
            "hold_reasons": sorted(holds[r.id]),
            "lines": [{"sku": ln.sku_code, "quantity": ln.quantity} for ln in lines[r.id]],
        }
        for r in rows
    ]
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    has_next = (more if not backwards else True) and last is not None
    has_prev = (more if backwards else bool(f.after)) and first is not None
    return {
        "items": items,
        "next": _cursor(f.sort, last) if has_next and last is not None else None,
        "prev": _cursor(f.sort, first) if has_prev and first is not None else None,
    }


def _base_workbench() -> sa.Select[Any]:
    return (
        sa.select(
            *WORKBENCH_COLUMNS,
            SHOP.c.code.label("shop"),
            SHOP.c.platform,
            WAREHOUSE.c.code.label("warehouse"),
        )
        .join(SHOP, SHOP.c.id == ORDER.c.shop_id)
        .outerjoin(WAREHOUSE, WAREHOUSE.c.id == ORDER.c.warehouse_id)
    )


COUNT_CAP = 10_000


def workbench_counts(
    uow: UnitOfWork, statuses: Iterable[str], *, scope: Scope, cap: int = COUNT_CAP
) -> dict[str, int]:
    """Orders per status the person may see, counted up to ``cap + 1`` (more than ``cap``
    reads as "cap+"): each count is a bounded walk of the status index, so the tabs cost a few
    milliseconds whether a status holds a hundred orders or a million, where an exact
    ``GROUP BY status`` reads every order each time. One statement, one subquery per status."""
    # No joins: the scope as id lists, so each count stays a walk of the status index.
    base = _filtered(sa.select(sa.literal(1)).select_from(ORDER), OrderFilter(), scope, "UTC")
    names = list(statuses)
    columns = [
        sa.select(sa.func.count())
        .select_from(base.where(ORDER.c.status == status).limit(cap + 1).subquery())
        .scalar_subquery()
        .label(f"c{i}")
        for i, status in enumerate(names)
    ]
    row = uow.conn.execute(sa.select(*columns)).one()
    return {status: int(n) for status, n in zip(names, row, strict=True)}


def export_batches(
    uow_factory: Any, f: OrderFilter, *, scope: Scope, zone: str, batch: int = 1000
) -> Iterator[list[dict[str, Any]]]:
    """Every order of the filtered set with its receiver and lines, in id order, ``batch``
    orders per read (each its own short read transaction, so an export of a million orders
    neither holds one transaction open nor all rows in memory). ``uow_factory()`` gives a
    read-only unit of work."""
    after = 0
    while True:
        with uow_factory() as uow:
            stmt = (
                _filtered(
                    sa.select(
                        ORDER,
                        SHOP.c.code.label("shop"),
                        SHOP.c.platform,
                        WAREHOUSE.c.code.label("warehouse"),
                    )
                    .join(SHOP, SHOP.c.id == ORDER.c.shop_id)
                    .outerjoin(WAREHOUSE, WAREHOUSE.c.id == ORDER.c.warehouse_id),
                    f,
                    scope,
                    zone,
                )
                .where(ORDER.c.id > after)
                .order_by(ORDER.c.id)
                .limit(batch)
            )
            rows = list(uow.conn.execute(stmt))
            if not rows:
                return
            holds, lines = _holds_and_lines(uow, [r.id for r in rows])
        yield [
            {
                **r._mapping,
                "hold_reasons": sorted(holds[r.id]),
                "lines": [f"{ln.sku_code}*{ln.quantity}" for ln in lines[r.id]],
            }
            for r in rows
        ]
        after = rows[-1].id
        if len(rows) < batch:
            return


def shop_options(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Shops for pickers: code, name and platform."""
    rows = uow.conn.execute(
        sa.select(SHOP.c.code, SHOP.c.name, SHOP.c.platform).order_by(SHOP.c.code)
    )
    return [dict(r._mapping) for r in rows]


def order_lines(uow: UnitOfWork, order_id: int) -> list[dict[str, Any]]:
    """The lines of one order as the detail page shows them (with the catalogue's name)."""
    rows = uow.conn.execute(
        sa.select(
            LINE.c.line_no,
            LINE.c.sku_code,
            LINE.c.name,
            LINE.c.spec,
            LINE.c.quantity,
            LINE.c.unit_price,
            LINE.c.reserved,
            LINE.c.shipped,
            LINE.c.cancelled,
            LINE.c.refund_status,
            SKU.c.code.label("sku"),
            SKU.c.name.label("sku_name"),
            SKU.c.spec_text.label("sku_spec"),
        )
        .outerjoin(SKU, SKU.c.id == LINE.c.sku_id)
        .where(LINE.c.order_id == order_id)
        .order_by(LINE.c.line_no)
    )
    return [dict(r._mapping) for r in rows]


# --------------------------------------------------------------------------- the held queue

# What a row of the held-order queue shows and its fixes need; personal data is masked by
# the page.
HELD_COLUMNS = (
    ORDER.c.id,
    ORDER.c.external_id,
    ORDER.c.status,
    ORDER.c.ordered_at,
    ORDER.c.total_amount,
    ORDER.c.item_count,
    ORDER.c.buyer_id,
    ORDER.c.buyer_message,
    ORDER.c.receiver_name,
    ORDER.c.receiver_phone,
    ORDER.c.receiver_province,
    ORDER.c.receiver_city,
    ORDER.c.receiver_district,
    ORDER.c.receiver_address,
    ORDER.c.addr_province,
    ORDER.c.addr_city,
    ORDER.c.addr_district,
    ORDER.c.addr_street,
    ORDER.c.addr_detail,
    ORDER.c.phone_number,
    ORDER.c.address_issues,
    ORDER.c.oversell_policy,
    ORDER.c.review_steps,
    ORDER.c.review_log,
)
HELD = OrderFilter(status="held")


def held_counts(uow: UnitOfWork, *, scope: Scope) -> dict[str, Any]:
    """Held orders the person may see: how many in all, and per hold reason (an order held
    for two reasons counts under both). Exact: held orders are a working queue, far below
    the workbench's count cap."""
    held = _filtered(sa.select(ORDER.c.id), HELD, scope, "UTC")
    total = uow.conn.execute(sa.select(sa.func.count()).select_from(held.subquery())).scalar_one()
    rows = uow.conn.execute(
        sa.select(HOLD.c.code, sa.func.count())
        .where(HOLD.c.order_id.in_(held))
        .group_by(HOLD.c.code)
    )
    return {"total": int(total), "reasons": {code: int(n) for code, n in rows}}


def _held_rows(uow: UnitOfWork, stmt: sa.Select[Any]) -> list[dict[str, Any]]:
    rows = list(uow.conn.execute(stmt))
    ids = [r.id for r in rows]
    holds: dict[int, list[dict[str, str]]] = defaultdict(list)
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        for h in uow.conn.execute(
            sa.select(HOLD.c.order_id, HOLD.c.code, HOLD.c.detail)
            .where(HOLD.c.order_id.in_(ids))
            .order_by(HOLD.c.order_id, HOLD.c.created_at, HOLD.c.code)
        ):
            holds[h.order_id].append({"code": h.code, "detail": h.detail})
        for ln in uow.conn.execute(
            sa.select(
                LINE.c.order_id,
                LINE.c.line_no,
                LINE.c.sku_code,
                LINE.c.channel_sku_id,
                LINE.c.name,
                LINE.c.spec,
                LINE.c.quantity,
                LINE.c.reserved,
                SKU.c.code.label("sku"),
            )
            .outerjoin(SKU, SKU.c.id == LINE.c.sku_id)
            .where(LINE.c.order_id.in_(ids))
            .order_by(LINE.c.order_id, LINE.c.line_no)
        ):
            lines[ln.order_id].append(dict(ln._mapping))
    return [{**r._mapping, "holds": holds[r.id], "lines": lines[r.id]} for r in rows]


def _held_base() -> sa.Select[Any]:
    return sa.select(*HELD_COLUMNS, SHOP.c.code.label("shop"), SHOP.c.platform).join(
        SHOP, SHOP.c.id == ORDER.c.shop_id
    )


def held_page(
    uow: UnitOfWork,
    *,
    scope: Scope,
    hold: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """A page of held orders the person may see, oldest first (a queue), optionally only
    those held for ``hold``; paged by id (``after``: the last id of the previous page)."""
    f = OrderFilter(status="held", hold=hold)
    stmt = _filtered(_held_base(), f, scope, "UTC")
    if after:
        stmt = stmt.where(ORDER.c.id > after)
    items = _held_rows(uow, stmt.order_by(ORDER.c.id).limit(limit + 1))
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next": items[-1]["id"] if more else None}


def held_order(uow: UnitOfWork, order_id: int, *, scope: Scope) -> dict[str, Any] | None:
    """One order as a row of the held queue; None when it is not held (any more) or not in
    the person's scope."""
    stmt = _filtered(_held_base(), HELD, scope, "UTC").where(ORDER.c.id == order_id)
    rows = _held_rows(uow, stmt)
    return rows[0] if rows else None


def workbench_rows(uow: UnitOfWork, order_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The workbench's columns of these orders, by id (personal data unmasked: the page masks)."""
    found: dict[int, dict[str, Any]] = {}
    for i in range(0, len(order_ids), 900):
        stmt = _base_workbench().where(ORDER.c.id.in_(order_ids[i : i + 900]))
        found.update({r.id: dict(r._mapping) for r in uow.conn.execute(stmt)})
    return found
