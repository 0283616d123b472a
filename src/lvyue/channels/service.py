"""Channel use cases: shops with encrypted credentials, raw payloads, imports from them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from lvyue.channels.adapters.base import PayloadError, RawOrder, ShopCredentials
from lvyue.channels.models import RawOrderRecord, ShopConnection
from lvyue.channels.stockrule import StockRule
from lvyue.core.bulk import allocate_ids, execute_many, insert_many
from lvyue.core.clock import now
from lvyue.core.crypto import decrypt, encrypt
from lvyue.core.db import in_clauses, table_of
from lvyue.core.errors import NotFound, ValidationError
from lvyue.core.uow import UnitOfWork
from lvyue.inventory.models import Warehouse
from lvyue.orders import service as orders
from lvyue.orders.canonical import CanonicalOrder
from lvyue.orders.models import Shop

CONN = table_of(ShopConnection)
RAW = table_of(RawOrderRecord)
SHOP = table_of(Shop)
WAREHOUSE = table_of(Warehouse)

SECRET_FIELDS = ("app_key", "app_secret", "token", "session", "webhook_secret", "sign_method")


@dataclass(frozen=True)
class ShopAccess:
    shop_id: int
    code: str
    platform: str
    credentials: ShopCredentials
    cursor_at: datetime | None


def add_shop(
    uow: UnitOfWork,
    *,
    code: str,
    platform: str,
    name: str,
    base_url: str = "",
    secrets: dict[str, str | None] | None = None,
    order_type: str = "online",
) -> int:
    """Add a shop and, for API platforms, how to reach it. Secrets are stored encrypted."""
    base_url = check_base_url(base_url)
    sid = orders.add_shop(uow, code=code, platform=platform, name=name, order_type=order_type)
    clean = {k: v for k, v in (secrets or {}).items() if v}
    unknown = set(clean) - set(SECRET_FIELDS)
    if unknown:
        raise ValidationError("secrets", f"unknown field(s) {', '.join(sorted(unknown))}")
    uow.conn.execute(
        sa.insert(CONN).values(
            shop_id=sid,
            base_url=base_url.rstrip("/"),
            secrets=encrypt(json.dumps(clean)) if clean else "",
            last_sync_status="never",
            last_error="",
        )
    )
    return sid


ORDER_TYPES = ("online", "livestream", "offline", "wholesale", "distribution")


def check_base_url(base_url: str) -> str:
    """An API base URL: empty (orders come by file) or http(s)://host[...], no trailing /."""
    url = base_url.strip()
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.hostname or " " in url):
        raise ValidationError(
            "base_url", "an http:// or https:// URL, e.g. https://gw.api.taobao.com"
        )
    if len(url) > 300:
        raise ValidationError("base_url", "at most 300 characters")
    return url.rstrip("/")


@dataclass(frozen=True)
class ShopChange:
    """What ``update_shop`` changed: field names (and new values of the plain ones) and the
    names of the secrets set or cleared, never their values."""

    fields: dict[str, Any]
    secrets_set: tuple[str, ...]
    secrets_cleared: tuple[str, ...]

    def audit_details(self) -> dict[str, Any]:
        return {
            **self.fields,
            "secrets_set": list(self.secrets_set),
            "secrets_cleared": list(self.secrets_cleared),
        }


