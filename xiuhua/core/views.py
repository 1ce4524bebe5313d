from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from xiuhua.residents.models import Tag
from xiuhua.residents.selectors import HOME_TAGS, scope_overview

from .policy import logged_in, public


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
    return render(request, "core/home.html", {"rows": rows, "totals": totals, "tag_labels": labels})


@public
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


set_language = public(require_POST(django_set_language))
