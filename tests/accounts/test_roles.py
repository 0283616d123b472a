"""The roles table and principals: pure, no database."""

from __future__ import annotations

import pytest

from lvyue.accounts.errors import PermissionDenied
from lvyue.accounts.roles import PERMISSIONS, ROLES, Principal, Role, parse_role, permissions_of
from lvyue.core.errors import LvyueError


def test_every_role_has_a_table_entry_of_known_permissions() -> None:
    assert set(ROLES) == set(Role)
    for role, perms in ROLES.items():
        assert perms, role
        assert perms <= set(PERMISSIONS), (role, perms - set(PERMISSIONS))


def test_admin_has_everything_and_every_permission_is_used() -> None:
    assert ROLES[Role.ADMIN] == frozenset(PERMISSIONS)
    others = frozenset().union(*(p for r, p in ROLES.items() if r is not Role.ADMIN))
    # users.admin, audit.read and settings.write are the administrator's alone
    assert set(PERMISSIONS) - others == {"users.admin", "audit.read", "settings.write"}


def test_positions_get_what_their_work_needs() -> None:
    warehouse = ROLES[Role.WAREHOUSE]
    assert "pii.view" not in warehouse
    assert not {p for p in warehouse if p.startswith("settings.")}
    assert {"stock.adjust", "fulfillment.pick", "fulfillment.ship"} <= warehouse
    assert "pii.view" in ROLES[Role.OPERATIONS]
    assert "pii.view" in ROLES[Role.CUSTOMER_SERVICE]
    assert "orders.review" in ROLES[Role.OPERATIONS]
    assert "finance.read" in ROLES[Role.FINANCE]
    assert "finance.read" not in ROLES[Role.WAREHOUSE]
    assert "purchasing.write" in ROLES[Role.PURCHASING]
    viewer = ROLES[Role.VIEWER]
    assert all(p.endswith(".read") for p in viewer)
    assert "pii.view" not in viewer and "finance.read" not in viewer
    for role in Role:
        if role is not Role.ADMIN:
            assert "users.admin" not in ROLES[role]
            assert "settings.write" not in ROLES[role]


def test_parse_role() -> None:
    assert parse_role(" Warehouse ") is Role.WAREHOUSE
    assert permissions_of("finance") == ROLES[Role.FINANCE]
    with pytest.raises(LvyueError) as exc:
        parse_role("boss")
    assert exc.value.code == "unknown_role"


def test_principal_permissions_and_scope() -> None:
    p = Principal.of(user_id=7, username="li", role="warehouse", warehouse_codes=["HZ", " SH ", ""])
    assert p.can("stock.adjust") and not p.can("pii.view")
    assert p.warehouse_codes == {"HZ", "SH"}
    assert p.sees_warehouse("HZ") and p.sees_warehouse("SH") and not p.sees_warehouse("BJ")
    assert p.sees_shop("TB-01")  # no shop scope: every shop
    assert p.actor == "li"
    with pytest.raises(ValueError):
        p.can("orders.fly")
    with pytest.raises(PermissionDenied) as exc:
        p.require("settings.write")
    assert exc.value.code == "forbidden" and exc.value.http_status == 403
    everything = Principal.of(user_id=1, username="root", role=Role.ADMIN)
    assert everything.sees_warehouse("any") and everything.can("settings.write")
    shop_only = Principal.of(
        user_id=None, username="erp", role="viewer", shop_codes=["TB-01"], app_key="lvk_x"
    )
    assert shop_only.sees_shop("TB-01") and not shop_only.sees_shop("JD-01")
    assert shop_only.actor == "api:lvk_x"
