"""Log lines never carry a person's identifier or a capability URL (design rule 5).

`redact` rewrites a line; `RedactingFilter` applies it to every record a handler writes
(settings.LOGGING puts it on all handlers; config/gunicorn.py on gunicorn's loggers). What goes:

- door keys (/help/d/<pk>-<code>/) and follow-up tokens (/help/t/<token>/): knowing the URL is
  the permission, so a log reader could file requests as the household or read its request;
- passport card keys (/passport/d/<pk>-<code>/): they tie a household number to its card page;
- the other keyed URLs printed on paper: a group-buy label's door page (/supply/o/), a donation
  receipt's page (/supply/g/), a volunteer post's check-in sheet (/volunteers/p/);
- query strings: searches carry names, mobiles and identity numbers (?q=...);
- 18-character identity numbers and mainland mobile numbers anywhere in the text (SQL debug
  lines, exception messages, a path that holds one).

Standard library only: gunicorn's master imports it before Django is set up.
"""

from __future__ import annotations

import logging
import re

DOOR_KEY = re.compile(r"/help/d/[^/\s?#\"'<>]+")
FOLLOW_TOKEN = re.compile(r"/help/t/[^/\s?#\"'<>]+")
PASSPORT_CARD = re.compile(r"/passport/d/[^/\s?#\"'<>]+")
ORDER_LABEL = re.compile(r"/supply/o/[^/\s?#\"'<>]+")
DONATION_RECEIPT = re.compile(r"/supply/g/[^/\s?#\"'<>]+")
VOLUNTEER_POST = re.compile(r"/volunteers/p/[^/\s?#\"'<>]+")
# A "?" that follows a path (something with a slash, no spaces) starts a query string.
QUERY_STRING = re.compile(r"(/[^\s?#\"'<>]*)\?[^\s#\"'<>]+")
# \d is any Unicode digit, so full-width numbers typed into a search are caught as well.
IDENTITY_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")

_RULES = (
    (DOOR_KEY, "/help/d/[door]"),
    (FOLLOW_TOKEN, "/help/t/[token]"),
    (PASSPORT_CARD, "/passport/d/[card]"),
    (ORDER_LABEL, "/supply/o/[label]"),
    (DONATION_RECEIPT, "/supply/g/[receipt]"),
    (VOLUNTEER_POST, "/volunteers/p/[post]"),
    (QUERY_STRING, r"\1?[query]"),
    (IDENTITY_NUMBER, "[id]"),
    (MOBILE, "[mobile]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites the record in place (message with its arguments merged, exception and stack text)
    and lets it through. Placed on handlers, so records propagated from any logger pass it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
