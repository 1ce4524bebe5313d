"""Staff pages of work orders (紧急关怀 / 12345): the board, intake, one order with the actions
its state and the user's role allow, and the street's departments and routing rules.

Views are thin: parse the form, find the order within the user's scope (404 for missing and for
not-yours alike), call one service, render. A service's ValidationError is shown on its form and
nothing is written; its PermissionDenied is a 403.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.access import access_by_id, active_membership
from xiuhua.core.crypto import mask_phone
from xiuhua.core.forms import apply_errors as _apply_errors
from xiuhua.core.policy import requires
from xiuhua.core.sheets import ListSheet, filters_in_words, list_download
from xiuhua.core.workflow import can, may
from xiuhua.places.models import Kind, OrgUnit

from . import departments as dept_services
from . import exports, notify, selectors, services
from .calendar import DeadlineClass, WorkCalendar
from .escalation import DeadlineState, deadline_state
from .forms import (
    ACTION_FORMS,
    BoardFilterForm,
    DepartmentForm,
    DispatchForm,
    ExtensionDecideForm,
    ExtensionRequestForm,
    HeadForm,
    IntakeForm,
    MemberForm,
    ReclassifyForm,
    RemoveMemberForm,
    RoutingRulesForm,
    State,
    UrgeForm,
    intake_key,
    intake_key_issued,
)
from .models import OPEN_STATUSES, Department, Extension, RoutingRule, Ticket
from .workflows import TICKET, handles_or_records, on_requester_side, street_over

STATE_LABELS = {
    DeadlineState.OK: gettext_lazy("正常"),
    DeadlineState.SOON: gettext_lazy("即将到期"),
    DeadlineState.OVERDUE: gettext_lazy("已超时"),
    DeadlineState.LONG_OVERDUE: gettext_lazy("严重超时"),
}
EVENT_LABELS = {
    **services.ACTION_LABELS,
    "create": gettext_lazy("登记"),
    "escalate": gettext_lazy("督办提醒"),
    "extension_request": gettext_lazy("申请延期"),
    "extension_approve": gettext_lazy("批准延期"),
    "extension_refuse": gettext_lazy("不批准延期"),
    "link_reissue": gettext_lazy("重发进度链接"),
    "urge": gettext_lazy("催办"),
    "reclassify": gettext_lazy("更正类别"),
    "remind_accept": gettext_lazy("未受理提醒"),
}



def remaining_text(delta: dt.timedelta) -> str:
    """'剩余2天3小时' or '超时45分钟'."""
    seconds = int(delta.total_seconds())
    late, seconds = seconds < 0, abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        span = _("%(d)d天%(h)d小时") % {"d": days, "h": hours}
    elif hours:
        span = _("%(h)d小时%(m)d分") % {"h": hours, "m": minutes}
    else:
        span = _("%(m)d分钟") % {"m": minutes}
    return (_("超时%(t)s") if late else _("剩余%(t)s")) % {"t": span}


def where_text(ticket: Ticket) -> str:
    """Who holds the order now: its department, the committee it went to, or its own committee."""
    if ticket.department is not None:
        return ticket.department.name
    if ticket.assigned_committee is not None:
        return ticket.assigned_committee.name
    return _("%(committee)s(未派单)") % {"committee": ticket.committee.name}


def _ticket_or_404(user, pk: int) -> Ticket:
    return access_by_id(
        Ticket.objects.select_related(
            "committee__parent", "department", "assigned_committee", "household__compound", "household__building",
            "created_by",
        ),
        user,
        pk=pk,
    )


# Board


def _state_q(state: str, now: dt.datetime) -> Q:
    if state == State.OVERDUE:
        return Q(deadline_at__lt=now)
    if state == State.SOON:
        return selectors.soon_q(now)
    if state == State.OK:
        return Q(deadline_at__gte=now) & ~selectors.soon_q(now)
    if state == State.WAITING:
        return selectors.WAITING_Q
    if state == State.WAITING_LATE:
        return selectors.waiting_late_q(now)
    return Q(extension=Extension.REQUESTED)


@dataclass(frozen=True)
class Row:
    ticket: Ticket
    state: str
    state_label: str
    remaining: str
    where: str


def _board_filtered(request, membership, now: dt.datetime):
    """The board's filter form, its valid filters, the counts (before the deadline filter) and the
    filtered orders in board order: what the page and its Excel download share."""
    form = BoardFilterForm(request.GET or None, membership=membership)
    filters = form.filters()
    committee = filters.get("committee")
    qs = selectors.board_queryset(
        request.user, department=filters.get("department"), committee_id=committee.pk if committee else None
    )
    if filters.get("category"):
        qs = qs.filter(category=filters["category"])
    counts = selectors.board_counts(qs, now)
    if filters.get("state"):
        qs = qs.filter(_state_q(filters["state"], now))
    return form, filters, counts, qs


def _filters_text(form: BoardFilterForm, filters: dict) -> str:
    """The filters in words, for the printed page and the Excel file: '类别:透析;时限:已超时'."""
    return filters_in_words(form, filters, everything=_("全部未办结工单"))


@requires(Cap.VIEW_TICKETS)
def board(request):
    membership = active_membership(request.user)
    now = timezone.now()
    form, filters, counts, qs = _board_filtered(request, membership, now)
    page = Paginator(qs, selectors.BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    calendar = WorkCalendar()
    rows = [
        Row(r.ticket, r.state, str(STATE_LABELS[r.state]), remaining_text(r.remaining), where_text(r.ticket))
        for r in selectors.board_rows(qs, page=page.number, now=now, calendar=calendar)
    ]
    download = request.GET.copy()
    download.pop("page", None)
    return render(request, "tickets/board.html", {
        "form": form,
        "counts": counts,
        "page": page,
        "rows": rows,
        "first_index": page.start_index() if rows else 0,
        "state": filters.get("state", ""),
        "filters_text": _filters_text(form, filters),
        "printed_at": now,
        "columns": exports.BOARD_COLUMNS,
        "download_query": download.urlencode(),
        "calendar_ok": selectors.calendar_is_maintained(timezone.localdate(now).year),
        "year": timezone.localdate(now).year,
        "can_record": membership.has(Cap.RECORD_TICKET),
        "is_department": membership.role == Role.DEPARTMENT_STAFF,
        "can_report": membership.role != Role.DEPARTMENT_STAFF,
        "street_admin": membership.has(Cap.RECORD_TICKET) and membership.org_unit.kind == Kind.STREET,
        "filtered": bool(filters),
    })


@requires(Cap.VIEW_TICKETS)
@require_GET
def board_xlsx(request):
    """The board with the same filters, every row: no names, phones or addresses, as on the page."""
    membership = active_membership(request.user)
    now = timezone.now()
    form, filters, _counts, qs = _board_filtered(request, membership, now)
    title = _("%(unit)s 未办结工单 %(time)s") % {
        "unit": membership.org_unit.name, "time": timezone.localtime(now).strftime("%Y-%m-%d %H:%M")}
    sheet = ListSheet(
        exports.BOARD_COLUMNS, title=title, filters=_filters_text(form, filters), name=_("工单"),
        rows=exports.board_rows(
            qs.select_related("committee", "department", "assigned_committee").iterator(chunk_size=2000), now=now,
            state_labels={k: str(v) for k, v in STATE_LABELS.items()}, remaining_text=remaining_text,
            where_text=where_text,
        ),
    )
    # The board shows no names, phones or addresses: its download is not a personal-data event.
    return list_download(sheet, actor=request.user, membership=membership, action="ticket_board_export",
                         filename=_("%(unit)s-未办结工单") % {"unit": membership.org_unit.name}, fallback="tickets",
                         personal=False)


# Intake


def _lock_intake(user) -> None:
    """Serialise one user's intakes (a double click sends two requests at once); SQLite's
    transactions are already serial."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def _same_intake(user, data: dict, issued: dt.datetime) -> Ticket | None:
    """The ticket this rendered form already made: taken in by the same user since the form was
    issued, with the same content."""
    return (
        Ticket.objects.filter(
            created_by=user, received_at__gt=issued, committee=data["committee"], source=data["source"],
            category=data["category"], household=data["household"], description=data["description"].strip()[:2000],
        )
        .order_by("pk")
        .first()
    )