def update_shop(
    uow: UnitOfWork,
    code: str,
    *,
    name: str | None = None,
    base_url: str | None = None,
    order_type: str | None = None,
    active: bool | None = None,
    secrets: dict[str, str | None] | None = None,
    clear_secrets: Sequence[str] = (),
) -> ShopChange:
    """Change a shop (``None`` = leave as is). Credentials are write-only: a secret given
    replaces the stored one, a blank one keeps it, ``clear_secrets`` removes some."""
    row = uow.conn.execute(
        sa.select(SHOP.c.id, SHOP.c.name, SHOP.c.order_type, SHOP.c.active).where(
            SHOP.c.code == code
        )
    ).first()
    if row is None:
        raise NotFound(f"shop {code} does not exist", code="unknown_shop")
    shop: dict[str, Any] = {}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationError("name", "1 to 100 characters")
        if name != row.name:
            shop["name"] = name
    if order_type is not None and order_type != row.order_type:
        if order_type not in ORDER_TYPES:
            raise ValidationError("order_type", f"one of {', '.join(ORDER_TYPES)}")
        shop["order_type"] = order_type
    if active is not None and active != row.active:
        shop["active"] = active
    given = {k: v.strip() for k, v in (secrets or {}).items() if v and v.strip()}
    unknown = (set(given) | set(clear_secrets)) - set(SECRET_FIELDS)
    if unknown:
        raise ValidationError("secrets", f"unknown field(s) {', '.join(sorted(unknown))}")
    conn_row = uow.conn.execute(
        sa.select(CONN.c.base_url, CONN.c.secrets).where(CONN.c.shop_id == row.id)
    ).first()
    if conn_row is None:  # a shop made by orders.add_shop alone has no connection row yet
        uow.conn.execute(
            sa.insert(CONN).values(
                shop_id=row.id, base_url="", secrets="", last_sync_status="never", last_error=""
            )
        )
    stored = json.loads(decrypt(conn_row.secrets)) if conn_row and conn_row.secrets else {}
    connection: dict[str, Any] = {}
    if base_url is not None:
        url = check_base_url(base_url)
        if url != (conn_row.base_url if conn_row else ""):
            connection["base_url"] = url
    cleared = tuple(sorted(k for k in clear_secrets if k in stored and k not in given))
    merged = {k: v for k, v in stored.items() if k not in cleared} | given
    if merged != stored:
        connection["secrets"] = encrypt(json.dumps(merged)) if merged else ""
    if shop:
        uow.conn.execute(sa.update(SHOP).where(SHOP.c.id == row.id).values(**shop))
    if connection:
        uow.conn.execute(sa.update(CONN).where(CONN.c.shop_id == row.id).values(**connection))
    fields = dict(shop)
    if "base_url" in connection:
        fields["base_url"] = connection["base_url"]
    return ShopChange(fields, tuple(sorted(given)), cleared)


def shop_access(uow: UnitOfWork, shop_code: str) -> ShopAccess:
    row = uow.conn.execute(
        sa.select(
            SHOP.c.id,
            SHOP.c.code,
            SHOP.c.platform,
            CONN.c.base_url,
            CONN.c.secrets,
            CONN.c.cursor_at,
        )
        .outerjoin(CONN, CONN.c.shop_id == SHOP.c.id)
        .where(SHOP.c.code == shop_code)
    ).first()
    if row is None:
        raise NotFound(f"shop {shop_code} does not exist", code="unknown_shop")
    if not row.base_url:
        raise ValidationError(
            "base_url", f"shop {shop_code} has no API base URL: add it to pull orders"
        )
    secrets = json.loads(decrypt(row.secrets)) if row.secrets else {}
    creds = ShopCredentials(
        base_url=row.base_url or "",
        app_key=secrets.get("app_key"),
        app_secret=secrets.get("app_secret"),
        token=secrets.get("token") or secrets.get("session"),
        extra={k: secrets[k] for k in ("webhook_secret", "sign_method") if secrets.get(k)},
    )
    return ShopAccess(row.id, row.code, row.platform, creds, row.cursor_at)


def shop_platform(uow: UnitOfWork, shop_code: str) -> str:
    row = uow.conn.execute(sa.select(SHOP.c.platform).where(SHOP.c.code == shop_code)).first()
    if row is None:
        raise NotFound(f"shop {shop_code} does not exist", code="unknown_shop")
    return str(row.platform)


def secret_names(uow: UnitOfWork, shop_code: str) -> list[str]:
    """Which credentials a shop has stored (their names, for "set" marks), never the values."""
    row = uow.conn.execute(
        sa.select(CONN.c.secrets)
        .join(SHOP, SHOP.c.id == CONN.c.shop_id)
        .where(SHOP.c.code == shop_code)
    ).first()
    if row is None or not row.secrets:
        return []
    return sorted(k for k, v in json.loads(decrypt(row.secrets)).items() if v)


def api_shops(uow: UnitOfWork) -> list[str]:
    rows = uow.conn.execute(
        sa.select(SHOP.c.code)
        .join(CONN, CONN.c.shop_id == SHOP.c.id)
        .where(SHOP.c.active.is_(True), CONN.c.base_url != "")
        .order_by(SHOP.c.code)
    )
    return [r.code for r in rows]


