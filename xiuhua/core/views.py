from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from xiuhua.residents.models import Tag
from xiuhua.residents.selectors import HOME_TAGS, scope_overview

from .policy import logged_in, public
from .registry import home_parts
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
    for r in rows:  # each figure with its label, which a phone shows beside it (no header row there)
        r["tag_cells"] = list(zip(labels, r["tag_list"], strict=True))
    if totals is not None:
        totals["tags"] = [(label, sum(r["tag_list"][i] for r in rows)) for i, label in enumerate(labels)]
    work, work_templates = _waiting_work(request.user)
    return render(
        request,
        "core/home.html",
        {"rows": rows, "totals": totals, "tag_labels": labels, "work": work, "work_templates": work_templates,
         "now_local": timezone.localtime()},
    )


def _waiting_work(user) -> tuple[dict[str, int] | None, list[str]]:
    """What is waiting for the user now, by each domain app's home part (core.registry: contacts
    due, alerts, list people to report on, work orders late or due soon...), so the first page
    after login points at it: the counts of all parts, None when the user holds none of that work,
    and the templates of the parts that have counts, in their order."""
    membership = active_membership(user)
    if membership is None:
        return None, []
    work: dict[str, int] = {}
    templates: list[str] = []
    for part in home_parts():
        counts = part.work(user, membership)
        if counts is None:
            continue
        if work.keys() & counts.keys():
            raise ValueError(f"home part {part.name} repeats the keys {sorted(work.keys() & counts.keys())}")
        work.update(counts)
        templates.append(part.template)
    return work or None, templates


@public
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


set_language = public(require_POST(django_set_language))
