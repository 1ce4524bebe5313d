"""Pages of the tracing module (大数据清单): the committee's worklist, the street's batches,
import, the batch figures, the street's triage queue and one entry with its history.

Views are thin: parse the form, find the object within the user's scope (404 for missing and
for not-yours alike), call one service, render. Services raise ValidationError with messages in
Chinese; those are shown on the form, and nothing is written.

Entries are read through `ListEntry.objects.seen_by` and `selectors.as_seen`: an entry of the
user's list now held by another street is shown as the row the list gave, forwarded, and
cannot be acted on.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import active_membership
from xiuhua.core.audit import audit
from xiuhua.core.forms import apply_errors as _apply_errors
from xiuhua.core.lookups import LookupThrottled
from xiuhua.core.policy import requires
from xiuhua.core.resident_phone import client_ip
from xiuhua.core.sheets import ListSheet, filters_in_words, list_download
from xiuhua.core.workflow import can
from xiuhua.places.models import Kind, OrgUnit

from . import services
from .forms import AssignForm, BatchFilterForm, ImportForm, ReportForm
from .lists import TRIAGE_COLUMNS, WORKLIST_COLUMNS, triage_rows, worklist_rows
from .models import EntryStatus, ListEntry, MatchMethod, TracingBatch
from .selectors import (
    ForwardedRow,
    as_seen,
    batch_figures,
    batch_totals,
    batches_visible_to,
    committee_worklist,
    triage_queue,
)
from .workflows import EVENT_NAMES, HAND_ON_ACTIONS, REPORT_ACTIONS, TRACING_ENTRY

ENTRIES_PER_PAGE = 100
BATCHES_PER_PAGE = 50
WORKLIST_PER_PAGE = 100
COMMITTEE_RECENT_BATCHES = 10
PROBLEMS_SHOWN = 500

# The history's names: the import's match, then each declared action's own.
ACTION_LABELS = {
    "matched": gettext_lazy("匹配并分派"),
    **{EVENT_NAMES[action]: act.label for action, act in TRACING_ENTRY.actions.items()},
}

_ENTRY_RELATED = (
    "batch__street", "batch__created_by", "person", "street", "committee", "household__compound",
    "household__building", "resident", "outcome_by",
)


def _batch_or_404(user, batch_id: int) -> TracingBatch:
    try:
        return batches_visible_to(user).select_related("street", "created_by").get(pk=batch_id)
    except TracingBatch.DoesNotExist:
        raise Http404 from None


def _entry_or_404(user, entry_id: int) -> ListEntry | ForwardedRow:
    """The entry as the user may see it (selectors.as_seen)."""
    try:
        return as_seen(ListEntry.objects.seen_by(user).select_related(*_ENTRY_RELATED).get(pk=entry_id))
    except ListEntry.DoesNotExist:
        raise Http404 from None


def _held_entry_or_404(user, entry_id: int) -> ListEntry:
    """An entry the user's unit holds, to act on: a forwarded one is not there for its importer."""
    try:
        return ListEntry.objects.seen_by(user).filter(held=True).select_related(*_ENTRY_RELATED).get(pk=entry_id)
    except ListEntry.DoesNotExist:
        raise Http404 from None


def _own_street(user) -> OrgUnit:
    """The street an officer imports into: their membership's unit (a district officer has none)."""
    membership = active_membership(user)
    if membership is None or membership.org_unit.kind != Kind.STREET:
        raise PermissionDenied
    return membership.org_unit


def _assign_targets(user) -> tuple[list[OrgUnit], list[OrgUnit]]:
    """The committees of the officer's street, and the other streets of its district."""
    unit = active_membership(user).org_unit
    committees = list(OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=unit.path).order_by("code", "name"))
    district_id = unit.parent_id if unit.kind == Kind.STREET else unit.pk
    streets = list(
        OrgUnit.objects.filter(kind=Kind.STREET, parent_id=district_id).exclude(pk=unit.pk).order_by("code", "name")
    )
    return committees, streets


def _assign_form(user, *args, **kwargs) -> AssignForm:
    committees, streets = _assign_targets(user)
    return AssignForm(*args, committees=committees, streets=streets, **kwargs)


# Home and import


