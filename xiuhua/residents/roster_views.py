"""Roster (花名册) pages: template, upload, preview and commit of imports, exports."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership, has_cap
from xiuhua.core.lookups import LookupThrottled
from xiuhua.core.policy import requires
from xiuhua.core.workflow import can
from xiuhua.places.models import Kind, OrgUnit

from . import roster
from .forms import SearchForm
from .models import RosterExport, RosterImport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROBLEMS_PER_PAGE = 200


class UploadForm(forms.Form):
    committee = forms.ModelChoiceField(
        label=gettext_lazy("居委会"), queryset=OrgUnit.objects.none(), required=False,
        empty_label=gettext_lazy("请选择居委会"),
    )
    file = forms.FileField(
        label=gettext_lazy("花名册文件(.xlsx 或 .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        committees = roster.importable_committees(user)
        self.fields["committee"].queryset = committees
        self.only_committee = committees.first() if committees.count() == 1 else None

    def clean_committee(self):
        committee = self.cleaned_data.get("committee") or self.only_committee
        if committee is None:
            raise ValidationError(_("请选择居委会"))
        return committee


class ExportForm(SearchForm):
    committee = forms.IntegerField(required=False, min_value=1)
    compound = forms.IntegerField(required=False, min_value=1)
    building = forms.IntegerField(required=False, min_value=1)
    full_ids = forms.BooleanField(label=gettext_lazy("导出完整证件号"), required=False)
    reason = forms.CharField(label=gettext_lazy("事由"), max_length=200, required=False)


def _caps(user) -> set[str]:
    return {c for c in (Cap.IMPORT_ROSTER, Cap.EXPORT_ROSTER, Cap.REVEAL_ID) if has_cap(user, c)}


UNIT_CHOICES_MAX = 300


def _units(user) -> dict:
    """The places an export can be limited to; a list too long for a select is left out."""
    visible = OrgUnit.objects.visible_to(user).in_natural_order()
    units = {
        "committees": visible.filter(kind=Kind.COMMITTEE),
        "compounds": visible.filter(kind=Kind.COMPOUND),
        "buildings": visible.filter(kind=Kind.BUILDING).select_related("parent"),
    }
    return {
        key: found if len(found := list(queryset[:UNIT_CHOICES_MAX + 1])) <= UNIT_CHOICES_MAX else []
        for key, queryset in units.items()
    }


def _exports(user) -> dict:
    exports = list(RosterExport.objects.visible_to(user)[:10])
    pending = {RosterExport.Status.PENDING, RosterExport.Status.RUNNING}
    return {"exports": exports, "exports_pending": any(e.status in pending for e in exports),
            "downloadable": {e.pk for e in exports if can(user, e, "download")}}


def _index(request, *, upload_form=None, status=200):
    caps = _caps(request.user)
    context = {
        "can_import": Cap.IMPORT_ROSTER in caps, "can_export": Cap.EXPORT_ROSTER in caps,
        "can_reveal": Cap.REVEAL_ID in caps,
    }
    if context["can_import"]:
        context["upload_form"] = upload_form or UploadForm(user=request.user)
        context["imports"] = (
            RosterImport.objects.visible_to(request.user).select_related("committee", "uploaded_by")[:20]
        )
    if context["can_export"]:
        context["export_form"] = ExportForm()
        context.update(_exports(request.user))
        context["export_inline_max"] = settings.ROSTER_EXPORT_INLINE_MAX_ROWS
        context.update(_units(request.user))
    return render(request, "residents/roster_index.html", context, status=status)


@requires(Cap.VIEW_RESIDENTS)
def roster_index(request):
    return _index(request)


@requires(Cap.IMPORT_ROSTER)
def roster_template(request):
    membership = active_membership(request.user)
    committee = membership.org_unit if membership.org_unit.kind == Kind.COMMITTEE else None
    response = HttpResponse(roster.roster_template(committee=committee), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, _("花名册模板.xlsx"))
    return response


@requires(Cap.IMPORT_ROSTER)
@require_POST
def roster_upload(request):
    form = UploadForm(request.POST, request.FILES, user=request.user)
    if form.is_valid():
        try:
            roster_import = roster.roster_import_upload(
                actor=request.user, committee=form.cleaned_data["committee"],
                uploaded_file=form.cleaned_data["file"],
            )
        except roster.RosterFileError as exc:
            form.add_error("file", exc.messages)
        else:
            return redirect("residents:roster_import", import_id=roster_import.pk)
    return _index(request, upload_form=form, status=400)


def _import_context(request, roster_import):
    problems = Paginator(roster_import.problems.all(), PROBLEMS_PER_PAGE).get_page(request.GET.get("page"))
    return {"imp": roster_import, "problems": problems, "earlier": roster.earlier_commit(roster_import),
            "preview": roster.import_preview(roster_import) if roster_import.committable else None,
            "may_commit": can(request.user, roster_import, "request_commit"),
            "may_discard": can(request.user, roster_import, "discard")}


def _visible_import(request, import_id):
    return access_by_id(
        RosterImport.objects.select_related("committee", "uploaded_by"), request.user, pk=import_id
    )


@requires(Cap.IMPORT_ROSTER)
def roster_import(request, import_id: int):
    roster_import = _visible_import(request, import_id)
    return render(request, "residents/roster_import.html", _import_context(request, roster_import))


@requires(Cap.IMPORT_ROSTER)
def roster_import_progress(request, import_id: int):
    roster_import = _visible_import(request, import_id)
    response = render(request, "residents/roster_import_status.html", _import_context(request, roster_import))
    response["Cache-Control"] = "no-store"
    return response


@requires(Cap.IMPORT_ROSTER)
@require_POST
def roster_import_commit(request, import_id: int):
    roster_import = _visible_import(request, import_id)
    try:
        roster_import = roster.roster_import_commit(actor=request.user, roster_import=roster_import)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        if roster_import.status == RosterImport.Status.COMMITTED:
            messages.success(request, _("已导入"))
    return redirect("residents:roster_import", import_id=roster_import.pk)


@requires(Cap.IMPORT_ROSTER)
@require_POST
def roster_import_discard(request, import_id: int):
    roster_import = _visible_import(request, import_id)
    try:
        roster.roster_import_discard(actor=request.user, roster_import=roster_import)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("已放弃该导入,未写入任何数据"))
    return redirect("residents:roster")


@requires(Cap.EXPORT_ROSTER)
@require_POST
def roster_export(request):
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("导出条件不正确"))
        return redirect("residents:roster")
    data = form.cleaned_data
    filters = {key: data[key] for key in ("q", "tag", "status")}
    for key, kind in (("committee", Kind.COMMITTEE), ("compound", Kind.COMPOUND), ("building", Kind.BUILDING)):
        if data[key]:
            filters[key] = access_by_id(OrgUnit.objects.filter(kind=kind), request.user, pk=data[key])
    try:
        result = roster.roster_export(
            actor=request.user, filters=filters, full_ids=data["full_ids"], reason=data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("residents:roster")
    except LookupThrottled as refused:  # the filter held a phone, an ID or an address
        messages.error(request, refused.message)
        return redirect("residents:roster")
    if result.queued is not None:
        messages.success(request, _("导出的居民较多,正在后台生成;完成后可在本页下载(只能下载一次)"))
        return redirect("residents:roster")
    response = HttpResponse(result.content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, result.filename)
    response["Cache-Control"] = "no-store"
    return response


@requires(Cap.EXPORT_ROSTER)
def roster_exports(request):
    return render(request, "residents/roster_exports.html", _exports(request.user))


@requires(Cap.EXPORT_ROSTER)
def roster_export_download(request, export_id: int):
    export = access_by_id(RosterExport.objects.all(), request.user, pk=export_id)
    try:
        handle = roster.roster_export_download(actor=request.user, export=export)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("residents:roster")
    response = FileResponse(handle, as_attachment=True, filename=roster.export_filename(), content_type=XLSX)
    response["Cache-Control"] = "no-store"
    return response
