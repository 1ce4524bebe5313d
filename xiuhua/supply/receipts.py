"""The donation receipt (捐赠收据), an A5 landscape PDF in the embedded CJK font (core.pdf)."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm

from xiuhua.core.pdf import cjk_font, fit_text, new_canvas

from .models_stock import Donation


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
        rows.append((_("捐赠金额"), _("人民币 %(a)s 元") % {"a": f"{donation.amount:,.2f}"}))
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
    c.drawString(margin, margin, _("经办人:%(who)s") % {"who": donation.received_by.display_name or
                                                      donation.received_by.get_username()})
    c.drawRightString(width - margin, margin, _("%(unit)s(盖章)") % {"unit": donation.unit.name})
    c.showPage()
    c.save()
    return buffer.getvalue()