def _home(request, *, import_form=None):
    membership = active_membership(request.user)
    can_report = membership.has(Cap.REPORT_TRACING)
    can_import = membership.has(Cap.IMPORT_TRACING)
    context = {
        "can_report": can_report, "can_import": can_import, "today": timezone.localdate(),
        "unit": membership.org_unit, "now": timezone.localtime(),
    }
    batches = batches_visible_to(request.user).select_related("street").order_by("-received_at", "-pk")
    if can_report:
        form, filters_text, entries = _worklist_filtered(request)
        worklist = Paginator(entries, WORKLIST_PER_PAGE)
        context.update({
            "worklist": worklist.get_page(request.GET.get("page")), "filter_form": form,
            "filters_text": filters_text, "columns": WORKLIST_COLUMNS, "download_query": _download_query(request),
        })
        batch_rows = list(batches[:COMMITTEE_RECENT_BATCHES])
    else:
        page = Paginator(batches, BATCHES_PER_PAGE).get_page(request.GET.get("page"))
        context["batch_page"] = page
        batch_rows = list(page.object_list)
    totals = batch_totals(request.user, [b.pk for b in batch_rows])
    empty = {"entries": 0, "forwarded": 0, "same_day": 0, "open": 0}
    context["batches"] = [(b, totals.get(b.pk, empty)) for b in batch_rows]
    if can_import:
        context["triage_count"] = triage_queue(request.user).count()
        context["import_form"] = import_form or ImportForm(
            initial={"received_at": timezone.localtime().replace(second=0, microsecond=0)}
        )
        context["street"] = membership.org_unit
    return render(request, "tracing/home.html", context)


@requires(Cap.VIEW_TRACING)
def home(request):
    return _home(request)


# The worklist and the triage queue as working lists: filtered by list, printed, downloaded.


def _filtered(request, entries, *, everything: str):
    """The filter form over `entries`' lists, the filters in words and the filtered entries: what
    a page and its download share."""
    batches = batches_visible_to(request.user).filter(pk__in=entries.values("batch_id"))
    form = BatchFilterForm(request.GET or None, batches=batches)
    filters = form.filters()
    if filters.get("batch"):
        entries = entries.filter(batch=filters["batch"])
    return form, filters_in_words(form, filters, everything=everything), entries


def _worklist_filtered(request):
    return _filtered(request, committee_worklist(request.user), everything=_("全部待落实人员"))


def _triage_filtered(request):
    return _filtered(request, triage_queue(request.user), everything=_("全部待分派人员"))


def _download_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@requires(Cap.REPORT_TRACING)
@require_GET
def worklist_xlsx(request):
    """The worklist with the page's filter, every row, the columns the page shows."""
    membership = active_membership(request.user)
    _form, filters_text, entries = _worklist_filtered(request)
    sheet = ListSheet(
        WORKLIST_COLUMNS, title=_("%(unit)s 待落实人员 %(time)s") % _title_parts(membership),
        filters=filters_text, name=_("待落实人员"), rows=worklist_rows(entries.iterator(chunk_size=2000)),
    )
    return list_download(sheet, actor=request.user, membership=membership, action="tracing_worklist_export",
                         filename=_("%(unit)s-待落实人员") % {"unit": membership.org_unit.name},
                         fallback="tracing-worklist")


@requires(Cap.IMPORT_TRACING)
@require_GET
def triage_xlsx(request):
    """The triage queue with the page's filter, every row, the columns the page shows."""
    membership = active_membership(request.user)
    _form, filters_text, entries = _triage_filtered(request)
    sheet = ListSheet(
        TRIAGE_COLUMNS, title=_("%(unit)s 待分派人员 %(time)s") % _title_parts(membership),
        filters=filters_text, name=_("待分派人员"), rows=triage_rows(entries.iterator(chunk_size=2000)),
    )
    return list_download(sheet, actor=request.user, membership=membership, action="tracing_triage_export",
                         filename=_("%(unit)s-待分派人员") % {"unit": membership.org_unit.name},
                         fallback="tracing-triage")


def _title_parts(membership) -> dict:
    return {"unit": membership.org_unit.name, "time": timezone.localtime().strftime("%Y-%m-%d %H:%M")}


