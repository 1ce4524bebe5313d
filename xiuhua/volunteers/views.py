"""Committee staff's and street officers' pages of the volunteers (desktop).

    /volunteers/                       the talent directory (search, paginated)
    /volunteers/new/                   sign a person up on their behalf
    /volunteers/v/<pk>/                one volunteer: talents (confirm), availability, hours, duties
    /volunteers/posts/                 duty posts per compound; add one
    /volunteers/posts/<pk>/            a post's shifts; add one; its A4 sheet with the QR code
    /volunteers/shifts/<pk>/           a shift: change it, put a volunteer on it, check in/out
    /volunteers/day/                   the day's duty table (gaps and overlaps flagged); its PDF
    /volunteers/tasks/                 tasks handed to volunteers
    /volunteers/tasks/new/<source>/<id>/  hand a work order or an isolation case to a volunteer

Street officers see (view_volunteers); committee staff also write (manage_volunteers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership, has_cap
from xiuhua.core.crypto import mask_name
from xiuhua.core.forms import apply_errors
from xiuhua.core.policy import requires
from xiuhua.core.workflow import can
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Resident

from . import selectors as sel
from . import services, sheets
from .forms import PostForm, SearchForm, ShiftEditForm, ShiftForm, StaffSignUpForm, TalentsForm, TaskForm
from .models import USABLE, Duty, DutyStatus, Post, Shift, Skill, Talent, TaskSource, Volunteer, VolunteerTask

PAGE_SIZE = 50
VIEW = requires(Cap.VIEW_VOLUNTEERS)
MANAGE = requires(Cap.MANAGE_VOLUNTEERS)


def compounds_for(user):
    """The compounds of the user's scope, in natural order."""
    membership = active_membership(user)
    if membership is None:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(kind=Kind.COMPOUND, path__startswith=membership.org_unit.path).in_natural_order()


def _compound(user, pk) -> OrgUnit:
    compound = compounds_for(user).filter(pk=pk or 0).first() if str(pk or "").isdigit() else None
    if compound is None:
        raise Http404
    return compound


def _join_url(request) -> str:
    membership = active_membership(request.user)
    if membership is None or membership.org_unit.kind != Kind.COMMITTEE:
        return ""
    return (str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse("volunteers:my_start")
            + f"?c={membership.org_unit.pk}")


