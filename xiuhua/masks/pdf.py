"""Printed vouchers (购买凭证) for people without phones: A4 pages, four vouchers a page.

Each voucher shows its number (in groups of four), a QR code of the bare number (what the
clerk's scanner types into the redemption page), the pharmacy's name, address and hours, the
pickup window and expiry, the household's address and the holder's masked name. Chinese text
uses the CJK font core.pdf embeds (subsetted), so every viewer and printer shows it.
"""

import io
from collections.abc import Iterable

from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from xiuhua.core.crypto import mask_name
from xiuhua.core.pdf import cjk_font as _font
from xiuhua.core.pdf import draw_qr as _draw_qr
from xiuhua.core.pdf import fit_text as _fit
from xiuhua.core.pdf import mono_font as _mono
from xiuhua.core.pdf import new_canvas as _new_canvas

from .codes import format_voucher_number
from .models import Voucher


def qr_payload(voucher: Voucher) -> str:
    """What the QR code holds: the bare voucher number, as a scanner will type it."""
    return voucher.number


def _address(reservation) -> str:
    household = reservation.household if reservation.household_id else None
    return household.address if household is not None else reservation.address_text


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _draw_voucher(c: canvas.Canvas, v: Voucher, x: float, y: float, w: float, h: float) -> None:
    font = _font()
    pad = 8 * mm
    c.setStrokeColorRGB(0.6, 0.6, 0.6)
    c.setDash(3, 3)
    c.rect(x, y, w, h, stroke=1, fill=0)
    c.setDash()
    left, top = x + pad, y + h - pad
    inner = w - 2 * pad
    c.setFillColorRGB(0.7, 0.15, 0.12)
    c.setFont(font, 15)
    c.drawString(left, top - 5 * mm, "口罩购买凭证")
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font, 9)
    c.drawString(left, top - 10 * mm, _fit(c, v.round.name, 9, inner))
    c.setFont(_mono(), 17)
    c.drawString(left, top - 19 * mm, format_voucher_number(v.number))
    qr_size = 36 * mm
    _draw_qr(c, qr_payload(v), x + w - pad - qr_size + 2 * mm, top - 21 * mm - qr_size, qr_size)
    text_width = inner - qr_size
    lines = [
        ("持证人", mask_name(v.reservation.name)),
        ("住址", _address(v.reservation)),
        ("口罩", f"{v.masks} 只"),
        ("药店", v.pharmacy.name),
        ("药店地址", v.pharmacy.address),
        ("营业时间", v.pharmacy.opening_hours or "—"),
        ("取货时间", f"{_when(v.issued_at)} 起"),
        ("有效期至", _when(v.expires_at)),
    ]
    line_y = top - 27 * mm
    for label, value in lines:
        c.setFont(font, 8)
        c.setFillColorRGB(0.35, 0.4, 0.45)
        c.drawString(left, line_y, label)
        c.setFillColorRGB(0, 0, 0)
        c.setFont(font, 10.5)
        c.drawString(left + 15 * mm, line_y, _fit(c, str(value), 10.5, text_width - 16 * mm))
        line_y -= 7 * mm
    stamp = 28 * mm  # room for the committee's stamp (盖章), as on the 2020 paper vouchers
    c.setStrokeColorRGB(0.75, 0.75, 0.75)
    c.rect(x + w - pad - stamp, y + pad + 4 * mm, stamp, stamp, stroke=1, fill=0)
    c.setFont(font, 8)
    c.setFillColorRGB(0.35, 0.4, 0.45)
    c.drawCentredString(x + w - pad - stamp / 2, y + pad + 6 * mm, "发放单位盖章")
    note = "凭本凭证和证件号码后四位到指定药店购买,每证限用一次,过期作废。"
    c.drawString(left, y + pad - 2 * mm, _fit(c, note, 8, inner))


def vouchers_pdf(vouchers: Iterable[Voucher]) -> bytes:
    """A4 pages of vouchers, 2 x 2 a page, each cell A6 with a dashed cut line."""
    buffer = io.BytesIO()
    c = _new_canvas(buffer, pagesize=A4)
    c.setTitle("口罩购买凭证")
    page_w, page_h = A4
    cell_w, cell_h = page_w / 2, page_h / 2
    slots = [(0, cell_h), (cell_w, cell_h), (0, 0), (cell_w, 0)]
    index = 0
    for voucher in vouchers:
        if index and index % 4 == 0:
            c.showPage()
        sx, sy = slots[index % 4]
        _draw_voucher(c, voucher, sx, sy, cell_w, cell_h)
        index += 1
    if index == 0:
        c.setFont(_font(), 14)
        c.drawString(20 * mm, page_h - 30 * mm, "没有可打印的购买凭证")
    c.showPage()
    c.save()
    return buffer.getvalue()