def _follow_link(request, token: str) -> str:
    path = notify.follow_path(token)
    base = notify.public_base_url()
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@requires(Cap.RECORD_TICKET)
def new(request):
    membership = active_membership(request.user)
    form = IntakeForm(request.POST or None, membership=membership)
    key = ""
    if request.method == "POST":
        key = request.POST.get("form_key", "")
        issued = intake_key_issued(key, request.user)
        if issued is None:
            key = ""
            form.is_valid()
            form.add_error(None, _("表单已过期或无效,请核对内容后再提交一次"))
        elif form.is_valid():
            token = ""
            try:
                with transaction.atomic():
                    _lock_intake(request.user)
                    ticket = _same_intake(request.user, form.cleaned_data, issued)
                    repeated = ticket is not None
                    if ticket is None:
                        ticket, token = services.ticket_create(actor=request.user, **form.service_kwargs())
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                if token:
                    text = _("已登记工单%(number)s。查看进度的链接(只显示这一次,可读给没有手机的来电人):%(link)s") % {
                        "number": ticket.number, "link": _follow_link(request, token)}
                    if ticket.requester_phone:
                        text += _(";链接已短信发送至%(phone)s") % {"phone": mask_phone(ticket.requester_phone)}
                    messages.success(request, text, extra_tags="follow-link")
                elif repeated:
                    messages.info(request, _("这张表单已提交过,工单%(number)s已登记,没有重复登记。") % {
                        "number": ticket.number})
                else:
                    messages.info(request, _("12345工单号%(ext)s已登记为%(number)s,没有重复登记。") % {
                        "ext": ticket.external_number, "number": ticket.number})
                return redirect("tickets:detail", pk=ticket.pk)
    return render(request, "tickets/new.html", {
        "form": form, "form_key": key or intake_key(request.user), "membership": membership,
    })


