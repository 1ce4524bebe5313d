"""Background work of the residents app, run by the task worker (`manage.py db_worker`).

Tasks take ids only (their arguments are stored in the task table as JSON, so never personal
data) and call the same services as the pages.
"""

import logging

from django_tasks import task

from xiuhua.accounts.models import Membership, User

from . import roster
from .models import RosterExport, RosterImport

logger = logging.getLogger(__name__)


def _actor(user_id: int | None, membership_id: int | None) -> User | None:
    """The user who asked, acting through the membership they used (None: the system)."""
    if user_id is None:
        return None
    if membership_id is None:
        raise PermissionError("a user acts through a membership")
    user = User.objects.get(pk=user_id)
    user.active_membership = (  # type: ignore[attr-defined]
        Membership.objects.select_related("org_unit", "grid").filter(pk=membership_id, user=user).first()
    )
    return user


@task()
def roster_import_validate_task(import_id: int) -> str:
    roster_import = RosterImport.objects.select_related("committee").get(pk=import_id)
    # Validation writes nothing but the import's own record: it runs as the system, on behalf
    # of the upload that was checked when it was accepted.
    roster_import = roster.roster_import_validate(actor=None, roster_import=roster_import)
    return roster_import.status


@task()
def roster_import_commit_task(import_id: int, user_id: int | None, membership_id: int | None) -> str:
    roster_import = RosterImport.objects.select_related("committee").get(pk=import_id)
    roster_import = roster.roster_import_commit_run(
        actor=_actor(user_id, membership_id), roster_import=roster_import
    )
    return roster_import.status


@task()
def roster_export_task(export_id: int) -> str:
    export = RosterExport.objects.select_related("requested_by", "membership__org_unit").get(pk=export_id)
    return roster.roster_export_run(export=export).status
