"""Alerts pushed to the people who act on them: when a contact raises an alert (a fever, a
symptom, two misses in a row), the committee's staff and the street's community health centre
get a text message, queued and sent by the task worker. The message names no one: only the
committee, the reasons and the case number, which staff open on their phones."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Role
from xiuhua.sms.services import sms_send_staff
from xiuhua.sms.texts import register_purpose, register_template

from .models import Alert

ALERT_PURPOSE = register_purpose("isolation_alert", gettext_lazy("居家隔离预警"))
ALERT = register_template("XH_ISOLATION_ALERT", "居家隔离预警:{committee}第{case}号隔离对象{kind},请尽快处置。")


def alert_recipients(alert: Alert) -> list:
    """Active committee staff of the alert's committee and the health centre of its street."""
    committee = alert.committee
    memberships = Membership.objects.filter(active=True, user__is_active=True).filter(
        org_unit_id=committee.pk, role=Role.COMMITTEE_STAFF
    ) | Membership.objects.filter(
        active=True, user__is_active=True, org_unit_id=committee.parent_id, role=Role.HEALTH_CENTRE
    )
    users: dict[int, object] = {}
    for membership in memberships.select_related("user").order_by("pk"):
        users.setdefault(membership.user_id, membership.user)
    return list(users.values())


def send_alert(alert: Alert) -> int:
    """Queue one message per recipient with a mobile on file; returns how many were queued."""
    params = {"committee": alert.committee.name, "case": alert.case_id, "kind": alert.reasons_text}
    return sum(
        sms_send_staff(
            user=user, template=ALERT.code, params=params, purpose=ALERT_PURPOSE,
            idempotency_key=f"isolation-alert-{alert.pk}-{user.pk}", committee=alert.committee,
        )
        for user in alert_recipients(alert)
    )