def payload_json(payload: dict[str, Any]) -> bytes:
    """Canonical JSON of a payload (sorted keys, compact) in UTF-8: the bytes hashed for
    de-duplication, and encrypted as they are (``EncryptedText`` takes UTF-8 bytes), never
    decoded to text and encoded again. orjson writes the same text as ``json.dumps`` with
    these options, faster; the standard library takes what orjson refuses (integers beyond
    64 bits)."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return text.encode("utf-8")


@dataclass
class Ingested:
    stored: list[tuple[int, RawOrder]]  # the payloads not seen before, with their raw ids
    report: orders.ImportReport


def ingest(
    uow: UnitOfWork,
    shop_id: int,
    shop_code: str,
    raws: Sequence[RawOrder],
    source: str,
    parse: Callable[[RawOrder], CanonicalOrder],
    *,
    review: bool | None = None,
) -> Ingested:
    """Store the payloads not seen before and import the orders they carry, in the caller's
    transaction. A payload that does not parse is stored with the reason (``raw_errors``) and
    never stops the others. ``review``: review new orders in the same transaction (ADR 0009);
    by default as the ``review_on_import`` setting says.

    Payloads and orders commit together or not at all: a payload committed on its own before
    a failed import would be skipped as known by the retry (the next pull, the platform's
    webhook retry) and its order never imported. Each payload row is written once, with its
    outcome, except the rare payload that does not parse: it is then marked with the reason."""
    fresh = _raw_rows(uow, shop_id, raws, source)
    parsed: dict[int, CanonicalOrder] = {}  # by id() of the RawOrder

    done = False

    def parse_all() -> None:  # once, whether the insert fails before or after it
        nonlocal done
        if done:
            return
        done = True
        for row, raw in fresh:
            try:
                parsed[id(raw)] = parse(raw)
            except (PayloadError, ValueError, KeyError, TypeError) as exc:
                row["status"] = "error"
                row["error"] = f"{type(exc).__name__}: {exc}"[:2000]

    stored = _insert_raws(uow, fresh, parse_all)
    good = [(rid, parsed[id(raw)]) for rid, raw in stored if id(raw) in parsed]
    report = orders.import_canonical(
        uow, shop_code, sorted(good, key=lambda p: p[1].changed_at), review=review
    )
    errors = {int(row["id"]): row["error"] for row, _ in fresh if row["status"] == "error"}
    report.rejected.extend((rid, errors[rid]) for rid, _ in stored if rid in errors)
    return Ingested(stored, report)


def _raw_rows(
    uow: UnitOfWork, shop_id: int, raws: Sequence[RawOrder], source: str
) -> list[tuple[dict[str, Any], RawOrder]]:
    """Rows for the payloads this shop has not stored before (nor earlier in ``raws``)."""
    if not raws:
        return []
    rows: list[dict[str, Any]] = []
    received = now()  # one batch, one moment (and one conversion of it for every row)
    for raw in raws:
        data = payload_json(raw.payload)
        rows.append(
            {
                "shop_id": shop_id,
                "external_id": raw.external_id,
                "platform_updated_at": raw.updated_at,
                "payload": data,
                "payload_hash": hashlib.sha256(data).hexdigest(),
                "source": source,
                "received_at": received,
                "status": "pending",
                "error": "",
            }
        )
    seen = _known_payloads(uow, shop_id, {row["external_id"] for row in rows})
    fresh: list[tuple[dict[str, Any], RawOrder]] = []
    for row, raw in zip(rows, raws, strict=True):
        key = (row["external_id"], row["payload_hash"])
        if key not in seen:
            seen.add(key)
            fresh.append((row, raw))
    return fresh


_MARK_FAILED = (
    sa.update(RAW)
    .where(RAW.c.id == sa.bindparam("rid"))
    .values(status="error", error=sa.bindparam("reason", type_=RAW.c.error.type))
)


def _insert_raws(
    uow: UnitOfWork, fresh: list[tuple[dict[str, Any], RawOrder]], parse_all: Callable[[], None]
) -> list[tuple[int, RawOrder]]:
    """Store the payloads, parsing them (``parse_all``) while PostgreSQL writes them
    (``core.pgcopy``): they are sent as imported, and those that did not parse are marked."""
    if not fresh:
        return []
    ids = allocate_ids(uow.conn, RAW, len(fresh))
    for rid, (row, _) in zip(ids, fresh, strict=True):
        row["id"] = rid
        row["status"] = "imported"
    try:
        with uow.session.begin_nested():  # the savepoint is taken when the session is asked
            insert_many(uow.conn, RAW, [row for row, _ in fresh])
            parse_all()  # on PostgreSQL while the server writes them; a duplicate fails
            # the savepoint's release, rolled back to it (core.pgcopy)
    except IntegrityError:
        # Another worker (a webhook racing a pull) stored some of these meanwhile.
        parse_all()  # SQLite fails at the insert, before the parse
        return _store_skipping_known(uow, fresh)
    failed = [{"rid": row["id"], "reason": row["error"]} for row, _ in fresh if row["error"]]
    execute_many(uow.conn, _MARK_FAILED, failed)
    return [(row["id"], raw) for row, raw in fresh]


def _known_payloads(uow: UnitOfWork, shop_id: int, ext_ids: set[str]) -> set[tuple[str, str]]:
    """(external id, payload hash) of what the shop already stored for these orders."""
    seen: set[tuple[str, str]] = set()
    for cond in in_clauses(uow.conn, RAW.c.external_id, sorted(ext_ids)):
        seen.update(
            (r.external_id, r.payload_hash)
            for r in uow.conn.execute(
                sa.select(RAW.c.external_id, RAW.c.payload_hash).where(
                    RAW.c.shop_id == shop_id, cond
                )
            ).all()
        )
    return seen


def _store_skipping_known(
    uow: UnitOfWork, fresh: list[tuple[dict[str, Any], RawOrder]]
) -> list[tuple[int, RawOrder]]:
    insert = postgresql.insert if uow.is_postgres else sqlite.insert
    stmt = (
        insert(RAW)
        .on_conflict_do_nothing(index_elements=["shop_id", "external_id", "payload_hash"])
        .returning(RAW.c.id)
    )
    stored = []
    for row, raw in fresh:
        if uow.conn.execute(stmt, row).first() is not None:
            stored.append((int(row["id"]), raw))
    return stored


def record_sync(
    uow: UnitOfWork, shop_id: int, *, status: str, cursor_at: datetime | None, error: str = ""
) -> None:
    values: dict[str, Any] = {
        "last_sync_at": now(),
        "last_sync_status": status,
        "last_error": error[:2000],
    }
    if cursor_at is not None:
        values["cursor_at"] = cursor_at
    uow.conn.execute(sa.update(CONN).where(CONN.c.shop_id == shop_id).values(**values))


def raw_errors(
    uow: UnitOfWork, shop_code: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    stmt = (
        sa.select(
            SHOP.c.code.label("shop"), RAW.c.id, RAW.c.external_id, RAW.c.received_at, RAW.c.error
        )
        .join(SHOP, SHOP.c.id == RAW.c.shop_id)
        .where(RAW.c.status == "error")
        .order_by(RAW.c.id.desc())
        .limit(limit)
    )
    if shop_code:
        stmt = stmt.where(SHOP.c.code == shop_code)
    return [dict(r._mapping) for r in uow.conn.execute(stmt)]


def set_stock_rule(uow: UnitOfWork, shop_code: str, rule: StockRule) -> StockRule:
    checked = StockRule.from_json(rule.to_json())  # the same validation as stored rules
    sid = orders.shop_id(uow, shop_code)
    known = set(uow.conn.execute(sa.select(WAREHOUSE.c.code)).scalars())
    missing = [w for w in checked.warehouses if w not in known]
    if missing:
        raise ValidationError("warehouse", f"unknown warehouse(s) {', '.join(missing)}")
    uow.conn.execute(
        sa.update(CONN).where(CONN.c.shop_id == sid).values(stock_rule=checked.to_json())
    )
    return checked


def redact(text: str, credentials: ShopCredentials) -> str:
    """Error text with the shop's secrets blanked: platform errors sometimes echo the request
    (query strings with tokens), and these messages are stored and printed."""
    for secret in (credentials.app_secret, credentials.token, *credentials.extra.values()):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
