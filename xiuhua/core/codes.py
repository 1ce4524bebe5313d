"""Short codes that people read aloud and type from paper: Crockford's base 32 with a check character.

Alphabet: digits and letters without I, L, O, U, so a code read aloud or typed from paper is not
confused (typed I/L are read as 1, O as 0). Check character: Luhn mod 32 over that alphabet (the
last character), which catches every single wrong character and every swap of two neighbours.
Mask reservation and voucher numbers (masks/codes.py) and door codes (tickets/door.py) use it.
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
