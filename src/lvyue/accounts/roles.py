"""Roles (岗位) and permissions (权限): the table is data, checked by one small class.

Pure module: no database. A role is a frozenset of permission names; a ``Principal`` is who is
acting (a user or an API key) with the permissions of its role and its warehouse / shop scope.
An empty scope means "all warehouses" / "all shops".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from lvyue.accounts.errors import PermissionDenied
from lvyue.core.errors import LvyueError

# Every permission the system knows, with what it allows (shown in the admin UI).
PERMISSIONS: Mapping[str, str] = MappingProxyType(
    {
        # orders
        "orders.read": "查看订单 / see orders (personal data masked without pii.view)",
        "orders.create": "手工建单 / enter orders by hand",
        "orders.edit": "修改订单 / edit address, memo, lines of an order",
        "orders.import": "导入订单 / import orders from files",
        "orders.review": "审单 / approve orders and decide manual reviews",
        "orders.hold": "挂起与释放 / hold and release orders",
        "orders.cancel": "取消订单 / cancel orders",
        "orders.split_merge": "拆单合单 / split and merge orders",
        "orders.export": "导出订单 / export order lists",
        # customers and personal data
        "customers.read": "查看客户 / see customer profiles",
        "customers.write": "维护客户 / edit customers, tags, blacklist",
        "pii.view": "查看明文收件信息 / reveal receiver name, phone and address (audited)",
        # after-sales
        "aftersales.read": "查看售后 / see returns, exchanges, refunds",
        "aftersales.write": "处理售后 / create and handle after-sales cases",
        "aftersales.receive": "退货入库 / check returned goods into stock",
        "refunds.approve": "审批退款 / approve refunds",
        # stock and warehouse
        "stock.read": "查看库存 / see stock levels and the ledger",
        "stock.adjust": "调整库存 / adjust stock (written to the ledger)",
        "stock.transfer": "调拨 / move stock between warehouses",
        "stock.stocktake": "盘点 / count stock and book differences",
        "stock.receive": "入库上架 / receive goods and put them away",
        "warehouses.write": "仓库设置 / define warehouses, zones and bins",
        # fulfilment
        "fulfillment.read": "查看出库 / see outbound orders, waves, shipments",
        "fulfillment.wave": "波次 / build waves and pick lists",
        "fulfillment.pick": "拣货 / pick",
        "fulfillment.check": "复核验货 / verify orders before packing",
        "fulfillment.pack": "打包称重 / pack and weigh",
        "fulfillment.ship": "发货 / ship and print waybills",
        # catalog
        "catalog.read": "查看商品 / see products and SKUs",
        "catalog.write": "维护商品 / edit products, SKUs, barcodes, bundles",
        # logistics
        "logistics.read": "查看物流 / see carriers, rates, tracking",
        "logistics.write": "物流设置 / edit carriers, services and rate tables",
        # channels and rules
        "shops.write": "店铺设置 / add shops and their credentials",
        "channels.sync": "同步 / pull orders, push stock and ship confirmations",
        "rules.write": "审单与分仓规则 / edit review, allocation and carrier rules",
        # purchasing
        "purchasing.read": "查看采购 / see suppliers and purchase orders",
        "purchasing.write": "采购 / create purchase orders, manage suppliers",
        # finance and reports
        "finance.read": "查看财务 / see costs, margins, settlements",
        "finance.write": "对账 / reconcile settlements, edit costs",
        "reports.read": "报表 / dashboards and reports",
        # administration
        "users.admin": "用户管理 / users, roles and API keys",
        "audit.read": "审计日志 / read and export the audit log",
        "settings.write": "系统设置 / system settings",
    }
)


class Role(StrEnum):
    ADMIN = "admin"
    OPERATIONS = "operations"
    CUSTOMER_SERVICE = "customer_service"
    WAREHOUSE = "warehouse"
    FINANCE = "finance"
    PURCHASING = "purchasing"
    VIEWER = "viewer"


ROLE_LABELS: Mapping[Role, str] = MappingProxyType(
    {
        Role.ADMIN: "管理员",
        Role.OPERATIONS: "运营",
        Role.CUSTOMER_SERVICE: "客服",
        Role.WAREHOUSE: "仓库",
        Role.FINANCE: "财务",
        Role.PURCHASING: "采购",
        Role.VIEWER: "只读",
    }
)

_READ_ONLY = frozenset(
    {
        "orders.read",
        "customers.read",
        "aftersales.read",
        "stock.read",
        "fulfillment.read",
        "catalog.read",
        "logistics.read",
        "purchasing.read",
        "reports.read",
    }
)

ROLES: Mapping[Role, frozenset[str]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(PERMISSIONS),
        # 运营: runs the order flow, shops and carriers, sees personal data; no users, no
        # settings, no stock corrections, no money.
        Role.OPERATIONS: _READ_ONLY
        | {
            "orders.create",
            "orders.edit",
            "orders.import",
            "orders.review",
            "orders.hold",
            "orders.cancel",
            "orders.split_merge",
            "orders.export",
            "customers.write",
            "pii.view",
            "aftersales.write",
            "catalog.write",
            "shops.write",
            "channels.sync",
            "rules.write",
            "logistics.write",
        },
        # 客服: talks to buyers, so sees their contact data; edits and holds orders, handles
        # after-sales; does not approve refunds or export lists.
        Role.CUSTOMER_SERVICE: frozenset(
            {
                "orders.read",
                "orders.create",
                "orders.edit",
                "orders.hold",
                "orders.cancel",
                "customers.read",
                "customers.write",
                "pii.view",
                "aftersales.read",
                "aftersales.write",
                "stock.read",
                "fulfillment.read",
                "catalog.read",
                "logistics.read",
            }
        ),
        # 仓库: everything on the floor, and the layout of bins; personal data stays masked on
        # screen (the printed waybill is rendered by the system, not revealed to the user).
        Role.WAREHOUSE: frozenset(
            {
                "orders.read",
                "stock.read",
                "stock.adjust",
                "stock.transfer",
                "stock.stocktake",
                "stock.receive",
                "warehouses.write",
                "fulfillment.read",
                "fulfillment.wave",
                "fulfillment.pick",
                "fulfillment.check",
                "fulfillment.pack",
                "fulfillment.ship",
                "aftersales.read",
                "aftersales.receive",
                "catalog.read",
                "logistics.read",
                "purchasing.read",
            }
        ),
        # 财务: money and the lists to reconcile it.
        Role.FINANCE: _READ_ONLY
        | {"orders.export", "finance.read", "finance.write", "refunds.approve"},
        # 采购: suppliers, purchase orders, new products.
        Role.PURCHASING: frozenset(
            {
                "orders.read",
                "stock.read",
                "catalog.read",
                "catalog.write",
                "purchasing.read",
                "purchasing.write",
                "reports.read",
            }
        ),
        Role.VIEWER: _READ_ONLY,
    }
)


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise LvyueError(
            f"unknown role {value!r}; one of {', '.join(r.value for r in Role)}",
            code="unknown_role",
            role=value,
        ) from None


def permissions_of(role: Role | str) -> frozenset[str]:
    return ROLES[parse_role(role) if isinstance(role, str) else role]


def _codes(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip() for v in values if v and v.strip())


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user (``user_id`` set) or an API key (``app_key`` set)."""

    user_id: int | None
    username: str
    role: Role
    permissions: frozenset[str]
    warehouse_codes: frozenset[str] = field(default_factory=frozenset)
    shop_codes: frozenset[str] = field(default_factory=frozenset)
    app_key: str | None = None

    @classmethod
    def of(
        cls,
        *,
        user_id: int | None,
        username: str,
        role: Role | str,
        warehouse_codes: Iterable[str] = (),
        shop_codes: Iterable[str] = (),
        app_key: str | None = None,
    ) -> Principal:
        r = parse_role(role) if isinstance(role, str) else role
        return cls(
            user_id=user_id,
            username=username,
            role=r,
            permissions=ROLES[r],
            warehouse_codes=_codes(warehouse_codes),
            shop_codes=_codes(shop_codes),
            app_key=app_key,
        )

    @property
    def actor(self) -> str:
        """The name written to history and audit rows."""
        return f"api:{self.app_key}" if self.app_key else self.username

    def can(self, permission: str) -> bool:
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise PermissionDenied(
                f"{self.actor} ({self.role.value}) lacks permission {permission}",
                permission=permission,
            )

    def sees_warehouse(self, code: str) -> bool:
        return not self.warehouse_codes or code in self.warehouse_codes

    def sees_shop(self, code: str) -> bool:
        return not self.shop_codes or code in self.shop_codes