# One order


@dataclass
class ActionForm:
    action: str
    label: str
    form: object
    note: str = ""


def _may_handle(membership, ticket: Ticket) -> bool:
    """Whether the membership works on this order (not only sees it)."""
    return membership is not None and handles_or_records(membership, ticket)


def _action_form(action: str, ticket: Ticket, data=None):
    kwargs: dict = {"auto_id": f"{action}_%s"}
    if ACTION_FORMS[action] is DispatchForm:
        department, committee = services.route_for(ticket)
        kwargs["street"] = ticket.committee.parent
        kwargs["rule_label"] = department.name if department else (committee.name if committee else "")
    return ACTION_FORMS[action](data, **kwargs)


def _extension_possible(user, ticket: Ticket, now: dt.datetime) -> bool:
    return (
        can(user, ticket, "extension_request") and ticket.deadline_class == DeadlineClass.COMPLEX
        and ticket.status in OPEN_STATUSES and now <= ticket.deadline_at
    )


def _street_over(membership, ticket: Ticket) -> bool:
    return membership is not None and street_over(membership, ticket)


def _detail_page(request, ticket: Ticket, *, bound: dict | None = None):
    bound = bound or {}
    membership = active_membership(request.user)
    now = timezone.now()
    covered = _may_handle(membership, ticket)
    actions = []
    for action in TICKET.actions:
        if action in bound:
            form = bound[action]  # sent back with its errors, even if the order moved meanwhile
        elif can(request.user, ticket, action):
            form = _action_form(action, ticket)
        else:
            continue
        actions.append(ActionForm(action, str(services.ACTION_LABELS[action]), form))
    extension_form = bound.get("extension")
    if extension_form is None and _extension_possible(request.user, ticket, now):
        extension_form = ExtensionRequestForm(auto_id="extension_%s")
    decide_form = bound.get("decide")
    if decide_form is None and can(request.user, ticket, "extension_approve"):
        decide_form = ExtensionDecideForm(auto_id="decide_%s")
    is_open = ticket.status in OPEN_STATUSES
    state = deadline_state(ticket, now, WorkCalendar()) if is_open else ""
    history = ticket.events.select_related("actor").order_by("at", "pk")
    events = [(e, str(EVENT_LABELS.get(e.action, e.action))) for e in history]
    return render(request, "tickets/detail.html", {
        "ticket": ticket,
        "phone": ticket.requester_phone if covered else mask_phone(ticket.requester_phone),
        "phone_full": covered,
        "where": where_text(ticket),
        "is_open": is_open,
        "state": state,
        "state_label": STATE_LABELS.get(state, ""),
        "remaining": remaining_text(ticket.deadline_at - now) if is_open else "",
        "deadline_class": DeadlineClass(ticket.deadline_class).label
        if ticket.deadline_class in DeadlineClass.values else ticket.deadline_class,
        "events": events,
        "actions": actions,
        "extension_form": extension_form,
        "decide_form": decide_form,
        "can_reissue": on_requester_side(membership, ticket),
        "urge_form": bound.get("urge") or (UrgeForm(auto_id="urge_%s") if _may_urge(membership, ticket) else None),
        "reclassify_form": bound.get("reclassify") or (
            ReclassifyForm(auto_id="reclassify_%s", initial={"category": ticket.category, "urgency": ticket.urgency})
            if _may_reclassify(membership, ticket) else None
        ),
    })


