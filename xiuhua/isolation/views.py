"""Pages of the isolation module (来沪人员与居家隔离): the overdue contacts first, the open cases,
registering an arrival, one case with its five steps, and recording a contact on a phone.

Views are thin: parse the form, find the object within the user's scope (404 for missing and
for not-yours alike), call one service, render. Services raise ValidationError with messages in
Chinese; those are shown on the form, and nothing is written.
"""

import datetime as dt
from typing import NamedTuple
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership, has_cap
from xiuhua.core.forms import apply_errors as _apply_errors
from xiuhua.core.policy import requires
from xiuhua.core.sheets import ListSheet, filters_in_words, list_download
from xiuhua.core.workflow import can
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household

from . import rentals as rentals_module
from . import reports, selectors, services
from .forms import (
    ArrivalForm,
    ArrivalRejectForm,
    CloseForm,
    ContactForm,
    ExtendForm,
    PurchaseForm,
    RentalForm,
    StepForm,
)
from .lists import CONTACTS_DUE_COLUMNS, ContactsDueFilter, contacts_due_rows
from .models import (
    STEP_ORDER,
    Alert,
    Arrival,
    CaseStatus,
    CaseStep,
    Contact,
    ContactOutcome,
    IsolationCase,
    RentalScreening,
    Step,
)

OVERDUE_PER_PAGE = 100
CASES_PER_PAGE = 100
ALERTS_SHOWN = 50


def _case_or_404(user, case_id: int) -> IsolationCase:
    return access_by_id(
        IsolationCase.objects.select_related(
            "arrival__created_by", "household__compound", "household__building", "committee", "rule",
        ),
        user,
        pk=case_id,
    )


def _contact_or_404(user, contact_id: int) -> Contact:
    return access_by_id(
        Contact.objects.select_related(
            "case__arrival", "case__household__compound", "case__household__building", "recorded_by",
        ),
        user,
        pk=contact_id,
    )


def _own_committee(user) -> OrgUnit:
    """The committee a staff member registers arrivals in: their membership's unit."""
    membership = active_membership(user)
    if membership is None or membership.org_unit.kind != Kind.COMMITTEE:
        raise PermissionDenied
    return membership.org_unit


class DaysLeft(NamedTuple):
    """Days to the end day (0: it can be released today); `over`: days past it."""

    days: int
    over: int


def _days_left(case: IsolationCase, today: dt.date) -> DaysLeft:
    days = (case.ends_on - today).days
    return DaysLeft(days, max(0, -days))


# Home


@requires(Cap.VIEW_ISOLATION)
def home(request):
    membership = active_membership(request.user)
    now = timezone.now()
    today = timezone.localdate(now)
    context = {"today": today, "now": now, "can_manage": membership.has(Cap.MANAGE_ISOLATION)}
    committee_view = membership.org_unit.kind == Kind.COMMITTEE
    context["committee_view"] = committee_view
    # Whoever makes contacts follows the alerts (the committee, its grid workers, the community
    # health centre) and closes them; the street and district offices see them too.
    alerts = selectors.open_alerts(request.user).select_related(
        "case__committee", "case__household__compound", "case__household__building"
    )
    context["alerts"] = list(alerts.order_by("-raised_at", "-pk")[:ALERTS_SHOWN])
    if committee_view:
        context["can_record"] = membership.has(Cap.RECORD_CONTACT)
        due_form, due_filters, due = _contacts_due_filtered(request, membership.org_unit, now)
        overdue = Paginator(due, OVERDUE_PER_PAGE)
        context["overdue"] = overdue.get_page(request.GET.get("page"))
        context.update({
            "due_form": due_form, "due_filters": due_filters, "due_columns": CONTACTS_DUE_COLUMNS,
            "due_download": urlencode({k: v for k, v in request.GET.items() if k == "building"}),
        })
        cases = Paginator(selectors.open_cases(request.user), CASES_PER_PAGE).get_page(request.GET.get("cases"))
        context["cases"] = cases
        context["case_rows"] = [(c, _days_left(c, today)) for c in cases.object_list]
        awaiting = list(selectors.arrivals_awaiting_case(request.user)[:AWAITING_SHOWN])
        same_number = selectors.same_number_arrivals(request.user, awaiting)
        context["awaiting"] = [(a, same_number.get(a.pk, [])) for a in awaiting]
        context["committee"] = membership.org_unit
    else:
        rows = list(selectors.committee_figures(request.user, now=now))
        context["committee_rows"] = rows
        context["show_street"] = membership.org_unit.kind != Kind.STREET
        context["totals"] = {
            "cases_open": sum(r.cases_open for r in rows),
            "overdue": sum(r.overdue for r in rows),
            "alerts": sum(r.alerts for r in rows),
        }
    return render(request, "isolation/home.html", context)


