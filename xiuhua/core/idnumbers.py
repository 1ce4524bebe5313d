"""Identity documents: normalisation and validation, with messages in the user's language.

The resident ID (居民身份证) follows GB 11643-1999: 6-digit region, 8-digit birth date,
3-digit sequence (odd for men), and an ISO 7064 MOD 11-2 check character.
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("居民身份证")
    RESIDENCE_PERMIT = "residence_permit", _("港澳台居民居住证")
    PASSPORT = "passport", _("护照")
    HK_MACAU_PERMIT = "hk_macau_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    FOREIGN_PERMANENT = "foreign_permanent", _("外国人永久居留身份证")


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class IdNumberError(ValueError):
    """Raised with a message that can be shown to the user as it is."""


@dataclass(frozen=True)
class CheckedId:
    id_type: str
    number: str
    birth_date: dt.date | None
    sex: str | None  # "M" / "F" where the number encodes it


def normalise(raw: str) -> str:
    """Full-width to half-width, spaces out, upper case: ＩＤ　３１０... -> ID310..."""
    text = unicodedata.normalize("NFKC", raw or "")
    return re.sub(r"\s+", "", text).upper()


def gb11643_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def _check_18_digit(number: str, id_type: str, *, prefixes: tuple[str, ...] = ()) -> CheckedId:
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise IdNumberError(_("证件号码应为18位,最后一位可以是数字或X"))
    if prefixes and not number.startswith(prefixes):
        raise IdNumberError(_("证件号码开头不符合该证件类型"))
    if gb11643_check_char(number[:17]) != number[17]:
        raise IdNumberError(_("证件号码校验位不正确,请核对"))
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(_("证件号码中的出生日期无效")) from None
    if birth > dt.date.today() or birth.year < 1890:
        raise IdNumberError(_("证件号码中的出生日期无效"))
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return CheckedId(id_type, number, birth, sex)


def check_id(id_type: str, raw: str) -> CheckedId:
    number = normalise(raw)
    if not number:
        raise IdNumberError(_("请填写证件号码"))
    if id_type == IdType.RESIDENT_ID:
        return _check_18_digit(number, id_type)
    if id_type == IdType.RESIDENCE_PERMIT:
        # HK 810000, Macau 820000, Taiwan 830000; same structure and check as the resident ID.
        return _check_18_digit(number, id_type, prefixes=("810000", "820000", "830000"))
    if id_type == IdType.FOREIGN_PERMANENT:
        if re.fullmatch(r"9[0-9]{16}[0-9X]", number):  # 2023 format, with a GB 11643 check char
            return _check_18_digit(number, id_type)
        if re.fullmatch(r"[A-Z]{3}[0-9]{12}", number):  # 2017 format
            return CheckedId(id_type, number, None, None)
        raise IdNumberError(_("外国人永久居留身份证号码格式不正确"))
    if id_type == IdType.HK_MACAU_PERMIT:
        if re.fullmatch(r"[HM][0-9]{8}([0-9]{2})?", number):
            return CheckedId(id_type, number, None, None)
        raise IdNumberError(_("港澳通行证号码应为H或M开头加8位或10位数字"))
    if id_type == IdType.TAIWAN_PERMIT:
        if re.fullmatch(r"[0-9]{8}([0-9]{2})?", number):
            return CheckedId(id_type, number, None, None)
        raise IdNumberError(_("台湾通行证号码应为8位或10位数字"))
    if id_type == IdType.PASSPORT:
        if re.fullmatch(r"[A-Z0-9]{5,17}", number):
            return CheckedId(id_type, number, None, None)
        raise IdNumberError(_("护照号码应为5到17位字母或数字"))
    raise IdNumberError(_("未知的证件类型"))


def check_id_against(id_type: str, raw: str, *, birth_date: dt.date | None) -> CheckedId:
    """check_id, plus: the birth date entered must match the one in the number."""
    checked = check_id(id_type, raw)
    if birth_date and checked.birth_date and birth_date != checked.birth_date:
        raise IdNumberError(_("出生日期与证件号码不一致"))
    return checked


def number_holds_birth_date(id_type: str, number: str) -> bool:
    """Whether the number spells out its holder's birth date: resident IDs, residence permits and
    the 2023 foreign permanent-residence card (it starts with 9). The masked form answers as well
    as the number, since only the first character is looked at."""
    if id_type in (IdType.RESIDENT_ID, IdType.RESIDENCE_PERMIT):
        return True
    return id_type == IdType.FOREIGN_PERMANENT and number[:1] == "9"


def make_resident_id(region: str, birth: dt.date, sequence: int) -> str:
    """A valid number for demo data and tests (region 6 digits, sequence 0-999)."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + gb11643_check_char(first17)


def guess_id_type(number: str) -> str:
    """The document type a number most likely is, when a list or an SMS gives only the number."""
    n = unicodedata.normalize("NFKC", number).upper()
    if len(n) == 18 and n[:2] in ("81", "82", "83"):
        return IdType.RESIDENCE_PERMIT
    if len(n) == 18 and n[0] == "9":
        return IdType.FOREIGN_PERMANENT
    if len(n) == 18:
        return IdType.RESIDENT_ID
    if re.fullmatch(r"[HM][0-9]{8}([0-9]{2})?", n):
        return IdType.HK_MACAU_PERMIT
    if re.fullmatch(r"[0-9]{8}([0-9]{2})?", n):
        return IdType.TAIWAN_PERMIT
    return IdType.PASSPORT
