"""Staff pages of the antigen module.

    /antigen/                         today's coverage per building and grid        (view_antigen)
    /antigen/not-reported/            the not-yet-reported list (?building=), print  (view_antigen)
    /antigen/not-reported.xlsx        its Excel download, audited                    (view_antigen)
    /antigen/b/<building>/            a building's residents, quick buttons, photo   (record_antigen)
    /antigen/b/<building>/record/     POST one resident's result                     (record_antigen)
    /antigen/r/<report>/photo/        a report's photo, audited                      (view_antigen)
    /antigen/positives/               positives to follow up                         (confirm_antigen)
    /antigen/r/<report>/arrange/      POST: open the confirming single-tube review   (confirm_antigen)
    /antigen/r/<report>/confirm/      POST: the committee confirms the positive      (confirm_antigen)
    /antigen/reminder/                the committee's reminder hour                  (confirm_antigen)

A building, report or resident outside the member's scope is the same 404 as a missing one.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import active_membership, has_cap
from xiuhua.core.crypto import mask_name
from xiuhua.core.policy import requires
from xiuhua.core.sheets import ListSheet, list_download
from xiuhua.places.models import Kind, OrgUnit

from . import selectors as sel
from .lists import NOT_REPORTED_COLUMNS, building_label, not_reported_rows, phone_shown
from .models import ReminderSetting, Result
from .services import (
    antigen_confirm_positive,
    antigen_photo_open,
    antigen_reminder_set,
    antigen_report,
    antigen_review_arrange,
    report_day,
)


def _errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _building(request, pk) -> OrgUnit:
    """A building the member sees residents in (one 404 for missing and not-yours)."""
    building = OrgUnit.objects.filter(pk=pk, kind=Kind.BUILDING).select_related("parent").first()
    if building is None or not sel.living(request.user).filter(household__building=building).exists():
        raise Http404
    return building


def _wanted_building(request) -> OrgUnit | None:
    wanted = request.GET.get("building", "")
    if not wanted.isdigit():
        return None
    try:
        return _building(request, int(wanted))
    except Http404:
        return None


@requires(Cap.VIEW_ANTIGEN)
@require_GET
def coverage(request):
    day = report_day()
    by_building, by_grid, total = sel.coverage(request.user, day)
    return render(request, "antigen/coverage.html", {
        "buildings": by_building, "grids": by_grid, "total": total, "day": day, "now": timezone.now(),
        "may_record": has_cap(request.user, Cap.RECORD_ANTIGEN), "may_confirm": has_cap(request.user,
                                                                                        Cap.CONFIRM_ANTIGEN),
    })


@requires(Cap.VIEW_ANTIGEN)
@require_GET
def not_reported(request):
    day = report_day()
    building = _wanted_building(request)
    rows = sel.not_reported(request.user, day, building.pk if building else None)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    full = has_cap(request.user, Cap.VIEW_RESIDENTS)
    for resident in page:
        resident.name_masked = mask_name(resident.name)
        resident.phone_shown = phone_shown(resident, full=full)
    membership = active_membership(request.user)
    return render(request, "antigen/not_reported.html", {
        "page": page, "columns": NOT_REPORTED_COLUMNS, "building": building, "day": day, "full_phone": full,
        "now": timezone.now(), "unit": membership.org_unit if membership else None,
        "filters_text": building_label(building) if building else _("全部楼栋"),
        "query": f"building={building.pk}" if building else "",
        "may_record": has_cap(request.user, Cap.RECORD_ANTIGEN),
    })


@requires(Cap.VIEW_ANTIGEN)
@require_GET
def not_reported_xlsx(request):
    day = report_day()
    building = _wanted_building(request)
    rows = sel.not_reported(request.user, day, building.pk if building else None)
    filters = building_label(building) if building else _("全部楼栋")
    sheet = ListSheet(
        NOT_REPORTED_COLUMNS, filters=filters, name=_("未上报"),
        title=_("抗原未上报人员 %(day)s") % {"day": day.isoformat()},
        rows=not_reported_rows(rows.iterator(chunk_size=2000), full_phone=has_cap(request.user, Cap.VIEW_RESIDENTS)),
    )
    return list_download(sheet, actor=request.user, membership=active_membership(request.user),
                         action="antigen_not_reported_export", filename=_("抗原未上报人员-%(day)s") % {
                             "day": day.isoformat()}, fallback="antigen-not-reported", detail={"day": day.isoformat()})


@requires(Cap.RECORD_ANTIGEN)
@require_GET
def building_page(request, pk: int):
    building = _building(request, pk)
    day = report_day()
    residents = sel.building_rows(request.user, building, day)
    for resident in residents:
        setattr(resident, "name_masked", mask_name(resident.name))  # noqa: B010  # what the list shows
    return render(request, "antigen/building.html", {
        "building": building, "label": building_label(building), "residents": residents, "day": day,
        "results": Result.choices, "reported": sum(1 for r in residents if getattr(r, "report", None)),
    })


@requires(Cap.RECORD_ANTIGEN)
@require_POST
def record(request, pk: int):
    building = _building(request, pk)
    resident_id = request.POST.get("resident", "")
    if not resident_id.isdigit():
        raise Http404
    try:
        report = antigen_report(actor=request.user, resident_id=int(resident_id),
                                result=request.POST.get("result", ""), photo=request.FILES.get("photo"))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已记录 %(name)s:%(result)s") % {
            "name": mask_name(report.resident.name), "result": report.get_result_display()})
    return redirect("antigen:building", pk=building.pk)


@requires(Cap.VIEW_ANTIGEN)
@require_GET
def photo(request, pk: int):
    opened = antigen_photo_open(actor=request.user, report_id=pk)
    response = FileResponse(opened, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@requires(Cap.CONFIRM_ANTIGEN)
@require_GET
def positives(request):
    rows = sel.open_positives(request.user)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    for report in page:
        report.name_masked = mask_name(report.resident.name)
    return render(request, "antigen/positives.html", {"page": page})


@requires(Cap.CONFIRM_ANTIGEN)
@require_POST
def arrange(request, pk: int):
    try:
        antigen_review_arrange(actor=request.user, report_id=pk)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已安排核酸单管复核,见“待复核人员”"))
    return redirect("antigen:positives")


@requires(Cap.CONFIRM_ANTIGEN)
@require_POST
def confirm(request, pk: int):
    try:
        antigen_confirm_positive(actor=request.user, report_id=pk)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已核实该抗原阳性"))
    return redirect("antigen:positives")


class ReminderForm(forms.Form):
    hour = forms.TypedChoiceField(
        label=gettext_lazy("每天几点提醒未上报的家庭"), coerce=int, empty_value=None, required=False,
        choices=[("", gettext_lazy("不提醒"))] + [(h, f"{h}:00") for h in range(24)],
    )


@requires(Cap.CONFIRM_ANTIGEN)
@require_http_methods(["GET", "POST"])
def reminder(request):
    membership = active_membership(request.user)
    committee = membership.org_unit if membership and membership.org_unit.kind == Kind.COMMITTEE else None
    if committee is None:
        raise Http404
    setting = ReminderSetting.objects.filter(committee=committee).first()
    form = ReminderForm(request.POST or None, initial={"hour": setting.hour if setting else None})
    if request.method == "POST" and form.is_valid():
        try:
            antigen_reminder_set(actor=request.user, committee=committee, hour=form.cleaned_data["hour"])
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已保存提醒时间"))
            return redirect("antigen:reminder")
    return render(request, "antigen/reminder.html", {"form": form, "committee": committee, "setting": setting},
                  status=400 if form.errors else 200)
