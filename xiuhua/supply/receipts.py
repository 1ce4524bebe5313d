"""The donation receipt (捐赠收据), an A5 landscape PDF in the embedded CJK font (core.pdf)."""

from __future__ import annotations

import io
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm

from xiuhua.core.keyed_codes import KeyedCode
from xiuhua.core.pdf import cjk_font, draw_qr, fit_text, new_canvas

from .models_stock import Donation

# The receipt's QR opens where the donation went (/supply/g/<pk>-<code>/): a donor keeps the
# receipt, so the page is reached by its key, not by signing in; a wrong code is a 404.
DONATION = KeyedCode("xiuhua.supply.donation.v1")


def donation_url(donation: Donation) -> str:
    return str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse("supply:donation_public",
                                                               kwargs={"code": DONATION.key(donation.pk)})

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
BIG_UNITS = ("", "万", "亿")


def _four(n: int) -> str:
    """0 < n < 10000 in capitals, zeros inside read once (1005: 壹仟零伍)."""
    text, zero = "", False
    for i in range(3, -1, -1):
        d = n // 10**i % 10
        if d == 0:
            zero = bool(text)
        else:
            text += ("零" if zero else "") + DIGITS[d] + SMALL_UNITS[i]
            zero = False
    return text


def yuan_in_capitals(amount: Decimal) -> str:
    """An amount of yuan as written on a Chinese receipt: 12345.60 -> 壹万贰仟叁佰肆拾伍元陆角整."""
    cents = int((amount * 100).to_integral_value())
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    groups, text = [], ""
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g:
            if text and g < 1000:
                text += "零"
            text += _four(g) + BIG_UNITS[i]
        elif text and not text.endswith("零"):
            text += "零"
    text = text.rstrip("零")
    text = (text + "元") if text else ""
    if not jiao and not fen:
        return (text or "零元") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif text:
        text += "零"
    return text + (DIGITS[fen] + "分" if fen else "整")


def receipt_pdf(donation: Donation) -> bytes:
    buffer = io.BytesIO()
    width, height = landscape(A5)
    c = new_canvas(buffer, pagesize=(width, height))
    font = cjk_font()
    c.setTitle(_("捐赠收据") + " " + donation.number)
    margin = 18 * mm
    c.setFont(font, 20)
    c.drawCentredString(width / 2, height - margin - 4 * mm, _("捐赠收据"))
    c.setFont(font, 10)
    c.drawRightString(width - margin, height - margin - 14 * mm, _("收据编号:%(n)s") % {"n": donation.number})
    y = height - margin - 26 * mm
    received = timezone.localtime(donation.received_at)
    rows = [
        (_("捐赠人"), donation.donor_name + f"({donation.get_donor_kind_display()})"),
        (_("接收单位"), donation.unit.name),
        (_("接收日期"), received.strftime("%Y-%m-%d %H:%M")),
    ]
    if donation.kind == Donation.Kind.MONEY:
        amount = donation.amount or Decimal("0")
        rows.append((_("捐赠金额"), _("人民币 %(a)s 元") % {"a": f"{amount:,.2f}"}))
        rows.append((_("金额大写"), _("人民币%(a)s") % {"a": yuan_in_capitals(amount)}))
    else:
        rows.append((_("捐赠物资"), "、".join(f"{x.item} {x.quantity}{x.unit}" for x in donation.lines.all())))
    if donation.note:
        rows.append((_("备注"), donation.note))
    for label, value in rows:
        c.setFont(font, 12)
        c.drawString(margin, y, label + ":")
        c.drawString(margin + 28 * mm, y, fit_text(c, value, 12, width - 2 * margin - 28 * mm))
        y -= 10 * mm
    c.setFont(font, 11)
    c.drawString(margin, y - 2 * mm, _("衷心感谢您对社区疫情防控工作的支持!"))
    qr_size = 26 * mm
    draw_qr(c, donation_url(donation), width - margin - qr_size, margin + 8 * mm, qr_size)
    c.setFont(font, 8)
    c.drawCentredString(width - margin - qr_size / 2, margin + 5 * mm, _("扫码查看捐赠去向"))
    c.drawString(margin, margin, _("经办人:%(who)s") % {"who": donation.received_by.display_name or
                                                      donation.received_by.get_username()})
    c.drawRightString(width - margin - qr_size - 6 * mm, margin, _("%(unit)s(盖章)") % {"unit": donation.unit.name})
    c.showPage()
    c.save()
    return buffer.getvalue()
