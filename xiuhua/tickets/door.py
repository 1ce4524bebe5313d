"""The door code of a household (门牌求助码): what its QR code and the printed card carry.

    /help/d/<household pk>-<code>/      e.g. /help/d/1234-K7M2Q9XA/

The code is core.keyed_codes' (an HMAC of the household's pk under a key derived from SECRET_KEY
with this use's purpose, 8 characters of base 32), so the URLs cannot be enumerated; rotating
SECRET_KEY changes every printed door card, and SECRET_KEY_FALLBACKS keep the old ones working
until they are reprinted.
"""

from __future__ import annotations

from django.urls import reverse

from xiuhua.core.codes import normalise
from xiuhua.core.keyed_codes import CODE_LENGTH, KeyedCode

from .notify import public_base_url

DOOR = KeyedCode("xiuhua.tickets.door.v1")


def door_code(household_pk: int) -> str:
    """The household's code, e.g. "K7M2Q9XA"."""
    return DOOR.code(household_pk)


def door_key(household_pk: int) -> str:
    """What the URL and the card carry: "<pk>-<code>"."""
    return DOOR.key(household_pk)


def check_door_code(household_pk: int, code: str) -> bool:
    """Whether `code` (any case, I/L for 1, O for 0, spaces and dashes ignored) is the household's."""
    return DOOR.check(household_pk, code)


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
