"""Codes that make a numbered record's URL unguessable (a household's door card, its passport
card): "<pk>-<code>", the code the first 8 characters, in Crockford's base 32 (no I, L, O, U;
typed I/L read as 1, O as 0, any case), of an HMAC-SHA256 of the pk under a key derived from
SECRET_KEY with the use's own purpose string. 40 bits: guessing a valid code is hopeless, and a
wrong code is the same 404 as a missing record, so the URLs cannot be enumerated.

Rotating SECRET_KEY changes every code, i.e. every printed card. Codes made with a key in
SECRET_KEY_FALLBACKS are still accepted, so a rotation can be followed by reprinting at leisure.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.utils.crypto import salted_hmac

from .codes import ALPHABET, normalise

CODE_LENGTH = 8


class KeyedCode:
    def __init__(self, purpose: str):
        self.purpose = purpose

    def _code(self, pk: int, secret: str) -> str:
        digest = salted_hmac(self.purpose, str(int(pk)), secret=secret, algorithm="sha256").digest()
        value = int.from_bytes(digest[:5], "big")  # 40 bits = 8 characters of base 32
        return "".join(ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))

    def code(self, pk: int) -> str:
        """The record's code, e.g. "K7M2Q9XA"."""
        return self._code(pk, settings.SECRET_KEY)

    def key(self, pk: int) -> str:
        """What the URL and the card carry: "<pk>-<code>"."""
        return f"{int(pk)}-{self.code(pk)}"

    def check(self, pk: int, code: str) -> bool:
        """Whether `code` (any case, I/L for 1, O for 0, spaces and dashes ignored) is the record's,
        under the current key or a fallback one."""
        entered = normalise(code or "")
        if len(entered) != CODE_LENGTH:
            return False
        ok = False
        for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
            ok |= hmac.compare_digest(self._code(pk, secret), entered)
        return ok

    def pk_of(self, key: str) -> int | None:
        """The pk a "<pk>-<code>" key names when its code is right; None otherwise."""
        head, _dash, code = (key or "").partition("-")
        if not head.isascii() or not head.isdigit() or len(head) > 12:
            return None
        pk = int(head)
        return pk if self.check(pk, code) else None
