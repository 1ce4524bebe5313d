"""Reservation and voucher numbers: short, random, readable over the phone, with a check character
(the alphabet and check of core.codes).

- reservation number: `<round id>-<7 characters><check>`, e.g. `12-7K3M9QXD`;
- voucher number: 12 characters and a check character, e.g. `7K3M9QXD2B4HT`, shown in groups
  of four (`7K3M-9QXD-2B4H-T`).

Both are random (35 and 60 bits): a number says nothing about the queue place or the person.
Uniqueness is the database's job (unique columns); the rare collision is retried.
"""

import random
import unicodedata

from xiuhua.core.codes import ALPHABET, check_char, is_valid, normalise, random_code

__all__ = ["ALPHABET", "check_char", "format_voucher_number", "is_valid", "new_reservation_number",
           "new_voucher_number", "normalise", "normalise_reservation_number", "random_code"]

_RNG = random.SystemRandom()


def new_voucher_number() -> str:
    return random_code(4)


def new_reservation_number(round_id: int) -> str:
    # One read of the system's randomness, 5 bits a character (32 letters): a choice() per
    # character read it seven times, a tenth of a busy worker's time in the opening burst.
    bits = _RNG.getrandbits(5 * 7)
    body = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(7))
    return f"{round_id}-{body}{check_char(body)}"


def normalise_reservation_number(raw: str) -> str:
    """`12 7k3m 9qxd` -> `12-7K3M9QXD`; returns "" when the shape or check character is wrong."""
    text = unicodedata.normalize("NFKC", raw or "").strip().upper()
    head, sep, tail = text.partition("-")
    if not sep or not head.isdigit():
        return ""
    code = normalise(tail)
    return f"{int(head)}-{code}" if len(code) == 8 and is_valid(code) else ""


def format_voucher_number(number: str) -> str:
    return "-".join(number[i : i + 4] for i in range(0, len(number), 4))