def _contacts_due_filtered(request, committee: OrgUnit, now: dt.datetime):
    """The contacts due, filtered by the page's building: what the page and its download share."""
    form = ContactsDueFilter(request.GET or None, committee=committee)
    filters = form.filters()
    contacts = selectors.overdue_contacts(request.user, now=now)
    if filters.get("building"):
        contacts = contacts.filter(case__household__building=filters["building"])
    return form, filters_in_words(form, filters, everything=_("全部待联系人员")), contacts


@requires(Cap.VIEW_ISOLATION)
@require_GET
def contacts_due_xlsx(request):
    """The contacts due with the page's filter, every row, with the column to write in."""
    committee = _own_committee(request.user)
    membership = active_membership(request.user)
    now = timezone.now()
    _form, filters_text, contacts = _contacts_due_filtered(request, committee, now)
    sheet = ListSheet(
        CONTACTS_DUE_COLUMNS, filters=filters_text, name=_("待联系"),
        title=_("%(unit)s 待联系人员 %(time)s") % {
            "unit": committee.name, "time": timezone.localtime(now).strftime("%Y-%m-%d %H:%M")},
        rows=contacts_due_rows(contacts.iterator(chunk_size=2000)),
    )
    return list_download(sheet, actor=request.user, membership=membership, action="isolation_contacts_due_export",
                         filename=_("%(unit)s-待联系人员") % {"unit": committee.name}, fallback="contacts-due")


# Arrivals


AWAITING_SHOWN = 50


@requires(Cap.MANAGE_ISOLATION)
@require_POST
def arrival_open_case(request, arrival_id: int):
    """Staff have checked a self-registered arrival (by phone or at the door): isolation starts."""
    arrival = access_by_id(Arrival.objects.all(), request.user, pk=arrival_id)
    try:
        case = services.case_open(actor=request.user, arrival=arrival)
    except ValidationError as exc:
        messages.error(request, "".join(exc.messages))
        return redirect("isolation:home")
    messages.success(request, _("已开始居家隔离:%(name)s") % {"name": arrival.name})
    return redirect("isolation:case", case_id=case.pk)


@requires(Cap.MANAGE_ISOLATION)
@require_POST
def arrival_reject(request, arrival_id: int):
    """A registration from a phone that staff found wrong (someone else's number, a wrong day)."""
    arrival = access_by_id(Arrival.objects.all(), request.user, pk=arrival_id)
    form = ArrivalRejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写不予通过的原因"))
        return redirect("isolation:home")
    try:
        services.arrival_reject(actor=request.user, arrival=arrival, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, "".join(exc.messages))
    else:
        messages.success(request, _("已不予通过:%(name)s") % {"name": arrival.name})
    return redirect("isolation:home")


@requires(Cap.MANAGE_ISOLATION)
@require_POST
def arrival_merge(request, arrival_id: int):
    """A registration from a phone that is the same arrival as another one staff can see."""
    arrival = access_by_id(Arrival.objects.all(), request.user, pk=arrival_id)
    into_id = request.POST.get("into", "")
    into = access_by_id(Arrival.objects.all(), request.user, pk=int(into_id) if into_id.isdigit() else 0)
    try:
        services.arrival_merge(actor=request.user, arrival=arrival, into=into)
    except ValidationError as exc:
        messages.error(request, "".join(exc.messages))
    else:
        messages.success(request, _("已合并:%(name)s") % {"name": arrival.name})
    return redirect("isolation:home")


