"""`lvyue channels push`: plan stock pushes, then deliver the outbox to the platforms."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from lvyue.catalog.models import BundleComponent
from lvyue.channels import service
from lvyue.channels.adapters.base import (
    AuthError,
    ChannelAdapter,
    ChannelError,
    Shipment,
    StockQuantity,
)
from lvyue.channels.handlers import SHIP_TOPIC, STOCK_TOPIC
from lvyue.channels.models import ShopConnection, StockPush
from lvyue.channels.stockrule import StockRule, bundle_available, push_quantity
from lvyue.core.clock import now
from lvyue.core.db import table_of
from lvyue.core.outbox import DeliveryReport, PermanentFailure, deliver, enqueue
from lvyue.core.uow import UnitOfWork
from lvyue.inventory.queries import available_by_warehouse
from lvyue.orders.models import Shop, SkuMapping

CONN = table_of(ShopConnection)
PUSHED = table_of(StockPush)
MAPPING = table_of(SkuMapping)
SHOP = table_of(Shop)
BUNDLE = table_of(BundleComponent)

AdapterFactory = Callable[[service.ShopAccess], ChannelAdapter]


def plan_stock_push(uow: UnitOfWork) -> int:
    """Queue the quantities that changed since the last push, per shop with a stock rule.
    Returns how many SKU quantities were queued."""
    shops = uow.conn.execute(
        sa.select(SHOP.c.id, SHOP.c.code, CONN.c.stock_rule)
        .join(CONN, CONN.c.shop_id == SHOP.c.id)
        .where(CONN.c.stock_rule.is_not(None), CONN.c.base_url != "", SHOP.c.active.is_(True))
    ).all()
    queued = 0
    for shop in shops:
        rule = StockRule.from_json(shop.stock_rule)
        maps = uow.conn.execute(
            sa.select(MAPPING.c.channel_sku, MAPPING.c.channel_item, MAPPING.c.sku_id)
            .where(MAPPING.c.shop_id == shop.id)
            .order_by(MAPPING.c.channel_sku)
        ).all()
        if not maps:
            continue
        sku_ids = sorted({m.sku_id for m in maps})
        parts: dict[int, dict[int, int]] = {}
        for b in uow.conn.execute(sa.select(BUNDLE).where(BUNDLE.c.bundle_sku_id.in_(sku_ids))):
            parts.setdefault(b.bundle_sku_id, {})[b.component_sku_id] = b.quantity
        stocked = sorted(set(sku_ids) | {c for comp in parts.values() for c in comp})
        avail = available_by_warehouse(uow, stocked)
        last = dict(
            uow.conn.execute(
                sa.select(PUSHED.c.channel_sku, PUSHED.c.quantity).where(
                    PUSHED.c.shop_id == shop.id
                )
            ).all()
        )
        items = []
        for m in maps:
            per_wh = avail.get(m.sku_id, {})
            if m.sku_id in parts:
                whs = {w for c in parts[m.sku_id] for w in avail.get(c, {})}
                per_wh = {
                    w: bundle_available(
                        parts[m.sku_id], {c: avail.get(c, {}).get(w, 0) for c in parts[m.sku_id]}
                    )
                    for w in whs
                }
            qty = push_quantity(per_wh, rule)
            if last.get(m.channel_sku) != qty:
                items.append(
                    {"channel_sku": m.channel_sku, "channel_item": m.channel_item, "quantity": qty}
                )
        if not items:
            continue
        digest = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:16]
        enqueue(
            uow,
            STOCK_TOPIC,
            f"stock:{shop.id}:{now().isoformat()}:{digest}",
            {"shop": shop.code, "items": items},
        )
        insert = postgresql.insert if uow.is_postgres else sqlite.insert
        stmt = insert(PUSHED)
        uow.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["shop_id", "channel_sku"],
                set_={"quantity": stmt.excluded.quantity, "pushed_at": stmt.excluded.pushed_at},
            ),
            [
                {
                    "shop_id": shop.id,
                    "channel_sku": i["channel_sku"],
                    "quantity": i["quantity"],
                    "pushed_at": now(),
                }
                for i in items
            ],
        )
        queued += len(items)
    return queued


def _guarded(send: Callable[[], None]) -> None:
    try:
        send()
    except AuthError as exc:
        raise PermanentFailure(f"{exc} (check the shop's credentials)") from exc
    except ChannelError as exc:
        if not exc.retryable:
            raise PermanentFailure(str(exc)) from exc
        raise


def make_handlers(
    engine: Engine, make_adapter: AdapterFactory
) -> dict[str, Callable[[dict[str, Any]], None]]:
    def adapter_for(shop: str) -> ChannelAdapter:
        with UnitOfWork(engine, readonly=True) as uow:
            return make_adapter(service.shop_access(uow, shop))

    def ship(payload: dict[str, Any]) -> None:
        adapter = adapter_for(payload["shop"])
        shipment = Shipment(
            payload["external_id"],
            payload["carrier_code"],
            payload["tracking_no"],
            tuple(payload.get("line_ids") or ()),
        )
        _guarded(lambda: adapter.ship(shipment))

    def stock(payload: dict[str, Any]) -> None:
        adapter = adapter_for(payload["shop"])
        items = [
            StockQuantity(i["channel_sku"], int(i["quantity"]), i.get("channel_item"))
            for i in payload["items"]
        ]
        _guarded(lambda: adapter.push_stock(items))

    return {SHIP_TOPIC: ship, STOCK_TOPIC: stock}


def push(engine: Engine, make_adapter: AdapterFactory) -> tuple[int, DeliveryReport]:
    with UnitOfWork(engine, actor="stock-push") as uow:
        queued = plan_stock_push(uow)
    return queued, deliver(engine, make_handlers(engine, make_adapter))