@requires(Cap.IMPORT_TRACING)
@require_POST
def batch_import(request):
    street = _own_street(request.user)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        try:
            batch = services.batch_import(
                actor=request.user,
                street=street,
                source=data["source"],
                reference=data["reference"],
                received_at=data["received_at"],
                data=b"".join(upload.chunks()),
                filename=upload.name,
                client_ip=client_ip(request),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        except LookupThrottled as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已导入清单“%(reference)s”") % {"reference": batch.reference})
            return redirect("tracing:batch", batch_id=batch.pk)
    return _home(request, import_form=form)


# Batches


@requires(Cap.VIEW_TRACING)
def batch_detail(request, batch_id: int):
    batch = _batch_or_404(request.user, batch_id)
    figures = batch_figures(batch=batch, user=request.user)
    methods = [(str(m.label), figures.by_method[m.value]) for m in MatchMethod if figures.by_method.get(m.value)]
    entries = (
        ListEntry.objects.seen_by(request.user)
        .filter(batch=batch)
        .select_related("batch", "person", "committee")
        .order_by("row")
    )
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [as_seen(e) for e in page.object_list]
    # The rows that could not be taken are the importing street's work.
    membership = active_membership(request.user)
    own_list = batch.street.path.startswith(membership.org_unit.path)
    problems = list(batch.problems.all()[:PROBLEMS_SHOWN]) if own_list else []
    problem_count = batch.problems.count() if own_list else 0
    labels = services.COLUMN_LABELS
    return render(
        request,
        "tracing/batch.html",
        {
            "batch": batch,
            "figures": figures,
            "methods": methods,
            "page": page,
            "rows": rows,
            "own_list": own_list,
            "problem_count": problem_count,
            "problems": [(p, labels.get(p.column, p.column)) for p in problems],
        },
    )


# Triage and assignment


def _triage_page(request, *, bulk_form=None, picked=(), status=200):
    form, filters_text, entries = _triage_filtered(request)
    queue = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    committees, streets = _assign_targets(request.user)
    rows = [
        (e, AssignForm(auto_id=f"e{e.pk}_%s", committees=committees, streets=streets)) for e in queue.object_list
    ]
    if bulk_form is None:
        bulk_form = AssignForm(prefix="bulk", committees=committees, streets=streets)
    return render(
        request, "tracing/triage.html",
        {
            "page": queue, "rows": rows, "bulk_form": bulk_form, "picked": {str(pk) for pk in picked},
            "filter_form": form, "filters_text": filters_text, "columns": TRIAGE_COLUMNS,
            "download_query": _download_query(request), "unit": active_membership(request.user).org_unit,
            "now": timezone.now(),
        },
        status=status,
    )


@requires(Cap.IMPORT_TRACING)
def triage(request):
    return _triage_page(request)


@requires(Cap.IMPORT_TRACING)
@require_POST
def triage_assign(request):
    """The entries ticked in the triage queue, to one committee (or street) at once."""
    committees, streets = _assign_targets(request.user)
    form = AssignForm(request.POST, prefix="bulk", committees=committees, streets=streets)
    picked = [value for value in request.POST.getlist("entries") if value.isdigit()]
    if not picked:
        form.add_error(None, _("请先勾选要分派的人员"))
    elif form.is_valid():
        try:
            moved = services.entries_assign(actor=request.user, entry_ids=[int(v) for v in picked],
                                            **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            unit = form.cleaned_data["to"].name
            messages.success(request, _("已将%(n)s人分派给%(unit)s") % {"n": moved, "unit": unit})
            return redirect("tracing:triage")
    return _triage_page(request, bulk_form=form, picked=picked, status=400)


def _entry_page(request, entry: ListEntry, *, report_form=None, assign_form=None):
    # The forms the workflow accepts now; one sent back with errors is shown even if the entry
    # moved on meanwhile, with why.
    if report_form is None and any(can(request.user, entry, action) for action in REPORT_ACTIONS.values()):
        report_form = ReportForm()
    if assign_form is None and any(can(request.user, entry, action) for action in HAND_ON_ACTIONS):
        assign_form = _assign_form(request.user)
    events = [
        (e, ACTION_LABELS.get(e.action, e.action))
        for e in entry.events.select_related("actor", "from_unit", "to_unit").order_by("at", "pk")
    ]
    return render(
        request,
        "tracing/entry.html",
        {
            "entry": entry,
            "events": events,
            "report_form": report_form,
            "assign_form": assign_form,
        },
    )


@requires(Cap.VIEW_TRACING)
def entry_detail(request, entry_id: int):
    entry = _entry_or_404(request.user, entry_id)
    if isinstance(entry, ForwardedRow):
        return render(request, "tracing/entry.html", {"entry": entry})
    if entry.household_id or entry.resident_id:
        # The page shows the roster's address and name of the matched person: a personal-data view.
        audit(actor=request.user, action="tracing_entry_view", obj=entry, committee_id=entry.committee_id,
              subject_label=f"{entry.batch.reference} #{entry.row}", personal=True)
    return _entry_page(request, entry)


@requires(Cap.IMPORT_TRACING)
@require_POST
def entry_assign(request, entry_id: int):
    entry = _held_entry_or_404(request.user, entry_id)
    form = _assign_form(request.user, request.POST)
    if form.is_valid():
        try:
            services.entry_assign(actor=request.user, entry=entry, **form.cleaned_data)
        except ListEntry.DoesNotExist:
            raise Http404 from None
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, _("已将%(name)s分派给%(unit)s") % {"name": entry.name, "unit": form.cleaned_data["to"].name}
            )
            if request.POST.get("back") == "triage":
                return redirect("tracing:triage")
            return redirect("tracing:entry", entry_id=entry.pk)
    return _entry_page(request, entry, assign_form=form)


@requires(Cap.REPORT_TRACING)
@require_POST
def entry_report(request, entry_id: int):
    entry = _held_entry_or_404(request.user, entry_id)
    form = ReportForm(request.POST)
    if form.is_valid():
        try:
            services.entry_report(actor=request.user, entry=entry, **form.cleaned_data)
        except ListEntry.DoesNotExist:
            raise Http404 from None
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            label = EntryStatus(form.cleaned_data["status"]).label
            messages.success(request, _("已反馈:%(name)s %(status)s") % {"name": entry.name, "status": label})
            return redirect("tracing:home")
    return _entry_page(request, entry, report_form=form)
