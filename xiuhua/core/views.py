from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from xiuhua.accounts.roles import Cap
from xiuhua.residents.models import Household, Resident, ResidentTag, Tag

from .policy import logged_in, public
from .scoping import active_membership


@logged_in
def home(request):
    counts = None
    membership = active_membership(request.user)
    if membership and membership.has(Cap.VIEW_RESIDENTS):
        residents = Resident.objects.visible_to(request.user)
        tag_rows = ResidentTag.objects.filter(resident__in=residents.values("pk")).values("tag").annotate(n=Count("pk"))
        by_tag = {row["tag"]: row["n"] for row in tag_rows}
        counts = {
            "households": Household.objects.visible_to(request.user).count(),
            "residents": residents.count(),
            "tags": [(label, by_tag.get(code, 0)) for code, label in Tag.choices[:6]],
        }
    return render(request, "core/home.html", {"counts": counts})


@public
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


set_language = public(require_POST(django_set_language))