@requires(Cap.MANAGE_ISOLATION)
def arrival_new(request):
    committee = _own_committee(request.user)
    form = ArrivalForm(request.POST or None, committee=committee)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("compound", "building", "room")}
        household = data.pop("household")
        try:
            # Registering and opening go together: an arrival whose case cannot open is not kept.
            with transaction.atomic():
                arrival = services.arrival_register(actor=request.user, household=household, **data)
                case = services.case_open(actor=request.user, arrival=arrival)
        except ValidationError as exc:
            _apply_errors(form, exc, rename={"starts_on": "arrival_date"})
        else:
            messages.success(request, _("已登记%(name)s,开始居家隔离") % {"name": arrival.name})
            return redirect("isolation:case", case_id=case.pk)
    return render(request, "isolation/arrival_new.html", {"form": form, "committee": committee})


# Cases


def _signature_to_redraw(form) -> str:
    """A signature sent with a door-visit form refused for another reason (a tick missing) is
    drawn on the pad again, so the person need not sign twice; a refused signature is not."""
    if form is None or not form.is_bound or "pledge_signature" not in form.fields:
        return ""
    if form.errors.get("pledge_signature"):
        return ""
    value = form.data.get("pledge_signature", "")
    limit = len(services.SIGNATURE_PREFIX) + (services.MAX_SIGNATURE_BYTES + 2) // 3 * 4
    if not value.startswith(services.SIGNATURE_PREFIX) or len(value) > limit:
        return ""
    return value


def _case_page(
    request, case: IsolationCase, *, step_form=None, step_name="", extend_form=None, close_form=None,
    purchase_form=None,
):
    now = timezone.now()
    today = timezone.localdate(now)
    is_open = case.status == CaseStatus.OPEN
    can_manage = is_open and has_cap(request.user, Cap.MANAGE_ISOLATION)
    steps_by_name = {s.step: s for s in case.steps.select_related("done_by")}
    steps = []
    for name in STEP_ORDER:
        step = steps_by_name.get(name) or CaseStep(case=case, step=name)
        # A form sent back with errors is shown even if the case moved on meanwhile, with why.
        form = None
        if step_form is not None and step_name == name:
            form = step_form
        elif can_manage and step.done_at is None:
            form = StepForm(door_visit=name == Step.DOOR_VISIT, auto_id=f"{name}_%s")
        steps.append((step, form))
    contacts = case.contacts.select_related("recorded_by")
    recordable_until = selectors.recordable_until(now)
    shown = list(contacts.filter(due_at__lte=recordable_until))
    upcoming = contacts.filter(due_at__gt=recordable_until, outcome="")
    can_record = is_open and has_cap(request.user, Cap.RECORD_CONTACT)
    if extend_form is None and can(request.user, case, "extend"):
        extend_form = ExtendForm(auto_id="extend_%s")
    if close_form is None and can(request.user, case, "close"):
        close_form = CloseForm(auto_id="close_%s")
    if purchase_form is None and can_record:
        purchase_form = PurchaseForm(auto_id="purchase_%s")
    return render(
        request,
        "isolation/case.html",
        {
            "case": case,
            "arrival": case.arrival,
            "days_left": _days_left(case, today),
            "is_open": is_open,
            "steps": steps,
            "steps_done": sum(1 for s, _f in steps if s.done_at),
            "contacts": shown,
            "next_contact": upcoming.first(),
            "upcoming_count": upcoming.count(),
            "can_record": can_record,
            "now": now,
            "alerts": case.alerts.select_related("contact").order_by("-raised_at", "-pk"),
            "can_manage": can_manage,
            "extend_form": extend_form,
            "close_form": close_form,
            "purchases": case.purchases.select_related("bought_by"),
            "purchase_form": purchase_form,
            # The pledge the person signs on the screen: the whole period, to the end day.
            "period_days": (case.ends_on - case.starts_on).days,
            "signature_again": _signature_to_redraw(step_form),
        },
    )


