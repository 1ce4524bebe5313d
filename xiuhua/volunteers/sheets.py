"""The printed sheets of the duty tables, in the CJK font core.pdf embeds.

- The post's A4 sheet, to put up at the post: its name, compound and duties, and a QR code of
  its check-in page (services.post_url: PUBLIC_BASE_URL + /volunteers/p/<pk>-<keyed code>/), a
  full QR from core.pdf.draw_qr. A volunteer scans it with the phone's camera to check in or out.
- The day's duty table of a compound (A4, as many pages as it takes): every post, its shifts,
  the places needed and open, and who is on each shift, named as every staff list names people
  (family name and stars, the phone's last four digits).
"""

from __future__ import annotations

import io

from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from xiuhua.core.pdf import cjk_font, draw_qr, fit_text, new_canvas

from .models import Post, Skill
from .selectors import DayTable, shown_name
from .services import post_url

MARGIN = 15 * mm
RED = (0.7, 0.1, 0.1)


def post_sheet(post: Post) -> bytes:
    buffer = io.BytesIO()
    c = new_canvas(buffer, pagesize=A4)
    width, height = A4
    font = cjk_font()
    c.setTitle(f"{post.compound.name} {post.name} 志愿者岗位签到码")
    c.setFont(font, 14)
    c.drawCentredString(width / 2, height - 30 * mm, fit_text(c, post.compound.name, 14, width - 2 * MARGIN))
    c.setFont(font, 28)
    c.drawCentredString(width / 2, height - 45 * mm, fit_text(c, post.name, 28, width - 2 * MARGIN))
    c.setFont(font, 13)
    c.drawCentredString(width / 2, height - 56 * mm, f"{post.get_kind_display()} · 志愿者签到签退")
    size = 110 * mm
    draw_qr(c, post_url(post.pk), (width - size) / 2, height - 62 * mm - size, size)
    y = height - 72 * mm - size
    c.setFont(font, 13)
    for line in ("用手机相机或微信扫一扫,验证手机号后签到;", "下岗时再扫一次签退。只能在本人班次前后30分钟内签到。"):
        c.drawCentredString(width / 2, y, line)
        y -= 8 * mm
    if post.required_skill:
        c.drawCentredString(width / 2, y, f"本岗位要求:{Skill(post.required_skill).label}")
        y -= 8 * mm
    if post.health_statement:
        c.drawCentredString(width / 2, y, "每班签到前需在手机上填写当天健康承诺")
        y -= 8 * mm
    if post.duties:
        c.setFont(font, 11)
        c.drawCentredString(width / 2, y, fit_text(c, f"岗位职责:{post.duties}", 11, width - 2 * MARGIN))
    c.showPage()
    c.save()
    return buffer.getvalue()


def duty_table_pdf(compound_name: str, committee_name: str, table: DayTable, printed_at=None) -> bytes:
    buffer = io.BytesIO()
    c = new_canvas(buffer, pagesize=A4)
    write_duty_table(c, compound_name, committee_name, table, printed_at)
    c.save()
    return buffer.getvalue()


def write_duty_table(c, compound_name: str, committee_name: str, table: DayTable, printed_at=None) -> None:
    """Draw one compound's table for the day on `c`, from a new page."""
    width, height = A4
    font = cjk_font()
    printed_at = timezone.localtime(printed_at or timezone.now())
    c.setTitle(f"{compound_name} {table.day} 志愿者值班表")
    page = [1]

    def head() -> float:
        c.setFont(font, 16)
        c.setFillColorRGB(0, 0, 0)
        c.drawString(MARGIN, height - MARGIN - 6 * mm, f"{compound_name} 志愿者值班表 {table.day:%Y-%m-%d}")
        c.setFont(font, 9)
        c.drawString(MARGIN, height - MARGIN - 12 * mm,
                     f"{committee_name} · 打印于 {printed_at:%Y-%m-%d %H:%M} · 缺员 {table.gaps} 人"
                     f" · 时间重叠 {table.overlaps} 人次 · 第 {page[0]} 页")
        return height - MARGIN - 20 * mm

    y = head()
    line = 5.2 * mm
    names_x = MARGIN + 48 * mm
    names_width = width - MARGIN - names_x

    def need(space: float) -> float:
        nonlocal y
        if y - space < MARGIN:
            c.showPage()
            page[0] += 1
            y = head()
        return y

    if not table.posts:
        c.setFont(font, 11)
        c.drawString(MARGIN, y, "当天没有排班。")
    for post_row in table.posts:
        need(2 * line)
        post = post_row.post
        c.setFont(font, 12)
        c.setFillColorRGB(0, 0, 0)
        title = f"{post.name}({post.get_kind_display()})"
        if post.required_skill:
            title += f" 要求:{Skill(post.required_skill).label}"
        c.drawString(MARGIN, y, fit_text(c, title, 12, width - 2 * MARGIN))
        y -= line + 1 * mm
        c.setFont(font, 10)
        for shift_row in post_row.shifts:
            shift = shift_row.shift
            names = [shown_name(d.volunteer) + ("*" if d.pk in shift_row.overlaps else "") for d in shift_row.duties]
            # Names wrap over as many lines as they need, three to a line.
            chunks = [names[i:i + 3] for i in range(0, len(names), 3)] or [[]]
            need(line * len(chunks))
            start = timezone.localtime(shift.starts_at)
            end = timezone.localtime(shift.ends_at)
            c.setFillColorRGB(0, 0, 0)
            c.drawString(MARGIN + 3 * mm, y, f"{start:%H:%M}-{end:%H:%M}")
            c.drawString(MARGIN + 26 * mm, y, f"{len(shift_row.duties)}/{shift.needed}人")
            if shift_row.gap:
                c.setFillColorRGB(*RED)
                c.drawString(MARGIN + 38 * mm, y, f"缺{shift_row.gap}")
                c.setFillColorRGB(0, 0, 0)
            for chunk in chunks:
                c.drawString(names_x, y, fit_text(c, "  ".join(chunk) or "—", 10, names_width))
                y -= line
        y -= 2 * mm
    if table.overlaps:
        need(line)
        c.setFont(font, 9)
        c.drawString(MARGIN, y, "* 该志愿者当天另有时间重叠的班次,请调整。")
    c.showPage()
