"""Checks on free text that people type or import."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Control (Cc) and format (Cf) characters, line and paragraph separators (Zl, Zp) and stray
# surrogates (Cs). Format characters include the bidirectional overrides and isolates
# (U+202A-202E, U+2066-2069), which make "张三" display as another name on screen and in
# exports, and the zero-width ones (U+200B-200F, U+FEFF), which make two records of one person
# look identical while their names compare unequal. Private-use characters (Co) stay allowed:
# older systems put rare characters of Chinese names there; so do variation selectors (Mn).
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

HIDDEN_CHARACTERS_MESSAGE = _("姓名含有不可见或控制字符")


def check_person_name(value: str) -> str:
    """The name without surrounding whitespace; ValidationError if an invisible or control
    character is left inside it. Every place that takes a person's name calls it (residents,
    roster rows, arrivals, tracing lists, work orders, mask reservations); it also serves as a
    form field validator."""
    name = (value or "").strip()
    if any(unicodedata.category(ch) in REFUSED_CATEGORIES for ch in name):
        raise ValidationError(HIDDEN_CHARACTERS_MESSAGE, code="hidden_characters")
    return name
