"""Editing a warehouse: only what changed is written and returned; the code stays."""

from __future__ import annotations

import pytest

from lvyue.core.errors import NotFound, ValidationError
from lvyue.inventory import queries, service


def add_hz(uow) -> None:
    with uow() as u:
        service.add_warehouse(
            u, code="HZ", name="杭州仓", province="浙江省", city="杭州市", district="西湖区"
        )


def hz(uow) -> dict:
    with uow(readonly=True) as u:
        (row,) = queries.list_warehouses(u)
    return row


def test_update_changes_only_what_differs(uow):
    add_hz(uow)
    with uow() as u:
        changed = service.update_warehouse(
            u, "HZ", name="杭州一仓", city="杭州市", district=" ", priority=3, active=False
        )
    assert changed == {"name": "杭州一仓", "district": None, "priority": 3, "active": False}
    row = hz(uow)
    assert (row["name"], row["district"], row["priority"], row["active"]) == (
        "杭州一仓",
        None,
        3,
        False,
    )
    with uow() as u:
        assert service.update_warehouse(u, "HZ", name="杭州一仓", province="浙江省") == {}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " "}, "name"),
        ({"city": ""}, "city"),
        ({"priority": -1}, "priority"),
        ({"address": "x" * 201}, "address"),
    ],
)
def test_update_names_the_bad_field(uow, kwargs, field):
    add_hz(uow)
    with pytest.raises(ValidationError) as err, uow() as u:
        service.update_warehouse(u, "HZ", **kwargs)
    assert err.value.field == field
    assert hz(uow)["name"] == "杭州仓"


def test_update_of_an_unknown_warehouse(uow):
    with pytest.raises(NotFound), uow() as u:
        service.update_warehouse(u, "NOPE", name="x")
