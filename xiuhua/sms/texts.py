"""SMS templates: a small registry of code -> Chinese text with {placeholders}.

Providers in China send only pre-approved templates: the HTTP backend passes the template code
and the parameters, and the provider fills them in; the dev backend and the outbox page use the
text rendered here. The signature 【...】 is added by the provider from SMS_SIGN_NAME, so the
registered text leaves it out and `render` puts it in front to show what the phone receives.

The texts are not run through gettext on purpose: they are approved by the provider word for
word, and the language active when a message is queued is a staff member's, not the resident's.

One segment holds 70 characters (UCS-2); a longer message is split into parts of 67 and billed
per part, and old phones may show the parts out of order, so keep texts under 70 with the sign.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy

from xiuhua.core.crypto import mask_identity, mask_phone

SEGMENT_CHARS = 70
MULTIPART_SEGMENT_CHARS = 67
SECRET_MASK = "******"


@dataclass(frozen=True)
class SmsTemplate:
    code: str
    text: str
    # Parameters never shown on staff pages and scrubbed from the row once the message is out.
    secret_params: tuple[str, ...] = ()

    @property
    def params(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.text) if name}


_REGISTRY: dict[str, SmsTemplate] = {}


def register_template(code: str, text: str, *, secret_params: tuple[str, ...] = ()) -> SmsTemplate:
    """Add a template (other apps call this from their AppConfig.ready)."""
    template = SmsTemplate(code=code, text=text, secret_params=tuple(secret_params))
    existing = _REGISTRY.get(code)
    if existing is not None and existing != template:
        raise ValueError(f"SMS template {code!r} is already registered with another text")
    _REGISTRY[code] = template
    return template


_PURPOSES: dict[str, object] = {}


def register_purpose(code: str, label) -> str:
    """Name a message purpose for the staff pages (apps call this beside their templates); a
    one-time code's purpose is `otp_…` and needs none."""
    existing = _PURPOSES.get(code)
    if existing is not None and str(existing) != str(label):
        raise ValueError(f"SMS purpose {code!r} is already registered with another label")
    _PURPOSES[code] = label
    return code


def purpose_label(code: str) -> str:
    if code.startswith("otp_"):
        return gettext("验证码")
    label = _PURPOSES.get(code)
    return str(label) if label is not None else code


def registered_purposes() -> set[str]:
    return set(_PURPOSES)


def get_template(code: str) -> SmsTemplate:
    try:
        return _REGISTRY[code]
    except KeyError:
        raise ValueError(f"unknown SMS template {code!r}") from None


def all_templates() -> list[SmsTemplate]:
    return sorted(_REGISTRY.values(), key=lambda t: t.code)


def sign_prefix() -> str:
    sign = getattr(settings, "SMS_SIGN_NAME", "") or ""
    return f"【{sign}】" if sign else ""


def render(code: str, params: dict, *, masked: bool = False) -> str:
    """The text as the phone shows it; with masked=True, secret parameters read ******."""
    template = get_template(code)
    missing = template.params - set(params)
    if missing:
        raise ValueError(f"SMS template {code!r} needs {sorted(missing)}")
    values = {k: str(v) for k, v in params.items()}
    if masked:
        values.update({name: SECRET_MASK for name in template.secret_params})
    return sign_prefix() + template.text.format(**values)


def scrub_params(code: str, params: dict) -> dict:
    """The parameters with the template's secret ones masked."""
    template = _REGISTRY.get(code)
    if template is None:
        return dict(params)
    return {k: (SECRET_MASK if k in template.secret_params else v) for k, v in params.items()}


def segments(text: str) -> int:
    """How many SMS parts a text takes (70 characters in one, 67 per part beyond)."""
    if len(text) <= SEGMENT_CHARS:
        return 1
    return math.ceil(len(text) / MULTIPART_SEGMENT_CHARS)


_WS = re.compile(r"\s+")
_UNSTORABLE_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LONE_SURROGATES = re.compile(r"[\ud800-\udfff]")


def storable_text(raw: str) -> str:
    """What a provider sent, as both databases can store it: control characters other than tab
    and line breaks dropped (PostgreSQL refuses NUL in text), lone surrogates (JSON may carry
    "\\ud800"; no encoding can write them) replaced by U+FFFD."""
    return _LONE_SURROGATES.sub("\ufffd", _UNSTORABLE_CONTROLS.sub("", raw))


def normalise_text(raw: str) -> str:
    """Full-width to half-width (NFKC), runs of spaces to one, ends trimmed; Chinese unchanged.

    NFKC maps full-width letters, digits, spaces and the full-width comma/colon/question mark
    to ASCII; CJK characters and the ideographic full stop stay as they are.
    """
    text = unicodedata.normalize("NFKC", raw or "")
    return _WS.sub(" ", text).strip()


def compact_text(raw: str) -> str:
    """normalise_text without any spaces and in upper case: what keywords are matched against,
    so that 帮 助, ｈｅｌｐ and Help all match."""
    return normalise_text(raw).replace(" ", "").upper()


# 11 characters or more: mobiles (11), identity numbers (15, 18); dates and serials stay.
_LONG_NUMBER = re.compile(r"(?<![0-9])[0-9]{10,}[0-9Xx](?![0-9A-Za-z])")


def mask_numbers(text: str) -> str:
    """Hide long digit runs (phones, identity numbers) in free text shown on staff pages."""

    def hide(match: re.Match) -> str:
        value = match.group(0)
        # Eleven digits are a phone number; a longer run is taken for an identity number.
        return mask_phone(value) if len(value) == 11 else mask_identity(value)

    return _LONG_NUMBER.sub(hide, text)


# Built-in templates. Other modules register theirs (mask vouchers, reservation receipts).
OTP = register_template("XH_OTP", "验证码{code},5分钟内有效,请勿告诉他人。", secret_params=("code",))
# A handler's reply to an inbound message. A real provider approves this as a notification
# template with one variable; keep replies short (one segment with the sign is 64 characters).
REPLY = register_template("XH_REPLY", "{content}")
register_purpose("reply", gettext_lazy("回复居民短信"))
