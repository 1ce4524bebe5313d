"""The passport's declared state table (core.workflow): a recorded stamp is withdrawn once, by
staff who may stamp and see the household, when it was entered by mistake. Creating a stamp is an
ordinary insert in its first state (services.stamp_record)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.workflow import Action, Workflow

from .models import Stamp, StampStatus


def _refusal(stamp: Stamp, action: str) -> str:
    return str(_("该印章已撤销,不能再次撤销"))


STAMP = Workflow(
    Stamp, name="passport_stamp", field="status", states=StampStatus, refusal=_refusal,
    related=("household__building", "household__compound"),
    label=lambda stamp: f"{stamp.household.address} {stamp.get_kind_display()} {stamp.period_start}",
    actions={
        "withdraw": Action({StampStatus.ACTIVE}, StampStatus.WITHDRAWN, Cap.STAMP_PASSPORT, label=_("撤销")),
    },
)
