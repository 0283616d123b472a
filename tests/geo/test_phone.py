from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lvyue.geo.phone import PHONE_IN_TEXT, PhoneResult, check_phone


@pytest.mark.parametrize(
    ("raw", "number", "kind"),
    [
        ("13812345678", "13812345678", "mobile"),
        ("199 1234 5678", "19912345678", "mobile"),
        ("138-1234-5678", "13812345678", "mobile"),
        ("+86 138 1234 5678", "13812345678", "mobile"),
        ("+8613812345678", "13812345678", "mobile"),
        ("008613812345678", "13812345678", "mobile"),
        ("8613812345678", "13812345678", "mobile"),
        ("１３８１２３４５６７８", "13812345678", "mobile"),  # full-width digits
        ("16512345678", "16512345678", "mobile"),
        ("010-12345678", "010-12345678", "landline"),
        ("01012345678", "010-12345678", "landline"),
        ("0571-87654321", "0571-87654321", "landline"),
        ("(0755)12345678", "0755-12345678", "landline"),
        ("0592-2186110", "0592-2186110", "landline"),  # 7-digit local numbers exist
    ],
)
def test_valid(raw: str, number: str, kind: str) -> None:
    r = check_phone(raw)
    assert r == PhoneResult(raw, True, number, None, kind, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12345678901",  # no such prefix
        "10012345678",
        "14012345678",  # 140 is data-only, never a phone
        "138ABCD5678",  # keypad letters: the library would accept them
        "138abcd5678",
        "1381234567a",
        "tel13812345678x",
        "87654321",  # landline without area code
        "0571-8765432",  # Hangzhou numbers have 8 digits
        "010-1234567",
        "400-123-4567",  # service number, not a receiver's phone
        "800-820-8820",
        "+1 415 555 2671",  # not a mainland number
        "138-1234-56789",
        "---",
    ],
)
def test_invalid(raw: str) -> None:
    r = check_phone(raw)
    assert not r.valid and r.issue == "invalid_phone" and r.number is None and r.raw == raw


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_missing(raw: str | None) -> None:
    r = check_phone(raw)
    assert not r.valid and r.issue == "missing_phone"


@pytest.mark.parametrize(
    ("raw", "number", "ext"),
    [
        ("17012345678-1234", "17012345678", "1234"),
        ("17012345678[1234]", "17012345678", "1234"),
        ("17012345678【1234】", "17012345678", "1234"),
        ("17012345678(1234)", "17012345678", "1234"),
        ("17012345678转1234", "17012345678", "1234"),
        ("17012345678 转 1234", "17012345678", "1234"),
        ("17012345678_1234", "17012345678", "1234"),
        ("17012345678#1234", "17012345678", "1234"),
        ("17012345678,1234", "17012345678", "1234"),
        ("17012345678ext1234", "17012345678", "1234"),
        ("0571-87654321-808", "0571-87654321", "808"),
        ("0571-87654321转808", "0571-87654321", "808"),
    ],
)
def test_privacy_extensions(raw: str, number: str, ext: str) -> None:
    r = check_phone(raw)
    assert (r.valid, r.number, r.extension, r.issue) == (True, number, ext, None)


def test_extension_does_not_rescue_a_bad_number() -> None:
    assert not check_phone("1701234567-1234").valid
    assert not check_phone("138ABCD5678-1234").valid


def test_to_dict() -> None:
    assert check_phone("17012345678-1234").to_dict() == {
        "valid": True,
        "number": "17012345678",
        "extension": "1234",
        "kind": "mobile",
        "issue": None,
    }


@given(st.from_regex(r"1[0-9]{10}", fullmatch=True))
def test_fast_path_agrees_with_phonenumbers(digits: str) -> None:
    """The 11-digit shortcut uses the library's pattern; it must give the library's answer."""
    try:
        num = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        library = False  # e.g. 110... is read as an international prefix and rejected
    else:
        library = phonenumbers.is_valid_number(num) and (
            phonenumbers.number_type(num) == phonenumbers.PhoneNumberType.MOBILE
        )
    assert check_phone(digits).valid == library


@given(st.text(max_size=40))
def test_never_raises(raw: str) -> None:
    r = check_phone(raw)
    assert r.valid == (r.issue is None)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("张三13812345678广东省", "13812345678"),
        ("李四 +86 138 1234 5678 浙江", "+86 138 1234 5678"),
        ("王五 0571-87654321-808 杭州", "0571-87654321-808"),
        ("17012345678[1234] 深圳", "17012345678[1234]"),
        ("赵六 138ABCD5678 广州", "138ABCD5678"),
        ("钱七 1381234567 广州", "1381234567"),
    ],
)
def test_phone_in_text(text: str, found: str) -> None:
    m = PHONE_IN_TEXT.search(text)
    assert m is not None and m.group() == found


@pytest.mark.parametrize("text", ["3号楼2单元501室", "深南大道10000号", "邮编310000", "3-2-501"])
def test_no_phone_in_addresses(text: str) -> None:
    assert PHONE_IN_TEXT.search(text) is None
