import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiuhua.core.crypto import decrypt_text, encrypt_text, lookup_hash, mask_identity
from xiuhua.core.idnumbers import (
    IdNumberError,
    IdType,
    check_id,
    check_id_against,
    gb11643_check_char,
    make_resident_id,
    number_holds_birth_date,
)


def test_known_valid_resident_id():
    # The GB 11643 worked example.
    checked = check_id(IdType.RESIDENT_ID, "11010519491231002X")
    assert checked.birth_date == dt.date(1949, 12, 31)
    assert checked.sex == "F"


def test_full_width_and_lowercase_are_normalised():
    checked = check_id(IdType.RESIDENT_ID, "１１０１０５ １９４９１２３１００２ｘ")
    assert checked.number == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("110105194912310021", "校验位不正确"),
        ("11010519491331002" + gb11643_check_char("11010519491331002"), "出生日期无效"),
        ("1101051949123100", "18位"),
        ("", "请填写证件号码"),
    ],
)
def test_bad_resident_ids_are_refused_with_a_reason(raw, message):
    with pytest.raises(IdNumberError) as exc:
        check_id(IdType.RESIDENT_ID, raw)
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("id_type", "number", "holds"),
    [
        (IdType.RESIDENT_ID, "11010519491231002X", True),
        (IdType.RESIDENCE_PERMIT, "810000199007211235", True),
        (IdType.FOREIGN_PERMANENT, "931840199007211232", True),  # 2023 format
        (IdType.FOREIGN_PERMANENT, "USA310090041234", False),  # 2017 format
        (IdType.PASSPORT, "E12345678", False),
        (IdType.HK_MACAU_PERMIT, "H12345678", False),
        (IdType.TAIWAN_PERMIT, "12345678", False),
    ],
)
def test_which_numbers_hold_the_birth_date(id_type, number, holds):
    assert number_holds_birth_date(id_type, number) is holds
    assert number_holds_birth_date(id_type, mask_identity(number)) is holds  # the masked form tells too


def test_birth_date_must_match_the_number():
    with pytest.raises(IdNumberError, match="出生日期与证件号码不一致"):
        check_id_against(IdType.RESIDENT_ID, "11010519491231002X", birth_date=dt.date(1950, 1, 1))


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)), st.integers(0, 999))
def test_generated_ids_always_validate_and_one_changed_digit_never_does(birth, seq):
    number = make_resident_id("310110", birth, seq)
    assert check_id(IdType.RESIDENT_ID, number).birth_date == birth
    wrong = number[:16] + str((int(number[16]) + 1) % 10) + number[17]
    with pytest.raises(IdNumberError):
        check_id(IdType.RESIDENT_ID, wrong)


@pytest.mark.parametrize(
    ("id_type", "raw", "ok"),
    [
        (IdType.RESIDENCE_PERMIT, make_resident_id("810000", dt.date(1990, 1, 2), 11), True),
        (IdType.RESIDENCE_PERMIT, make_resident_id("310110", dt.date(1990, 1, 2), 11), False),
        (IdType.HK_MACAU_PERMIT, "H12345678", True),
        (IdType.HK_MACAU_PERMIT, "X12345678", False),
        (IdType.TAIWAN_PERMIT, "12345678", True),
        (IdType.PASSPORT, "E12345678", True),
        (IdType.PASSPORT, "E1", False),
        (IdType.FOREIGN_PERMANENT, "USA310012345678", True),
        (IdType.FOREIGN_PERMANENT, make_resident_id("931000", dt.date(1985, 6, 1), 5), True),
    ],
)
def test_other_documents(id_type, raw, ok):
    if ok:
        assert check_id(id_type, raw).number == raw
    else:
        with pytest.raises(IdNumberError):
            check_id(id_type, raw)


def test_encryption_round_trip_and_hash_is_keyed(settings):
    token = encrypt_text("11010519491231002X")
    assert "1101051949" not in token
    assert decrypt_text(token) == "11010519491231002X"
    before = lookup_hash("11010519491231002X")
    settings.DATA_KEY = "another-key"
    assert lookup_hash("11010519491231002X") != before


def test_mask_keeps_the_first_three_and_the_last_two():
    assert mask_identity("11010519491231002X") == "110*************2X"
    assert mask_identity("810000199007211235") == "810*************35"
    assert mask_identity("E12345678") == "E12****78"  # a passport
    assert mask_identity("H1234567") == "H12***67"  # 8 characters: the rule still holds
    assert mask_identity("A123456") == "A******"  # shorter: the first character only
    assert mask_identity("") == ""
