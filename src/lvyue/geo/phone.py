"""Receiver phone numbers: mainland mobiles and landlines, with platform privacy extensions.

Validity comes from the ``phonenumbers`` library (Google's libphonenumber metadata). Parsing a
number with it costs about 20 µs, too much for the import hot path, so the common case (an
11-digit mobile) is checked against the library's own CN mobile pattern, compiled once; landlines
and anything unusual go through ``phonenumbers.parse`` behind an LRU cache. A test checks that the
fast path agrees with the library.

Platforms hide the buyer's number behind a virtual one plus an extension
(``17012345678-1234``, ``17012345678[1234]``, ``17012345678转1234``, ``_1234``, ``#1234``);
those are split into number and extension and accepted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType

PhoneKind = Literal["mobile", "landline"]
INVALID_PHONE = "invalid_phone"
MISSING_PHONE = "missing_phone"


@dataclass(frozen=True, slots=True)
class PhoneResult:
    raw: str
    valid: bool
    number: str | None  # national form: 13812345678 / 0571-87654321; None when invalid
    extension: str | None
    kind: PhoneKind | None
    issue: str | None  # None, "invalid_phone" or "missing_phone"

    def to_dict(self) -> dict[str, object]:
        return {
            "valid": self.valid,
            "number": self.number,
            "extension": self.extension,
            "kind": self.kind,
            "issue": self.issue,
        }


def _mobile_pattern() -> re.Pattern[str]:
    """The library's own pattern for CN mobile numbers (updated with each phonenumbers release)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    desc = meta.mobile if meta is not None else None
    if desc is None or desc.national_number_pattern is None:
        raise RuntimeError("phonenumbers has no CN mobile metadata")
    return re.compile(desc.national_number_pattern)


_MOBILE = _mobile_pattern()

# Extension written after the number: [1234], 【1234】, (1234), 转1234, ext1234, _1234, #1234,
# ,1234. A plain "-1234" is handled separately because dashes also group digits.
_EXT_TAIL = re.compile(
    r"^(?P<main>.*?\d)\s*(?:[\[【(](?P<b>\d{1,6})[\]】)]|(?:转|ext\.?|分机|[_#,;])\s*(?P<s>\d{1,6}))$",
    re.IGNORECASE,
)
_COUNTRY = re.compile(r"^(?:\+|00)\s*86[\s-]*|^86(?=1\d{10}$)")
_GROUPING = re.compile(r"[\s\-().]")


@lru_cache(maxsize=4096)
def _parse_with_library(national: str) -> tuple[PhoneKind | None, str | None]:
    try:
        num = phonenumbers.parse(national, "CN")
    except phonenumbers.NumberParseException:
        return None, None
    if num.country_code != 86 or not phonenumbers.is_valid_number(num):
        return None, None
    ntype = phonenumbers.number_type(num)
    nsn = phonenumbers.national_significant_number(num)
    if ntype == PhoneNumberType.MOBILE:
        return "mobile", nsn
    if ntype in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        area_len = phonenumbers.length_of_geographical_area_code(num)
        if area_len:
            return "landline", f"0{nsn[:area_len]}-{nsn[area_len:]}"
        return "landline", "0" + nsn
    # Toll-free (400/800), premium and the like are not a receiver's phone.
    return None, None


def _classify(digits: str) -> tuple[PhoneKind | None, str | None]:
    if len(digits) == 11 and digits[0] == "1":
        return ("mobile", digits) if _MOBILE.fullmatch(digits) else (None, None)
    if len(digits) < 9 or digits[0] != "0":
        # Without the area code a landline cannot be dialled from elsewhere: not usable.
        return None, None
    return _parse_with_library(digits)


def _invalid(raw: str) -> PhoneResult:
    return PhoneResult(raw, False, None, None, None, INVALID_PHONE)


def check_phone(raw: str | None) -> PhoneResult:
    """Check one receiver phone as written by a buyer or a channel.

    Letters are rejected before anything else: libphonenumber would read ``138ABCD5678`` as
    keypad digits and call it valid.
    """
    if raw is None or not raw.strip():
        return PhoneResult(raw or "", False, None, None, None, MISSING_PHONE)
    if len(raw) == 11 and raw.isascii() and raw.isdigit():  # the common case, kept cheap
        kind, number = _classify(raw)
        return PhoneResult(raw, True, number, None, kind, None) if kind else _invalid(raw)
    text = unicodedata.normalize("NFKC", raw).strip()
    main, ext = text, None
    m = _EXT_TAIL.match(text)
    if m:
        main, ext = m.group("main"), m.group("b") or m.group("s")
    main = _COUNTRY.sub("", main.strip())
    if any(c.isalpha() for c in main):
        return _invalid(raw)
    digits = _GROUPING.sub("", main)
    if not digits.isdigit():
        return _invalid(raw)
    kind, number = _classify(digits)
    if kind is None and ext is None and "-" in main:
        # "17012345678-1234" or "0571-87654321-808": the last dash-separated group is an
        # extension when what comes before it is a valid number on its own.
        head, _, tail = main.rpartition("-")
        if tail.strip().isdigit() and len(tail.strip()) <= 6:
            kind, number = _classify(_GROUPING.sub("", head))
            ext = tail.strip() if kind else None
    if kind is None or number is None:
        return _invalid(raw)
    return PhoneResult(raw, True, number, ext, kind, None)


# A phone as it appears inside free text. Mobiles with optional +86/0086 and 3-4-4 grouping,
# landlines with area code, then an optional extension; finally any run of 7+ digits, so a
# mistyped number is still found (and then reported invalid) instead of ending up in the address.
PHONE_IN_TEXT = re.compile(
    r"(?=[+0-9])"  # lets the regex engine skip to candidate characters: twice as fast
    r"(?<![0-9A-Za-z])(?:(?:\+|00)\s?86[\s-]?)?"
    r"(?:(?:1\d{2}[\s-]?\d{4}[\s-]?\d{4}|0\d{2,3}[\s-]?\d{3,4}[\s-]?\d{4}|\d{7,})"
    r"(?:\s*(?:[\[【(]\d{1,6}[\]】)]|(?:转|ext\.?|分机|[_#-])\s*\d{1,6}(?!\d)))?(?!\d)"
    # mistyped numbers, found so that they are reported rather than left in the address:
    # wrongly grouped (138-1234-56789) or with letters in them (138ABCD5678)
    r"|1\d{2}[\s-]\d{3,5}[\s-]\d{3,5}(?!\d)"
    r"|[01]\d{2}(?=[0-9]*[A-Za-z])[0-9A-Za-z]{5,10}(?![0-9A-Za-z]))",
    re.IGNORECASE,
)