@requires(Cap.VIEW_ISOLATION)
def case_detail(request, case_id: int):
    return _case_page(request, _case_or_404(request.user, case_id))


@requires(Cap.MANAGE_ISOLATION)
@require_POST
def step_complete(request, case_id: int, step: str):
    case = _case_or_404(request.user, case_id)
    if step not in Step.values:
        raise Http404
    form = StepForm(request.POST, request.FILES, door_visit=step == Step.DOOR_VISIT, auto_id=f"{step}_%s")
    if form.is_valid():
        try:
            services.step_complete(actor=request.user, case=case, step=step, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已完成:%(step)s") % {"step": Step(step).label})
            return redirect("isolation:case", case_id=case.pk)
    return _case_page(request, case, step_form=form, step_name=step)


@requires(Cap.MANAGE_ISOLATION)
@require_POST
def case_extend(request, case_id: int):
    case = _case_or_404(request.user, case_id)
    form = ExtendForm(request.POST, auto_id="extend_%s")
    if form.is_valid():
        try:
            case = services.case_extend(actor=request.user, case=case, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("隔离期已延长至%(day)s") % {"day": case.ends_on.isoformat()})
            return redirect("isolation:case", case_id=case.pk)
    return _case_page(request, case, extend_form=form)


@requires(Cap.MANAGE_ISOLATION)
@require_POST
def case_close(request, case_id: int):
    case = _case_or_404(request.user, case_id)
    form = CloseForm(request.POST, auto_id="close_%s")
    if form.is_valid():
        try:
            case = services.case_close(actor=request.user, case=case, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, _("%(name)s:%(status)s") % {"name": case.arrival.name, "status": case.get_status_display()}
            )
            return redirect("isolation:case", case_id=case.pk)
    return _case_page(request, case, close_form=form)


# Contacts


@requires(Cap.RECORD_CONTACT)
@require_POST
def alert_handle(request, alert_id: int):
    """Close an alert with what was done; back to where the form was."""
    visible_cases = IsolationCase.objects.visible_to(request.user).values("pk")
    alert = get_object_or_404(Alert.objects.filter(case__in=visible_cases), pk=alert_id)
    try:
        services.alert_handle(actor=request.user, alert=alert, note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, "".join(exc.messages))
    else:
        messages.success(request, _("已处置预警:%(name)s") % {"name": alert.case.arrival.name})
    target = request.POST.get("next", "")
    if target != reverse("isolation:case", args=[alert.case_id]):
        target = reverse("isolation:home")
    return redirect(target)


@requires(Cap.RECORD_CONTACT)
def contact_record(request, contact_id: int):
    contact = _contact_or_404(request.user, contact_id)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_record(actor=request.user, contact=contact, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            label = ContactOutcome(contact.outcome).label
            messages.success(request, _("已记录:%(name)s %(outcome)s") % {"name": contact.case.arrival.name,
                                                                       "outcome": label})
            return redirect("isolation:home")
    now = timezone.now()
    too_early = contact.due_at > selectors.recordable_until(now)
    return render(
        request,
        "isolation/contact.html",
        {
            "contact": contact,
            "case": contact.case,
            "form": form,
            "now": now,
            "recordable": not contact.outcome and contact.case.status == CaseStatus.OPEN and not too_early,
            "too_early": too_early,
        },
    )


@requires(Cap.RECORD_CONTACT)
@require_POST
def contacts_well(request):
    """The due contacts ticked on the home page: reached by phone, well. Each is its own record."""
    picked = [value for value in request.POST.getlist("contacts") if value.isdigit()]
    try:
        recorded = services.contacts_record_well(actor=request.user, contact_ids=[int(v) for v in picked])
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已记录%(n)s人电话联系,情况良好") % {"n": len(recorded)})
    return redirect("isolation:home")


@requires(Cap.RECORD_CONTACT)
@require_POST
def purchase_log(request, case_id: int):
    case = _case_or_404(request.user, case_id)
    form = PurchaseForm(request.POST, auto_id="purchase_%s")
    if form.is_valid():
        try:
            services.purchase_log(actor=request.user, case=case, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已记录代购"))
            return redirect("isolation:case", case_id=case.pk)
    return _case_page(request, case, purchase_form=form)


@requires(Cap.VIEW_ISOLATION)
def pledge_photo(request, case_id: int):
    """The proof of the pledge, as a JPEG; the service audits every look at it."""
    case = _case_or_404(request.user, case_id)
    opened = services.pledge_photo_open(actor=request.user, case=case)
    if opened is None:
        raise Http404
    response = FileResponse(opened, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


# Daily report (每日汇总) and its Excel file


def _report_day(request) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return timezone.localdate()


@requires(Cap.VIEW_ISOLATION)
def daily(request):
    day = _report_day(request)
    rows, total = reports.daily_report(user=request.user, day=day)
    return render(request, "isolation/daily.html", {
        "day": day, "rows": rows, "total": total, "labels": reports.COLUMN_LABELS,
        "unit": active_membership(request.user).org_unit,
    })


@requires(Cap.VIEW_ISOLATION)
def daily_xlsx(request):
    """Counts only, no names: nothing personal leaves with the file."""
    day = _report_day(request)
    unit = active_membership(request.user).org_unit
    rows, total = reports.daily_report(user=request.user, day=day)
    data = reports.daily_report_xlsx(unit_name=unit.name, day=day, rows=rows, total=total)
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    filename = f"{unit.name}-每日防控情况汇总-{day.isoformat()}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"daily-{day.isoformat()}.xlsx\"; filename*=UTF-8''{quote(filename)}"
    )
    return response


# Rental screening (出租房排摸)


def _campaign_start(request) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("since", ""))
    except ValueError:
        return timezone.localdate() - dt.timedelta(days=13)


@requires(Cap.VIEW_ISOLATION)
def rentals(request):
    since = _campaign_start(request)
    membership = active_membership(request.user)
    context: dict = {"since": since, "progress": rentals_module.rental_progress(user=request.user, since=since)}
    if membership.org_unit.kind in (Kind.COMMITTEE, Kind.COMPOUND, Kind.BUILDING) or membership.grid_id:
        units = (
            Household.objects.visible_to(request.user).filter(is_rental=True)
            .select_related("compound", "building").order_by("compound__name", "building__name", "room")
        )
        page = Paginator(units, 100).get_page(request.GET.get("page"))
        latest = {}
        for s in RentalScreening.objects.filter(household__in=list(page.object_list)).order_by("screened_at", "pk"):
            latest[s.household_id] = s
        rows = []
        for h in page.object_list:
            s = latest.get(h.pk)
            rows.append((h, s, s is not None and timezone.localdate(s.screened_at) >= since))
        context.update(units=page, rows=rows, committee_view=True, can_manage=membership.has(Cap.MANAGE_ISOLATION))
    return render(request, "isolation/rentals.html", context)


@requires(Cap.MANAGE_ISOLATION)
def rental_unit(request, household_id: int):
    household = access_by_id(
        Household.objects.filter(is_rental=True).select_related("compound", "building"), request.user,
        pk=household_id,
    )
    form = RentalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rentals_module.rental_screen(actor=request.user, household=household, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已记录排摸:%(unit)s") % {"unit": household.address})
            return redirect("isolation:rentals")
    history = RentalScreening.objects.filter(household=household).select_related("screened_by").order_by(
        "-screened_at", "-pk")
    return render(request, "isolation/rental_unit.html", {"household": household, "form": form, "history": history})
