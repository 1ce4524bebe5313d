import phonenumbers
from django.utils.translation import gettext_lazy as _

from .idnumbers import normalise


class PhoneError(ValueError):
    pass


def normalise_mobile(raw: str) -> str:
    """A mainland mobile as its 11 digits; another country's number in E.164 (+44...)."""
    text = normalise(raw).replace("-", "").replace("(", "").replace(")", "")
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise PhoneError(_("手机号码格式不正确")) from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(_("手机号码格式不正确"))
    if number.country_code == 86:
        if phonenumbers.number_type(number) not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            raise PhoneError(_("请填写手机号码(11位)"))
        return str(number.national_number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
