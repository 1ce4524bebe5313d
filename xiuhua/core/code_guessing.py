"""Pages reached by a secret code in their URL (a household's door card, its passport card): their
answers are private, and an address that sends too many wrong codes is refused for a while.

A resident scans the card or types its code, and may mistype it a few times; many wrong codes in
a short window is a script. Many households may share one address (carrier NAT, compound Wi-Fi),
so the limit is generous and lasts only the window. The refusal (429) is the same whatever code
the address sends then, so it never tells a right code apart.
"""

from __future__ import annotations

import functools
import ipaddress

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .ratelimit import rate_hit, rate_peek, subject_hash
from .resident_phone import client_ip


def private(response: HttpResponse) -> HttpResponse:
    """The URL of the page is a secret: not cached, not indexed, not sent on as a referrer."""
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the form's
    # POST and Django's CSRF check refuses it. Other sites still never see the URL's secret.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


def _client_network(ip: str) -> str:
    """An IPv4 address as it is; an IPv6 address as its /64 (a subscriber is given a whole /64,
    so counting single IPv6 addresses would count nothing)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(getattr(address, "ipv4_mapped", None) or address)


class CodeGuard:
    """Wrong codes of one kind counted per client network; `guards` wraps the views they reach."""

    def __init__(self, purpose: str, *, limit: int, window: int, template: str):
        self.purpose, self.limit, self.window, self.template = purpose, limit, window, template

    def _key(self, request) -> str:
        ip = client_ip(request)
        return f"{self.purpose}:{subject_hash(f'{self.purpose}-client', _client_network(ip))}" if ip else ""

    def count_wrong(self, request) -> None:
        key = self._key(request)
        if key:
            rate_hit(key, limit=self.limit, window=self.window)

    def guards(self, view):
        """The view answers 429 to an address that sent `limit` wrong codes in this window."""

        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            key = self._key(request)
            if key and rate_peek(key, window=self.window) >= self.limit:
                retry_after = self.window - int(timezone.now().timestamp()) % self.window
                response = render(request, self.template, {"minutes": (retry_after + 59) // 60}, status=429)
                response["Retry-After"] = str(retry_after)
                return private(response)
            return view(request, *args, **kwargs)

        return wrapped
