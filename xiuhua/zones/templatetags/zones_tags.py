"""{% level_badge zone.level %}: a level in its colour and in words."""

from django import template
from django.utils.html import format_html

from xiuhua.zones.models import Level

register = template.Library()


@register.simple_tag
def level_badge(level: str) -> str:
    return format_html('<span class="lv lv-{}">{}</span>', level, Level(level).label)
