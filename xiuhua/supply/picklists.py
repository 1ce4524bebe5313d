"""Sorting sheets of a group buy, A4 PDFs in the embedded CJK font (core.pdf):

- the pick list (分拣单): per building, its rooms in natural order (1号 < 2号 < 19号, as every
  printed sheet) with the packs allotted of each item, and the building's totals; for all
  buildings, a first page of totals per building and the grand total, then each building;
- the labels (分拣标签): eight to a page (105 x 74 mm, cut along the dashed lines), one per
  household: compound, building, room, masked name, items and packs, and the QR code of the
  order's door URL (/supply/o/<pk>-<code>/, core.keyed_codes) that the volunteer scans at the door.

Orders the shortage left without anything are not on them (nothing to pick or carry). Both read
the orders in one query each, ordered by the database (building, room, order), so 286 buildings
and 20,000 orders take a few seconds (bench/supply_picklists.py).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from xiuhua.core.crypto import mask_name
from xiuhua.core.pdf import cjk_font, draw_qr, fit_text, new_canvas

from .models_orders import Offer, OrderLine, OrderStatus
from .services_delivery import door_url

PAGE_W, PAGE_H = A4
MARGIN = 14 * mm
ROW_H = 7 * mm


@dataclass
class Household:
    order_id: int
    room: str
    name: str
    packs: dict[int, int] = field(default_factory=dict)  # item pk -> packs allotted


@dataclass
class Building:
    id: int
    name: str
    households: list[Household] = field(default_factory=list)

    def totals(self, items) -> dict[int, int]:
        return {item.pk: sum(h.packs.get(item.pk, 0) for h in self.households) for item in items}


def _pack(item) -> str:
    quantity = item.filing_item.pack_quantity
    text = format(quantity.normalize() if isinstance(quantity, Decimal) else quantity, "f")
    return f"{text}{item.filing_item.unit}/份"


def buildings_of(offer: Offer, building_id: int | None = None, *, names: bool = False) -> list[Building]:
    """The buildings with something to carry, in natural order, each with its households."""
    lines = OrderLine.objects.filter(order__offer=offer, allotted__gt=0,
                                     order__status__in=(OrderStatus.PLACED, OrderStatus.DELIVERED))
    if building_id is not None:
        lines = lines.filter(order__building_id=building_id)
    fields = ["order_id", "item_id", "allotted", "order__building_id", "order__building__name",
              "order__household__room"]
    if names:
        fields.append("order__resident__name")
    rows = lines.order_by("order__building__sort_key", "order__building_id", "order__household__room_sort",
                          "order__household__room", "order_id").values_list(*fields)
    buildings: list[Building] = []
    household: Household | None = None
    for row in rows.iterator(chunk_size=5000):
        order_id, item_id, allotted, b_id, b_name, room = row[:6]
        if not buildings or buildings[-1].id != b_id:
            buildings.append(Building(b_id, b_name))
        if household is None or household.order_id != order_id:
            household = Household(order_id, room, mask_name(row[6] or "") if names else "")
            buildings[-1].households.append(household)
        household.packs[item_id] = household.packs.get(item_id, 0) + allotted
    return buildings


def _items(offer: Offer) -> list:
    return list(offer.items.select_related("filing_item"))


# ---------------------------------------------------------------------------------------------
# Pick lists


class _Sheet:
    """A4 portrait pages of one table: fixed columns, a header repeated on every page."""

    def __init__(self, c, title: str, subtitle: str, columns: list[tuple[str, float]]):
        self.c, self.title, self.subtitle, self.columns = c, title, subtitle, columns
        self.font = cjk_font()
        self.y = 0.0
        self.page = 0

    def start(self, title: str | None = None) -> None:
        if self.page:
            self.c.showPage()
        self.page += 1
        if title is not None:
            self.title = title
        c = self.c
        c.setFont(self.font, 16)
        c.drawString(MARGIN, PAGE_H - MARGIN - 6 * mm, fit_text(c, self.title, 16, PAGE_W - 2 * MARGIN))
        c.setFont(self.font, 9)
        c.drawString(MARGIN, PAGE_H - MARGIN - 12 * mm, fit_text(c, self.subtitle, 9, PAGE_W - 2 * MARGIN - 20 * mm))
        c.drawRightString(PAGE_W - MARGIN, PAGE_H - MARGIN - 12 * mm, _("第 %(n)s 页") % {"n": self.page})
        self.y = PAGE_H - MARGIN - 16 * mm
        self.row([label for label, _w in self.columns], bold=True)

    def row(self, cells: list[str], *, bold: bool = False, size: float = 10) -> None:
        c = self.c
        if self.y - ROW_H < MARGIN:
            self.start()
        if bold:
            c.setFillGray(0.9)
            c.rect(MARGIN, self.y - ROW_H, PAGE_W - 2 * MARGIN, ROW_H, stroke=0, fill=1)
            c.setFillGray(0)
        c.setFont(self.font, size)
        x = MARGIN
        for text, (_label, width) in zip(cells, self.columns, strict=True):
            c.drawString(x + 1.5 * mm, self.y - ROW_H + 2.2 * mm, fit_text(c, text, size, width - 3 * mm))
            x += width
        c.setLineWidth(0.3)
        c.line(MARGIN, self.y - ROW_H, PAGE_W - MARGIN, self.y - ROW_H)
        self.y -= ROW_H


def _columns(first: list[tuple[str, float]], items, last: list[tuple[str, float]]) -> list[tuple[str, float]]:
    fixed = sum(w for _l, w in first + last)
    width = (PAGE_W - 2 * MARGIN - fixed) / max(len(items), 1)
    return first + [(f"{item.filing_item.name}({_pack(item)})", width) for item in items] + last


def picklist_pdf(offer: Offer, building_id: int | None = None) -> bytes:
    """The pick list of one building, or of all (a totals page first)."""
    items = _items(offer)
    buildings = buildings_of(offer, building_id)
    buffer = io.BytesIO()
    c = new_canvas(buffer, pagesize=A4)
    c.setTitle(_("分拣单") + f" {offer.title}")
    compound = offer.compound.name
    subtitle = _("%(title)s · 供货商 %(supplier)s · 打印于 %(time)s") % {
        "title": offer.title, "supplier": offer.filing.supplier,
        "time": timezone.localtime().strftime("%Y-%m-%d %H:%M")}
    if building_id is None:
        columns = _columns([(_("楼栋"), 30 * mm), (_("户数"), 18 * mm)], items, [])
        sheet = _Sheet(c, _("分拣汇总 · %(compound)s") % {"compound": compound}, subtitle, columns)
        sheet.start()
        grand = {item.pk: 0 for item in items}
        for building in buildings:
            totals = building.totals(items)
            sheet.row([building.name, str(len(building.households))] + [str(totals[i.pk]) for i in items])
            for key, value in totals.items():
                grand[key] += value
        sheet.row([_("合计"), str(sum(len(b.households) for b in buildings))] + [str(grand[i.pk]) for i in items],
                  bold=True)
    columns = _columns([(_("序号"), 12 * mm), (_("室号"), 24 * mm)], items, [(_("核对"), 14 * mm)])
    sheet = _Sheet(c, "", subtitle, columns)
    sheet.page = 1 if building_id is None else 0
    for building in buildings:
        sheet.start(_("分拣单 · %(compound)s %(building)s") % {"compound": compound, "building": building.name})
        for n, household in enumerate(building.households, 1):
            sheet.row([str(n), household.room] + [str(household.packs.get(i.pk, "")) for i in items] + ["□"])
        totals = building.totals(items)
        count = len(building.households)
        sheet.row([_("合计"), ngettext("%(n)s户", "%(n)s户", count) % {"n": count}]
                  + [str(totals[i.pk]) for i in items] + [""], bold=True)
    if not buildings and building_id is not None:
        sheet.start(_("分拣单 · %(compound)s") % {"compound": compound})
        sheet.row([""] * len(columns))
    c.showPage()
    c.save()
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Labels

LABEL_W, LABEL_H = PAGE_W / 2, PAGE_H / 4
QR = 34 * mm


def _label(c, x: float, y: float, compound: str, building: str, household: Household, items, title: str) -> None:
    font = cjk_font()
    pad = 5 * mm
    top = y + LABEL_H - pad
    text_w = LABEL_W - QR - 3 * pad
    c.setFont(font, 9)
    c.drawString(x + pad, top - 3 * mm, fit_text(c, compound, 9, text_w))
    c.setFont(font, 18)
    c.drawString(x + pad, top - 11 * mm, fit_text(c, f"{building} {household.room}", 18, text_w))
    c.setFont(font, 11)
    c.drawString(x + pad, top - 17 * mm, fit_text(c, household.name, 11, text_w))
    line_y = top - 24 * mm
    lines = [f"{item.filing_item.name} × {household.packs[item.pk]}" for item in items if household.packs.get(item.pk)]
    for n, text in enumerate(lines):
        if line_y < y + 9 * mm:
            c.drawString(x + pad, line_y, _("另有 %(n)s 项") % {"n": len(lines) - n})
            break
        c.drawString(x + pad, line_y, fit_text(c, text, 11, text_w))
        line_y -= 5.2 * mm
    c.setFont(font, 7)
    c.drawString(x + pad, y + 4 * mm, fit_text(c, title, 7, LABEL_W - 2 * pad))
    draw_qr(c, door_url(household.order_id), x + LABEL_W - QR - pad, y + LABEL_H - QR - pad, QR)
    c.drawCentredString(x + LABEL_W - QR / 2 - pad, y + LABEL_H - QR - pad - 2 * mm, _("送达时扫码"))


def _cut_lines(c) -> None:
    c.saveState()
    c.setDash(3, 3)
    c.setLineWidth(0.3)
    c.setStrokeGray(0.6)
    c.line(LABEL_W, 0, LABEL_W, PAGE_H)
    for row in range(1, 4):
        c.line(0, row * LABEL_H, PAGE_W, row * LABEL_H)
    c.restoreState()


def labels_pdf(offer: Offer, building_id: int | None = None) -> tuple[bytes, int]:
    """Eight labels to an A4 page, buildings and rooms in natural order; (PDF, labels)."""
    items = _items(offer)
    buildings = buildings_of(offer, building_id, names=True)
    buffer = io.BytesIO()
    c = new_canvas(buffer, pagesize=A4)
    c.setTitle(_("分拣标签") + f" {offer.title}")
    compound = offer.compound.name
    count = 0
    for building in buildings:
        for household in building.households:
            slot = count % 8
            if slot == 0:
                if count:
                    c.showPage()
                _cut_lines(c)
            col, row = slot % 2, slot // 2
            _label(c, col * LABEL_W, PAGE_H - (row + 1) * LABEL_H, compound, building.name, household, items,
                   offer.title)
            count += 1
    if not count:
        c.setFont(cjk_font(), 12)
        c.drawString(MARGIN, PAGE_H - MARGIN - 6 * mm, _("没有需要送货的订单"))
    c.showPage()
    c.save()
    return buffer.getvalue(), count
