from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

from ..models import KINDS, StampKind

register = template.Library()


@register.simple_tag
def coverage_links(rows, by, period):
    """The rows with the page each opens: a committee's grids, a grid's or micro-grid's map."""
    for row in rows:
        if row.key is None:
            row.url = ""
        elif by == "committee":
            row.url = f"{reverse('passport:home')}?committee={row.key}&week={period.key}"
        else:
            row.url = f"{reverse('passport:grid', args=[row.key])}?week={period.key}"
    return rows


@register.simple_tag
def household_cells(building) -> str:
    """One building's cells of the map (selectors.Cell), written here rather than in a template
    loop: a grid of 750 households is 3,000 marks, which the template language renders ten times
    slower (bench/passport_coverage.py)."""
    link = reverse("passport:household", args=[0]).replace("/0/", "/{}/")
    marks = [(kind, escape(str(StampKind(kind).label)[:1])) for kind in KINDS]
    parts = []
    for cell in building.cells:
        spans = "".join(
            f'<span class="pp-mark{"" if kind in cell.kinds else " off"}" data-kind="{kind}">{mark}</span>'
            for kind, mark in marks)
        room = escape(cell.room)
        parts.append(
            f'<a class="pp-cell pp-n{cell.count}" href="{link.format(int(cell.pk))}" data-household="{int(cell.pk)}" '
            f'data-stamps="{cell.count}" title="{room}"><b>{room}</b>{spans}</a>')
    return mark_safe("".join(parts))  # noqa: S308  # every value above is escaped or an int