@VIEW
@require_GET
def directory(request):
    compounds = list(compounds_for(request.user))
    form = SearchForm(request.GET or None, compounds=compounds)
    search = sel.Search()
    if form.is_valid():
        data = form.cleaned_data
        search = sel.Search(skill=data["skill"] or "", detail=(data["detail"] or "").strip(),
                            compound_id=data["compound"], confirmed_only=data["confirmed"],
                            available_now=data["now"])
    page = Paginator(sel.directory(request.user, search), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    rows = [{"v": v, "name": sel.shown_name(v), "talents": list(v.talents.all()), "hours": sel.hours(v.minutes_served)}
            for v in page]
    return render(request, "volunteers/directory.html", {
        "form": form, "page": page, "rows": rows, "query": query.urlencode(),
        "can_manage": has_cap(request.user, Cap.MANAGE_VOLUNTEERS), "join_url": _join_url(request),
    })


@MANAGE
@require_http_methods(["GET", "POST"])
def volunteer_new(request):
    compounds = list(compounds_for(request.user))
    form = StaffSignUpForm(request.POST or None, compounds=compounds)
    choices: list = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        compound = _compound(request.user, data["compound"])
        resident = None
        if data.get("resident"):
            resident = Resident.objects.filter(pk=data["resident"], committee_id=compound.committee_id).first()
        else:
            matches = list(Resident.objects.filter(committee_id=compound.committee_id, mobile=data["mobile"].strip(),
                                                   living_status__in=services.LIVING)
                           .select_related("household__building", "household__compound")[:10])
            if len(matches) > 1:
                # Several roster residents share the number: staff choose which one signs up.
                choices = [{"pk": r.pk, "name": mask_name(r.name), "address": r.household.address} for r in matches]
        if not choices:
            try:
                volunteer = services.volunteer_sign_up(
                    actor=request.user, compound=compound, mobile=data["mobile"], name=data["name"],
                    resident=resident, talents=form.talents(), days=form.days_value(),
                    available_from=data["available_from"], available_to=data["available_to"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已登记志愿者"))
                return redirect("volunteers:volunteer", pk=volunteer.pk)
    return render(request, "volunteers/new.html", {"form": form, "choices": choices},
                  status=400 if form.errors else 200)


@VIEW
@require_http_methods(["GET", "POST"])
def volunteer_detail(request, pk: int):
    volunteer = access_by_id(Volunteer.objects.select_related("compound", "resident__household__building",
                                                              "resident__household__compound"),
                             request.user, pk=pk)
    can_manage = has_cap(request.user, Cap.MANAGE_VOLUNTEERS)
    form = TalentsForm(request.POST or None, initial=TalentsForm.initial_for(volunteer))
    if request.method == "POST":
        if not can_manage:
            raise Http404
        if form.is_valid():
            try:
                services.volunteer_update(actor=request.user, volunteer=volunteer, talents=form.talents(),
                                          days=form.days_value(), available_from=form.cleaned_data["available_from"],
                                          available_to=form.cleaned_data["available_to"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已保存"))
                return redirect("volunteers:volunteer", pk=volunteer.pk)
    talents = [{"t": t, "confirm": can(request.user, t, "confirm"), "reject": can(request.user, t, "reject")}
               for t in volunteer.talents.select_related("decided_by").order_by("skill")]
    duties = (volunteer.duties.select_related("shift__post").order_by("-starts_at")[:30])
    tasks = volunteer.tasks.order_by("-created_at")[:20]
    return render(request, "volunteers/volunteer.html", {
        "v": volunteer, "name": sel.shown_name(volunteer), "talents": talents, "duties": duties, "tasks": tasks,
        "hours": sel.hours(volunteer.minutes_served), "form": form, "can_manage": can_manage,
        "resident_address": volunteer.resident.household.address if volunteer.resident_id else "",
    }, status=400 if form.errors else 200)


@MANAGE
@require_POST
def talent_decide(request, pk: int):
    talent = access_by_id(Talent.objects, request.user, pk=pk)
    try:
        services.talent_decide(actor=request.user, talent=talent, confirm=request.POST.get("action") == "confirm")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已确认资质") if request.POST.get("action") == "confirm" else _("已记为未通过"))
    return redirect("volunteers:volunteer", pk=talent.volunteer_id)


@VIEW
@require_http_methods(["GET", "POST"])
def posts(request):
    compounds = list(compounds_for(request.user))
    can_manage = has_cap(request.user, Cap.MANAGE_VOLUNTEERS)
    form = PostForm(request.POST or None, compounds=compounds)
    if request.method == "POST":
        if not can_manage:
            raise Http404
        if form.is_valid():
            data = form.cleaned_data
            try:
                post = services.post_create(actor=request.user, compound=_compound(request.user, data["compound"]),
                                            kind=data["kind"], name=data["name"], duties=data["duties"],
                                            required_skill=data["required_skill"],
                                            health_statement=data["health_statement"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已新增岗位"))
                return redirect("volunteers:post", pk=post.pk)
    rows = Post.objects.visible_to(request.user).select_related("compound").order_by("compound__sort_key", "name")
    return render(request, "volunteers/posts.html", {"posts": rows, "form": form, "can_manage": can_manage},
                  status=400 if form.errors else 200)


@VIEW
@require_http_methods(["GET", "POST"])
def post_detail(request, pk: int):
    post = access_by_id(Post.objects.select_related("compound"), request.user, pk=pk)
    can_manage = has_cap(request.user, Cap.MANAGE_VOLUNTEERS)
    today = timezone.localdate()
    form = ShiftForm(request.POST or None, initial={"day": today + dt.timedelta(days=1)})
    if request.method == "POST":
        if not can_manage:
            raise Http404
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.shift_create(actor=request.user, post=post, day=data["day"], start=data["start"],
                                      end=data["end"], needed=data["needed"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已新增班次"))
                return redirect("volunteers:post", pk=post.pk)
    shifts = post.shifts.filter(day__gte=today - dt.timedelta(days=7)).order_by("starts_at")
    return render(request, "volunteers/post.html", {"post": post, "shifts": shifts, "form": form,
                                                    "can_manage": can_manage},
                  status=400 if form.errors else 200)


@VIEW
@require_GET
def post_sheet(request, pk: int):
    post = access_by_id(Post.objects.select_related("compound"), request.user, pk=pk)
    services.post_sheet_print(actor=request.user, post=post)
    response = HttpResponse(sheets.post_sheet(post), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="post-{post.pk}.pdf"'
    return response


def _assignable(shift: Shift):
    """Volunteers of the shift's committee not on it, with the post's skill if it asks for one."""
    rows = Volunteer.objects.filter(committee_id=shift.committee_id).exclude(
        duties__shift=shift, duties__status__in=[DutyStatus.SIGNED, DutyStatus.ON_DUTY, DutyStatus.DONE])
    if shift.post.required_skill:
        rows = rows.filter(talents__skill=shift.post.required_skill, talents__status__in=USABLE)
    return rows.order_by("compound_id", "name")[:300]


@VIEW
@require_http_methods(["GET", "POST"])
def shift_detail(request, pk: int):
    shift = access_by_id(Shift.objects.select_related("post__compound"), request.user, pk=pk)
    can_manage = has_cap(request.user, Cap.MANAGE_VOLUNTEERS)
    local_start, local_end = timezone.localtime(shift.starts_at), timezone.localtime(shift.ends_at)
    form = ShiftEditForm(request.POST or None, initial={"start": local_start.time(), "end": local_end.time(),
                                                        "needed": shift.needed})
    if request.method == "POST":
        if not can_manage:
            raise Http404
        if form.is_valid():
            try:
                services.shift_update(actor=request.user, shift=shift, start=form.cleaned_data["start"],
                                      end=form.cleaned_data["end"], needed=form.cleaned_data["needed"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已保存"))
                return redirect("volunteers:shift", pk=shift.pk)
    duties = [{"d": d, "name": sel.shown_name(d.volunteer), "check_in": can(request.user, d, "check_in"),
               "check_out": can(request.user, d, "check_out"), "cancel": can(request.user, d, "cancel")}
              for d in shift.duties.exclude(status=DutyStatus.CANCELLED).select_related("volunteer").order_by("pk")]
    assignable = [(v.pk, sel.shown_name(v)) for v in _assignable(shift)] if can_manage else []
    return render(request, "volunteers/shift.html", {
        "shift": shift, "post": shift.post, "duties": duties, "form": form, "can_manage": can_manage,
        "assignable": assignable, "start": local_start, "end": local_end,
    }, status=400 if form.errors else 200)


@MANAGE
@require_POST
def shift_assign(request, pk: int):
    shift = access_by_id(Shift.objects, request.user, pk=pk)
    volunteer = access_by_id(Volunteer.objects, request.user, pk=request.POST.get("volunteer") or 0)
    try:
        services.duty_sign_up(actor=request.user, shift=shift, volunteer=volunteer)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已安排 %(name)s") % {"name": sel.shown_name(volunteer)})
    return redirect("volunteers:shift", pk=shift.pk)


DUTY_ACTIONS: dict[str, Callable[..., Any]] = {"check_in": services.duty_check_in, "check_out": services.duty_check_out,
                "cancel": services.duty_cancel}


@MANAGE
@require_POST
def duty_act(request, pk: int, action: str):
    if action not in DUTY_ACTIONS:
        raise Http404
    duty = access_by_id(Duty.objects, request.user, pk=pk)
    try:
        DUTY_ACTIONS[action](actor=request.user, duty=duty)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已保存"))
    return redirect(request.POST.get("back") == "day" and
                    f"{reverse('volunteers:day')}?day={duty.shift.day.isoformat()}" or
                    reverse("volunteers:shift", kwargs={"pk": duty.shift_id}))


def _day_and_posts(request):
    try:
        day = dt.date.fromisoformat(request.GET.get("day") or "")
    except ValueError:
        day = timezone.localdate()
    posts = Post.objects.visible_to(request.user)
    compound = None
    if request.GET.get("compound"):
        compound = _compound(request.user, request.GET.get("compound"))
        posts = posts.filter(compound=compound)
    return day, posts, compound


@VIEW
@require_GET
def day(request):
    day, posts, compound = _day_and_posts(request)
    table = sel.day_table(posts, day)
    for post_row in table.posts:
        for shift_row in post_row.shifts:
            shift_row.rows = [{"d": d, "name": sel.shown_name(d.volunteer), "overlap": d.pk in shift_row.overlaps,
                               "check_in": can(request.user, d, "check_in"),
                               "check_out": can(request.user, d, "check_out")}
                              for d in shift_row.duties]  # type: ignore[attr-defined]
    compounds = list(compounds_for(request.user))
    return render(request, "volunteers/day.html", {
        "table": table, "day": day, "compound": compound, "compounds": compounds,
        "previous": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1),
        "can_manage": has_cap(request.user, Cap.MANAGE_VOLUNTEERS),
    })


@VIEW
@require_GET
def day_pdf(request):
    day, posts, compound = _day_and_posts(request)
    if compound is None:
        raise Http404
    table = sel.day_table(posts, day)
    services.duty_sheet_print(actor=request.user, compound=compound, day=day, count=table.duty_count)
    committee = OrgUnit.objects.get(pk=compound.committee_id)
    response = HttpResponse(sheets.duty_table_pdf(compound.name, committee.name, table), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="duty-{compound.pk}-{day.isoformat()}.pdf"'
    return response


@VIEW
@require_GET
def tasks(request):
    rows = (VolunteerTask.objects.visible_to(request.user).select_related("volunteer")
            .order_by("status", "-created_at"))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    items = [{"t": t, "name": sel.shown_name(t.volunteer), "withdraw": can(request.user, t, "withdraw"),
              "finish": can(request.user, t, "finish")} for t in page]
    return render(request, "volunteers/tasks.html", {"page": page, "items": items})


@MANAGE
@require_http_methods(["GET", "POST"])
def task_new(request, source: str, source_id: int):
    if source not in TaskSource.values:
        raise Http404
    _record, committee_id, place, due, what = services.task_source(actor=request.user, source=source,
                                                                   source_id=source_id)
    skill = request.GET.get("skill") or request.POST.get("skill") or ""
    if skill not in Skill.values:
        skill = ""
    candidates = Volunteer.objects.visible_to(request.user).filter(committee_id=committee_id)
    if skill:
        candidates = candidates.filter(talents__skill=skill, talents__status__in=USABLE)
    detail = (request.GET.get("detail") or "").strip()[:30]
    if detail:
        candidates = candidates.filter(talents__detail__icontains=detail)
    volunteers = [(v.pk, f"{sel.shown_name(v)} {' '.join(str(t) for t in v.talents.all())}")
                  for v in candidates.distinct().prefetch_related("talents").order_by("-minutes_served", "pk")[:200]]
    default_due = due or timezone.localtime() + dt.timedelta(hours=4)
    form = TaskForm(request.POST or None, volunteers=volunteers, initial={
        "skill": skill, "what": what, "place": place,
        "due_at": timezone.localtime(default_due).strftime("%Y-%m-%dT%H:%M"),
        "contact": _contact(request)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        volunteer = access_by_id(Volunteer.objects, request.user, pk=data["volunteer"])
        try:
            services.task_assign(actor=request.user, source=source, source_id=source_id, volunteer=volunteer,
                                 what=data["what"], place=data["place"], due_at=data["due_at"],
                                 contact=data["contact"], skill=data["skill"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已派给志愿者 %(name)s") % {"name": sel.shown_name(volunteer)})
            return redirect("volunteers:tasks")
    back = (reverse("tickets:detail", kwargs={"pk": source_id}) if source == TaskSource.TICKET
            else reverse("isolation:case", kwargs={"case_id": source_id}))
    return render(request, "volunteers/task_new.html", {
        "form": form, "source": TaskSource(source).label, "back": back, "skill": skill, "detail": detail,
        "skills": Skill.choices, "existing": services.tasks_for(source, source_id).select_related("volunteer"),
    }, status=400 if form.errors else 200)


def _contact(request) -> str:
    membership = active_membership(request.user)
    phone = getattr(membership.org_unit, "phone", "") if membership else ""
    name = request.user.display_name or request.user.username
    return f"{name} {phone}".strip()[:60]


TASK_ACTIONS: dict[str, Callable[..., Any]] = {"finish": services.task_finish, "withdraw": services.task_withdraw}


@MANAGE
@require_POST
def task_act(request, pk: int, action: str):
    if action not in TASK_ACTIONS:
        raise Http404
    task = access_by_id(VolunteerTask.objects, request.user, pk=pk)
    try:
        TASK_ACTIONS[action](actor=request.user, task=task)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已保存"))
    return redirect("volunteers:tasks")



