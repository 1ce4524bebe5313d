"""One workflow for every status field (design rule 2).

A model declares its state table once, in its app's `workflows.py`:

    TICKET = Workflow(
        Ticket, field="status", name="ticket",
        actions={
            "accept": Action({S.RECEIVED}, S.ACCEPTED, Cap.RECORD_TICKET),
            ...
        },
        record=_ticket_event,           # the model's own event row, where it has one
    )

and every change of that field goes through `move`:

    move(ticket, "accept", actor=request.user)

`move` locks the row (through the model's `visible_to` when a person acts: a row outside the
actor's scope is refused), checks the table, the capability and the action's guard, lets the
caller's `change` validate its data and set the other fields, saves, writes the model's event row
and exactly one audit event, and queues `notify`'s texts in the SMS outbox, all in one transaction
(so nothing is sent for a change that did not land). `can(actor, obj, action)` asks the same
question without moving, so a page shows the buttons the service accepts; `may` asks it whatever
the state. `move_many` moves a whole batch with one conditional UPDATE and one
audit event (an allocation, a sweep of expired codes).

An action that ends one of several ways (a case released, transferred or sent to hospital: one
decision, one audit name) declares the others as `alternatives`, and the caller picks with
`move(..., to=…)`.

Actions taken by the system or by a resident on a phone (a scheduler, the SMS provider, a resident
signed in by a code: no staff membership) are declared `system=True`; the service that calls them
has authenticated whoever stands behind them, and passes `actor=None`.

tests/core/test_workflow_guard.py fails when a governed field is assigned anywhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit
from .scoping import active_membership

# (membership, locked object) -> bool: a rule of scope beyond the model's visible_to (who holds
# a ticket now, the grid worker a tracing entry was given to).
Guard = Callable[[Any, Any], bool]


@dataclass(frozen=True)
class Action:
    sources: frozenset[str]
    target: str
    cap: str | None = None
    guard: Guard | None = None
    system: bool = False
    label: Any = ""  # a lazy translation: the button's and the refusal's name of the action
    # Other states the caller may end the action in instead of `target` (move's `to`).
    alternatives: frozenset[str] = frozenset()

    def __init__(
        self,
        sources: Iterable[str],
        target: str,
        cap: str | None = None,
        *,
        guard: Guard | None = None,
        system: bool = False,
        label: Any = "",
        alternatives: Iterable[str] = (),
    ) -> None:
        if cap is None and not system:
            raise ValueError("an action without a capability must be declared system=True")
        object.__setattr__(self, "sources", frozenset(str(s) for s in sources))
        object.__setattr__(self, "target", str(target))
        object.__setattr__(self, "cap", cap)
        object.__setattr__(self, "guard", guard)
        object.__setattr__(self, "system", system)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "alternatives", frozenset(str(s) for s in alternatives))

    @property
    def targets(self) -> frozenset[str]:
        return self.alternatives | {self.target}


# (locked object, action name, before, after, actor, now, note) -> None
Recorder = Callable[[Any, str, str, str, Any, dt.datetime, str], None]


@dataclass
class Workflow:
    model: type[models.Model]
    actions: dict[str, Action]
    name: str
    field: str = "status"
    # The committee the audit event is filed under, and the label it shows.
    committee: Callable[[Any], int | None] = lambda obj: getattr(obj, "committee_id", None)
    label: Callable[[Any], str] = str
    record: Recorder | None = None
    related: tuple[str, ...] = ()
    # Refusal when the state does not allow the action; by default names the state and the action.
    refusal: Callable[[Any, str], str] | None = None
    states: Any = None  # the TextChoices of the field, for labels

    def __post_init__(self) -> None:
        for other in WORKFLOWS.get(self.model, []):
            if other.field == self.field:
                raise ValueError(f"{self.model.__name__}.{self.field} has a workflow already")
            clash = set(other.actions) & set(self.actions)
            if clash:
                raise ValueError(f"{self.model.__name__}: actions {sorted(clash)} declared twice")
        WORKFLOWS.setdefault(self.model, []).append(self)

    def audit_action(self, action: str) -> str:
        return f"{self.name}_{action}"

    def state_label(self, value: str) -> str:
        if self.states is not None:
            try:
                return str(self.states(value).label)
            except ValueError:
                pass
        return value


# model -> its workflows (one per governed field)
WORKFLOWS: dict[type[models.Model], list[Workflow]] = {}


def workflow_for(model: type[models.Model], action: str) -> Workflow:
    for workflow in WORKFLOWS.get(model, []):
        if action in workflow.actions:
            return workflow
    raise ValidationError({"action": _("未知的操作")})


def governed_fields() -> dict[type[models.Model], set[str]]:
    """Every status field that only `move` may change, by model."""
    return {model: {w.field for w in workflows} for model, workflows in WORKFLOWS.items()}


def _permitted(workflow: Workflow, act: Action, membership, obj) -> bool:
    if act.cap is None or membership is None or not membership.has(act.cap):
        return False
    return act.guard is None or act.guard(membership, obj)


def _lock(workflow: Workflow, obj, actor, membership):
    """The row, locked for the rest of the transaction; through visible_to when a member acts. The
    caller holds the object already (a page found it with core.access, which answers 404 for
    missing and out of scope alike), so a row the actor cannot see here is a refusal."""
    manager = workflow.model._default_manager
    queryset = manager.all()
    if membership is not None and hasattr(queryset, "visible_to"):
        queryset = queryset.visible_to(actor)
    queryset = queryset.select_for_update(of=("self",))
    if workflow.related:
        queryset = queryset.select_related(*workflow.related)
    try:
        return queryset.get(pk=obj.pk)
    except ObjectDoesNotExist:
        raise PermissionDenied from None


def can(actor, obj, action: str) -> bool:
    """Whether `move(obj, action, actor=actor)` would be accepted as the object is now (by table,
    capability, scope and guard; not by the action's own data)."""
    try:
        workflow = workflow_for(type(obj), action)
    except ValidationError:
        return False
    act = workflow.actions[action]
    membership = active_membership(actor)
    if getattr(obj, workflow.field) not in act.sources or not _permitted(workflow, act, membership, obj):
        return False
    queryset = workflow.model._default_manager.all()
    return not hasattr(queryset, "visible_to") or queryset.visible_to(actor).filter(pk=obj.pk).exists()


def may(actor, obj, action: str) -> bool:
    """Whether the actor may take `action` on the object by capability, scope and guard, whatever
    its state now (for pages that list what a role does with a row)."""
    workflow = workflow_for(type(obj), action)
    return _permitted(workflow, workflow.actions[action], active_membership(actor), obj)


def _check_actor(act: Action, actor):
    """The acting membership (None for a system action); PermissionDenied otherwise."""
    if actor is None or not getattr(actor, "pk", None):
        if act.system:
            return None
        raise PermissionDenied
    membership = active_membership(actor)
    if act.cap is None or membership is None or not membership.has(act.cap):
        raise PermissionDenied
    return membership


def _refuse(workflow: Workflow, obj, action: str) -> ValidationError:
    if workflow.refusal is not None:
        return ValidationError(workflow.refusal(obj, action))
    label = workflow.actions[action].label or action
    return ValidationError(
        _("当前为“%(status)s”,不能%(action)s")
        % {"status": workflow.state_label(getattr(obj, workflow.field)), "action": label}
    )


def move(
    obj,
    action: str,
    *,
    actor,
    change: Callable[[Any], dict | None] | None = None,
    note: str = "",
    detail: dict | None = None,
    notify: Callable[[Any], None] | None = None,
    now: dt.datetime | None = None,
    reason: str = "",
    to: str | None = None,
):
    """Apply one declared action to `obj`; returns the locked, saved object.

    `change(locked)` runs after the checks and before the state is set: it validates the action's
    own data (raise ValidationError to refuse, and nothing is written) and sets the other fields;
    what it returns is added to the audit event's detail. `notify(locked)` queues the texts in the
    same transaction: they are rows of the SMS outbox, sent by the worker only once this commits,
    and gone with it if it rolls back. `to` picks one of the action's declared targets (checked
    after `change`, which validates the caller's choice); by default its `target`.
    """
    workflow = workflow_for(type(obj), action)
    act = workflow.actions[action]
    target = act.target if to is None else str(to)
    now = now or timezone.now()
    with transaction.atomic():
        membership = _check_actor(act, actor)
        locked = _lock(workflow, obj, actor, membership)
        if membership is not None and act.guard is not None and not act.guard(membership, locked):
            raise PermissionDenied
        before = getattr(locked, workflow.field)
        if before not in act.sources:
            raise _refuse(workflow, locked, action)
        extra = change(locked) if change is not None else None
        if target not in act.targets:
            raise ValueError(f"{action} cannot end in {target!r}")
        setattr(locked, workflow.field, target)
        locked.save()
        if workflow.record is not None:
            workflow.record(locked, action, before, target, actor, now, note)
        audit(
            actor=actor, action=workflow.audit_action(action), obj=locked, committee_id=workflow.committee(locked),
            subject_label=workflow.label(locked), reason=reason,
            detail={"from": before, "to": target, **(detail or {}), **(extra or {})},
        )
        if notify is not None:
            notify(locked)
    return locked


def move_many(
    queryset: models.QuerySet,
    action: str,
    *,
    actor,
    values: dict | None = None,
    detail: dict | None = None,
    committee_id: int | None = None,
    subject_label: str = "",
) -> int:
    """Move every row of `queryset` that is in one of the action's source states, with one UPDATE
    (the rows in another state are left alone: a parallel move got there first) and one audit event
    for the batch. The caller narrows the queryset to the actor's scope. Returns how many moved."""
    workflow = workflow_for(queryset.model, action)
    act = workflow.actions[action]
    with transaction.atomic():
        _check_actor(act, actor)
        if act.guard is not None:
            raise ValueError(f"{action}: an action with a guard moves one row at a time")
        moved = queryset.filter(**{f"{workflow.field}__in": act.sources}).update(
            **{workflow.field: act.target}, **(values or {})
        )
        if moved:
            audit(
                actor=actor, action=workflow.audit_action(action), committee_id=committee_id,
                subject_label=subject_label,
                detail={"to": act.target, "count": moved, **(detail or {})},
            )
    return moved
