"""Texts of the antigen module (sent in Chinese, word for word as the provider approved them):
the committee's alert on a positive report, the daily reminder to households not yet reported,
and the replies to the SMS keyword. The alert names no one: building and room, which staff open
on their phones."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.sms.texts import register_purpose, register_template

POSITIVE_PURPOSE = register_purpose("antigen_positive", gettext_lazy("抗原阳性提醒"))
POSITIVE_TEXT = register_template(
    "XH_ANTIGEN_POSITIVE", "抗原阳性:{committee}{address}有居民今日抗原自测阳性,请立即联系并安排核酸单管复核。")
REMIND_PURPOSE = register_purpose("antigen_remind", gettext_lazy("抗原上报提醒"))
REMIND_TEXT = register_template(
    "XH_ANTIGEN_REMIND", "您家今天还有家庭成员未上报抗原结果,请回复“抗原 阴性”(或“抗原 阳性 姓名”)或在手机页面上报。")
REPLY_PURPOSE = register_purpose("antigen_reply", gettext_lazy("抗原短信上报回复"))
# At the same hour, each grid worker (楼组长) gets their grid's count and the list's address.
GRID_PURPOSE = register_purpose("antigen_grid", gettext_lazy("网格抗原未上报名单提醒"))
GRID_TEXT = register_template("XH_ANTIGEN_GRID",
                              "抗原未上报:{grid}今天还有{count}人未上报,名单:{base}/antigen/not-reported/")


def grid_workers(committee_id: int) -> list:
    """Active grid-worker memberships of the committee that have a grid, with their users."""
    return list(Membership.objects.filter(active=True, user__is_active=True, org_unit_id=committee_id,
                                          role=Role.GRID_WORKER, grid__isnull=False)
                .select_related("user", "grid").order_by("pk"))


def committee_staff(committee_id: int) -> list:
    """Active committee staff of the committee (their mobiles get the positive alerts)."""
    memberships = (Membership.objects.filter(active=True, user__is_active=True, org_unit_id=committee_id,
                                             role=Role.COMMITTEE_STAFF).select_related("user").order_by("pk"))
    users: dict[int, object] = {}
    for membership in memberships:
        users.setdefault(membership.user_id, membership.user)
    return list(users.values())
