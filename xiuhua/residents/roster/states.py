"""The import record: who may import where, its states, its encrypted payload."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.crypto import decrypt_text, encrypt_text
from xiuhua.core.scoping import active_membership
from xiuhua.places.models import Kind, OrgUnit

from ..models import RosterImport

Status = RosterImport.Status


TRANSITIONS: dict[str, frozenset[str]] = {
    Status.UPLOADED: frozenset({Status.VALIDATING, Status.FAILED}),
    Status.VALIDATING: frozenset({Status.VALIDATED, Status.FAILED}),
    Status.VALIDATED: frozenset({Status.COMMITTING, Status.FAILED}),
    Status.COMMITTING: frozenset({Status.COMMITTED, Status.VALIDATED, Status.FAILED}),
    Status.COMMITTED: frozenset(),
    Status.FAILED: frozenset(),
}


class RosterStateError(ValidationError):
    """The import is not in a state that allows the step (already committed, has problems...)."""


def require_cap(actor, cap: str):
    membership = active_membership(actor)
    if membership is None or not membership.has(cap):
        raise PermissionDenied
    return membership


def check_committee_access(actor, committee: OrgUnit) -> None:
    """actor may import into committee (actor None is the system: the import_roster command)."""
    if actor is None:
        if committee.kind != Kind.COMMITTEE:
            raise PermissionDenied
        return
    membership = require_cap(actor, Cap.IMPORT_ROSTER)
    if (
        committee.kind != Kind.COMMITTEE
        or membership.grid_id
        or not committee.path.startswith(membership.org_unit.path)
    ):
        raise PermissionDenied


def importable_committees(user) -> QuerySet[OrgUnit]:
    membership = active_membership(user)
    if membership is None or not membership.has(Cap.IMPORT_ROSTER) or membership.grid_id:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=membership.org_unit.path).order_by("path")


def move(roster_import: RosterImport, to: str, **changes) -> RosterImport:
    """The one way an import changes state: locked, checked against TRANSITIONS, saved."""
    with transaction.atomic():
        locked = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
        if to not in TRANSITIONS[locked.status]:
            raise RosterStateError(_("该导入当前为“%(status)s”,不能进行此操作")
                                   % {"status": locked.get_status_display()})
        locked.status = to
        for name, value in changes.items():
            setattr(locked, name, value)
        fields = {"status", *changes}
        if to in (Status.COMMITTED, Status.FAILED, Status.VALIDATED):
            locked.finished_at = timezone.now()
            fields.add("finished_at")
        locked.save(update_fields=sorted(fields))
    return locked


def seal(data: bytes) -> str:
    return encrypt_text(base64.b64encode(zlib.compress(data, 1)).decode("ascii"))


def unseal(token: str) -> bytes:
    return zlib.decompress(base64.b64decode(decrypt_text(token)))


def progress_reporter(roster_import: RosterImport) -> Callable[[int], None]:
    def report(done: int) -> None:
        RosterImport.objects.filter(pk=roster_import.pk).update(rows_done=done)
    return report


def enqueue(task_name: str, *args) -> None:
    from xiuhua.residents import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.enqueue(*args))


def actor_ids(actor) -> tuple[int | None, int | None]:
    if actor is None:
        return None, None
    membership = active_membership(actor)
    return actor.pk, membership.pk if membership else None
