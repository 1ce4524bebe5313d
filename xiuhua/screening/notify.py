"""Texts of the screening module: the people of a positive or invalid pool are told to stay home
until the door-to-door team takes their single tube. The text names no result of anyone else and
no pool: only that theirs needs a second test."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from xiuhua.sms.texts import register_purpose, register_template

REVIEW_PURPOSE = register_purpose("screening_review", gettext_lazy("核酸混管待复核通知"))
REVIEW_TEXT = register_template(
    "XH_SCREENING_REVIEW",
    "您参加的{round}核酸检测需要单管复核。请您和家人留在家中、不要外出,社区工作人员将上门采样,请保持电话畅通。",
)

OVERDUE_PURPOSE = register_purpose("screening_overdue", gettext_lazy("核酸结果超时预警"))
OVERDUE_TEXT = register_template(
    "XH_SCREENING_OVERDUE",
    "核酸结果预警:{round}有{count}管采样超过{hours}小时仍无结果,请联系检测机构核实。",
)


def street_officers(street) -> list:
    """Active street officers of the street (their mobiles get the street's alerts)."""
    from xiuhua.accounts.models import Membership
    from xiuhua.accounts.roles import Role

    memberships = Membership.objects.filter(active=True, user__is_active=True, org_unit=street,
                                            role=Role.STREET_OFFICER).select_related("user").order_by("pk")
    users: dict[int, object] = {}
    for membership in memberships:
        users.setdefault(membership.user_id, membership.user)
    return list(users.values())
