"""Order use cases: the only code that writes orders. One call = one transaction (the
caller's unit of work). Split by capability: importing, the pipeline, operator actions and
splitting, revealing personal data, on shared pieces in ``_base``."""

from lvyue.orders.service._base import (
    PLATFORMS,
    Change,
    ConcurrentChange,
    add_shop,
    cancel_order,
    shop_id,
)
from lvyue.orders.service.actions import (
    approve_order,
    fix_address,
    hold_order,
    map_sku,
    merge_orders,
    reject_order,
    ship_order,
)
from lvyue.orders.service.assign import (
    AssignmentRefused,
    AssignReport,
    assign_carrier,
    assign_warehouse,
)
from lvyue.orders.service.held import accept_address_suggestion, correct_address
from lvyue.orders.service.importing import (
    ImportReport,
    content_hash,
    duplicate_key,
    import_canonical,
    import_orders,
    lines_hash,
    parse_canonical,
)
from lvyue.orders.service.pipeline import (
    DryRunChange,
    ProcessReport,
    before_batches,
    between_batches,
    dry_run_rules,
    process_orders,
)
from lvyue.orders.service.privacy import RECEIVER_FIELDS, record_reveal, reveal_receiver
from lvyue.orders.service.rereview import review_again, review_if_ready
from lvyue.orders.service.splitting import resolve_shortage, split_order

__all__ = [
    "PLATFORMS",
    "RECEIVER_FIELDS",
    "AssignReport",
    "AssignmentRefused",
    "Change",
    "ConcurrentChange",
    "DryRunChange",
    "ImportReport",
    "ProcessReport",
    "accept_address_suggestion",
    "add_shop",
    "approve_order",
    "assign_carrier",
    "assign_warehouse",
    "before_batches",
    "between_batches",
    "cancel_order",
    "content_hash",
    "correct_address",
    "dry_run_rules",
    "duplicate_key",
    "fix_address",
    "hold_order",
    "import_canonical",
    "import_orders",
    "lines_hash",
    "map_sku",
    "merge_orders",
    "parse_canonical",
    "process_orders",
    "record_reveal",
    "reject_order",
    "resolve_shortage",
    "reveal_receiver",
    "review_again",
    "review_if_ready",
    "ship_order",
    "shop_id",
    "split_order",
]
