import re

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from ..models import OrgUnit

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if mapping else ""


@register.simple_tag
def committee_phone(unit) -> str:
    """The committee's phone as residents see it on their pages, a link their phone can dial;
    nothing when the committee has none on file. `unit` is a committee, or any unit under one
    (a compound, a building), whose committee is then looked up."""
    if not isinstance(unit, OrgUnit):  # a page without a committee (the variable is missing)
        return ""
    committee = unit if unit.committee_id in (None, unit.pk) else unit.committee
    if committee is None or not committee.phone:
        return ""
    phone = committee.phone
    dial = re.sub(r"[^0-9+]", "", phone.split("转")[0])
    return format_html(
        '<p class="committee-phone" id="committee-phone">{} <a href="tel:{}">{}</a></p>',
        _("%(committee)s电话:") % {"committee": committee.name}, dial, phone,
    )
