"""JSON request bodies read with limits on size and nesting.

`json.loads` recurses once per nested array or object, so a few kilobytes of `[` raise
RecursionError (a 500) before any size limit matters. The body is measured first, then its
nesting is counted in one pass over the text (brackets inside strings do not count), and only
a body within both limits reaches the parser.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _


class JsonBodyError(Exception):
    """A body that cannot be used: `status_code` (400 or 413) and a Chinese `message` to show."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def nesting_depth(text: str, *, stop_above: int) -> int:
    """The deepest nesting of arrays and objects in JSON text; stops counting past `stop_above`."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json_body(request: HttpRequest, *, max_bytes: int, max_depth: int = 8, empty: Any = None) -> Any:
    """The decoded JSON body (`empty` for an empty one); raises JsonBodyError: 413 past
    `max_bytes`, 400 for text that is not JSON or nests deeper than `max_depth`."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > max_bytes:
        raise JsonBodyError(413, _("请求内容过大"))  # refused before reading it
    raw = request.body
    if len(raw) > max_bytes:
        raise JsonBodyError(413, _("请求内容过大"))
    if not raw.strip():
        return empty
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError(400, _("请求体不是有效的 JSON")) from None
    if nesting_depth(text, stop_above=max_depth) > max_depth:
        raise JsonBodyError(400, _("请求体嵌套层数过多"))
    try:
        return json.loads(text)
    except ValueError:
        raise JsonBodyError(400, _("请求体不是有效的 JSON")) from None
