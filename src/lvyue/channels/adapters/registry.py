"""Which adapter speaks for which platform."""

from __future__ import annotations

from typing import Unpack

import httpx

from lvyue.channels.adapters.base import ChannelAdapter, ShopCredentials
from lvyue.channels.adapters.douyin import DouyinAdapter
from lvyue.channels.adapters.jd import JdAdapter
from lvyue.channels.adapters.pinduoduo import PinduoduoAdapter
from lvyue.channels.adapters.shopify import ShopifyAdapter
from lvyue.channels.adapters.taobao import TaobaoAdapter
from lvyue.channels.adapters.transport import Injected
from lvyue.channels.adapters.woocommerce import WooCommerceAdapter
from lvyue.core.errors import ValidationError

ADAPTERS: dict[str, type] = {
    "shopify": ShopifyAdapter,
    "woocommerce": WooCommerceAdapter,
    "taobao": TaobaoAdapter,
    "tmall": TaobaoAdapter,
    "pinduoduo": PinduoduoAdapter,
    "jd": JdAdapter,
    "douyin": DouyinAdapter,
}

# Platforms that push orders to a webhook with a body signature we can verify.
WEBHOOK_PLATFORMS = frozenset({"shopify", "woocommerce"})


def make_adapter(
    platform: str,
    credentials: ShopCredentials,
    client: httpx.Client | None = None,
    **injected: Unpack[Injected],
) -> ChannelAdapter:
    cls = ADAPTERS.get(platform)
    if cls is None:
        raise ValidationError("platform", f"{platform} has no API adapter (orders come by file)")
    adapter: ChannelAdapter = cls(credentials, client, **injected)
    return adapter
