"""Bring stored masked identity numbers from the old form (first 3, last 4) to the one
`mask_identity` makes now (first 3, last 2), without decrypting anything.

Data migrations call these; keep what they do unchanged once released. An old mask is
first 3 + stars + last 4, so dropping its 3rd- and 4th-last characters for two more stars gives
the new one; masks shorter than 8 (first 1 + stars) stay as they are, and a new mask is left
alone, so running twice changes nothing.
"""

import re

from django.db.models import CharField, Model, Q, Value
from django.db.models.functions import Concat, Length, Substr
from django.db.models.lookups import Exact, GreaterThanOrEqual

BATCH = 2000

# An old mask inside free text. A masked phone (138****5678, from mask_phone) has the shape of an
# old 11-character mask; no document type has 11-digit numbers, so those are left as they are.
_OLD_MASK = re.compile(r"(?<![0-9A-Za-z*])([0-9A-Z]{3})(\*+)([0-9A-Z]{2})([0-9A-Z]{2})(?![0-9A-Za-z*])")
_MASKED_PHONE = re.compile(r"[0-9]{3}\*{4}[0-9]{4}")


def shortened_mask(column: str) -> Concat:
    """The new mask of the old one stored in `column`, as one SQL expression (SQLite, PostgreSQL)."""
    length = Length(column)
    return Concat(Substr(column, 1, length - 4), Value("**"), Substr(column, length - 1), output_field=CharField())


def is_old_mask(column: str) -> Q:
    """Rows whose mask is long enough to have kept four characters and still shows them."""
    length = Length(column)
    return Q(GreaterThanOrEqual(length, 8)) & ~Q(Exact(Substr(column, length - 3, 2), "**"))


def shorten_masked_column(model: type[Model], column: str = "id_masked") -> int:
    """One UPDATE over the whole table; returns the number of rows changed."""
    return model._default_manager.filter(is_old_mask(column)).update(**{column: shortened_mask(column)})


def shorten_masks_in_text(text: str) -> str:
    """Old masks quoted in a label or message (张三 310***********123X) in the new form."""

    def shorten(match: re.Match) -> str:
        if _MASKED_PHONE.fullmatch(match.group(0)):
            return match.group(0)
        return match.group(1) + match.group(2) + "**" + match.group(4)

    return _OLD_MASK.sub(shorten, text)


def shorten_masks_in_text_column(model: type[Model], column: str, only: Q | None = None) -> int:
    """Rewrite old masks inside a free-text column, in batches by primary key (only rows holding a
    star are read). Returns the number of rows changed."""
    rows = model._default_manager.filter(**{f"{column}__contains": "*"})
    if only is not None:
        rows = rows.filter(only)
    changed, last = 0, None
    while True:
        batch = rows.filter(pk__gt=last) if last is not None else rows
        chunk = list(batch.order_by("pk").only("pk", column)[:BATCH])
        if not chunk:
            return changed
        last = chunk[-1].pk
        updated = []
        for row in chunk:
            new = shorten_masks_in_text(getattr(row, column))
            if new != getattr(row, column):
                setattr(row, column, new)
                updated.append(row)
        model._default_manager.bulk_update(updated, [column])
        changed += len(updated)
