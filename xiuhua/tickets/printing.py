"""The printed door sheet of a building: one cut-out card per household, ten to an A4 page.

Each card carries the QR code of the household's door URL (settings.PUBLIC_BASE_URL + path),
the address, the code to type when the QR cannot be scanned, and one line of instructions.
Chinese uses ReportLab's built-in CID font STSong-Light (as the mask vouchers do), so no font
file ships; it has no glyph for "·" (U+00B7), so texts here use full-width punctuation. QR codes
are drawn as vector squares by the voucher code's helper.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from xiuhua.core.pdf import cjk_font, draw_qr
from xiuhua.core.pdf import fit_text as fit

from .door import door_key, door_url
from .notify import public_base_url

INSTRUCTION = "扫码求助:透析、配药、就医、生活困难"
HOTLINES = "有生命危险请拨120,市民热线12345"

COLUMNS, ROWS = 2, 5
PER_PAGE = COLUMNS * ROWS
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 10 * mm, 14 * mm, 8 * mm
QR_SIZE = 38 * mm
PAD = 4 * mm


@dataclass(frozen=True)
class DoorCard:
    compound: str
    building: str
    room: str
    key: str  # "<household pk>-<code>", what the resident types
    url: str  # what the QR code holds


def room_order(room: str) -> tuple:
    """Natural order of rooms: 2 before 101, 101 before 1001, "A-3" after the numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", room))


def cards_for(households: Iterable) -> list[DoorCard]:
    """Cards of households (with compound and building loaded), in room order."""
    cards = [
        DoorCard(
            compound=h.compound.name, building=h.building.name, room=h.room, key=door_key(h.pk), url=door_url(h.pk)
        )
        for h in households
    ]
    return sorted(cards, key=lambda c: room_order(c.room))


def _draw_card(c: canvas.Canvas, card: DoorCard, x: float, y: float, w: float, h: float, typing_hint: str) -> None:
    font = cjk_font()
    c.setStrokeColorRGB(0.6, 0.6, 0.6)
    c.setLineWidth(0.6)
    c.setDash(3, 3)
    c.rect(x, y, w, h, stroke=1, fill=0)
    c.setDash()
    top = y + h - PAD
    draw_qr(c, card.url, x + PAD - 1 * mm, top - QR_SIZE + 1 * mm, QR_SIZE)
    left = x + PAD + QR_SIZE + 2 * mm
    width = x + w - PAD - left
    c.setFillColorRGB(0.7, 0.15, 0.12)
    c.setFont(font, 14)
    c.drawString(left, top - 5 * mm, "紧急求助")
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font, 10)
    c.drawString(left, top - 12 * mm, fit(c, card.compound, 10, width))
    c.setFont(font, 17)
    c.drawString(left, top - 20 * mm, fit(c, f"{card.building} {card.room}室", 17, width))
    c.setFont(font, 7.5)
    c.setFillColorRGB(0.35, 0.4, 0.45)
    c.drawString(left, top - 26 * mm, "求助码(无法扫码时输入)")
    c.setFillColorRGB(0, 0, 0)
    code_size = 14.0
    while code_size > 9 and c.stringWidth(card.key, "Courier-Bold", code_size) > width:
        code_size -= 0.5
    c.setFont("Courier-Bold", code_size)
    c.drawString(left, top - 32 * mm, card.key)
    c.setFont(font, 7)
    c.setFillColorRGB(0.35, 0.4, 0.45)
    c.drawString(left, top - 37 * mm, fit(c, typing_hint, 7, width))
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font, 11)
    c.drawString(x + PAD, y + PAD + 4.5 * mm, fit(c, INSTRUCTION, 11, w - 2 * PAD))
    c.setFont(font, 8)
    c.setFillColorRGB(0.7, 0.15, 0.12)
    c.drawString(x + PAD, y + PAD, fit(c, HOTLINES, 8, w - 2 * PAD))
    c.setFillColorRGB(0, 0, 0)


def door_sheet_pdf(cards: list[DoorCard], *, title: str) -> bytes:
    """A4 pages of door cards, 2 x 5 a page, each with a dashed cut line; `title` (the building)
    and the page number in the top margin."""
    return door_sheets_pdf([(title, cards)], title=title)


def building_order(name: str) -> tuple:
    """Natural order of building names: 2号 before 19号 before 101号."""
    return room_order(name)


def door_sheets_pdf(sheets: list[tuple[str, list[DoorCard]]], *, title: str) -> bytes:
    """Several buildings' sheets in one PDF (a committee's): each building starts on a new page and
    numbers its own pages, so the printed stack comes apart by building."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    c.setTitle(f"门牌求助卡 {title}")
    for building_title, cards in sheets or [(title, [])]:
        _draw_sheet(c, cards, building_title)
    c.save()
    return buffer.getvalue()


def _draw_sheet(c: canvas.Canvas, cards: list[DoorCard], title: str) -> None:
    font = cjk_font()
    page_w, page_h = A4
    card_w = (page_w - 2 * MARGIN_X) / COLUMNS
    card_h = (page_h - MARGIN_TOP - MARGIN_BOTTOM) / ROWS
    host = public_base_url().split("://", 1)[-1]
    typing_hint = f"打开 {host}/help/ 输入"
    pages = max(1, -(-len(cards) // PER_PAGE))
    for page in range(pages):
        c.setFont(font, 9)
        c.setFillColorRGB(0.35, 0.4, 0.45)
        c.drawString(MARGIN_X, page_h - 9 * mm, fit(c, f"门牌求助卡  {title}  共{len(cards)}户", 9, page_w / 2))
        c.drawRightString(page_w - MARGIN_X, page_h - 9 * mm, f"第{page + 1}/{pages}页  沿虚线剪开,贴在各户门上")
        chunk = cards[page * PER_PAGE:(page + 1) * PER_PAGE]
        for index, card in enumerate(chunk):
            col, row = index % COLUMNS, index // COLUMNS
            x = MARGIN_X + col * card_w
            y = page_h - MARGIN_TOP - (row + 1) * card_h
            _draw_card(c, card, x, y, card_w, card_h, typing_hint)
        if not chunk:
            c.setFont(font, 14)
            c.setFillColorRGB(0, 0, 0)
            c.drawString(MARGIN_X, page_h - 30 * mm, "这栋楼没有登记的住户")
        c.showPage()
