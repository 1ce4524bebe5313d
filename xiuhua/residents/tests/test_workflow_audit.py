"""Every declared action of the roster's state tables, driven through the service that takes it
(the pages' import and export services, the task worker's, pruning), lands in its target state
with exactly one audit event of its own."""

import datetime as dt

import pytest
from django.db import IntegrityError
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.places.models import OrgUnit
from xiuhua.residents import roster
from xiuhua.residents.models import ResidentTag, RosterExport, RosterImport
from xiuhua.residents.roster import exports, plan, services
from xiuhua.residents.roster.worker import seal
from xiuhua.residents.workflows import ROSTER_EXPORT, ROSTER_IMPORT
from xiuhua.testing import acting

from .test_roster_fixtures import import_file, new_id, person, xlsx

pytestmark = pytest.mark.django_db
Status = RosterImport.Status


class Case:
    """What a driver needs: the test world, the acting member, pytest's monkeypatch."""

    def __init__(self, world, monkeypatch) -> None:
        self.world, self.monkeypatch = world, monkeypatch
        self.staff = acting(world.staff_a1)

    def upload(self, **kwargs) -> RosterImport:
        return import_file(self.staff, self.world.committee_a1, xlsx([person(证件号码=new_id())]), **kwargs)

    def status_while(self, module, name: str, model, pk_of) -> list[str]:
        """Wraps module.name to note a row's status when it is called: a state passed through.
        pk_of gives the row's id from the call's first argument."""
        seen: list[str] = []
        real = getattr(module, name)

        def watching(first, *args, **kwargs):
            seen.append(model.objects.get(pk=pk_of(first)).status)
            return real(first, *args, **kwargs)

        self.monkeypatch.setattr(module, name, watching)
        return seen

    def export(self) -> RosterExport:
        result = roster.roster_export(actor=self.staff, filters={}, background=True)
        assert result.queued is not None
        return RosterExport.objects.select_related("requested_by", "membership__org_unit").get(pk=result.queued.pk)


def later(delta: dt.timedelta) -> dt.datetime:
    return timezone.now() + delta


def validate(case: Case) -> str:
    seen = case.status_while(services, "progress_reporter", RosterImport, lambda imp: imp.pk)
    case.upload(background=False)
    return seen[0]


def fail_validation(case: Case) -> str:
    imp = case.upload(background=True)
    RosterImport.objects.filter(pk=imp.pk).update(payload=seal(b"not a roster"))
    return roster.roster_import_validate(actor=None, roster_import=imp).status


def request_commit(case: Case) -> str:
    return roster.roster_import_commit(actor=case.staff, roster_import=case.upload(), background=True).status


def commit(case: Case) -> str:
    return roster.roster_import_commit(actor=case.staff, roster_import=case.upload()).status


def refuse_commit(case: Case) -> str:
    building = OrgUnit.objects.create(kind="building", name="7号", parent=case.world.compound_a1)
    imp = import_file(case.staff, case.world.committee_a1, xlsx([person(楼栋="7号", 证件号码=new_id())]))
    building.delete()
    return roster.roster_import_commit(actor=case.staff, roster_import=imp).status


def fail_commit(case: Case) -> str:
    imp = case.upload()
    real_insert = plan._insert

    def failing_insert(model, *args, **kwargs):
        if model is ResidentTag:
            raise IntegrityError("simulated")
        return real_insert(model, *args, **kwargs)

    case.monkeypatch.setattr(plan, "_insert", failing_insert)
    return roster.roster_import_commit(actor=case.staff, roster_import=imp).status


def expire_import(case: Case) -> str:
    imp = case.upload()
    roster.roster_prune(now=later(dt.timedelta(days=8)))
    imp.refresh_from_db()
    return imp.status


def stuck(case: Case) -> str:
    imp = case.upload()
    RosterImport.objects.filter(pk=imp.pk).update(status=Status.VALIDATING)
    roster.roster_prune(now=later(dt.timedelta(hours=3)))
    imp.refresh_from_db()
    return imp.status


IMPORT_DRIVERS = {
    "validate": validate,
    "finish_validation": lambda case: case.upload(background=False).status,
    "fail_validation": fail_validation,
    "request_commit": request_commit,
    "commit": commit,
    "refuse_commit": refuse_commit,
    "fail_commit": fail_commit,
    "discard": lambda case: roster.roster_import_discard(actor=case.staff, roster_import=case.upload()).status,
    "expire": expire_import,
    "stuck": stuck,
}


def run(case: Case) -> str:
    export = case.export()
    seen = case.status_while(exports, "_write_export", RosterExport, lambda _residents: export.pk)
    roster.roster_export_run(export=export)
    return seen[0]


def fail_export(case: Case) -> str:
    export = case.export()
    export.membership.active = False  # the member lost the role before the worker got to it
    export.membership.save(update_fields=["active"])
    return roster.roster_export_run(export=export).status


def download(case: Case) -> str:
    export = roster.roster_export_run(export=case.export())
    roster.roster_export_download(actor=case.staff, export=export).close()
    export.refresh_from_db()
    return export.status


def expire_export(case: Case) -> str:
    export = roster.roster_export_run(export=case.export())
    roster.roster_prune(now=later(dt.timedelta(hours=25)))
    export.refresh_from_db()
    return export.status


EXPORT_DRIVERS = {
    "run": run,
    "finish": lambda case: roster.roster_export_run(export=case.export()).status,
    "fail": fail_export,
    "download": download,
    "expire": expire_export,
}


@pytest.fixture
def case(world, monkeypatch, settings, tmp_path) -> Case:
    settings.VAR_DIR = tmp_path
    return Case(world, monkeypatch)


def events_since(pk: int, action: str):
    return AuditEvent.objects.filter(pk__gt=pk, action=action)


def last_event() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.parametrize("action", sorted(ROSTER_IMPORT.actions))
def test_each_import_action_is_audited_once(case, action):
    since = last_event()
    assert IMPORT_DRIVERS[action](case) == ROSTER_IMPORT.actions[action].target
    events = events_since(since, f"{ROSTER_IMPORT.name}_{action}")
    assert events.count() == 1
    assert events.get().committee_id == case.world.committee_a1.pk


@pytest.mark.parametrize("action", sorted(ROSTER_EXPORT.actions))
def test_each_export_action_is_audited_once(case, action):
    since = last_event()
    assert EXPORT_DRIVERS[action](case) == ROSTER_EXPORT.actions[action].target
    events = events_since(since, f"{ROSTER_EXPORT.name}_{action}")
    assert events.count() == 1
    assert events.get().object_type == "residents.rosterexport"
