"""One limit on the size of a request body, applied before any of it is read.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE leaves uploaded files out, and each upload's own limit
(roster 20 MB, photos 5 and 10 MB, tracing lists and 12345 exports 10 MB) is checked only once
the whole body has arrived, parsed and spooled to disk. settings.XIUHUA_MAX_REQUEST_BYTES is the
largest body any page or API takes (a roster file at its limit and the form around it):

- RequestSizeLimitMiddleware (first in MIDDLEWARE) answers 413 to a declared Content-Length over
  it. Under WSGI a body without Content-Length (chunked) is never read by Django at all.
- SizeLimitedASGIHandler (config/asgi.py) stops reading a body as soon as it passes the limit:
  an ASGI server hands the body over in pieces, with or without a length, and Django's own
  handler would spool all of it before any middleware runs.

Nginx's client_max_body_size should say the same, so that such a body does not even reach us.
"""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

MB = 1024 * 1024


def request_too_large(path: str) -> HttpResponse:
    """413 in Chinese: JSON for the API, a page for everything else."""
    limit = settings.XIUHUA_MAX_REQUEST_BYTES
    message = _("提交的内容过大(不能超过%(mb)d MB),请压缩照片或拆分文件后重新提交。") % {"mb": limit // MB}
    if path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413, json_dumps_params={"ensure_ascii": False})
    # No request in the context: nothing past this point (session, user, CSRF) has run.
    return HttpResponse(render_to_string("core/too_large.html", {"message": message}), status=413)


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django then reads nothing of the body either
        if declared > settings.XIUHUA_MAX_REQUEST_BYTES:
            return request_too_large(request.path_info)
        return self.get_response(request)


class _BodyTooLarge(Exception):
    pass


class SizeLimitedASGIHandler(ASGIHandler):
    """Django's ASGI handler, reading at most XIUHUA_MAX_REQUEST_BYTES of a body."""

    async def handle(self, scope, receive, send):
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > settings.XIUHUA_MAX_REQUEST_BYTES:
            await self.send_response(request_too_large(scope.get("path", "")), send)
            return
        try:
            await super().handle(scope, receive, send)
        except _BodyTooLarge:
            # Raised by read_body, before the request exists or any signal was sent.
            await self.send_response(request_too_large(scope.get("path", "")), send)

    async def read_body(self, receive):
        limit = settings.XIUHUA_MAX_REQUEST_BYTES
        # Returned open, as Django's read_body does; the handler closes it after the response.
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            piece = message.get("body", b"")
            size += len(piece)
            if size > limit:
                body_file.close()
                raise _BodyTooLarge
            body_file.write(piece)
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file
