"""QR codes served as SVG (posters on committee doors and notice boards)."""

import io

import segno
from django.http import HttpResponse


def qr_svg_response(url: str, title: str) -> HttpResponse:
    """An SVG QR code of `url` (error correction M, scale 10, quiet zone 4) with a title."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=10, border=4, title=title)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
