"""What a plan is shown and printed as: the simulated queue chart (pygal, rendered on the server
as inline SVG: no JavaScript, nothing loaded from elsewhere), the notice per building (PDF with
the embedded CJK font) and the loudspeaker texts per call batch."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass

import pygal
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from xiuhua.core.pdf import cjk_font, fit_text, new_canvas

from .models import ScreeningRound
from .models_plan import CallSlot, ScreeningPlan
from .services_rounds import slot_params

LINE_COLOURS = ("#2f6db5", "#c0392b", "#27864a", "#8e44ad", "#d68910", "#17808a", "#a04000", "#1b4f72")
BOUND_COLOUR = "#9aa3ad"


def _minute_label(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def queue_chart(plan: ScreeningPlan, key: str, *, title: str, nonce: str) -> SafeString:
    """One site's day as an SVG line chart: each line's simulated queue every few minutes, with
    the rule's bounds as dashed lines. pygal's script links are switched off, its style element
    carries the page's CSP nonce; its inline config script and style attributes (both refused by the
    CSP, and of use to its scripts only) are dropped."""
    data = plan.series[key]
    lines = data["lines"]
    steps = max((len(values) for values in lines.values()), default=0)
    labels = [_minute_label(data["start"] + i * data["step"]) for i in range(steps)]
    # One colour a line (cycling past eight), then grey for the two bounds.
    colours = tuple(LINE_COLOURS[i % len(LINE_COLOURS)] for i in range(len(lines))) + (BOUND_COLOUR,) * 2
    style = Style(background="white", plot_background="white", font_family="sans-serif", colors=colours)
    chart = pygal.Line(
        js=[], style=style, width=900, height=320, show_dots=False, disable_xml_declaration=True,
        x_labels_major_every=max(1, 60 // data["step"]), show_minor_x_labels=False, truncate_legend=-1,
        x_title=_("时间"), y_title=_("排队人数"), legend_at_bottom=True, stroke_style={"width": 2},
    )
    chart.title = title
    chart.x_labels = labels
    for number in sorted(lines, key=int):
        chart.add(_("%(n)s号台") % {"n": number}, lines[number])
    round_ = plan.round
    for bound in (round_.queue_min, round_.queue_max):
        chart.add(_("上下限 %(n)s") % {"n": bound}, [bound] * steps,
                  stroke_style={"width": 1, "dasharray": "6,4"}, show_dots=False)
    svg = chart.render(is_unicode=True)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    # pygal writes its config as an inline script even without its scripts: it is only for them.
    svg = re.sub(r"<script\b.*?</script>", "", svg, flags=re.S)
    svg = re.sub(r'\sstyle="[^"]*"', "", svg)
    svg = svg.replace('<style type="text/css">', f'<style type="text/css" nonce="{escape(nonce)}">', 1)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)
    return mark_safe(svg)  # noqa: S308 - pygal's own markup, its text escaped by pygal


@dataclass
class SpeakerCall:
    site: str
    day: str
    batch: int
    start: str
    end: str
    text: str


def speaker_calls(slots: list[CallSlot]) -> list[SpeakerCall]:
    """One loudspeaker text per site, day and batch: the buildings called together, in order."""
    batches: dict[tuple, list[CallSlot]] = defaultdict(list)
    for slot in slots:
        batches[(slot.site.name, slot.day, slot.batch)].append(slot)
    calls = []
    for (site, _day, batch), members in sorted(batches.items(), key=lambda item: (item[0][1], item[0][0], item[0][2])):
        members.sort(key=lambda s: s.position)
        first, last = slot_params(members[0]), slot_params(members[-1])
        names = "、".join(slot_params(s)["building"] for s in members)
        text = _("各位居民请注意:请%(buildings)s的居民,于%(day)s%(start)s至%(end)s到%(site)s排队核酸采样。"
                 "请带好手机或纸质采样码,全程戴好口罩,保持一米间距,听从工作人员安排。"
                 "行动不便的居民请留在家中,工作人员将上门采样。") % {
            "buildings": names, "day": first["day"], "start": first["start"], "end": last["end"], "site": site}
        calls.append(SpeakerCall(site=site, day=first["day"], batch=batch, start=first["start"], end=last["end"],
                                 text=text))
    return calls


def notices_pdf(screening_round: ScreeningRound, slots: list[CallSlot]) -> bytes:
    """A4, one notice per building: its slot, its site, what to bring, whom to call."""
    buffer = io.BytesIO()
    c = new_canvas(buffer, pagesize=A4)
    c.setTitle(_("核酸筛查通知") + " · " + screening_round.name)
    font = cjk_font()
    width, height = A4
    left, usable = 20 * mm, width - 40 * mm
    for slot in slots:
        params = slot_params(slot)
        y = height - 35 * mm
        c.setFont(font, 30)
        c.drawCentredString(width / 2, y, _("核酸筛查通知"))
        y -= 12 * mm
        c.setFont(font, 13)
        c.drawCentredString(width / 2, y, fit_text(c, screening_round.name, 13, usable))
        y -= 25 * mm
        c.setFont(font, 40)
        c.drawCentredString(width / 2, y, fit_text(c, params["building"], 40, usable))
        y -= 25 * mm
        rows = [
            (_("采样时间"), f"{params['day']} {params['start']} – {params['end']}"),
            (_("采样地点"), slot.site.name + (f"({slot.site.address})" if slot.site.address else "")),
        ]
        for label, value in rows:
            c.setFont(font, 16)
            c.drawString(left, y, label)
            c.setFont(font, 24)
            c.drawString(left + 32 * mm, y, fit_text(c, value, 24, usable - 32 * mm))
            y -= 18 * mm
        y -= 4 * mm
        c.setFont(font, 15)
        for line in (
            _("请按时段前往,不要提前聚集;本楼居民全部参加。"),
            _("请带好:手机(打开采样码)或纸质采样码。"),
            _("全程戴好口罩,排队保持一米间距,听从工作人员安排。"),
            _("长期卧床、行动不便或居家隔离的居民请留在家中,"),
            _("由居委会安排上门采样。"),
        ):
            c.drawString(left, y, fit_text(c, line, 15, usable))
            y -= 10 * mm
        phone = slot.committee.phone if slot.committee_id else ""
        c.setFont(font, 13)
        footer = slot.committee.name + (_(" · 联系电话 %(phone)s") % {"phone": phone} if phone else "")
        c.drawString(left, 25 * mm, fit_text(c, footer, 13, usable))
        c.showPage()
    if not slots:
        c.setFont(font, 16)
        c.drawString(left, height - 40 * mm, _("还没有排班"))
        c.showPage()
    c.save()
    return buffer.getvalue()


__all__ = ["SpeakerCall", "notices_pdf", "queue_chart", "speaker_calls"]
