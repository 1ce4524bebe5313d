"""The key of a household's passport card: what its QR code carries.

    /passport/d/<household pk>-<code>/      e.g. /passport/d/1234-K7M2Q9XA/

The code is core.keyed_codes' under this module's own purpose, so a card's URL cannot be guessed
from a household number and a wrong code is the same 404 as a missing household; codes made with
a key in SECRET_KEY_FALLBACKS still open, so a key rotation can be followed by reprinting.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from xiuhua.core.keyed_codes import KeyedCode

CARD = KeyedCode("xiuhua.passport.card.v1")


def card_key(household_pk: int) -> str:
    return CARD.key(household_pk)


def household_of(key: str) -> int | None:
    """The household pk a card key names, when its code is right; None otherwise."""
    return CARD.pk_of(key)


def card_url(household_pk: int) -> str:
    """The full URL the card's QR code holds (settings.PUBLIC_BASE_URL + path)."""
    return str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse("passport:door", kwargs={"code": card_key(household_pk)})
