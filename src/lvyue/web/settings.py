"""The settings area's sections: each shown to whoever holds its permission (the same
permission as the JSON API's routes for the same thing).

Pure data and two small helpers; the pages themselves live next to the capability they manage
(``channels/web.py`` for shops, ``inventory/settings_web.py`` for warehouses, ...), and share
the layout ``settings_layout.html`` with this list as its sub-navigation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lvyue.web.i18n import N_
from lvyue.web.pages import SETTINGS_AREA, NavItem

# The settings area itself (``/settings`` and the main navigation entry): any of these.
SETTINGS_PERMISSIONS = SETTINGS_AREA

# Each section is an entry of the settings area's own navigation.
SETTINGS_SECTIONS: tuple[NavItem, ...] = (
    NavItem("shops", "/settings/shops", N_("Shops"), "shops.write"),
    NavItem("warehouses", "/settings/warehouses", N_("Warehouses"), "warehouses.write"),
    NavItem("carriers", "/settings/carriers", N_("Carriers and rates"), "logistics.write"),
    NavItem("users", "/settings/users", N_("Users and roles"), "users.admin"),
    NavItem("api-keys", "/settings/api-keys", N_("API keys"), "users.admin"),
    NavItem("webhooks", "/settings/webhooks", N_("Webhooks"), "settings.write"),
)
SECTIONS_BY_KEY = {s.key: s for s in SETTINGS_SECTIONS}


def visible_sections(can: Callable[[str], bool]) -> list[NavItem]:
    return [s for s in SETTINGS_SECTIONS if s.shown_to(can)]


def settings_navigation(can: Callable[[str], bool], current: str) -> list[dict[str, Any]]:
    """The sub-navigation of the settings layout: the sections ``can`` allows."""
    return [
        {"key": s.key, "href": s.href, "label": s.label, "active": s.key == current}
        for s in visible_sections(can)
    ]
