"""Reactions to facts from the capabilities below: tell the platforms."""

from __future__ import annotations

import sqlalchemy as sa

from lvyue.channels.models import ShopConnection
from lvyue.core.db import table_of
from lvyue.core.events import subscribe
from lvyue.core.outbox import enqueue
from lvyue.core.uow import UnitOfWork
from lvyue.orders.events import OrderShipped
from lvyue.orders.models import Shop

CONN = table_of(ShopConnection)
SHOP = table_of(Shop)
SHIP_TOPIC = "channel.ship"
STOCK_TOPIC = "channel.stock"


def on_order_shipped(uow: UnitOfWork, event: OrderShipped) -> None:
    """Queue the ship-back in the same transaction as the shipment; shops without an API
    connection (offline, wholesale) have nothing to tell."""
    row = uow.conn.execute(
        sa.select(SHOP.c.code, CONN.c.base_url)
        .join(CONN, CONN.c.shop_id == SHOP.c.id)
        .where(SHOP.c.id == event.shop_id)
    ).first()
    if row is None or not row.base_url:
        return
    enqueue(
        uow,
        SHIP_TOPIC,
        f"ship:{event.shop_id}:{event.external_id}:{event.tracking_no}",
        {
            "shop": row.code,
            "external_id": event.external_id,
            "carrier_code": event.carrier_code,
            "tracking_no": event.tracking_no,
            "line_ids": list(event.channel_line_ids),
        },
    )


def register() -> None:
    subscribe(OrderShipped, on_order_shipped)
