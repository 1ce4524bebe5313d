"""The door code of a household (门牌求助码): what its QR code and the printed card carry.

    /help/d/<household pk>-<code>/      e.g. /help/d/1234-K7M2Q9XA/

The code is the first 8 characters, in Crockford's base 32 (no I, L, O, U; typed I/L read as 1,
O as 0, any case), of an HMAC-SHA256 of the household's pk under a key derived from SECRET_KEY
with a purpose string. 40 bits: guessing a valid code for any household is hopeless, and a wrong
code is the same 404 as a missing household, so the URLs cannot be enumerated.

Rotating SECRET_KEY changes every code, i.e. every printed door card. Codes made with a key in
SECRET_KEY_FALLBACKS are still accepted, so a rotation can be followed by reprinting at leisure.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

from xiuhua.core.codes import ALPHABET, normalise

from .notify import public_base_url

PURPOSE = "xiuhua.tickets.door.v1"
CODE_LENGTH = 8


def _code(household_pk: int, secret: str) -> str:
    digest = salted_hmac(PURPOSE, str(int(household_pk)), secret=secret, algorithm="sha256").digest()
    value = int.from_bytes(digest[:5], "big")  # 40 bits = 8 characters of base 32
    return "".join(ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))


def door_code(household_pk: int) -> str:
    """The household's code, e.g. "K7M2Q9XA"."""
    return _code(household_pk, settings.SECRET_KEY)


def door_key(household_pk: int) -> str:
    """What the URL and the card carry: "<pk>-<code>"."""
    return f"{int(household_pk)}-{door_code(household_pk)}"


def check_door_code(household_pk: int, code: str) -> bool:
    """Whether `code` (any case, I/L for 1, O for 0, spaces and dashes ignored) is the household's."""
    entered = normalise(code or "")
    if len(entered) != CODE_LENGTH:
        return False
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(_code(household_pk, secret), entered)
    return ok


def parse_door_key(text: str) -> tuple[int, str] | None:
    """ "1234-K7M2Q9XA", "1234 k7m2 q9xa" or "1234K7M2Q9XA", as typed from the card ->
    (1234, "K7M2Q9XA"); None when it cannot be one."""
    flat = normalise(text or "")
    head, tail = flat[:-CODE_LENGTH], flat[-CODE_LENGTH:]
    if not head or not head.isascii() or not head.isdigit() or len(head) > 12:
        return None
    return int(head), tail


def door_path(household_pk: int) -> str:
    return reverse("help:door", kwargs={"key": door_key(household_pk)})


def door_url(household_pk: int) -> str:
    """The full URL the QR code holds (settings.PUBLIC_BASE_URL + path)."""
    return public_base_url() + door_path(household_pk)
