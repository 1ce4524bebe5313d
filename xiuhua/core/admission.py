"""Admission control: past capacity, refuse at once instead of queueing into timeouts.

A round's opening minute can bring several times the requests the workers can serve. Queued,
they all get slow, clients time out and retry, and the retries make it worse: every peer system
fell over that way on its first day. So each worker process admits at most as many requests of a
lane as it can serve at once, and answers the rest immediately:

- resident lanes (the paths in settings.XIUHUA_ADMISSION_LANES with a busy page or "json"): at
  most settings.XIUHUA_RESIDENT_SLOTS requests in progress per process. The rest get 503 with
  `Retry-After`: a page that says the right to reserve is not lost (nothing was done) and gives
  the SMS way, or `{"detail": …}` for the API. Nothing of the request has been read or done, so a
  retry of the same request is safe; the reservation itself is idempotent (one per person and
  round: a retry that finds the first one answers it again, 200 instead of 201).
- the staff lane (everything else): its own XIUHUA_STAFF_SLOTS, so that staff pages keep their
  capacity and stay fast while residents surge.

The limit counts requests in progress, not requests per second, so it follows the machine:
admitted requests finish at full speed, and the number of workers sets capacity. It only works
with a server that hands every request to the application at once: gunicorn's gthread worker
(config/gunicorn.py), with more threads than the two lanes' slots, so that refusals still find
a thread. A sync worker takes one request at a time and leaves the rest in the kernel's queue,
where nothing can refuse them. Past about twice capacity the threads themselves become the
queue; the production worker (config/gunicorn_worker.py) then answers residents at the door
with door_answer(), the same 503 as raw HTTP, before any thread takes the request.

The middleware comes first in MIDDLEWARE: a refusal costs no session, no user, no database.
The busy answers are rendered once per lane, language and SMS number, and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

STAFF = "staff"
JSON = "json"
OPEN = "open"  # no gate: the load balancer's health check must not be refused in a surge


@dataclass(frozen=True)
class Lane:
    name: str  # "resident" or "staff": the slots it shares
    busy: str  # a template for the busy page, or JSON


class Gate:
    """At most `slots` (the name of a setting) requests in progress; `enter()` says whether this
    one may go on. The setting is read on each request, so a test can change it."""

    def __init__(self, slots: str):
        self.slots = slots
        self.in_progress = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.in_progress >= getattr(settings, self.slots):
                return False
            self.in_progress += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_progress -= 1


def lane_of(path: str, lanes: list[tuple[str, str]]) -> Lane:
    """The first prefix of `lanes` that the path starts with decides; none: the staff lane."""
    for prefix, busy in lanes:
        if path.startswith(prefix):
            if busy in (STAFF, OPEN):
                return Lane(busy, "core/busy.html")
            return Lane("resident", busy)
    return Lane(STAFF, "core/busy.html")


_STATUS_LINE = b"HTTP/1.1 503 Service Unavailable\r\n"
_door_middleware: AdmissionMiddleware | None = None


def door_answer(head: bytes) -> tuple[int, bytes] | None:
    """For the door of config/gunicorn_worker.py: (the request's length, the whole 503 response)
    when `head` holds a complete request (headers and body) on a resident lane; else None."""
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = head[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    headers = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if not sep:
            return None
        headers[key.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        return None
    try:
        length = end + 4 + int(headers.get("content-length", "0"))
    except ValueError:
        return None
    if length > len(head):
        return None
    global _door_middleware
    if _door_middleware is None:
        _door_middleware = AdmissionMiddleware(lambda request: HttpResponse())
    path = parts[1].split("?", 1)[0]
    lane = lane_of(path, _door_middleware.lanes)
    if lane.name != "resident":
        return None
    cookies = {}
    for item in headers.get("cookie", "").split(";"):
        key, _sep, value = item.strip().partition("=")
        cookies[key] = value
    response = _door_middleware.refuse(cookies, lane)
    response["Connection"] = "close"
    head_lines = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in response.items())
    return length, _STATUS_LINE + head_lines + b"\r\n" + response.content


class AdmissionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.lanes: list[tuple[str, str]] = list(settings.XIUHUA_ADMISSION_LANES)
        self.gates = {
            "resident": Gate("XIUHUA_RESIDENT_SLOTS"),
            STAFF: Gate("XIUHUA_STAFF_SLOTS"),
        }
        self.retry_after = int(settings.XIUHUA_BUSY_RETRY_AFTER)
        self._busy: dict[tuple[str, str, str], tuple[bytes, str]] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        lane = lane_of(request.path_info, self.lanes)
        if lane.name == OPEN:
            return self.get_response(request)
        gate = self.gates[lane.name]
        if not gate.enter():
            return self.refuse(request.COOKIES, lane)
        try:
            return self.get_response(request)
        finally:
            gate.leave()

    def refuse(self, cookies: Mapping[str, str], lane: Lane) -> HttpResponse:
        chosen = cookies.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        sms_number = getattr(settings, "SMS_INBOUND_NUMBER", "")
        key = (lane.busy, language, sms_number)
        if key not in self._busy:
            self._busy[key] = self.render(lane.busy, language, sms_number)
        body, content_type = self._busy[key]
        response = HttpResponse(body, status=503, content_type=content_type)
        # Expected under a surge, and counted by the server's access log: not an error to log
        # (Django logs every 5xx at ERROR, a line per refusal, when thousands come a second).
        response._has_been_logged = True  # type: ignore[attr-defined]
        response["Content-Length"] = str(len(body))  # CommonMiddleware, which would set it, has not run
        response["Retry-After"] = str(self.retry_after)
        response["Cache-Control"] = "no-store"
        response["Content-Language"] = language
        response["X-Content-Type-Options"] = "nosniff"
        response["X-Frame-Options"] = "DENY"
        response["Referrer-Policy"] = "same-origin"
        if content_type.startswith("text/html"):
            # The busy pages have no script and no inline style: our stylesheet only.
            response["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
                "frame-ancestors 'none'"
            )
        return response

    def render(self, busy: str, language: str, sms_number: str) -> tuple[bytes, str]:
        with translation.override(language):
            if busy == JSON:
                import json

                message = _("当前访问人数过多,您的登记尚未提交,预约资格不会因此失去。请稍后用同一内容重试。")
                return json.dumps({"detail": message}, ensure_ascii=False).encode(), "application/json"
            # No request: nothing past this point (session, user, CSRF) has run.
            context = {
                "retry_after": self.retry_after,
                "sms_number": sms_number,
            }
            return render_to_string(busy, context).encode(), "text/html; charset=utf-8"
