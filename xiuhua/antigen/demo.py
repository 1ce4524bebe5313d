"""Demo antigen reports for `seed_demo`: in the demo committee (the `committee` account's), the
first building's households report today from their phones (all but a few), one of them positive,
and the grid worker `grid` would see the rest on the not-yet-reported list; the committee's
reminder is set for 20:00. Written through the services as the phone page and the staff page
would. Idempotent: nothing is written when the committee already has reports."""

from __future__ import annotations

from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Resident

from .models import AntigenReport
from .services import REPORTING, antigen_reminder_set, antigen_report_household


def ensure_demo_reports() -> list[str]:
    staff = User.objects.filter(username="committee").first()
    if staff is None:
        return []
    staff.active_membership = staff.memberships.select_related("org_unit").get()  # type: ignore[attr-defined]
    committee = staff.active_membership.org_unit  # type: ignore[attr-defined]
    if AntigenReport.objects.filter(committee=committee).exists():
        return []
    building = (OrgUnit.objects.filter(kind=Kind.BUILDING, path__startswith=committee.path)
                .order_by("parent__sort_key", "sort_key", "pk").first())
    if building is None:
        return []
    residents = list(Resident.objects.filter(household__building=building, living_status__in=REPORTING)
                     .order_by("household__room_sort", "pk"))
    by_household: dict[int, list[Resident]] = {}
    for resident in residents:
        by_household.setdefault(resident.household_id, []).append(resident)
    now = timezone.now()
    reported = positives = 0
    households = list(by_household.values())
    for index, members in enumerate(households[: max(1, len(households) * 3 // 4)]):
        phone = next((m.mobile for m in members if m.mobile), "")
        if not phone:
            continue
        results = [(m.pk, "positive" if index == 2 and i == 0 else "negative") for i, m in enumerate(members)]
        outcome = antigen_report_household(phone=phone, reports=results, now=now)
        reported += outcome.new
        positives += len(outcome.positives)
    antigen_reminder_set(actor=staff, committee=committee, hour=20)
    return [f"Antigen: {reported} reports today in {building.parent.name if building.parent else ''}{building.name} "
            f"({positives} positive), reminder at 20:00 for {committee.name}."]
