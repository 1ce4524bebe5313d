"""Template helpers other modules' pages use to offer handing a record to a volunteer."""

from django import template

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import has_cap

register = template.Library()


@register.filter
def may_hand_to_volunteer(user) -> bool:
    """Whether the user's active membership may hand a task to a volunteer (the button shows)."""
    return has_cap(user, Cap.MANAGE_VOLUNTEERS)
