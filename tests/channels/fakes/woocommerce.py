"""A fake WooCommerce site speaking the REST API v3 (CHANNELS.md §2, behaviours in §2.10).

In memory: orders (with order notes), simple products and variations, and Shipment Tracking
items. It implements HTTP Basic auth with consumer key/secret (or the ``consumer_key`` /
``consumer_secret`` query fallback) and answers a bad login the way WooCommerce does (401
``woocommerce_rest_cannot_view`` for an unknown key, ``woocommerce_rest_authentication_error``
for a wrong secret), ``GET /orders`` with exclusive ``after``/``before``/``modified_after``/
``modified_before`` (local or ``dates_are_gmt`` times), ``status`` defaulting to ``any``
(everything but trash), ``orderby``/``order``, ``page``/``per_page`` (1..100, else 400
``rest_invalid_param``), ``X-WP-Total``/``X-WP-TotalPages``/``Link`` headers and 400
``woocommerce_rest_invalid_page_number`` past the last page [U for orders], status updates,
notes, the Shipment Tracking routes (404 ``rest_no_route`` when the extension is "not
installed"), batch stock updates (<= 100 objects, per-object errors), forced 429s, and signed
webhook deliveries plus the unsigned ping. It shares no code with the adapter.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import itertools
import json
import math
import re
import threading
import uuid
from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.channels.fakes.base import MovableClock, Throttle, retry_after_header
from tests.channels.fakes.server import Request, Response

MAX_PER_PAGE = 100
MAX_BATCH = 100
STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
    "trash",
)
_ORDERBY = ("date", "id", "include", "title", "slug")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _error(status: int, code: str, message: str, **data: Any) -> Response:
    return Response.json(
        {"code": code, "message": message, "data": {"status": status, **data}}, status=status
    )


def _invalid_param(name: str, reason: str) -> Response:
    return _error(400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: reason})


class FakeWooCommerce(MovableClock):
    def __init__(
        self,
        *,
        consumer_key: str = "ck_test_key",
        consumer_secret: str = "cs_test_secret",
        webhook_secret: str = "wc_secret",
        site_url: str = "https://shop.example.com",
        site_tz: str = "Asia/Shanghai",
        currency: str = "CNY",
        now: datetime | None = None,
        shipment_tracking: bool = True,
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.webhook_secret = webhook_secret
        self.site_url = site_url
        self.tz = ZoneInfo(site_tz)
        self.currency = currency
        self.now = now or datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
        self.shipment_tracking = shipment_tracking
        self.orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.trackings: dict[int, list[dict[str, Any]]] = {}
        self.products: dict[int, dict[str, Any]] = {}  # simple products, variable parents
        self.variations: dict[int, dict[str, Any]] = {}
        # What tests assert on.
        self.requests: list[Request] = []
        self.status_changes: list[tuple[int, str]] = []
        self.stock_updates: list[dict[str, Any]] = []
        # Called with each authenticated request before it is served, to change data mid-sync.
        self.on_request: Callable[[Request], None] | None = None
        self._throttle = Throttle()
        self._lock = threading.RLock()
        self._ids = itertools.count(1181)  # orders, products, variations share WP post ids
        self._item_ids = itertools.count(501)
        self._note_ids = itertools.count(9001)
        self._meta_ids = itertools.count(7001)

    # --- control --------------------------------------------------------------------------

    def set_clock(self, value: datetime) -> None:
        super().set_clock(value.astimezone(UTC))

    def rate_limit_next(self, n: int, retry_after: float = 2.0) -> None:
        """Answer the next ``n`` authenticated requests with 429 + Retry-After (as a host or
        WAF in front of WordPress would: core WooCommerce has no REST rate limit)."""
        self._throttle.arm(n, retry_after, http=True)

    def _stamp(self, field: str, target: dict[str, Any], when: datetime | None = None) -> None:
        # Local field without offset in the site zone, *_gmt twin without offset in UTC.
        moment = (when or self.now).replace(microsecond=0)
        target[field] = moment.astimezone(self.tz).replace(tzinfo=None).isoformat()
        target[f"{field}_gmt"] = moment.astimezone(UTC).replace(tzinfo=None).isoformat()

    def add_product(
        self,
        sku: str,
        *,
        name: str = "Mug",
        price: str = "64.00",
        attributes: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A simple product, or with ``attributes`` a variation (plus its variable parent)."""
        for p in [*self.products.values(), *self.variations.values()]:
            if p["sku"] == sku:
                return p
        if not attributes:
            product: dict[str, Any] = {
                "id": next(self._ids),
                "name": name,
                "type": "simple",
                "sku": sku,
                "price": price,
                "manage_stock": True,
                "stock_quantity": 0,
                "stock_status": "outofstock",
            }
            self.products[product["id"]] = product
            return product
        parent = next((p for p in self.products.values() if p["name"] == name), None)
        if parent is None:
            parent = {"id": next(self._ids), "name": name, "type": "variable", "sku": ""}
            self.products[parent["id"]] = parent
        variation = {
            "id": next(self._ids),
            "parent_id": parent["id"],
            "name": name,
            "sku": sku,
            "price": price,
            "attributes": [{"name": k, "option": v} for k, v in attributes.items()],
            "manage_stock": True,
            "stock_quantity": 0,
            "stock_status": "outofstock",
        }
        self.variations[variation["id"]] = variation
        return variation

    def add_order(
        self,
        *,
        lines: list[dict[str, Any]] | None = None,
        status: str = "processing",
        created_at: datetime | None = None,
        shipping_total: str = "10.00",
        coupon: str = "0.00",
        customer_note: str = "请周末送货",
        shipping: dict[str, Any] | None = None,
        payment_method: str = "bacs",
    ) -> dict[str, Any]:
        """Add an order; each line dict may give sku, name, quantity, price, attributes.
        ``coupon`` is taken off the first line."""
        with self._lock:
            created = created_at or self.now
            specs = lines or [
                {"sku": "MUG-BLU", "name": "Mug", "quantity": 2, "price": "64.00",
                 "attributes": {"pa_color": "blue"}}
            ]  # fmt: skip
            items = []
            for i, spec in enumerate(specs):
                attributes = spec.get("attributes")
                product = self.add_product(
                    spec["sku"],
                    name=spec.get("name", "Mug"),
                    price=spec.get("price", "64.00"),
                    attributes=attributes,
                )
                qty = int(spec.get("quantity", 1))
                subtotal = Decimal(spec.get("price", "64.00")) * qty
                total = subtotal - (Decimal(coupon) if i == 0 else Decimal("0"))
                label = ", ".join(attributes.values()) if attributes else ""
                items.append(
                    {
                        "id": next(self._item_ids),
                        "name": f"{product['name']} - {label}" if label else product["name"],
                        "product_id": product.get("parent_id", product["id"]),
                        "variation_id": product["id"] if "parent_id" in product else 0,
                        "quantity": qty,
                        "tax_class": "",
                        "subtotal": _money(subtotal),
                        "subtotal_tax": "0.00",
                        "total": _money(total),
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [
                            {
                                "id": next(self._meta_ids),
                                "key": "_reduced_stock",
                                "value": str(qty),
                            },
                            *(
                                {
                                    "id": next(self._meta_ids),
                                    "key": k,
                                    "value": v,
                                    "display_key": k.removeprefix("pa_").capitalize(),
                                    "display_value": v.capitalize(),
                                }
                                for k, v in (attributes or {}).items()
                            ),
                        ],
                        "sku": spec["sku"],
                        # A JSON number, unlike every other money field (CHANNELS.md §2.4).
                        "price": float(total / qty),
                        "parent_name": product["name"] if "parent_id" in product else None,
                    }
                )
            goods = sum((Decimal(li["subtotal"]) for li in items), Decimal("0"))
            ship = Decimal(shipping_total)
            disc = Decimal(coupon)
            address = {
                "first_name": "伟",
                "last_name": "张",
                "company": "",
                "address_1": "文三路 100 号",
                "address_2": "2 单元 301",
                "city": "杭州",
                "state": "CN12",
                "postcode": "310000",
                "country": "CN",
                "phone": "",
            }
            address.update(shipping or {})
            order_id = next(self._ids)
            order: dict[str, Any] = {
                "id": order_id,
                "parent_id": 0,
                "number": str(order_id),
                "order_key": f"wc_order_{uuid.uuid4().hex[:13]}",
                "created_via": "checkout",
                "version": "8.9.1",
                "status": status,
                "currency": self.currency,
                "prices_include_tax": False,
                "discount_total": _money(disc),
                "discount_tax": "0.00",
                "shipping_total": _money(ship),
                "shipping_tax": "0.00",
                "cart_tax": "0.00",
                "total": _money(goods - disc + ship),
                "total_tax": "0.00",
                "customer_id": 12,
                "customer_ip_address": "203.0.113.5",
                "customer_user_agent": "Mozilla/5.0",
                "customer_note": customer_note,
                "billing": {
                    "first_name": "伟",
                    "last_name": "张",
                    "company": "",
                    "address_1": "文三路 100 号",
                    "address_2": "",
                    "city": "杭州",
                    "state": "CN12",
                    "postcode": "310000",
                    "country": "CN",
                    "email": "wei@example.com",
                    "phone": "13800000000",
                },
                "shipping": address,
                "payment_method": payment_method,
                "payment_method_title": "Direct bank transfer",
                "transaction_id": "",
                "cart_hash": uuid.uuid4().hex,
                "meta_data": [],
                "line_items": items,
                "tax_lines": [],
                "shipping_lines": [
                    {
                        "id": next(self._item_ids),
                        "method_title": "Flat rate",
                        "method_id": "flat_rate",
                        "instance_id": "1",
                        "total": _money(ship),
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [],
                    }
                ],
                "fee_lines": [],
                "coupon_lines": (
                    [{"id": next(self._item_ids), "code": "spring", "discount": _money(disc)}]
                    if disc
                    else []
                ),
                "refunds": [],
                "currency_symbol": "¥",
                "date_paid": None,
                "date_paid_gmt": None,
                "date_completed": None,
                "date_completed_gmt": None,
            }
            self._stamp("date_created", order, created)
            self._stamp("date_modified", order, created)
            if status in ("processing", "completed"):
                self._stamp("date_paid", order, created)
            self.orders[order_id] = order
            self.notes[order_id] = []
            self.trackings[order_id] = []
            return order

    def _touch(self, order: dict[str, Any]) -> None:
        self._stamp("date_modified", order)

    def set_status(self, order_id: int, status: str) -> None:
        with self._lock:
            order = self.orders[order_id]
            order["status"] = status
            if status == "processing" and not order["date_paid"]:
                self._stamp("date_paid", order)
            if status == "completed":
                self._stamp("date_completed", order)
            self._touch(order)

    def pay(self, order_id: int) -> None:
        self.set_status(order_id, "processing")

    def cancel(self, order_id: int) -> None:
        self.set_status(order_id, "cancelled")

    def refund(self, order_id: int, amount: str, reason: str = "") -> None:
        """A refund; refunding the whole total turns the order ``refunded``."""
        with self._lock:
            order = self.orders[order_id]
            order["refunds"].append(
                {"id": next(self._ids), "reason": reason, "total": f"-{Decimal(amount):.2f}"}
            )
            refunded = -sum((Decimal(r["total"]) for r in order["refunds"]), Decimal("0"))
            if refunded >= Decimal(order["total"]):
                order["status"] = "refunded"
            self._touch(order)

    def edit_address(self, order_id: int, **fields: Any) -> None:
        with self._lock:
            order = self.orders[order_id]
            order["shipping"].update(fields)
            self._touch(order)

    def webhook(self, topic: str, order_id: int) -> tuple[dict[str, str], bytes]:
        """A signed delivery as WooCommerce sends it: ``trim(wp_json_encode($payload))``,
        which escapes slashes and non-ASCII characters."""
        body = (
            json.dumps(self.orders[order_id], separators=(",", ":"), ensure_ascii=True)
            .replace("/", "\\/")
            .encode("ascii")
        )
        digest = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()
        resource, event = topic.split(".", 1)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/8.9.1 Hookshot (WordPress/6.5.3)",
            "X-WC-Webhook-Source": self.site_url.rstrip("/") + "/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": base64.b64encode(digest).decode(),
            "X-WC-Webhook-ID": "12",
            "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        }
        return headers, body

    def webhook_ping(self, webhook_id: int = 12) -> tuple[dict[str, str], bytes]:
        """The unsigned form-encoded ping WooCommerce sends when a webhook is created."""
        return {
            "Content-Type": "application/x-www-form-urlencoded"
        }, f"webhook_id={webhook_id}".encode()

    # --- protocol -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            route = self._match(request)
            if route is None:
                return _error(
                    404, "rest_no_route", "No route was found matching the URL and request method."
                )
            denied = self._authenticate(request)
            if denied is not None:
                return denied
            if (refused := self._throttle.take()) is not None:
                return Response.json(
                    {"code": "rest_too_many_requests", "message": "Too many requests.",
                     "data": {"status": 429}},
                    status=429,
                    headers=retry_after_header(refused[0]),
                )  # fmt: skip
            if self.on_request is not None:
                self.on_request(request)
            return route()

    def _match(self, req: Request) -> Callable[[], Response] | None:
        path = req.path.rstrip("/")
        routes: list[tuple[str, str, Callable[..., Response]]] = [
            ("GET", r"/wp-json/wc/v3/orders", self._list_orders),
            ("GET", r"/wp-json/wc/v3/orders/(\d+)", self._get_order),
            ("PUT", r"/wp-json/wc/v3/orders/(\d+)", self._update_order),
            ("GET", r"/wp-json/wc/v3/orders/(\d+)/notes", self._list_notes),
            ("POST", r"/wp-json/wc/v3/orders/(\d+)/notes", self._add_note),
            ("POST", r"/wp-json/wc/v3/products/batch", self._batch_products),
            ("POST", r"/wp-json/wc/v3/products/(\d+)/variations/batch", self._batch_variations),
        ]
        if self.shipment_tracking:
            tracking = r"/wp-json/wc-shipment-tracking/v3/orders/(\d+)/shipment-trackings"
            routes += [
                ("GET", tracking, self._list_trackings),
                ("POST", tracking, self._add_tracking),
            ]
        for method, pattern, handler in routes:
            m = re.fullmatch(pattern, path)
            if m and req.method == method:
                return functools.partial(handler, req, *m.groups())
        return None

    def _authenticate(self, req: Request) -> Response | None:
        key = secret = None
        auth = req.headers.get("authorization", "")
        if auth.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                key = secret = None
        elif "consumer_key" in req.query:
            key, secret = req.query.get("consumer_key"), req.query.get("consumer_secret")
        if key == self.consumer_key and secret is not None:
            if hmac.compare_digest(secret, self.consumer_secret):
                return None
            return _error(
                401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
            )
        # An unknown key leaves the request anonymous; the permission check then refuses it.
        verb = {"GET": "list resources", "PUT": "edit this resource", "POST": "create resources"}
        code = {"GET": "view", "PUT": "edit", "POST": "create"}.get(req.method, "view")
        return _error(
            401,
            f"woocommerce_rest_cannot_{code}",
            f"Sorry, you cannot {verb.get(req.method, 'do that')}.",
        )

    # --- orders ---------------------------------------------------------------------------

    def _param_time(self, value: str, gmt: bool) -> datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:  # an explicit offset wins; compare in the chosen column
            parsed = parsed.astimezone(UTC if gmt else self.tz).replace(tzinfo=None)
        return parsed

    def _list_orders(self, req: Request) -> Response:
        q = req.query
        try:
            page = int(q.get("page", "1"))
        except ValueError:
            page = 0
        if page < 1:
            return _invalid_param("page", "page must be greater than or equal to 1")
        try:
            per_page = int(q.get("per_page", "10"))
        except ValueError:
            per_page = 0
        if not 1 <= per_page <= MAX_PER_PAGE:
            return _invalid_param(
                "per_page", f"per_page must be between 1 (inclusive) and {MAX_PER_PAGE} (inclusive)"
            )
        orderby, order = q.get("orderby", "date"), q.get("order", "desc")
        if orderby not in _ORDERBY:
            return _invalid_param("orderby", f"orderby is not one of {', '.join(_ORDERBY)}.")
        if order not in ("asc", "desc"):
            return _invalid_param("order", "order is not one of asc and desc.")
        statuses = [s for s in q.get("status", "any").split(",") if s]
        if any(s not in (*STATUSES, "any") for s in statuses):
            return _invalid_param("status", "status[0] is not one of " + ", ".join(STATUSES))
        gmt = q.get("dates_are_gmt", "false").lower() in ("1", "true")
        bounds = {}
        for param, field, op in (
            ("after", "date_created", "gt"),
            ("before", "date_created", "lt"),
            ("modified_after", "date_modified", "gt"),
            ("modified_before", "date_modified", "lt"),
        ):
            if param in q:
                try:
                    bounds[param] = (
                        field + ("_gmt" if gmt else ""),
                        op,
                        self._param_time(q[param], gmt),
                    )
                except ValueError:
                    return _invalid_param(param, "Invalid date.")

        def wanted(o: dict[str, Any]) -> bool:
            if "any" in statuses:
                if o["status"] == "trash":
                    return False
            elif o["status"] not in statuses:
                return False
            for field, op, limit in bounds.values():
                value = datetime.fromisoformat(o[field])
                # WP_Date_Query after/before are exclusive unless 'inclusive' is set.
                if (op == "gt" and not value > limit) or (op == "lt" and not value < limit):
                    return False
            return True

        matching = [o for o in self.orders.values() if wanted(o)]
        if orderby == "date":
            matching.sort(key=lambda o: (o["date_created_gmt"], o["id"]))
        else:
            matching.sort(key=lambda o: o["id"])
        if order == "desc":
            matching.reverse()
        total = len(matching)
        pages = math.ceil(total / per_page)
        if page > pages and total > 0:
            return _error(
                400,
                "woocommerce_rest_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        rows = matching[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        base = f"http://{req.headers.get('host', 'localhost')}{req.path}"
        links = []
        other = {k: v for k, v in q.items() if k not in ("page", "consumer_key", "consumer_secret")}
        query = "&".join(f"{k}={v}" for k, v in other.items())
        if page > 1:
            links.append(f'<{base}?{query}&page={page - 1}>; rel="prev"')
        if page < pages:
            links.append(f'<{base}?{query}&page={page + 1}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return Response.json(deepcopy(rows), headers=headers)

    def _order_or_404(self, oid: str) -> dict[str, Any] | Response:
        order = self.orders.get(int(oid))
        if order is None:
            return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return order

    def _get_order(self, req: Request, oid: str) -> Response:
        order = self._order_or_404(oid)
        return order if isinstance(order, Response) else Response.json(order)

    def _update_order(self, req: Request, oid: str) -> Response:
        order = self._order_or_404(oid)
        if isinstance(order, Response):
            return order
        body = req.json() or {}
        status = body.get("status")
        if status is not None:
            if status not in STATUSES:
                return _invalid_param("status", "status is not one of " + ", ".join(STATUSES))
            if status != order["status"]:
                self.set_status(order["id"], status)
                self.status_changes.append((order["id"], status))
        return Response.json(order)

    def _list_notes(self, req: Request, oid: str) -> Response:
        order = self._order_or_404(oid)
        return (
            order if isinstance(order, Response) else Response.json(self.notes[order["id"]][::-1])
        )

    def _add_note(self, req: Request, oid: str) -> Response:
        order = self._order_or_404(oid)
        if isinstance(order, Response):
            return order
        body = req.json() or {}
        if not body.get("note"):
            return _error(
                400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"]
            )
        note = {
            "id": next(self._note_ids),
            "author": "WooCommerce",
            "note": body["note"],
            "customer_note": bool(body.get("customer_note")),
            "added_by_user": False,
        }
        self._stamp("date_created", note)
        self.notes[order["id"]].append(note)
        return Response.json(note, status=201)

    # --- shipment tracking extension ------------------------------------------------------

    def _list_trackings(self, req: Request, oid: str) -> Response:
        order = self._order_or_404(oid)
        return order if isinstance(order, Response) else Response.json(self.trackings[order["id"]])

    def _add_tracking(self, req: Request, oid: str) -> Response:
        order = self._order_or_404(oid)
        if isinstance(order, Response):
            return order
        body = req.json() or {}
        number = body.get("tracking_number")
        if not number:
            return _error(
                400, "rest_missing_callback_param", "Missing parameter(s): tracking_number",
                params=["tracking_number"],
            )  # fmt: skip
        provider = body.get("tracking_provider") or ""
        custom = body.get("custom_tracking_provider") or ""
        link = (body.get("custom_tracking_link") or "").replace("%1$s", number)
        item = {
            "tracking_id": hashlib.md5(f"{number}{provider}{custom}".encode()).hexdigest(),
            "tracking_provider": provider or custom,
            "tracking_link": link,
            "tracking_number": number,
            "date_shipped": body.get("date_shipped")
            or self.now.astimezone(self.tz).date().isoformat(),
        }
        self.trackings[order["id"]].append(item)
        return Response.json(item, status=201)

    # --- stock ----------------------------------------------------------------------------

    def _batch(
        self, req: Request, lookup: Callable[[int], dict[str, Any] | None], code: str
    ) -> Response:
        body = req.json() or {}
        update = body.get("update") or []
        if len(update) + len(body.get("create") or []) + len(body.get("delete") or []) > MAX_BATCH:
            return _error(
                413, "rest_request_entity_too_large",
                f"Unable to accept more than {MAX_BATCH} items for this request.",
            )  # fmt: skip
        results = []
        for change in update:
            target = lookup(int(change.get("id", 0)))
            if target is None:
                results.append(
                    {"id": change.get("id"),
                     "error": {"code": code, "message": "Invalid ID.", "data": {"status": 400}}}
                )  # fmt: skip
                continue
            if "manage_stock" in change:
                target["manage_stock"] = bool(change["manage_stock"])
            if "stock_quantity" in change:
                target["stock_quantity"] = int(change["stock_quantity"])
                target["stock_status"] = "instock" if target["stock_quantity"] > 0 else "outofstock"
                self.stock_updates.append(
                    {"id": target["id"], "parent_id": target.get("parent_id"),
                     "sku": target["sku"], "stock_quantity": target["stock_quantity"]}
                )  # fmt: skip
            results.append(deepcopy(target))
        return Response.json({"update": results})

    def _batch_products(self, req: Request) -> Response:
        return self._batch(req, self.products.get, "woocommerce_rest_product_invalid_id")

    def _batch_variations(self, req: Request, pid: str) -> Response:
        if int(pid) not in self.products:
            return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")

        def lookup(vid: int) -> dict[str, Any] | None:
            v = self.variations.get(vid)
            return v if v is not None and v["parent_id"] == int(pid) else None

        return self._batch(req, lookup, "woocommerce_rest_product_variation_invalid_id")
