"""Printed sampling codes for people without a phone: thermal labels and A4 sheets, per building.

Layouts (LAYOUTS): thermal labels of 40 x 30 mm and 50 x 30 mm, one code per label (one PDF page
per label, as label printers take them), and A4 sheets of 4 x 7 codes with dashed cut lines.
Each code shows its QR (the bare reference, as the station's scanner types it), the masked name,
building and room, the round's name cut to fit, and the reference in small type for typing when
a scanner fails. A building starts on a new page (a title label on thermal rolls), codes in room
order. Chinese uses the CJK font core.pdf embeds (core.pdf.new_canvas).

QR codes are full QR codes with error correction M, as core.qr.qr_code makes them, but with a
fixed mask pattern and drawn as one filled path of horizontal runs: a committee prints tens of
thousands at once, and choosing the mask by penalty score was 80% of segno's time (1.0 ms of
1.2 ms a code) while decoders read any of the eight masks; one path per code also leaves no
seams between modules on screen renderers. Every printed code is decoded in the tests.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from xiuhua.core.pdf import cjk_font, fit_text, mono_font, new_canvas
from xiuhua.core.qr import qr_code

LAYOUTS = {
    "40x30": "热敏标签 40×30 mm",
    "50x30": "热敏标签 50×30 mm",
    "a4": "A4 整页(每页 28 个)",
}
QR_MASK = 4  # a fixed mask (see the module's note)
QR_BORDER = 2  # quiet zone in modules, as core.pdf.draw_qr
A4_COLUMNS, A4_ROWS = 4, 7
GREY = (0.35, 0.4, 0.45)


@dataclass
class LabelSheet:
    """One building's codes (SamplingCode rows, in print order) under its title."""

    title: str
    building: str
    codes: Sequence = field(default_factory=list)
    title_label: bool = True  # thermal rolls: a label naming the building first


def qr_matrix(reference: str):
    """The QR modules of a reference: full QR (never Micro QR), error correction M."""
    return qr_code(reference, mask=QR_MASK).matrix


def draw_code(c: canvas.Canvas, reference: str, x: float, y: float, size: float) -> None:
    """The reference's QR code with its quiet zone, filling a size x size square at x, y: one
    path of the dark runs of each row, filled once. The operators are written as text
    (`addLiteral`) because ReportLab's own number formatting, pure Python here, was two thirds of
    the time of a label."""
    matrix = qr_matrix(reference)
    count = len(matrix) + 2 * QR_BORDER
    cell = size / count
    ops = []
    top = y + size - QR_BORDER * cell
    for r, row in enumerate(matrix):
        row_y = f"{top - (r + 1) * cell:.3f}"
        width = len(row)
        col = 0
        while col < width:
            if row[col]:
                start = col
                while col < width and row[col]:
                    col += 1
                ops.append(f"{x + (start + QR_BORDER) * cell:.3f} {row_y} {(col - start) * cell:.3f} {cell:.3f} re")
            else:
                col += 1
    c.setFillColorRGB(0, 0, 0)
    ops.append("f")
    c.addLiteral("\n".join(ops))


def _grey(c: canvas.Canvas) -> None:
    c.setFillColorRGB(*GREY)


def _black(c: canvas.Canvas) -> None:
    c.setFillColorRGB(0, 0, 0)


def _mono_size(c: canvas.Canvas, text: str, size: float, width: float) -> float:
    while size > 4 and c.stringWidth(text, mono_font(), size) > width:
        size -= 0.25
    return size


def _room(code) -> str:
    return f"{code.room}室" if code.room else ""


@dataclass(frozen=True)
class _Label:
    """Where things go on one code's cell: the QR square on the left, a text column on the right.
    Sizes in points; text baselines measured down from the cell's top."""

    width: float
    height: float
    qr: float
    pad: float
    round_pt: float
    name_pt: float
    place_pt: float
    ref_pt: float


LABEL_40 = _Label(40 * mm, 30 * mm, 25 * mm, 1.2 * mm, 5.5, 11, 8, 5.5)
LABEL_50 = _Label(50 * mm, 30 * mm, 27 * mm, 1.5 * mm, 6.5, 13, 9.5, 6.5)


