"""Reads of the isolation module, scoped to the user's membership (grid workers: their grid)."""

import datetime as dt

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from xiuhua.core.access import active_membership
from xiuhua.places.models import Kind, OrgUnit

from .models import Alert, Arrival, ArrivalStatus, CaseStatus, Channel, Contact, IsolationCase

# A contact may be recorded this long before it is due (a visit in the morning for the afternoon's
# call), not earlier: the window services.contact_record enforces and the pages offer.
RECORD_AHEAD = dt.timedelta(hours=6)


def recordable_until(now: dt.datetime) -> dt.datetime:
    """Contacts due up to this moment may be recorded at `now`."""
    return now + RECORD_AHEAD


def overdue_contacts(user, *, now: dt.datetime) -> QuerySet[Contact]:
    """Contacts due by now and not recorded, oldest first: the first thing staff see."""
    return (
        Contact.objects.visible_to(user)
        .filter(outcome="", due_at__lte=now, case__status=CaseStatus.OPEN)
        .select_related("case__arrival", "case__household__building", "case__household__compound")
        .order_by("due_at", "pk")
    )


def open_alerts(user) -> QuerySet[Alert]:
    cases = IsolationCase.objects.visible_to(user).values("pk")
    return Alert.objects.filter(case__in=cases, handled_at__isnull=True).select_related("case__arrival", "contact")


def open_cases(user) -> QuerySet[IsolationCase]:
    """The user's open cases, the soonest to end first, with how many of the five steps are done."""
    return (
        IsolationCase.objects.visible_to(user)
        .filter(status=CaseStatus.OPEN)
        .select_related("arrival", "household__building", "household__compound")
        .annotate(steps_done=Count("steps", filter=Q(steps__done_at__isnull=False)))
        .order_by("ends_on", "pk")
    )


def _count_per_committee(queryset: QuerySet) -> Coalesce:
    """A correlated count of `queryset`'s rows for the outer committee."""
    counted = (
        queryset.filter(committee=OuterRef("pk")).order_by().values("committee").annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted[:1], output_field=IntegerField()), Value(0))


def committee_figures(user, *, now: dt.datetime) -> QuerySet[OrgUnit]:
    """For a street or district officer: each committee of their unit with its open cases,
    overdue contacts and open alerts (annotated `cases_open`, `overdue`, `alerts`), in one query."""
    membership = active_membership(user)
    if membership is None or membership.org_unit.kind == Kind.COMMITTEE:
        return OrgUnit.objects.none()
    return (
        OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=membership.org_unit.path)
        .select_related("parent")
        .annotate(
            cases_open=_count_per_committee(IsolationCase.objects.visible_to(user).filter(status=CaseStatus.OPEN)),
            overdue=_count_per_committee(
                Contact.objects.visible_to(user).filter(outcome="", due_at__lte=now, case__status=CaseStatus.OPEN)
            ),
            alerts=_count_per_committee(open_alerts(user)),
        )
        .order_by("code", "name")
    )


def arrivals_awaiting_case(user) -> QuerySet[Arrival]:
    """Arrivals people registered themselves (QR page) waiting for staff, newest first: staff
    check them, then open the case, merge them into another registration or reject them."""
    return (
        Arrival.objects.visible_to(user)
        .filter(channel=Channel.SELF, status=ArrivalStatus.AWAITING)
        .select_related("household__building", "household__compound")
        .order_by("-created_at", "-pk")
    )


def same_number_arrivals(user, arrivals: list[Arrival]) -> dict[int, list[Arrival]]:
    """For each arrival, the other live registrations of its identity number that the user can see
    (any day, oldest first), in one query: shown beside it so that staff can tell the person's own
    registration from one typed by someone else, and merge or reject. Nothing outside the user's
    scope is read."""
    hashes = {a.id_hash for a in arrivals if a.id_hash}
    if not hashes:
        return {}
    others = (
        Arrival.objects.visible_to(user)
        .filter(id_hash__in=hashes, status__in=[ArrivalStatus.AWAITING, ArrivalStatus.ACCEPTED])
        .select_related("household__building", "household__compound")
        .order_by("arrival_date", "created_at", "pk")
    )
    by_hash: dict[str, list[Arrival]] = {}
    for other in others:
        by_hash.setdefault(other.id_hash, []).append(other)
    return {a.pk: [o for o in by_hash.get(a.id_hash, []) if o.pk != a.pk] for a in arrivals if a.id_hash}
