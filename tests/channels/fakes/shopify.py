"""A fake Shopify shop speaking the Admin REST API (CHANNELS.md §1, behaviours in §1.11).

It keeps orders, fulfillment orders, variants and inventory levels in memory and implements:
token auth (401 with Shopify's message), ``GET /orders.json`` with the documented filters
(``status`` defaulting to ``open``, inclusive ``updated_at_min/max``, orders older than 60
days hidden without ``read_all_orders``), ``limit`` capped at 250, keyset cursor paging via an
opaque ``page_info`` in the ``Link`` header (a cursor request may only add ``limit`` and
``fields``), the fulfillment-order ship-back flow (422 on a closed fulfillment order or a
quantity above what is fulfillable), ``inventory_levels/set``, forced 429s with
``Retry-After``, and signed webhook deliveries. It shares no code with the adapter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.channels.fakes.base import MovableClock, Throttle, retry_after_header
from tests.channels.fakes.server import Request, Response

MAX_LIMIT = 250
_LIST_FILTERS = (
    "ids",
    "since_id",
    "status",
    "financial_status",
    "created_at_min",
    "created_at_max",
    "updated_at_min",
    "updated_at_max",
    "processed_at_min",
    "processed_at_max",
)
_CURSOR_PARAMS = {"page_info", "limit", "fields"}
_ROUTE = re.compile(r"/admin/api/(?:\d{4}-\d{2}|unstable)/(?P<resource>.+)\.json")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _money_set(value: Decimal, currency: str) -> dict[str, Any]:
    amount = {"amount": _money(value), "currency_code": currency}
    return {"shop_money": amount, "presentment_money": dict(amount)}


class FakeShopify(MovableClock):
    def __init__(
        self,
        *,
        token: str = "shpat_test_token",
        app_secret: str = "shopify_app_secret",
        shop: str = "lvyue-demo",
        shop_tz: str = "America/New_York",
        currency: str = "USD",
        now: datetime | None = None,
        read_all_orders: bool = True,
    ) -> None:
        self.token = token
        self.app_secret = app_secret
        self.shop_domain = f"{shop}.myshopify.com"
        self.tz = ZoneInfo(shop_tz)
        self.currency = currency
        self.now = now or datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        self.read_all_orders = read_all_orders
        self.orders: dict[int, dict[str, Any]] = {}
        self.fulfillment_orders: dict[int, list[dict[str, Any]]] = {}
        self.variants: dict[int, dict[str, Any]] = {}
        self.locations: list[dict[str, Any]] = [
            {"id": 65000000001, "name": "Main warehouse", "active": True}
        ]
        self.inventory_levels: dict[tuple[int, int], int] = {}
        # What tests assert on: every request, every fulfillment created, every stock set.
        self.requests: list[Request] = []
        self.shipments: list[dict[str, Any]] = []
        self.stock_sets: list[dict[str, Any]] = []
        # Called with each authenticated request before it is served, to change data mid-sync.
        self.on_request: Callable[[Request], None] | None = None
        self._throttle = Throttle()
        self._lock = threading.RLock()
        self._order_ids = itertools.count(5012345678901)
        self._numbers = itertools.count(1001)
        self._line_ids = itertools.count(13000000001)
        self._fo_ids = itertools.count(6000000001)
        self._foli_ids = itertools.count(7000000001)
        self._fulfillment_ids = itertools.count(4800000001)
        self._refund_ids = itertools.count(9200000001)
        self._variant_ids = itertools.count(44000000001)
        self._product_ids = itertools.count(8000000001)
        self._inventory_item_ids = itertools.count(46000000001)

    # --- control --------------------------------------------------------------------------

    def set_clock(self, value: datetime) -> None:
        super().set_clock(value.astimezone(UTC))

    def rate_limit_next(self, n: int, retry_after: float = 2.0) -> None:
        """Answer the next ``n`` authenticated requests with 429 + Retry-After."""
        self._throttle.arm(n, retry_after, http=True)

    def _ts(self, when: datetime | None = None) -> str:
        # Shopify reports times in the shop's zone with an explicit offset.
        return (when or self.now).astimezone(self.tz).isoformat(timespec="seconds")

    def add_variant(
        self, sku: str, *, title: str = "T-Shirt", variant_title: str | None = "Black / M"
    ) -> dict[str, Any]:
        for v in self.variants.values():
            if v["sku"] == sku:
                return v
        variant: dict[str, Any] = {
            "id": next(self._variant_ids),
            "product_id": next(self._product_ids),
            "title": variant_title or "Default Title",
            "product_title": title,
            "sku": sku,
            "inventory_item_id": next(self._inventory_item_ids),
            "inventory_management": "shopify",
        }
        self.variants[variant["id"]] = variant
        self.inventory_levels[(self.locations[0]["id"], variant["inventory_item_id"])] = 0
        return variant

    def add_order(
        self,
        *,
        lines: list[dict[str, Any]] | None = None,
        financial_status: str = "paid",
        created_at: datetime | None = None,
        shipping_price: str = "10.00",
        discount: str = "0.00",
        note: str | None = "Leave at door",
        tags: str = "vip",
        gateway: str = "shopify_payments",
        shipping_address: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add an order; each line dict may give sku, quantity, price, title, variant_title.
        ``discount`` is spread over the lines as discount allocations (all on the first)."""
        with self._lock:
            created = created_at or self.now
            order_id = next(self._order_ids)
            number = next(self._numbers)
            specs = lines or [{"sku": "TSHIRT-BLK-M", "quantity": 2, "price": "24.90"}]
            items = []
            for i, spec in enumerate(specs):
                variant = self.add_variant(
                    spec["sku"],
                    title=spec.get("title", "T-Shirt"),
                    variant_title=spec.get("variant_title", "Black / M"),
                )
                qty = int(spec.get("quantity", 1))
                price = Decimal(spec.get("price", "24.90"))
                allocation = Decimal(discount) if i == 0 else Decimal("0")
                title = spec.get("title", "T-Shirt")
                vt = spec.get("variant_title", "Black / M")
                items.append(
                    {
                        "id": next(self._line_ids),
                        "admin_graphql_api_id": "",
                        "variant_id": variant["id"],
                        "product_id": variant["product_id"],
                        "sku": spec["sku"],
                        "title": title,
                        "variant_title": vt,
                        "name": f"{title} - {vt}" if vt else title,
                        "vendor": "lvyue demo",
                        "quantity": qty,
                        "current_quantity": qty,
                        "fulfillable_quantity": qty,
                        "fulfillment_status": None,
                        "price": _money(price),
                        "price_set": _money_set(price, self.currency),
                        "total_discount": "0.00",
                        "discount_allocations": (
                            [{"amount": _money(allocation), "discount_application_index": 0}]
                            if allocation
                            else []
                        ),
                        "requires_shipping": True,
                        "gift_card": False,
                        "grams": 200,
                        "taxable": True,
                        "tax_lines": [],
                        "properties": [],
                    }
                )
            for item in items:
                item["admin_graphql_api_id"] = f"gid://shopify/LineItem/{item['id']}"
            goods = sum((Decimal(li["price"]) * li["quantity"] for li in items), Decimal("0"))
            ship = Decimal(shipping_price)
            disc = Decimal(discount)
            address = {
                "first_name": "Ann",
                "last_name": "Lee",
                "name": "Ann Lee",
                "company": None,
                "address1": "1 Main St",
                "address2": "Apt 4",
                "city": "Austin",
                "province": "Texas",
                "province_code": "TX",
                "country": "United States",
                "country_code": "US",
                "zip": "78701",
                "phone": "+15125550100",
                "latitude": 30.26,
                "longitude": -97.74,
            }
            address.update(shipping_address or {})
            order: dict[str, Any] = {
                "id": order_id,
                "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
                "name": f"#{number}",
                "order_number": number,
                "number": number - 1000,
                "token": uuid.uuid4().hex,
                "confirmation_number": uuid.uuid4().hex[:9].upper(),
                "created_at": self._ts(created),
                "updated_at": self._ts(created),
                "processed_at": self._ts(created),
                "closed_at": None,
                "cancelled_at": None,
                "cancel_reason": None,
                "financial_status": financial_status,
                "fulfillment_status": None,
                "currency": self.currency,
                "presentment_currency": self.currency,
                "taxes_included": False,
                "total_line_items_price": _money(goods),
                "subtotal_price": _money(goods - disc),
                "total_discounts": _money(disc),
                "total_tax": "0.00",
                "total_price": _money(goods - disc + ship),
                "total_outstanding": "0.00"
                if financial_status == "paid"
                else _money(goods - disc + ship),
                "total_price_set": _money_set(goods - disc + ship, self.currency),
                "email": "ann@example.com",
                "phone": None,
                "customer": {
                    "id": 7000000123,
                    "first_name": "Ann",
                    "last_name": "Lee",
                    "email": "ann@example.com",
                },
                "billing_address": dict(address),
                "shipping_address": address,
                "note": note,
                "note_attributes": [],
                "tags": tags,
                "payment_gateway_names": [gateway],
                "discount_codes": [
                    {"code": "SPRING", "amount": _money(disc), "type": "fixed_amount"}
                ]
                if disc
                else [],
                "line_items": items,
                "shipping_lines": [
                    {
                        "id": next(self._line_ids),
                        "title": "Standard",
                        "code": "STD",
                        "price": _money(ship),
                        "discounted_price": _money(ship),
                        "discount_allocations": [],
                    }
                ],
                "tax_lines": [],
                "refunds": [],
                "fulfillments": [],
            }
            self.orders[order_id] = order
            self.fulfillment_orders[order_id] = [
                {
                    "id": next(self._fo_ids),
                    "order_id": order_id,
                    "status": "open",
                    "assigned_location_id": self.locations[0]["id"],
                    "line_items": [
                        {
                            "id": next(self._foli_ids),
                            "line_item_id": li["id"],
                            "variant_id": li["variant_id"],
                            "quantity": li["quantity"],
                            "fulfillable_quantity": li["quantity"],
                        }
                        for li in items
                    ],
                }
            ]
            return order

    def _touch(self, order: dict[str, Any]) -> None:
        order["updated_at"] = self._ts()

    def pay(self, order_id: int) -> None:
        with self._lock:
            order = self.orders[order_id]
            order["financial_status"] = "paid"
            order["total_outstanding"] = "0.00"
            self._touch(order)

    def cancel(self, order_id: int, reason: str = "customer") -> None:
        with self._lock:
            order = self.orders[order_id]
            order["cancelled_at"] = self._ts()
            order["cancel_reason"] = reason
            order["financial_status"] = (
                "refunded" if order["financial_status"] == "paid" else "voided"
            )
            for fo in self.fulfillment_orders[order_id]:
                if fo["status"] in ("open", "in_progress"):
                    fo["status"] = "closed" if fo["status"] == "in_progress" else "cancelled"
            self._touch(order)

    def refund_line(self, order_id: int, line_item_id: int, quantity: int) -> None:
        """Refund (and remove) ``quantity`` units of one line, as the admin does."""
        with self._lock:
            order = self.orders[order_id]
            line = next(li for li in order["line_items"] if li["id"] == line_item_id)
            subtotal = Decimal(line["price"]) * quantity
            order["refunds"].append(
                {
                    "id": next(self._refund_ids),
                    "order_id": order_id,
                    "created_at": self._ts(),
                    "note": None,
                    "restock": True,
                    "refund_line_items": [
                        {
                            "id": next(self._refund_ids),
                            "line_item_id": line_item_id,
                            "quantity": quantity,
                            "restock_type": "cancel",
                            "subtotal": _money(subtotal),
                            "total_tax": "0.00",
                        }
                    ],
                    "transactions": [{"kind": "refund", "amount": _money(subtotal)}],
                }
            )
            line["current_quantity"] -= quantity
            line["fulfillable_quantity"] = max(0, line["fulfillable_quantity"] - quantity)
            for fo in self.fulfillment_orders[order_id]:
                for foli in fo["line_items"]:
                    if foli["line_item_id"] == line_item_id:
                        foli["fulfillable_quantity"] = max(
                            0, foli["fulfillable_quantity"] - quantity
                        )
            all_gone = all(li["current_quantity"] == 0 for li in order["line_items"])
            order["financial_status"] = "refunded" if all_gone else "partially_refunded"
            self._touch(order)

    def edit_address(self, order_id: int, **fields: Any) -> None:
        with self._lock:
            order = self.orders[order_id]
            order["shipping_address"].update(fields)
            self._touch(order)

    def webhook(self, topic: str, order_id: int) -> tuple[dict[str, str], bytes]:
        """A signed delivery (headers, raw body) as Shopify would POST it."""
        body = json.dumps(self.orders[order_id], separators=(",", ":")).encode("utf-8")
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).digest()
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": "2024-10",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": self.now.isoformat(),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
        }
        return headers, body

    # --- protocol -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            m = _ROUTE.fullmatch(request.path)
            if m is None:
                return _error(404, "Not Found")
            if request.headers.get("x-shopify-access-token") != self.token:
                return _error(
                    401,
                    "[API] Invalid API key or access token (unrecognized login or wrong password)",
                )
            if (refused := self._throttle.take()) is not None:
                return _error(
                    429,
                    "Exceeded 2 calls per second for api client. "
                    "Reduce request rates to resume uninterrupted service.",
                    headers=retry_after_header(refused[0]),
                )
            if self.on_request is not None:
                self.on_request(request)
            resp = self._route(request, m.group("resource"))
            resp.headers["X-Shopify-Shop-Api-Call-Limit"] = "1/40"
            return resp

    def _route(self, req: Request, resource: str) -> Response:
        parts = resource.split("/")
        match (req.method, parts):
            case ("GET", ["orders"]):
                return self._list_orders(req)
            case ("GET", ["orders", "count"]):
                return self._count_orders(req)
            case ("GET", ["orders", oid]):
                order = self._visible(oid)
                return Response.json({"order": order}) if order else _error(404, "Not Found")
            case ("GET", ["orders", oid, "fulfillment_orders"]):
                order = self._visible(oid)
                if order is None:
                    return _error(404, "Not Found")
                return Response.json({"fulfillment_orders": self.fulfillment_orders[order["id"]]})
            case ("GET", ["orders", oid, "fulfillments"]):
                order = self._visible(oid)
                if order is None:
                    return _error(404, "Not Found")
                return Response.json({"fulfillments": order["fulfillments"]})
            case ("POST", ["fulfillments"]):
                return self._create_fulfillment(req)
            case ("GET", ["locations"]):
                return Response.json({"locations": self.locations})
            case ("GET", ["variants", vid]):
                variant = self.variants.get(int(vid)) if vid.isdigit() else None
                return Response.json({"variant": variant}) if variant else _error(404, "Not Found")
            case ("POST", ["inventory_levels", "set"]):
                return self._set_inventory(req)
        return _error(404, "Not Found")

    def _visible(self, oid: str) -> dict[str, Any] | None:
        order = self.orders.get(int(oid)) if oid.isdigit() else None
        if order is None or not self._in_scope(order):
            return None
        return order

    def _in_scope(self, order: dict[str, Any]) -> bool:
        # Without read_all_orders only the last 60 days are visible.
        created = datetime.fromisoformat(order["created_at"])
        return self.read_all_orders or created >= self.now - timedelta(days=60)

    def _matches(self, order: dict[str, Any], filters: dict[str, str]) -> bool:
        if not self._in_scope(order):
            return False
        status = filters.get("status", "open")
        if status == "open" and (order["cancelled_at"] or order["closed_at"]):
            return False
        if status == "closed" and not order["closed_at"]:
            return False
        if status == "cancelled" and not order["cancelled_at"]:
            return False
        fs = filters.get("financial_status", "any")
        if fs != "any" and order["financial_status"] != fs:
            return False
        if "ids" in filters and str(order["id"]) not in filters["ids"].split(","):
            return False
        if "since_id" in filters and order["id"] <= int(filters["since_id"]):
            return False
        for field in ("created_at", "updated_at", "processed_at"):
            value = datetime.fromisoformat(order[field])
            low, high = filters.get(f"{field}_min"), filters.get(f"{field}_max")
            # Both bounds are inclusive.
            if low and value < datetime.fromisoformat(low):
                return False
            if high and value > datetime.fromisoformat(high):
                return False
        return True

    def _validate_filters(self, filters: dict[str, str]) -> Response | None:
        if filters.get("status", "open") not in ("open", "closed", "cancelled", "any"):
            return _error(400, {"status": ["is not included in the list"]})
        for key, value in filters.items():
            if key.endswith(("_min", "_max")):
                try:
                    parsed = datetime.fromisoformat(value)
                except ValueError:
                    return _error(400, {key: ["is not a valid date"]})
                if parsed.tzinfo is None:  # Shopify reads a bare time in the shop's zone
                    filters[key] = parsed.replace(tzinfo=self.tz).isoformat()
        return None

    def _list_orders(self, req: Request) -> Response:
        q = req.query
        if "page_info" in q:
            extra = sorted(set(q) - _CURSOR_PARAMS)
            if extra:
                return _error(
                    400,
                    f"{extra[0]} cannot be passed when page_info is present. See "
                    "https://shopify.dev/api/usage/pagination-rest for more information.",
                )
            try:
                cursor = json.loads(base64.urlsafe_b64decode(q["page_info"].encode()))
                filters, last_id, direction = cursor["f"], cursor["last"], cursor["dir"]
            except (ValueError, KeyError):
                return _error(400, {"page_info": ["Invalid value."]})
        else:
            filters = {k: q[k] for k in _LIST_FILTERS if k in q}
            last_id, direction = None, None
            bad = self._validate_filters(filters)
            if bad is not None:
                return bad
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            return _error(400, {"limit": [f"must be between 1 and {MAX_LIMIT}"]})
        # Newest first; the cursor remembers the boundary id, so it is a keyset cursor.
        matching = sorted(
            (o for o in self.orders.values() if self._matches(o, filters)),
            key=lambda o: o["id"],
            reverse=True,
        )
        if direction == "next":
            page = [o for o in matching if o["id"] < last_id][:limit]
        elif direction == "prev":
            page = [o for o in matching if o["id"] > last_id][-limit:]
        else:
            page = matching[:limit]
        links = []
        base = f"http://{req.headers.get('host', 'localhost')}{req.path}"
        if page and any(o["id"] < page[-1]["id"] for o in matching):
            token = _cursor(filters, page[-1]["id"], "next")
            links.append(f'<{base}?limit={limit}&page_info={token}>; rel="next"')
        if page and direction is not None and any(o["id"] > page[0]["id"] for o in matching):
            token = _cursor(filters, page[0]["id"], "prev")
            links.insert(0, f'<{base}?limit={limit}&page_info={token}>; rel="previous"')
        fields = [f for f in q.get("fields", "").split(",") if f]
        body = [
            {k: v for k, v in o.items() if k in fields} if fields else deepcopy(o) for o in page
        ]
        headers = {"Link": ", ".join(links)} if links else {}
        return Response.json({"orders": body}, headers=headers)

    def _count_orders(self, req: Request) -> Response:
        filters = {k: req.query[k] for k in _LIST_FILTERS if k in req.query}
        bad = self._validate_filters(filters)
        if bad is not None:
            return bad
        return Response.json(
            {"count": sum(1 for o in self.orders.values() if self._matches(o, filters))}
        )

    def _create_fulfillment(self, req: Request) -> Response:
        try:
            f = req.json()["fulfillment"]
            groups = f["line_items_by_fulfillment_order"]
            assert isinstance(groups, list) and groups
        except (ValueError, KeyError, TypeError, AssertionError):
            return _error(400, {"fulfillment": "Required parameter missing or invalid"})
        plan: list[tuple[dict[str, Any], dict[str, Any], int]] = []  # (fo, foli, qty)
        fos = []
        for group in groups:
            fo = next(
                (
                    fo
                    for fos_of_order in self.fulfillment_orders.values()
                    for fo in fos_of_order
                    if fo["id"] == group.get("fulfillment_order_id")
                ),
                None,
            )
            if fo is None:
                return _error(404, "Not Found")
            if fo["status"] not in ("open", "in_progress"):
                return _error(
                    422,
                    [f"Fulfillment order {fo['id']} has an unfulfillable status= {fo['status']}."],
                )
            fos.append(fo)
            requested = group.get("fulfillment_order_line_items")
            if requested is None:
                requested = [
                    {"id": li["id"], "quantity": li["fulfillable_quantity"]}
                    for li in fo["line_items"]
                    if li["fulfillable_quantity"] > 0
                ]
            for item in requested:
                foli = next((li for li in fo["line_items"] if li["id"] == item.get("id")), None)
                qty = int(item.get("quantity", 0))
                if foli is None:
                    return _error(422, ["Invalid fulfillment order line item id."])
                if not 0 < qty <= foli["fulfillable_quantity"]:
                    return _error(422, ["Invalid fulfillment order line item quantity requested."])
                plan.append((fo, foli, qty))
        if (
            len({fo["order_id"] for fo in fos}) > 1
            or len({fo["assigned_location_id"] for fo in fos}) > 1
        ):
            return _error(422, ["All fulfillment orders must be assigned to the same location."])
        if not plan:
            return _error(422, ["Fulfillment has no line items to fulfill."])
        order = self.orders[fos[0]["order_id"]]
        lines = {li["id"]: li for li in order["line_items"]}
        shipped_lines = []
        for _fo, foli, qty in plan:
            foli["fulfillable_quantity"] -= qty
            line = lines[foli["line_item_id"]]
            line["fulfillable_quantity"] -= qty
            line["fulfillment_status"] = (
                "fulfilled" if line["fulfillable_quantity"] == 0 else "partial"
            )
            shipped_lines.append({**deepcopy(line), "quantity": qty})
        for fo in fos:
            left = any(li["fulfillable_quantity"] > 0 for li in fo["line_items"])
            fo["status"] = "in_progress" if left else "closed"
        tracking = f.get("tracking_info") or {}
        number = tracking.get("number")
        fulfillment = {
            "id": next(self._fulfillment_ids),
            "order_id": order["id"],
            "name": f"{order['name']}.{len(order['fulfillments']) + 1}",
            "status": "success",
            "created_at": self._ts(),
            "updated_at": self._ts(),
            "location_id": fos[0]["assigned_location_id"],
            "tracking_company": tracking.get("company"),
            "tracking_number": number,
            "tracking_numbers": [number] if number else [],
            "tracking_url": tracking.get("url"),
            "tracking_urls": [tracking["url"]] if tracking.get("url") else [],
            "line_items": shipped_lines,
        }
        order["fulfillments"].append(fulfillment)
        remaining = any(li["fulfillable_quantity"] > 0 for li in order["line_items"])
        order["fulfillment_status"] = "partial" if remaining else "fulfilled"
        self._touch(order)
        self.shipments.append(
            {
                "order_id": order["id"],
                "tracking_number": number,
                "tracking_company": tracking.get("company"),
                "tracking_url": tracking.get("url"),
                "notify_customer": f.get("notify_customer", False),
                "lines": {foli["line_item_id"]: qty for _, foli, qty in plan},
            }
        )
        return Response.json({"fulfillment": fulfillment}, status=201)

    def _set_inventory(self, req: Request) -> Response:
        try:
            body = req.json()
            location_id = int(body["location_id"])
            item_id = int(body["inventory_item_id"])
            available = int(body["available"])
        except (ValueError, KeyError, TypeError):
            return _error(400, {"inventory_item_id": "Required parameter missing or invalid"})
        if (location_id, item_id) not in self.inventory_levels:
            return _error(
                422, ["Inventory item does not have inventory tracking enabled at this location"]
            )
        self.inventory_levels[(location_id, item_id)] = available
        self.stock_sets.append(
            {"location_id": location_id, "inventory_item_id": item_id, "available": available}
        )
        level = {
            "inventory_item_id": item_id,
            "location_id": location_id,
            "available": available,
            "updated_at": self._ts(),
        }
        return Response.json({"inventory_level": level})


def _cursor(filters: dict[str, str], last_id: int, direction: str) -> str:
    raw = json.dumps({"f": filters, "last": last_id, "dir": direction}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _error(status: int, errors: Any, headers: dict[str, str] | None = None) -> Response:
    return Response.json({"errors": errors}, status=status, headers=headers)
