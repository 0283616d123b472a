"""Settings read from the environment (prefix ``LVYUE_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LVYUE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///lvyue.db"
    # Secret used to encrypt shop credentials and personal data at rest. The default only
    # suits the demo; production deployments must set LVYUE_SECRET_KEY.
    secret_key: str = "lvyue-demo-secret-change-me"
    # Comma-separated previous keys, still accepted for reading during a key rotation.
    old_secret_keys: str = ""
    timezone: str = "Asia/Shanghai"
    batch_size: int = 500
    # Review: "manual" sends orders with a buyer message to a person, "ignore" does not.
    buyer_message_review: str = "ignore"
    # Orders of the same buyer, address and items within this many hours look like duplicates.
    duplicate_window_hours: int = 24
    # Warehouse choice, strategies in order: specified, nearest, cheapest, most_stock, priority.
    allocation_chain: str = "specified,nearest,priority"
    # Short stock: "wait" (hold and re-check as stock arrives, oldest first), "partial" (ship
    # what is there now, the rest as its own order later) or "cancel_short" (drop the rest).
    oversell_policy: str = "wait"
    # Split an order across warehouses when no single one can ship it (several parcels).
    allow_split: bool = False
    # Review, allocate and reserve new orders in the transaction that imports them (pull,
    # webhook and file import) instead of at the next ``orders process`` (ADR 0009): orders
    # reach the warehouse at once, and a sale day's import does a third less work. Off, the
    # buyer has until the next processing run to change the order before it is reviewed.
    review_on_import: bool = False
    # Low-stock alert (stock.low) when available stock of a SKU in a warehouse falls to or below
    # this; a level's own low_stock_threshold wins. None: only levels with their own threshold.
    low_stock_threshold: int | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
