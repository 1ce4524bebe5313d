"""The passport card (家园护照卡): one A6 page per household, to hang on the door or keep.

It carries the address (no names), the micro-grid, the four stamps of the week it was printed in
(filled in red with the day, or an empty dashed circle), and a QR code of the household's
card page (keys.card_url: settings.PUBLIC_BASE_URL + /passport/d/<pk>-<keyed code>/). Staff
signed in with the household in scope go on to its staff page (see and stamp); a resident proves
a mobile registered on the household with an SMS code and sees the household's stamps
(views_public). The URL cannot be guessed from a household number. Chinese
is drawn in the CJK font core.pdf embeds; the QR code is core.qr's (full QR, error correction M).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.utils import timezone
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from xiuhua.core.pdf import cjk_font, draw_qr, fit_text, new_canvas

from .keys import card_url
from .models import KINDS, StampKind
from .periods import Period
from .selectors import Stamps

QR_SIZE = 40 * mm
LEGEND = (
    "每周一至周日为一期。核酸:本周有家人参加核酸采样;",
    "疫苗:家人均已登记接种;志愿服务、便民服务:居委会或网格员登记。",
)
MARGIN = 7 * mm
RED = (0.78, 0.12, 0.1)
GREY = (0.45, 0.48, 0.52)


@dataclass(frozen=True)
class Card:
    pk: int
    committee: str
    compound: str
    building: str
    room: str
    grid: str
    stamps: dict  # kind -> Shown

    @property
    def url(self) -> str:
        return card_url(self.pk)


def cards_for(households, period: Period, stamps: Stamps) -> list[Card]:
    """Cards of households (committee, compound, building and grids loaded), in the given order."""
    return [
        Card(pk=h.pk, committee=h.committee.name, compound=h.compound.name, building=h.building.name, room=h.room,
             grid=(h.micro_grid.name if h.micro_grid else h.grid.name if h.grid else ""),
             stamps=stamps.get(h.pk, {}).get(period.start, {}))
        for h in households
    ]


def _stamp(c: canvas.Canvas, kind: str, shown, cx: float, cy: float, r: float) -> None:
    font = cjk_font()
    label = str(StampKind(kind).label)
    if shown is not None:
        c.setStrokeColorRGB(*RED)
        c.setFillColorRGB(*RED)
        c.setLineWidth(1.6)
        c.circle(cx, cy, r, stroke=1, fill=0)
        c.setFont(font, 8.5)
        c.drawCentredString(cx, cy + 1 * mm, label)
        c.setFont(font, 6.5)
        c.drawCentredString(cx, cy - 3.5 * mm, shown.on.strftime("%m-%d") if shown.on else "已盖章")
    else:
        c.setStrokeColorRGB(*GREY)
        c.setFillColorRGB(*GREY)
        c.setLineWidth(0.6)
        c.setDash(2, 2)
        c.circle(cx, cy, r, stroke=1, fill=0)
        c.setDash()
        c.setFont(font, 8.5)
        c.drawCentredString(cx, cy - 1.2 * mm, label)


def _draw(c: canvas.Canvas, card: Card, period: Period, printed: str) -> None:
    font = cjk_font()
    width, height = A6
    inner = width - 2 * MARGIN
    top = height - MARGIN
    c.setFillColorRGB(*RED)
    c.setFont(font, 20)
    c.drawString(MARGIN, top - 8 * mm, "家园护照")
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font, 8)
    c.drawRightString(width - MARGIN, top - 7.5 * mm, fit_text(c, card.committee, 8, inner / 2))
    c.setFont(font, 10)
    c.drawString(MARGIN, top - 16 * mm, fit_text(c, card.compound, 10, inner))
    c.setFont(font, 18)
    c.drawString(MARGIN, top - 24 * mm, fit_text(c, f"{card.building} {card.room}室", 18, inner))
    if card.grid:
        c.setFont(font, 8.5)
        c.setFillColorRGB(*GREY)
        c.drawString(MARGIN, top - 30 * mm, fit_text(c, f"微网格:{card.grid}", 8.5, inner))
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font, 9)
    c.drawString(MARGIN, top - 38 * mm, f"本周({period.label})")
    r = 9 * mm
    step = inner / len(KINDS)
    for index, kind in enumerate(KINDS):
        _stamp(c, kind, card.stamps.get(kind), MARGIN + step * (index + 0.5), top - 50 * mm, r)
    c.setFillColorRGB(*GREY)
    c.setFont(font, 7)
    for n, line in enumerate(LEGEND):
        c.drawString(MARGIN, top - 66 * mm - n * 3.6 * mm, fit_text(c, line, 7, inner))
    qr_y = MARGIN + 8 * mm
    draw_qr(c, card.url, (width - QR_SIZE) / 2, qr_y, QR_SIZE)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font, 8)
    c.drawCentredString(width / 2, qr_y - 4 * mm, "扫码查看本户家园护照(居民凭登记手机号)")
    c.setFont(font, 6.5)
    c.setFillColorRGB(*GREY)
    c.drawCentredString(width / 2, MARGIN, f"打印于 {printed}")


def cards_pdf(cards: list[Card], period: Period) -> bytes:
    """One A6 page per card."""
    buffer = io.BytesIO()
    c = new_canvas(buffer, pagesize=A6)
    c.setTitle("家园护照")
    printed = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    for card in cards:
        _draw(c, card, period, printed)
        c.showPage()
    if not cards:
        c.setFont(cjk_font(), 12)
        c.drawString(MARGIN, A6[1] / 2, "没有可打印的户")
        c.showPage()
    c.save()
    return buffer.getvalue()