def _may_reclassify(membership, ticket: Ticket) -> bool:
    return on_requester_side(membership, ticket) and ticket.status in OPEN_STATUSES


def _may_urge(membership, ticket: Ticket) -> bool:
    return _may_reclassify(membership, ticket) and (
        ticket.department_id is not None or ticket.assigned_committee_id is not None
    )


@requires(Cap.VIEW_TICKETS)
def detail(request, pk: int):
    return _detail_page(request, _ticket_or_404(request.user, pk))


@requires(Cap.VIEW_TICKETS)
@require_POST
def move(request, pk: int):
    """One action of the ticket's workflow; the service checks the capability, scope and state."""
    ticket = _ticket_or_404(request.user, pk)
    action = request.POST.get("action", "")
    if action not in ACTION_FORMS:
        messages.error(request, _("未知的操作"))
        return redirect("tickets:detail", pk=ticket.pk)
    # Refused before the form is read, as the service would refuse it (it checks again).
    if not may(request.user, ticket, action):
        raise PermissionDenied
    form = _action_form(action, ticket, request.POST)
    if form.is_valid():
        try:
            services.ticket_move(actor=request.user, ticket=ticket, action=action, **form.service_kwargs())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已%(action)s:%(number)s") % {
                "action": services.ACTION_LABELS[action], "number": ticket.number})
            return redirect("tickets:detail", pk=ticket.pk)
    return _detail_page(request, _ticket_or_404(request.user, pk), bound={action: form})


def _post_on_ticket(request, pk: int, *, name: str, form_class, allowed, act, done) -> HttpResponse:
    """One form posted about one order, beside the workflow moves: refused before the form is
    read when `allowed(membership, ticket)` says no; `act(ticket, form)` calls the service and
    returns what `done(result)` turns into the success message; errors go back on the detail page."""
    ticket = _ticket_or_404(request.user, pk)
    if not allowed(active_membership(request.user), ticket):
        raise PermissionDenied
    form = form_class(request.POST, auto_id=f"{name}_%s")
    if form.is_valid():
        try:
            result = act(ticket, form)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, done(result))
            return redirect("tickets:detail", pk=ticket.pk)
    return _detail_page(request, _ticket_or_404(request.user, pk), bound={name: form})