def _draw_cell(c: canvas.Canvas, code, spec: _Label, x: float, y: float, round_name: str, building: str) -> None:
    font = cjk_font()
    qr_y = y + (spec.height - spec.qr) / 2
    draw_code(c, code.reference, x + spec.pad / 2, qr_y, spec.qr)
    left = x + spec.pad / 2 + spec.qr + 0.8 * mm
    width = x + spec.width - spec.pad - left
    top = y + spec.height - spec.pad
    _grey(c)
    c.setFont(font, spec.round_pt)
    c.drawString(left, top - spec.round_pt, fit_text(c, round_name, spec.round_pt, width))
    _black(c)
    c.setFont(font, spec.name_pt)
    name_y = top - spec.round_pt - 2.2 * mm - spec.name_pt * 0.8
    c.drawString(left, name_y, fit_text(c, code.name_masked, spec.name_pt, width))
    c.setFont(font, spec.place_pt)
    building_y = name_y - spec.place_pt - 2.2 * mm
    c.drawString(left, building_y, fit_text(c, building, spec.place_pt, width))
    c.setFont(font, spec.name_pt)
    room_y = building_y - spec.name_pt - 1.5 * mm
    c.drawString(left, room_y, fit_text(c, _room(code), spec.name_pt, width))
    _grey(c)
    ref_pt = _mono_size(c, code.reference, spec.ref_pt, width)
    c.setFont(mono_font(), ref_pt)
    c.drawString(left, y + spec.pad + 0.5 * mm, code.reference)
    _black(c)


def _thermal(c: canvas.Canvas, sheets: Sequence[LabelSheet], spec: _Label, round_name: str) -> None:
    font = cjk_font()
    for sheet in sheets:
        if not sheet.title_label:
            for code in sheet.codes:
                _draw_cell(c, code, spec, 0, 0, round_name, sheet.building)
                c.showPage()
            continue
        # A title label first, so a printed roll comes apart by building.
        c.setFont(font, 12)
        c.drawString(spec.pad, spec.height - spec.pad - 12, fit_text(c, sheet.title, 12, spec.width - 2 * spec.pad))
        c.setFont(font, 8)
        c.drawString(spec.pad, spec.height / 2 - 4,
                     fit_text(c, f"采样码 共{len(sheet.codes)}人", 8, spec.width - 2 * spec.pad))
        _grey(c)
        c.setFont(font, 6)
        c.drawString(spec.pad, spec.pad, fit_text(c, round_name, 6, spec.width - 2 * spec.pad))
        _black(c)
        c.showPage()
        for code in sheet.codes:
            _draw_cell(c, code, spec, 0, 0, round_name, sheet.building)
            c.showPage()


def _a4(c: canvas.Canvas, sheets: Sequence[LabelSheet], round_name: str) -> None:
    font = cjk_font()
    page_w, page_h = A4
    margin_x, margin_top, margin_bottom = 10 * mm, 14 * mm, 8 * mm
    cell_w = (page_w - 2 * margin_x) / A4_COLUMNS
    cell_h = (page_h - margin_top - margin_bottom) / A4_ROWS
    spec = _Label(cell_w, cell_h, 26 * mm, 3 * mm, 6.5, 11, 9, 6)
    per_page = A4_COLUMNS * A4_ROWS
    for sheet in sheets:
        pages = max(1, -(-len(sheet.codes) // per_page))
        for page in range(pages):
            _grey(c)
            c.setFont(font, 9)
            c.drawString(margin_x, page_h - 9 * mm,
                         fit_text(c, f"采样码  {sheet.title}  共{len(sheet.codes)}人  {round_name}", 9, page_w * 0.65))
            c.drawRightString(page_w - margin_x, page_h - 9 * mm, f"第{page + 1}/{pages}页  沿虚线剪开")
            _black(c)
            chunk = sheet.codes[page * per_page:(page + 1) * per_page]
            c.setStrokeColorRGB(0.6, 0.6, 0.6)
            c.setLineWidth(0.5)
            c.setDash(3, 3)
            for index in range(len(chunk)):
                col, row = index % A4_COLUMNS, index // A4_COLUMNS
                c.rect(margin_x + col * cell_w, page_h - margin_top - (row + 1) * cell_h, cell_w, cell_h,
                       stroke=1, fill=0)
            c.setDash()
            for index, code in enumerate(chunk):
                col, row = index % A4_COLUMNS, index // A4_COLUMNS
                _draw_cell(c, code, spec, margin_x + col * cell_w, page_h - margin_top - (row + 1) * cell_h,
                           round_name, sheet.building)
            if not chunk:
                c.setFont(font, 14)
                c.drawString(margin_x, page_h - 30 * mm, "这栋楼还没有采样码")
            c.showPage()


def labels_pdf(sheets: Sequence[LabelSheet], *, layout: str, round_name: str) -> bytes:
    """The PDF of the sheets' codes in a layout of LAYOUTS."""
    buffer = io.BytesIO()
    if layout == "a4":
        c = new_canvas(buffer, pagesize=A4)
        c.setTitle(f"采样码 {round_name}")
        _a4(c, sheets, round_name)
    elif layout in ("40x30", "50x30"):
        spec = LABEL_40 if layout == "40x30" else LABEL_50
        c = new_canvas(buffer, pagesize=(spec.width, spec.height))
        c.setTitle(f"采样码 {round_name}")
        _thermal(c, sheets, spec, round_name)
    else:
        raise ValueError(f"unknown layout {layout!r}")
    c.save()
    return buffer.getvalue()
