"""The tracing entry's declared state table (core.workflow).

The street hands an entry on, to a committee of its own (assign) or to another street's triage
queue (transfer), while it is open or after its committee did not find the person there; the
committee reports what it found, once. Only the unit that holds an entry now acts on it: the
street that imported a list sees the entries it forwarded to another street, and no more.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.workflow import Action, Workflow

from .models import EntryEvent, EntryStatus, ListEntry, entry_scope

S = EntryStatus


def holds(membership, entry: ListEntry) -> bool:
    """Whether the member's unit is responsible for the entry now (ListEntry.objects.held_by):
    its committee, or its street and the units above."""
    scope = entry_scope(membership)
    return scope is not None and ListEntry.objects.filter(scope[0], pk=entry.pk).exists()


# The outcomes a committee reports, one action each; the report form offers these.
REPORT_ACTIONS: dict[str, str] = {
    S.CONTROLLED: "report_controlled",
    S.NOT_HERE: "report_not_here",
    S.WRONG_INFO: "report_wrong_info",
}
# What the street may hand on: an open entry, or one its committee did not find at the address.
HANDED_ON_FROM = (S.TRIAGE, S.ASSIGNED, S.NOT_HERE)
HAND_ON_ACTIONS = ("assign", "transfer")

# The name of each action in the entry's history (EntryEvent.action).
EVENT_NAMES = {"assign": "assigned", "transfer": "transferred", **dict.fromkeys(REPORT_ACTIONS.values(), "reported")}


def _record(entry: ListEntry, action, before, after, actor, now, note) -> None:
    if action in HAND_ON_ACTIONS:
        from_unit, to_unit = entry.handed_over_from, entry.committee or entry.street
    else:
        from_unit, to_unit = entry.committee, None
    EntryEvent.objects.create(entry=entry, at=now, actor=actor, action=EVENT_NAMES[action], from_unit=from_unit,
                              to_unit=to_unit, status=after, note=note)


def _refusal(entry: ListEntry, action: str):
    if action in HAND_ON_ACTIONS:
        return _("该人员已落实或已反馈信息有误,不能再分派")
    return _("该人员已反馈过落实结果")


TRACING_ENTRY = Workflow(
    ListEntry, name="tracing_entry", field="status", states=S, record=_record, refusal=_refusal,
    related=("batch", "street", "committee"), label=lambda entry: f"{entry.batch.reference} #{entry.row}",
    actions={
        "assign": Action(HANDED_ON_FROM, S.ASSIGNED, Cap.IMPORT_TRACING, guard=holds, label=_("分派")),
        "transfer": Action(HANDED_ON_FROM, S.TRIAGE, Cap.IMPORT_TRACING, guard=holds, label=_("转街道")),
        **{
            action: Action({S.ASSIGNED}, outcome, Cap.REPORT_TRACING, guard=holds, label=_("反馈落实结果"))
            for outcome, action in REPORT_ACTIONS.items()
        },
    },
)

__all__ = ["EVENT_NAMES", "HAND_ON_ACTIONS", "REPORT_ACTIONS", "TRACING_ENTRY", "holds"]
