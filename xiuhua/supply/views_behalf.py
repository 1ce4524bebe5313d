"""Committee staff acting for a resident or leader without a smartphone (REVIEW_GROUPBUY), every
row marked `entered_by`:

    /supply/leaders/behalf/                 pick a household (building, room): apply for one of its
                                            living residents (names masked)
    /supply/leaders/<pk>/document/          the leader's documents on record (each kind's newest, its
                                            validity); record one the leader showed
    /supply/leaders/<pk>/file/              file a buy for the leader
    /supply/filings/<pk>/edit/              resubmit a filing sent back for changes

A leader, household or filing outside the committee is the same 404 as a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id
from xiuhua.core.crypto import mask_name
from xiuhua.core.forms import apply_errors
from xiuhua.core.policy import requires
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household, Resident

from . import services
from .models import DocKind, Filing, FilingStatus, Leader, LeaderStatus
from .views_leader import DocumentForm, FilingForm, filing_form_data, filing_initial, items_from, items_initial


@requires(Cap.REVIEW_GROUPBUY)
@require_http_methods(["GET"])
def behalf(request):
    buildings = (OrgUnit.objects.visible_to(request.user).filter(kind=Kind.BUILDING).select_related("parent")
                 .in_natural_order())
    building_pk, room = request.GET.get("building", ""), request.GET.get("room", "").strip()
    residents = []
    if building_pk and room:
        household = (Household.objects.visible_to(request.user)
                     .filter(building_id=building_pk if building_pk.isdigit() else 0, room=room).first())
        if household is None:
            messages.error(request, _("没有找到这一户"))
        else:
            residents = [{"pk": r.pk, "name": mask_name(r.name)} for r in
                         Resident.objects.visible_to(request.user).filter(household=household,
                                                                          living_status__in=services.LIVING)]
    return render(request, "supply/behalf.html", {"buildings": buildings, "building": building_pk, "room": room,
                                                  "residents": residents})


@requires(Cap.REVIEW_GROUPBUY)
@require_POST
def behalf_apply(request):
    resident = access_by_id(Resident.objects, request.user, pk=request.POST.get("resident") or 0)
    try:
        services.leader_apply(actor=request.user, resident=resident, note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("supply:behalf")
    messages.success(request, _("已代为提交团长申请"))
    return redirect("supply:leaders")


def _leader(request, pk: int) -> Leader:
    leader = access_by_id(Leader.objects.select_related("compound", "resident"), request.user, pk=pk)
    if leader.status != LeaderStatus.APPROVED:
        raise Http404
    return leader


@requires(Cap.REVIEW_GROUPBUY)
@require_http_methods(["GET", "POST"])
def behalf_document(request, pk: int):
    leader = _leader(request, pk)
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.document_add(actor=request.user, leader=leader, kind=data["kind"], number=data["number"],
                                  holder=data["holder"], taken_at=data["taken_at"], valid_until=data["valid_until"],
                                  photo=data["photo"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("证件已登记"))
            return redirect("supply:leaders")
    documents = services.current_documents(leader)
    return render(request, "supply/behalf_document.html", {
        "leader": leader, "form": form, "now": timezone.now(),
        "documents": [(kind.label, documents.get(kind)) for kind in DocKind]}, status=400 if form.errors else 200)


@requires(Cap.REVIEW_GROUPBUY)
@require_http_methods(["GET", "POST"])
def behalf_file(request, pk: int):
    leader = _leader(request, pk)
    form = FilingForm(request.POST or None)
    items = items_from(request.POST) if request.method == "POST" else items_initial(None)
    if request.method == "POST" and form.is_valid():
        try:
            filing = services.filing_submit(actor=request.user, leader=leader,
                                            data=filing_form_data(form, request.POST))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已代为报备,编号 %(n)s") % {"n": filing.number})
            return redirect("supply:filing", filing.pk)
    return render(request, "supply/behalf_file.html", {"leader": leader, "form": form, "items": items,
                                                       "filing": None}, status=400 if form.errors else 200)


@requires(Cap.REVIEW_GROUPBUY)
@require_http_methods(["GET", "POST"])
def behalf_edit(request, pk: int):
    filing = access_by_id(Filing.objects.select_related("leader__compound", "leader__resident"), request.user, pk=pk)
    if filing.status != FilingStatus.CHANGES_REQUESTED:
        raise Http404
    form = FilingForm(request.POST or None, initial=filing_initial(filing))
    items = items_from(request.POST) if request.method == "POST" else items_initial(filing)
    if request.method == "POST" and form.is_valid():
        try:
            services.filing_resubmit(actor=request.user, filing=filing, data=filing_form_data(form, request.POST))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已代为重新提交"))
            return redirect("supply:filing", filing.pk)
    return render(request, "supply/behalf_file.html", {"leader": filing.leader, "form": form, "items": items,
                                                       "filing": filing}, status=400 if form.errors else 200)
