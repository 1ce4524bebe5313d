"""QR codes: the one way to make them, and as SVG (posters on committee doors and notice boards).

Always a full QR code (`segno.make_qr`), never the Micro QR that `segno.make` picks for short
payloads: WeChat and phone cameras do not read Micro QR. Error correction M."""

import io

import segno
from django.http import HttpResponse


def qr_code(payload: str, *, mask: int | None = None) -> segno.QRCode:
    """The QR code of `payload` for a phone to scan: full QR, error correction M. `mask` fixes the
    data mask (0-7) for sheets of thousands: choosing it by penalty score is most of segno's time,
    and every decoder reads any mask."""
    return segno.make_qr(payload, error="m", mask=mask)


def qr_svg_inline(text: str) -> str:
    """An inline SVG with a viewBox only, so that CSS sizes it (crisp at any size, no JS); the
    caller marks it safe (segno escapes nothing it did not make)."""
    return qr_code(text).svg_inline(scale=1, border=2, omitsize=True)


def qr_svg_response(url: str, title: str) -> HttpResponse:
    """An SVG QR code of `url` (error correction M, scale 10, quiet zone 4) with a title."""
    buffer = io.BytesIO()
    qr_code(url).save(buffer, kind="svg", scale=10, border=4, title=title)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
