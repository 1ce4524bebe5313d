"""Results pages: the street uploads the lab's file and follows tubes and turnaround; committees
work their people under review (待复核) door to door."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, has_cap
from xiuhua.core.crypto import mask_phone
from xiuhua.core.policy import requires
from xiuhua.core.workflow import can
from xiuhua.residents.roster.files import RosterFileError

from . import selectors_results as sel
from .forms_results import LabFileForm, RetestForm
from .models import RoundStatus, ScreeningRound
from .models_results import PositiveCase, ResultImport, ReviewStatus
from .services_results import box_receive, results_import_file, review_sample


@requires(Cap.RECORD_RESULTS)
def results_index(request):
    """The rounds whose results the member records (a lab finds its work here)."""
    rounds = (ScreeningRound.objects.visible_to(request.user).exclude(status=RoundStatus.DRAFT)
              .select_related("scope").order_by("-first_day", "-pk"))
    page = Paginator(rounds, 30).get_page(request.GET.get("page"))
    return render(request, "screening/results/index.html", {"page": page})


@requires(Cap.RECORD_RESULTS)
def round_results(request, pk: int):
    screening_round = access_by_id(ScreeningRound.objects, request.user, pk=pk, cap=Cap.RECORD_RESULTS)
    form = LabFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            record = results_import_file(actor=request.user, screening_round=screening_round, data=upload.read(),
                                         filename=upload.name)
        except RosterFileError as exc:
            form.add_error("file", exc.messages)
        except ValidationError as exc:
            for messages_ in exc.message_dict.values():
                form.add_error("file", messages_)
        else:
            messages.success(request, _("已录入 %(applied)s 管结果,%(problems)s 行未能录入") % {
                "applied": record.applied, "problems": len(record.problems)})
            return redirect("screening:result_import", pk=record.pk)
    return render(request, "screening/results/round.html", {
        "round": screening_round, "form": form, "counts": sel.tube_counts(screening_round),
        "overdue": sel.overdue_tubes(screening_round)[:200], "turnaround": sel.turnaround_hours(screening_round),
        "imports": ResultImport.objects.filter(round=screening_round).select_related("uploaded_by")
        .order_by("-created_at")[:50],
        "boxes": sel.box_turnaround(screening_round),
        "positives": PositiveCase.objects.visible_to(request.user).filter(round=screening_round)
        .select_related("code", "building", "committee").order_by("-resulted_at")[:200],
    })


@requires(Cap.RECORD_RESULTS)
@require_POST
def box_receive_view(request, pk: int):
    screening_round = access_by_id(ScreeningRound.objects, request.user, pk=pk, cap=Cap.RECORD_RESULTS)
    try:
        box = box_receive(actor=request.user, screening_round=screening_round, barcode=request.POST.get("barcode", ""))
    except ValidationError as exc:
        for messages_ in exc.message_dict.values():
            for message in messages_:
                messages.error(request, message)
    else:
        messages.success(request, _("转运箱 %(barcode)s 已接收") % {"barcode": box.barcode})
    return redirect("screening:round_results", pk=screening_round.pk)


@requires(Cap.RECORD_RESULTS)
def result_import(request, pk: int):
    record = access_by_id(ResultImport.objects.select_related("round"), request.user, pk=pk,
                          cap=Cap.RECORD_RESULTS)
    return render(request, "screening/results/import.html", {"record": record, "round": record.round})


@requires(Cap.VIEW_SCREENING)
def reviews(request):
    rows = sel.open_reviews(request.user)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    for review in page:
        review.phone_masked = mask_phone(review.code.phone) if review.code.phone else ""
        review.may_sample = can(request.user, review, "sample")
    return render(request, "screening/results/reviews.html", {
        "page": page, "pending": rows.filter(status=ReviewStatus.PENDING).count(),
        "sampled": rows.filter(status=ReviewStatus.SAMPLED).count(), "now": timezone.now(),
        # Staff who see the roster call the person; others (volunteers) see the phone masked.
        "perms_view_residents": has_cap(request.user, Cap.VIEW_RESIDENTS),
    })


@requires(Cap.COLLECT_SAMPLES)
@require_POST
def review_sample_view(request, pk: int):
    form = RetestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请扫描或输入试管条码"))
        return redirect("screening:reviews")
    try:  # review_sample finds the review as the member sees it: one 404 for missing and not-yours
        review = review_sample(actor=request.user, review_id=pk, barcode=form.cleaned_data["barcode"])
    except ValidationError as exc:
        for messages_ in exc.message_dict.values():
            for message in messages_:
                messages.error(request, message)
    else:
        barcode = review.retest_tube.barcode if review.retest_tube else ""
        messages.success(request, _("已登记单管采样 %(barcode)s,等待结果") % {"barcode": barcode})
    return redirect("screening:reviews")
