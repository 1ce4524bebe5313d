"""Drawing helpers shared by the printed sheets (mask vouchers, door QR cards): the CJK font that
ReportLab carries (no font file to install), QR codes drawn as vector squares, text cut to a width."""

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from .qr import qr_code

FONT = "STSong-Light"
_registered = False


def cjk_font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def draw_qr(c: canvas.Canvas, payload: str, x: float, y: float, size: float) -> None:
    """A QR code (error correction M, 2-module quiet zone) filling a size x size square at x, y."""
    qr = qr_code(payload)
    matrix = [list(row) for row in qr.matrix]
    border = 2
    count = len(matrix) + 2 * border
    cell = size / count
    c.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                c.rect(x + (col + border) * cell, y + size - (r + border + 1) * cell, cell, cell, stroke=0, fill=1)


def fit_text(c: canvas.Canvas, text: str, size: float, width: float) -> str:
    """Cut text to the width, ending with … when it was longer."""
    font = cjk_font()
    if c.stringWidth(text, font, size) <= width:
        return text
    while text and c.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"
