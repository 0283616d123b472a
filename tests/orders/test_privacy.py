"""Buyers' personal data: never in plain text in the database, found by phone through its
keyed hash, masked in the CLI unless revealed, and every reveal audited (ADR 0006)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from lvyue import bootstrap
from lvyue.channels import service as channels
from lvyue.channels.adapters.base import RawOrder
from lvyue.cli import main
from lvyue.core.errors import ValidationError
from lvyue.orders import queries
from lvyue.orders import service as orders
from lvyue.orders.canonical import CanonicalOrder
from tests.factories import canonical, import_dicts, process_all, setup_world

# Values no other test uses, so finding them anywhere in the database file means a leak.
NAME = "司马相如"
PHONE = "13719283746"
STREET = "翠柏路77号"
NICK = "长卿爱读书"


def receiver(phone: str = PHONE) -> dict[str, str]:
    return {
        "name": NAME,
        "phone": phone,
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": STREET,
    }


def _parse(raw: RawOrder) -> CanonicalOrder:
    if raw.payload.get("broken"):
        raise ValueError(f"cannot read receiver {NAME} {PHONE}")  # errors may quote the payload
    return CanonicalOrder.model_validate(raw.payload)


def test_personal_data_is_not_stored_in_plain_text(uow, engine, db):
    setup_world(uow, skus={"A": {"HZ": 5}})
    import_dicts(
        uow,
        [canonical("P1", [("A", 1)], receiver=receiver(), buyer={"id": "b-p1", "nick": NICK})],
    )
    payload = canonical("P2", [("A", 1)], receiver=receiver(), buyer={"id": "b-p2", "nick": NICK})
    with uow() as u:
        sid = orders.shop_id(u, "S1")
        report = channels.ingest(
            u,
            sid,
            "S1",
            [RawOrder("P2", None, payload), RawOrder("P3", None, {**payload, "broken": True})],
            "webhook",
            _parse,
        ).report
    assert report.imported == 1 and len(report.rejected) == 1
    process_all(uow)

    with uow(readonly=True) as u:  # through the models everything reads back in plain text
        [p1, p2] = [queries.get_order(u, o["id"]) for o in queries.list_orders(u)]
        profile = queries.customer_profile(u, p1["customer_id"])
    assert (p1["receiver_name"], p1["receiver_phone"], p1["addr_detail"]) == (NAME, PHONE, STREET)
    assert p2["receiver_address"] == STREET and p1["buyer_nick"] == NICK
    assert f"phone:{PHONE}" in profile["identities"] and profile["display_name"] == NICK

    # Raw SQL over every table, every column: the plain values are nowhere.
    secrets = (NAME, PHONE, STREET, NICK)
    with engine.connect() as conn:
        for table in bootstrap.metadata.sorted_tables:
            for row in conn.execute(sa.text(f"SELECT * FROM {table.name}")):
                text = json.dumps([str(v) for v in row], ensure_ascii=False)
                assert not [s for s in secrets if s in text], (table.name, text)
        cols = conn.execute(
            sa.text("SELECT receiver_name, receiver_phone, addr_detail FROM orders_order")
        ).all()
    assert all(v.startswith("e1") for row in cols for v in row)

    if engine.dialect.name == "sqlite":
        # And in the file's bytes, WAL included, once the WAL is checkpointed into the file.
        raw = engine.raw_connection()  # outside a transaction, where a checkpoint can run
        try:
            busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            raw.close()
        assert busy == 0
        # Close every pooled connection first: opening and closing the file in this process
        # would drop the POSIX locks SQLite holds on it for those connections (and let another
        # process corrupt the database: "How To Corrupt An SQLite Database File", 2.2).
        engine.dispose()
        path = Path(sa.make_url(db).database or "")
        data = path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        data += wal.read_bytes() if wal.exists() else b""
        for s in secrets:
            assert s.encode("utf-8") not in data, s
        assert b"e1" in data  # the ciphertexts are there


def test_orders_are_found_by_phone_through_its_hash(uow):
    setup_world(uow, skus={"A": {"HZ": 5}})
    import_dicts(
        uow,
        [
            canonical("F1", [("A", 1)], receiver=receiver()),
            canonical("F2", [("A", 1)], receiver=receiver("13800000002")),
            canonical("F3", [("A", 1)], receiver=receiver(f"+86 {PHONE[:3]} {PHONE[3:]}")),
        ],
    )
    with uow(readonly=True) as u:
        found = [o["external_id"] for o in queries.list_orders(u, phone=f"+86-{PHONE}")]
        page = queries.page_orders(u, phone=PHONE)
        assert queries.list_orders(u, phone="13900000000") == []
        with pytest.raises(ValidationError) as exc:
            queries.list_orders(u, phone="138****5678")
        identity = (
            u.conn.execute(sa.text("SELECT value FROM customers_identity WHERE kind = 'phone'"))
            .scalars()
            .all()
        )
    assert found == ["F1", "F3"] and page["total"] == 2
    assert exc.value.field == "phone"
    assert PHONE not in set(identity)  # the customer link keeps the hash, not the number


def test_merge_compares_decrypted_receivers(uow):
    setup_world(uow, skus={"A": {"HZ": 5}})
    import_dicts(
        uow,
        [
            canonical("M1", [("A", 1)], receiver=receiver()),
            canonical("M2", [("A", 1)], receiver=receiver()),
            canonical("M3", [("A", 1)], receiver={**receiver(), "address": "翠柏路78号"}),
        ],
    )
    with uow(readonly=True) as u:
        ids = {o["external_id"]: o["id"] for o in queries.list_orders(u)}
    with uow() as u:  # equal ciphertexts never happen: the comparison is on plain values
        assert orders.merge_orders(u, [ids["M1"], ids["M2"]]) == ids["M1"]
    with pytest.raises(ValidationError, match="different receivers"), uow() as u:
        orders.merge_orders(u, [ids["M1"], ids["M3"]])


def test_cli_masks_unless_revealed_and_audits_the_reveal(capsys, uow, db):
    setup_world(uow, skus={"A": {"HZ": 5}})
    import_dicts(uow, [canonical("C1", [("A", 1)], receiver=receiver())])
    with uow(readonly=True) as u:
        oid = queries.list_orders(u)[0]["id"]
        cid = queries.get_order(u, oid)["customer_id"]

    def run(*args: str) -> str:
        capsys.readouterr()
        assert main([*args, "--db", db]) == 0
        return capsys.readouterr().out

    masked = run("orders", "show", str(oid))
    assert "司*** 137****3746" in masked and "浙江省杭州市西湖区 ****" in masked
    assert PHONE not in masked and STREET not in masked
    as_json = json.loads(run("orders", "show", str(oid), "--json"))
    assert as_json["receiver_phone"] == "137****3746" and as_json["pii_masked"]
    assert PHONE not in run("customer", "show", str(cid))
    with uow(readonly=True) as u:
        assert _reveals(u) == []

    plain = run("orders", "show", str(oid), "--reveal")
    assert f"{NAME} {PHONE}" in plain and STREET in plain
    assert f"phone:{PHONE}" in run("customer", "show", str(cid), "--reveal")
    assert [o["id"] for o in json.loads(run("orders", "list", "--phone", PHONE, "--json"))] == [oid]
    with uow(readonly=True) as u:
        reveals = _reveals(u)
    actor = f"cli:{getpass.getuser()}"
    assert reveals == [(actor, "order", str(oid)), (actor, "customer", str(cid))]


def _reveals(u) -> list[tuple[str, str, str]]:
    return [
        tuple(r)
        for r in u.conn.execute(
            sa.text(
                "SELECT actor, target_type, target FROM accounts_audit "
                "WHERE action = 'pii.reveal' ORDER BY id"
            )
        )
    ]
