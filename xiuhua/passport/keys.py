"""The key of a household's passport card: what its QR code carries.

    /passport/d/<household pk>-<code>/      e.g. /passport/d/1234-K7M2Q9XA/

The code is 8 characters of Crockford base 32 (40 bits) of an HMAC-SHA256 of the household's pk
under a key derived from SECRET_KEY with this module's purpose, so a card's URL cannot be guessed
from a household number and a wrong code is the same 404 as a missing household. Codes made with
a key in SECRET_KEY_FALLBACKS still open, so a key rotation can be followed by reprinting.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac

from xiuhua.core.codes import ALPHABET, normalise

PURPOSE = "xiuhua.passport.card.v1"
CODE_LENGTH = 8


def _code(household_pk: int, secret: str) -> str:
    digest = salted_hmac(PURPOSE, str(int(household_pk)), secret=secret, algorithm="sha256").digest()
    value = int.from_bytes(digest[:5], "big")
    return "".join(ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))


def card_key(household_pk: int) -> str:
    return f"{int(household_pk)}-{_code(household_pk, settings.SECRET_KEY)}"


def household_of(key: str) -> int | None:
    """The household pk a card key names, when its code is right; None otherwise."""
    head, _dash, code = (key or "").partition("-")
    if not head.isascii() or not head.isdigit() or len(head) > 12:
        return None
    entered = normalise(code)
    if len(entered) != CODE_LENGTH:
        return None
    pk = int(head)
    ok = False
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        ok |= hmac.compare_digest(_code(pk, secret), entered)
    return pk if ok else None


def card_url(household_pk: int) -> str:
    """The full URL the card's QR code holds (settings.PUBLIC_BASE_URL + path)."""
    return str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse("passport:door", kwargs={"code": card_key(household_pk)})
