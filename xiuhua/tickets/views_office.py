"""Street-office pages of the work-order module: the 12345 import and the daily report.

Views are thin: check who may act, parse input, call one service or report, render. The import
needs RECORD_TICKET at street level (a district or city membership picks one of its streets); the
report needs VIEW_TICKETS at committee level or above (a committee sees only its own figures,
another committee's are a 404) and is refused to department staff, whose tickets are only those
dispatched to them.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.access import active_membership
from xiuhua.core.forms import apply_errors as _apply_errors
from xiuhua.core.policy import requires
from xiuhua.places.models import KIND_RANK, Kind, OrgUnit

from . import imports, reports

_EXTENSIONS = (".xlsx", ".csv")


class HotlineImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("12345工单导出文件(.xlsx 或 .csv,不超过10MB)"),
        widget=forms.FileInput(attrs={"accept": ",".join(_EXTENSIONS)}),
        error_messages={"required": gettext_lazy("请选择文件"), "empty": gettext_lazy("文件是空的")},
    )
    street = forms.TypedChoiceField(label=gettext_lazy("街道"), coerce=int, required=False)

    def __init__(self, *args, streets: list[OrgUnit], **kwargs):
        super().__init__(*args, **kwargs)
        self.streets = {s.pk: s for s in streets}
        if streets:
            self.fields["street"].required = True
            self.fields["street"].choices = [("", _("请选择街道"))] + [(s.pk, s.name) for s in streets]  # type: ignore[attr-defined]
            self.fields["street"].error_messages = {"required": _("请选择街道"), "invalid_choice": _("请选择街道")}
        else:
            del self.fields["street"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # The size the upload handler counted: a file too large is refused before it is read.
        if upload.size > imports.MAX_FILE_BYTES:
            raise ValidationError(_("文件超过10MB,请拆分后上传"))
        if not upload.name.lower().endswith(_EXTENSIONS):
            raise ValidationError(_("请上传 .xlsx 或 .csv 文件(旧版 .xls 请先另存为 .xlsx)"))
        return upload

    def clean_street(self) -> OrgUnit | None:
        value = self.cleaned_data.get("street")
        return self.streets.get(value) if value else None


def _import_unit(user) -> tuple[OrgUnit, list[OrgUnit]]:
    """The officer's unit, and the streets to choose from (none for a street officer)."""
    membership = active_membership(user)
    unit = membership.org_unit
    if membership.grid_id or KIND_RANK[Kind(unit.kind)] > KIND_RANK[Kind.STREET]:
        raise PermissionDenied  # committee staff record orders one by one; imports are the street's
    if unit.kind == Kind.STREET:
        return unit, []
    return unit, list(OrgUnit.objects.filter(kind=Kind.STREET, path__startswith=unit.path).order_by("code", "name"))



@requires(Cap.RECORD_TICKET)
def hotline_import(request):
    unit, streets = _import_unit(request.user)
    result = None
    if request.method == "POST":
        form = HotlineImportForm(request.POST, request.FILES, streets=streets)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            street = form.cleaned_data.get("street") or unit
            try:
                result = imports.hotline_import(
                    actor=request.user, street=street, data=b"".join(upload.chunks()), filename=upload.name
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                form = HotlineImportForm(streets=streets)
    else:
        form = HotlineImportForm(streets=streets)
    return render(request, "tickets/office/import.html", {
        "form": form, "unit": unit, "result": result, "max_rows": imports.MAX_ROWS,
        "labels": imports.COLUMN_LABELS,
    })


def report_unit(user, committee: str | None) -> OrgUnit:
    """The unit whose figures the user asked for: their own unit, or one committee under it.
    PermissionDenied for roles without place-wide sight; the same 404 for a missing committee and
    another's."""
    membership = active_membership(user)
    if membership is None or not membership.has(Cap.VIEW_TICKETS):
        raise PermissionDenied
    unit = membership.org_unit
    if membership.role == Role.DEPARTMENT_STAFF or membership.grid_id:
        raise PermissionDenied
    if KIND_RANK[Kind(unit.kind)] > KIND_RANK[Kind.COMMITTEE]:
        raise PermissionDenied
    if not committee:
        return unit
    if not (committee.isascii() and committee.isdigit()):
        raise Http404
    found = OrgUnit.objects.filter(pk=int(committee), kind=Kind.COMMITTEE, path__startswith=unit.path).first()
    if found is None:
        raise Http404
    return found


def _report_day(request) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return timezone.localdate()


@requires(Cap.VIEW_TICKETS)
def daily(request):
    unit = report_unit(request.user, request.GET.get("committee"))
    day = _report_day(request)
    report = reports.daily_report(unit=unit, day=day)
    own = active_membership(request.user).org_unit
    committees = (
        list(OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=own.path).order_by("code", "name"))
        if own.kind != Kind.COMMITTEE else []
    )
    total = report.total
    counts = [(key, label, definition, getattr(total, key))
              for key, (label, definition) in reports.COUNT_LABELS.items()]
    rates = [(key, label, numerator, denominator, getattr(total, key))
             for key, (label, numerator, denominator) in reports.RATE_LABELS.items()]
    columns = [(key, reports.COUNT_LABELS[key][0]) for key in reports.CATEGORY_COLUMNS]
    category_rows = [(label, [(column, getattr(f, key)) for key, column in columns], f)
                     for _c, label, f in report.by_category]
    return render(request, "tickets/office/daily.html", {
        "report": report, "unit": unit, "own": own, "committees": committees, "counts": counts, "rates": rates,
        "columns": columns, "category_rows": category_rows,
        "total_row": [(column, getattr(total, key)) for key, column in columns],
        "selected": unit.pk if unit.kind == Kind.COMMITTEE and own.kind != Kind.COMMITTEE else None,
    })


@requires(Cap.VIEW_TICKETS)
def daily_xlsx(request):
    """Counts only, no personal data."""
    unit = report_unit(request.user, request.GET.get("committee"))
    day = _report_day(request)
    data = reports.daily_report_xlsx(reports.daily_report(unit=unit, day=day))
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    filename = _("%(unit)s-工单日报-%(day)s.xlsx") % {"unit": unit.name, "day": day.isoformat()}
    response["Content-Disposition"] = (
        f"attachment; filename=\"tickets-daily-{day.isoformat()}.xlsx\"; filename*=UTF-8''{quote(filename)}"
    )
    response["Cache-Control"] = "private, no-store"
    return response
