from django import template
from django.urls import reverse

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
