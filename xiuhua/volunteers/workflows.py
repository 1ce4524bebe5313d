"""The volunteers' declared state tables (core.workflow).

- `volunteer_talent`: a qualification that needs proof is confirmed or refused by committee
  staff (who and when are kept on the row and in the audit event).
- `volunteer_duty`: a volunteer on a shift checks in and out by the post's QR code (a system
  action: the volunteer proved their phone) or staff do it for them; a duty not yet started is
  cancelled by the volunteer or staff, which gives the place back.
- `volunteer_task`: the volunteer (or staff) marks a handed-over task done; staff withdraw it.

Creating a talent, a duty or a task is an ordinary insert in its first state (services)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.workflow import Action, Workflow

from .models import Duty, DutyStatus, Talent, TalentStatus, TaskStatus, VolunteerTask

TALENT = Workflow(
    Talent, name="volunteer_talent", field="status", states=TalentStatus, related=("volunteer",),
    label=lambda talent: f"{talent.volunteer.name[:1]}* {talent.get_skill_display()}",
    actions={
        "confirm": Action({TalentStatus.PENDING, TalentStatus.REJECTED}, TalentStatus.CONFIRMED,
                          Cap.MANAGE_VOLUNTEERS, label=_("确认资质")),
        "reject": Action({TalentStatus.PENDING, TalentStatus.CONFIRMED}, TalentStatus.REJECTED,
                         Cap.MANAGE_VOLUNTEERS, label=_("资质未通过")),
    },
)

DUTY = Workflow(
    Duty, name="volunteer_duty", field="status", states=DutyStatus, related=("shift__post", "volunteer"),
    label=lambda duty: f"{duty.shift.post.name} {duty.shift.day}",
    actions={
        "check_in": Action({DutyStatus.SIGNED}, DutyStatus.ON_DUTY, Cap.MANAGE_VOLUNTEERS, system=True,
                           label=_("签到")),
        "check_out": Action({DutyStatus.ON_DUTY}, DutyStatus.DONE, Cap.MANAGE_VOLUNTEERS, system=True,
                            label=_("签退")),
        "cancel": Action({DutyStatus.SIGNED}, DutyStatus.CANCELLED, Cap.MANAGE_VOLUNTEERS, system=True,
                         label=_("取消报名")),
    },
)

TASK = Workflow(
    VolunteerTask, name="volunteer_task", field="status", states=TaskStatus,
    label=lambda task: f"{task.get_source_display()} {task.what[:20]}",
    actions={
        "finish": Action({TaskStatus.ASSIGNED}, TaskStatus.DONE, Cap.MANAGE_VOLUNTEERS, system=True,
                         label=_("完成")),
        "withdraw": Action({TaskStatus.ASSIGNED}, TaskStatus.WITHDRAWN, Cap.MANAGE_VOLUNTEERS, label=_("撤回")),
    },
)
