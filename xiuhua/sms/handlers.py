"""Inbound keywords: a registry that other apps add their handlers to.

    from xiuhua.sms.handlers import Reply, register_inbound_handler

    def reserve_masks(message):          # an InboundMessage
        ...                              # call the app's service
        return "已收到您的预约,序号12。"   # or Reply(...), or None for no reply

    register_inbound_handler(r"预约|YY", reserve_masks, keyword="预约")   # in AppConfig.ready

The pattern is matched (re.match, case-insensitive) against the start of the message after
normalising: full-width to half-width, spaces removed, upper case, trailing 。.!,; dropped, so
"帮 助。", "ｈｅｌｐ" and "Help" all match. Handlers are tried in registration order; the first
whose pattern matches handles the message. The handler runs inside the transaction that stores
its result and queues its reply, so a handler that raises leaves nothing half done. A message
that no pattern matches gets the help text, which lists every `keyword` registered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .texts import compact_text, normalise_text

if TYPE_CHECKING:
    import datetime as dt

    from xiuhua.places.models import OrgUnit

    from .models import InboundSms


@dataclass(frozen=True)
class InboundMessage:
    sms: InboundSms
    phone: str
    text: str  # NFKC, single spaces, trimmed: for parsing arguments
    compact: str  # what the pattern matched
    match: re.Match
    received_at: dt.datetime


@dataclass(frozen=True)
class Reply:
    """A handler's answer: free text (sent with the XH_REPLY template) or a template of its own;
    `committee` files the exchange under a committee, for its staff's outbox page."""

    text: str = ""
    template: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    committee: OrgUnit | None = None
    purpose: str = ""


HandlerResult = str | Reply | None
Handler = Callable[[InboundMessage], HandlerResult]


@dataclass(frozen=True)
class InboundHandler:
    pattern: re.Pattern
    handler: Handler
    keyword: str
    name: str


_HANDLERS: list[InboundHandler] = []
_TRAILING = re.compile(r"[。.!,;~、]+$")


def match_text(raw: str) -> str:
    return _TRAILING.sub("", compact_text(raw))


def _compile(keyword_pattern: str | re.Pattern) -> re.Pattern:
    if isinstance(keyword_pattern, re.Pattern):
        return re.compile(keyword_pattern.pattern, keyword_pattern.flags | re.IGNORECASE)
    return re.compile(keyword_pattern, re.IGNORECASE)


def register_inbound_handler(
    keyword_pattern: str | re.Pattern, handler: Handler, *, keyword: str = "", name: str = ""
) -> InboundHandler:
    """Add a handler; `keyword` is what the help reply tells residents to send (blank: not
    listed). Registering the same pattern again with the same handler is a no-op."""
    pattern = _compile(keyword_pattern)
    entry = InboundHandler(
        pattern=pattern, handler=handler, keyword=keyword,
        name=name or f"{getattr(handler, '__module__', '')}.{getattr(handler, '__qualname__', repr(handler))}",
    )
    for existing in _HANDLERS:
        if existing.pattern.pattern == pattern.pattern:
            if existing.handler is handler:
                return existing
            raise ValueError(f"an inbound handler for {pattern.pattern!r} is already registered")
    _HANDLERS.append(entry)
    return entry


def unregister_inbound_handler(keyword_pattern: str | re.Pattern) -> None:
    pattern = _compile(keyword_pattern).pattern
    _HANDLERS[:] = [h for h in _HANDLERS if h.pattern.pattern != pattern]


def registered_handlers() -> list[InboundHandler]:
    return list(_HANDLERS)


def find_handler(raw_text: str) -> tuple[InboundHandler, re.Match] | None:
    compact = match_text(raw_text)
    for entry in _HANDLERS:
        found = entry.pattern.match(compact)
        if found:
            return entry, found
    return None


def keywords() -> list[str]:
    return [h.keyword for h in _HANDLERS if h.keyword]


def help_text(*, unrecognised: bool = False) -> str:
    listed = "、".join(keywords())
    lead = "未能识别您的短信。" if unrecognised else ""
    return f"{lead}可发送以下关键字:{listed}。其他事项请联系居委会。"


def help_handler(message: InboundMessage) -> HandlerResult:
    return help_text()


HELP_PATTERN = r"(?:帮助|HELP|\?)$"


def register_builtin_handlers() -> None:
    register_inbound_handler(HELP_PATTERN, help_handler, keyword="帮助", name="help")


__all__ = [
    "InboundMessage",
    "Reply",
    "register_inbound_handler",
    "unregister_inbound_handler",
    "help_text",
    "normalise_text",
]
