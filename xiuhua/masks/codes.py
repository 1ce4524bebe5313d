"""Reservation and voucher numbers: short, random, readable over the phone, with a check character.

Alphabet: Crockford's base 32 (digits and letters without I, L, O, U), so a number read aloud or
typed from paper is not confused (typed I/L are read as 1, O as 0).
Check character: Luhn mod 32 over that alphabet (the last character), which catches every single
wrong character and every swap of two neighbours.

- reservation number: `<round id>-<7 characters><check>`, e.g. `12-7K3M9QXD`;
- voucher number: 12 characters and a check character, e.g. `7K3M9QXD2B4HT`, shown in groups
  of four (`7K3M-9QXD-2B4H-T`).

Both are random (35 and 60 bits): a number says nothing about the queue place or the person.
Uniqueness is the database's job (unique columns); the rare collision is retried.
"""

import random
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_N = len(ALPHABET)
_RNG = random.SystemRandom()


def _addend(value: int, factor: int) -> int:
    a = value * factor
    return a // _N + a % _N


def check_char(body: str) -> str:
    """Luhn mod 32: from the right, double every other value starting with the rightmost."""
    total = 0
    factor = 2
    for ch in reversed(body):
        total += _addend(_VALUE[ch], factor)
        factor = 3 - factor
    return ALPHABET[(_N - total % _N) % _N]


def is_valid(code: str) -> bool:
    return len(code) >= 2 and all(c in _VALUE for c in code) and check_char(code[:-1]) == code[-1]


def normalise(raw: str) -> str:
    """Full-width to half-width, separators out, upper case, I/L -> 1 and O -> 0."""
    text = unicodedata.normalize("NFKC", raw or "").upper()
    text = "".join(ch for ch in text if ch.isalnum())
    return text.replace("I", "1").replace("L", "1").replace("O", "0")


# Voucher numbers are made by the hundred thousand when stock arrives: a table of every
# 3-character chunk with its Luhn sums (for each starting factor) makes that ~1 µs each.
_CHUNK_BITS = 15
_CHUNKS: list[tuple[str, int, int]] = []


def _chunk_table() -> list[tuple[str, int, int]]:
    global _CHUNKS
    if not _CHUNKS:
        table = []  # built aside and swapped in whole, so another thread never sees half of it
        for v in range(1 << _CHUNK_BITS):
            digits = (v >> 10 & 31, v >> 5 & 31, v & 31)
            text = "".join(ALPHABET[d] for d in digits)
            # Sums when the chunk's last character gets factor 2 (a) or factor 1 (b).
            a = _addend(digits[2], 2) + _addend(digits[1], 1) + _addend(digits[0], 2)
            b = _addend(digits[2], 1) + _addend(digits[1], 2) + _addend(digits[0], 1)
            table.append((text, a, b))
        _CHUNKS = table
    return _CHUNKS


def random_code(chunks: int) -> str:
    """3*chunks random characters followed by their check character."""
    table = _chunk_table()
    bits = _RNG.getrandbits(_CHUNK_BITS * chunks)
    parts = []
    total = 0
    factor_two = True  # the rightmost chunk's last character is doubled
    for _ in range(chunks):
        text, a, b = table[bits & 0x7FFF]
        bits >>= _CHUNK_BITS
        parts.append(text)
        total += a if factor_two else b
        factor_two = not factor_two  # chunks have odd length, so the pattern flips
    parts.reverse()
    return "".join(parts) + ALPHABET[(_N - total % _N) % _N]


def new_voucher_number() -> str:
    return random_code(4)


def new_reservation_number(round_id: int) -> str:
    body = "".join(_RNG.choice(ALPHABET) for _ in range(7))
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