@requires(Cap.VIEW_TICKETS)
@require_POST
def extension_request(request, pk: int):
    return _post_on_ticket(
        request, pk, name="extension", form_class=ExtensionRequestForm, allowed=_may_handle,
        act=lambda ticket, form: services.ticket_extension_request(
            actor=request.user, ticket=ticket, **form.service_kwargs()),
        done=lambda _ticket: _("已申请延期,等待街道审批"),
    )


def _decided(ticket: Ticket) -> str:
    if ticket.extension == Extension.APPROVED:
        return _("已批准延期,新的办理时限:%(deadline)s") % {
            "deadline": timezone.localtime(ticket.deadline_at).strftime("%Y-%m-%d %H:%M")}
    return _("已不批准延期")


@requires(Cap.RECORD_TICKET)
@require_POST
def extension_decide(request, pk: int):
    return _post_on_ticket(
        request, pk, name="decide", form_class=ExtensionDecideForm, allowed=_street_over,
        act=lambda ticket, form: services.ticket_extension_decide(
            actor=request.user, ticket=ticket, **form.service_kwargs()),
        done=_decided,
    )


@requires(Cap.RECORD_TICKET)
@require_POST
def reclassify(request, pk: int):
    """Correct the category or urgency a resident chose (or an SMS's words suggested)."""
    return _post_on_ticket(
        request, pk, name="reclassify", form_class=ReclassifyForm, allowed=_may_reclassify,
        act=lambda ticket, form: services.ticket_reclassify(actor=request.user, ticket=ticket, **form.cleaned_data),
        done=lambda _ticket: _("已更正类别"),
    )


@requires(Cap.RECORD_TICKET)
@require_POST
def urge(request, pk: int):
    """催办: a note to whoever holds the order, in its history and by SMS."""
    return _post_on_ticket(
        request, pk, name="urge", form_class=UrgeForm, allowed=_may_urge,
        act=lambda ticket, form: services.ticket_urge(
            actor=request.user, ticket=ticket, note=form.cleaned_data["note"]),
        done=lambda texts: ngettext("已催办,短信通知%(n)d人", "已催办,短信通知%(n)d人", texts) % {"n": texts},
    )


@requires(Cap.RECORD_TICKET)
@require_POST
def follow_link_reissue(request, pk: int):
    """A new follow-up link for a resident who lost theirs; shown once, texted to a mobile."""
    ticket = _ticket_or_404(request.user, pk)
    ticket, token = services.ticket_follow_link_reissue(actor=request.user, ticket=ticket)
    text = _("新的进度链接(旧链接已失效,只显示这一次):%(link)s") % {"link": _follow_link(request, token)}
    if notify.is_mobile(ticket.requester_phone):
        text += _(";已短信发送至%(phone)s") % {"phone": mask_phone(ticket.requester_phone)}
    messages.success(request, text, extra_tags="follow-link")
    return redirect("tickets:detail", pk=ticket.pk)


# The street's departments and routing rules


def _own_street(request) -> OrgUnit:
    """A street officer's street; others may not organise departments or rules."""
    membership = active_membership(request.user)
    if membership.role != Role.STREET_OFFICER or membership.org_unit.kind != Kind.STREET:
        raise PermissionDenied
    return membership.org_unit


@requires(Cap.RECORD_TICKET)
def rules(request):
    street = _own_street(request)
    current = RoutingRule.objects.filter(street=street)
    form = RoutingRulesForm(request.POST or None, street=street, rules=current)
    if request.method == "POST" and form.is_valid():
        try:
            changed = dept_services.routing_rules_save(actor=request.user, street=street, changes=form.changes())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            if changed:
                saved = ngettext("已保存%(n)d处派单规则", "已保存%(n)d处派单规则", changed) % {"n": changed}
                messages.success(request, saved)
            else:
                messages.info(request, _("没有改动"))
            return redirect("tickets:rules")
    return render(request, "tickets/rules.html", {"form": form, "street": street})


