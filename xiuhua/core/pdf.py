"""Drawing helpers shared by the printed sheets (mask vouchers, door QR cards): a CJK font embedded
in every PDF, QR codes drawn as vector squares, text cut to a width.

The font is the install's WenQuanYi Zen Hei (Debian: fonts-wqy-zenhei), or the TrueType file or
collection named by XIUHUA_PDF_FONT. ReportLab embeds only the glyphs a PDF uses (a subset), so
a sheet prints the same on any viewer or printer, with no font of its own. ReportLab's built-in
STSong-Light, used before, is a name only: viewers without that font printed the Chinese blank.
Every canvas starts in this font (`new_canvas`), so no standard font, unembedded, is named either.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from .qr import qr_code

FONT = "XiuhuaCJK"
# Half-width Latin letters and digits for codes read aloud over the phone (voucher numbers).
MONO_FONT = "XiuhuaCJKMono"
# (path, index of the face in a collection for FONT, for MONO_FONT); TrueType outlines only:
# ReportLab cannot embed the CFF outlines of Noto/Source Han's .otf and .ttc files.
CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, 1),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, 1),
)
INSTALL_HINT = (
    "请安装中文字体 fonts-wqy-zenhei(apt install fonts-wqy-zenhei),"
    "或用 XIUHUA_PDF_FONT 指定 TrueType 字体文件"
)


def font_file() -> tuple[str, int, int]:
    """The font file and faces the sheets embed; ImproperlyConfigured when the install has none."""
    configured = os.environ.get("XIUHUA_PDF_FONT", "")
    if configured:
        if not Path(configured).is_file():
            raise ImproperlyConfigured(f"XIUHUA_PDF_FONT={configured}: no such file. {INSTALL_HINT}")
        is_collection = configured.lower().endswith(".ttc")
        return configured, 0, 1 if is_collection else 0
    for path, regular, mono in CANDIDATES:
        if Path(path).is_file():
            return path, regular, mono
    raise ImproperlyConfigured(f"No CJK font for printing. {INSTALL_HINT}")


def _register() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    path, regular, mono = font_file()
    # Registered under our own names: a sheet never depends on a font the reader has.
    pdfmetrics.registerFont(TTFont(MONO_FONT, path, subfontIndex=mono))
    pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=regular))


def cjk_font() -> str:
    _register()
    return FONT


def mono_font() -> str:
    _register()
    return MONO_FONT


def new_canvas(buffer, *, pagesize) -> canvas.Canvas:
    """A compressed canvas whose initial font is the embedded one (ReportLab's default, an
    unembedded Helvetica, would otherwise be named on every page)."""
    return canvas.Canvas(buffer, pagesize=pagesize, pageCompression=1, initialFontName=cjk_font())


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
