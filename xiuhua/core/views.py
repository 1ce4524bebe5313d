from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from xiuhua.residents.models import Tag
from xiuhua.residents.selectors import HOME_TAGS, scope_overview

from .policy import logged_in, public
from .scoping import active_membership


@logged_in
def home(request):
    """The current scope at a glance: per committee (or street), households, people, key tags."""
    rows = scope_overview(request.user)
    totals = None
    if rows:
        totals = {
            "households": sum(r["households"] for r in rows),
            "residents": sum(r["residents"] for r in rows),
        }
    labels = [Tag(t).label for t in HOME_TAGS]
    if totals is not None:
        totals["tags"] = [(label, sum(r["tag_list"][i] for r in rows)) for i, label in enumerate(labels)]
    return render(
        request,
        "core/home.html",
        {"rows": rows, "totals": totals, "tag_labels": labels, "work": _waiting_work(request.user)},
    )


def _waiting_work(user) -> dict[str, int] | None:
    """What is waiting for the user now (contacts due, alerts, list people to report on, work
    orders overdue or due soon and extensions to approve), so the first page after login points
    at it; None when the user holds none of that work."""
    from django.utils import timezone

    from xiuhua.accounts.roles import Cap, Role
    from xiuhua.isolation.selectors import open_alerts, overdue_contacts
    from xiuhua.tickets.models import Ticket
    from xiuhua.tickets.selectors import board_counts
    from xiuhua.tracing.selectors import committee_worklist

    membership = active_membership(user)
    if membership is None:
        return None
    work: dict[str, int] = {}
    if membership.has(Cap.RECORD_CONTACT):
        work["contacts"] = overdue_contacts(user, now=timezone.now()).count()
        work["alerts"] = open_alerts(user).count()
    if membership.has(Cap.REPORT_TRACING):
        work["list"] = committee_worklist(user).count()
    if membership.has(Cap.VIEW_TICKETS):
        counts = board_counts(Ticket.objects.visible_to(user).open())
        work["tickets_overdue"] = counts.overdue
        work["tickets_soon"] = counts.soon
        if membership.role == Role.STREET_OFFICER:
            work["tickets_extension"] = counts.extension_requested
    return work or None


@public
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


set_language = public(require_POST(django_set_language))
