"""geo: administrative divisions of mainland China, receiver address parsing, phone checks.

Pure code (no database): ``parse_address`` and ``check_phone`` are what order normalisation
calls; ``divisions`` answers lookups by code and name.
"""

from __future__ import annotations

from lvyue.geo.address import ISSUE_ORDER, AddressResult, parse_address
from lvyue.geo.divisions import Division
from lvyue.geo.phone import PhoneResult, check_phone

__all__ = [
    "ISSUE_ORDER",
    "AddressResult",
    "Division",
    "PhoneResult",
    "check_phone",
    "parse_address",
]
