"""Tube and box barcodes as scanners and lab files give them: full-width characters, spaces
around (a typed barcode with a trailing space), lower case. The one normal form every reader uses."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_ALLOWED = re.compile(r"[A-Z0-9\-]{4,40}")


def normalise_barcode(raw: object) -> str:
    """The barcode in its normal form, or "" when it is not one (too short, other characters)."""
    text = unicodedata.normalize("NFKC", str(raw or "")).strip().upper()
    text = _SPACES.sub("", text)
    return text if _ALLOWED.fullmatch(text) else ""