def _departments(street: OrgUnit) -> QuerySet:
    return Department.objects.filter(street=street).select_related("head__user").order_by("name")


def _departments_page(request, street: OrgUnit, *, create_form=None, bound: dict | None = None):
    bound = bound or {}
    candidates = dept_services.eligible_members(street)
    blocks = []
    for department in _departments(street):
        members = list(department.members.select_related("user").order_by("role", "user__username", "pk"))
        mine = bound if bound.get("department") == department.pk else {}
        blocks.append({
            "department": department,
            "members": members,
            "member_form": mine.get("member") or MemberForm(
                candidates=candidates.exclude(pk__in=[m.pk for m in members]), auto_id=f"member{department.pk}_%s"),
            "head_form": mine.get("head") or HeadForm(department=department, auto_id=f"head{department.pk}_%s"),
            "remove_errors": mine.get("remove_errors", []),
        })
    return render(request, "tickets/departments.html", {
        "street": street, "blocks": blocks, "create_form": create_form or DepartmentForm(auto_id="dept_%s"),
    })


@requires(Cap.RECORD_TICKET)
def departments(request):
    street = _own_street(request)
    form = DepartmentForm(request.POST or None, auto_id="dept_%s")
    if request.method == "POST" and form.is_valid():
        try:
            department = dept_services.department_create(actor=request.user, street=street, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已新建部门:%(name)s") % {"name": department.name})
            return redirect("tickets:departments")
    return _departments_page(request, street, create_form=form)


def _department_or_404(street: OrgUnit, pk: int) -> Department:
    return get_object_or_404(Department.objects.filter(street=street).select_related("street"), pk=pk)


@requires(Cap.RECORD_TICKET)
@require_POST
def department_member_add(request, pk: int):
    street = _own_street(request)
    department = _department_or_404(street, pk)
    candidates = dept_services.eligible_members(street).exclude(departments=department)
    form = MemberForm(request.POST, candidates=candidates, auto_id=f"member{department.pk}_%s")
    if form.is_valid():
        try:
            dept_services.department_member_add(actor=request.user, department=department, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已将%(who)s加入%(dept)s") % {
                "who": form.cleaned_data["membership"].user, "dept": department.name})
            return redirect("tickets:departments")
    return _departments_page(request, street, bound={"department": department.pk, "member": form})


@requires(Cap.RECORD_TICKET)
@require_POST
def department_member_remove(request, pk: int):
    street = _own_street(request)
    department = _department_or_404(street, pk)
    form = RemoveMemberForm(request.POST, department=department)
    if form.is_valid():
        try:
            dept_services.department_member_remove(actor=request.user, department=department, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已将%(who)s移出%(dept)s") % {
                "who": form.cleaned_data["membership"].user, "dept": department.name})
            return redirect("tickets:departments")
    errors = [e for errs in form.errors.values() for e in errs]
    return _departments_page(request, street, bound={"department": department.pk, "remove_errors": errors})


@requires(Cap.RECORD_TICKET)
@require_POST
def department_head(request, pk: int):
    street = _own_street(request)
    department = _department_or_404(street, pk)
    form = HeadForm(request.POST, department=department, auto_id=f"head{department.pk}_%s")
    if form.is_valid():
        try:
            dept_services.department_head_set(actor=request.user, department=department, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            head = form.cleaned_data["head"]
            messages.success(request, _("%(dept)s负责人:%(who)s") % {
                "dept": department.name, "who": head.user if head else _("(无)")})
            return redirect("tickets:departments")
    return _departments_page(request, street, bound={"department": department.pk, "head": form})
