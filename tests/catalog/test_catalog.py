from __future__ import annotations

import pytest

from lvyue.catalog.models import HANDLING_TAGS
from lvyue.catalog.service import import_catalog
from lvyue.catalog.specs import RowError, parse_catalog_row, parse_spec
from tests.conftest import count
from tests.factories import sku_row


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("颜色:白色;尺码:M", {"颜色": "白色", "尺码": "M"}),
        ("颜色：白色；尺码：M", {"颜色": "白色", "尺码": "M"}),
        ("白色 M", {"规格1": "白色", "规格2": "M"}),
        ("", {}),
    ],
)
def test_parse_spec(text, spec):
    assert parse_spec(text) == spec


def test_row_errors_name_the_field():
    with pytest.raises(RowError) as exc:
        parse_catalog_row(sku_row("A", weight_g="1.5kg"), HANDLING_TAGS)
    assert exc.value.field == "weight_g"
    with pytest.raises(RowError) as exc:
        parse_catalog_row(sku_row("A", cost="-1"), HANDLING_TAGS)
    assert exc.value.field == "cost"
    row = parse_catalog_row(sku_row("KIT", components="A*2; B", tags="Fresh|bulky"), HANDLING_TAGS)
    assert row.components == [("A", 2), ("B", 1)] and row.tags == ["fresh", "bulky"]


def test_import_is_idempotent_and_bundles_may_precede_their_components(uow, engine):
    rows = [
        (2, sku_row("KIT", components="A*2;B*1")),
        (3, sku_row("A", barcode="6901234567892")),
        (4, sku_row("B", price="12.50")),
        (5, sku_row("BAD", components="NOPE*1")),
        (6, sku_row("C", barcode="6901234567892")),  # barcode already taken by A
    ]
    with uow() as u:
        r = import_catalog(u, rows)
    assert (r.created, r.updated) == (3, 0)
    assert [ln for ln, _ in r.rejected] == [5, 6]
    assert "unknown SKU NOPE" in r.rejected[0][1]
    with uow() as u:
        r2 = import_catalog(u, rows[:3])
    assert (r2.created, r2.updated, r2.rejected) == (0, 3, [])
    assert count(engine, "catalog_sku") == 3
    assert count(engine, "catalog_bundle_component") == 2
    assert count(engine, "catalog_barcode") == 1
