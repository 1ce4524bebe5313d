"""The volunteer's phone pages (360 px, basic phones, WeChat's browser), after the one phone
sign-in (core.resident_phone.PhoneSignIn). Most volunteers have no account: the proven phone is
who they are, and every page shows only the rows of the volunteer records with that mobile.

    /volunteers/my/?c=<committee>     the phone form (a committee's sign-up link names it)
    /volunteers/my/code/, verify/, logout/
    /volunteers/my/home/              sign up; my shifts, open shifts, my tasks, my hours
    /volunteers/my/signup/            POST: sign up for a compound
    /volunteers/my/shift/<pk>/join/   POST: take a place on a shift
    /volunteers/my/duty/<pk>/<act>/   POST: health statement, cancel
    /volunteers/my/task/<pk>/done/    POST: a handed task is done
    /volunteers/p/<pk>-<code>/        the post's QR code: check in and out (and its sign-in steps)

A duty, shift or task of another phone is the same 404 as a missing one. Nothing here reads the
roster beyond matching the proven phone to a living resident's mobile, and nothing of the
roster is shown."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xiuhua.core.code_guessing import CodeGuard, private
from xiuhua.core.crypto import mask_name, mask_phone
from xiuhua.core.forms import apply_errors
from xiuhua.core.policy import public
from xiuhua.core.resident_phone import PhoneForm, PhoneSignIn, resident_phone, verified_phone
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Resident

from . import selectors as sel
from . import services
from .forms import PhoneSignUpForm
from .models import LIVE_DUTY, Duty, DutyStatus, Post, Shift, TaskStatus, VolunteerTask

OTP_PURPOSE = "volunteer"
SESSION_JOIN = "volunteer_join_committee"
OPEN_DAYS = 7

# Post codes are 40 bits; twenty wrong ones in ten minutes from one network is a script.
POST_CODES = CodeGuard("volunteer-post", limit=20, window=600, template="volunteers/phone/too_many_codes.html")


def _start_page(request, _place, form: PhoneForm, status: int = 200):
    return render(request, "volunteers/phone/start.html", {"form": form, "phone": verified_phone(request)},
                  status=status)


sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request: None,
    phone_page=lambda request, place, form: _start_page(request, place, form, status=400),
    verify_template="volunteers/phone/verify.html",
    verify_context=lambda place: {"back": "volunteers:my_start"},
    start=lambda place: redirect("volunteers:my_start"),
    verify=lambda place: redirect("volunteers:my_verify"),
    done=lambda place: redirect("volunteers:my_home"),
)

_need_phone = resident_phone(template="volunteers/phone/need_phone.html")


@public
@require_GET
def my_start(request):
    committee = request.GET.get("c") or ""
    if committee.isdigit() and OrgUnit.objects.filter(pk=committee, kind=Kind.COMMITTEE).exists():
        request.session[SESSION_JOIN] = int(committee)
    if verified_phone(request):
        return redirect("volunteers:my_home")
    return _start_page(request, None, PhoneForm())


def _join_compounds(request, phone: str) -> list[OrgUnit]:
    """Compounds the phone may sign up for: those of the living roster residents with this
    mobile, and those of the committee whose sign-up link was opened."""
    committees = set(Resident.objects.filter(mobile=phone, living_status__in=services.LIVING)
                     .values_list("committee_id", flat=True))
    joined = request.session.get(SESSION_JOIN)
    if isinstance(joined, int):
        committees.add(joined)
    taken = set(services.volunteers_for_phone(phone).values_list("committee_id", flat=True))
    return list(OrgUnit.objects.filter(kind=Kind.COMPOUND, committee_id__in=committees - taken).in_natural_order())


def _home(request, form: PhoneSignUpForm | None = None, status: int = 200):
    phone = request.resident_phone
    volunteers = list(services.volunteers_for_phone(phone).select_related("compound").prefetch_related("talents"))
    now = timezone.now()
    today = timezone.localdate()
    duties = list(Duty.objects.filter(volunteer__in=volunteers, status__in=LIVE_DUTY,
                                      ends_at__gte=now - dt.timedelta(days=1))
                  .select_related("shift__post__compound").order_by("starts_at")[:30])
    mine = {d.shift_id for d in duties}
    open_shifts = [s for s in Shift.objects.filter(committee_id__in=[v.committee_id for v in volunteers],
                                                   day__gte=today, day__lte=today + dt.timedelta(days=OPEN_DAYS),
                                                   ends_at__gt=now)
                   .select_related("post__compound").order_by("starts_at")[:60] if s.pk not in mine]
    tasks = list(VolunteerTask.objects.filter(volunteer__in=volunteers, status=TaskStatus.ASSIGNED).order_by("due_at"))
    compounds = _join_compounds(request, phone)
    if form is None and compounds:
        form = PhoneSignUpForm(compounds=compounds, initial={"compound": compounds[0].pk})
    return render(request, "volunteers/phone/home.html", {
        "volunteers": [{"v": v, "name": mask_name(v.name), "hours": sel.hours(v.minutes_served),
                        "talents": list(v.talents.all())} for v in volunteers],
        "duties": [{"d": d, "health": d.shift.post.health_statement and d.health_declared_at is None
                    and d.shift.day == today and d.status == DutyStatus.SIGNED,
                    "cancel": d.status == DutyStatus.SIGNED and d.starts_at > now} for d in duties],
        "open_shifts": open_shifts, "tasks": tasks, "form": form if compounds else None,
        "phone_masked": mask_phone(phone),
    }, status=status)


@_need_phone
@require_GET
def my_home(request):
    return _home(request)


@_need_phone
@require_POST
def my_signup(request):
    phone = request.resident_phone
    compounds = _join_compounds(request, phone)
    form = PhoneSignUpForm(request.POST, compounds=compounds)
    if form.is_valid():
        compound = next(c for c in compounds if str(c.pk) == form.cleaned_data["compound"])
        try:
            services.volunteer_sign_up(actor=None, compound=compound, mobile=phone, name=form.cleaned_data["name"],
                                       talents=form.talents(), days=form.days_value(),
                                       available_from=form.cleaned_data["available_from"],
                                       available_to=form.cleaned_data["available_to"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("报名成功,需要证明的资质请带证件到居委会确认"))
            return redirect("volunteers:my_home")
    return _home(request, form, status=400)


def _my_duty(request, pk: int) -> Duty:
    duty = (Duty.objects.filter(pk=pk, volunteer__mobile=request.resident_phone)
            .select_related("shift__post__compound", "volunteer").first())
    if duty is None:
        raise Http404
    return duty


@_need_phone
@require_POST
def my_join(request, pk: int):
    shift = Shift.objects.filter(pk=pk).first()
    volunteer = services.volunteers_for_phone(request.resident_phone).filter(
        committee_id=shift.committee_id if shift else 0).first()
    if shift is None or volunteer is None:
        raise Http404
    try:
        services.duty_sign_up(actor=None, shift=shift, volunteer=volunteer)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied:
        raise Http404 from None
    else:
        messages.success(request, _("已报名"))
    return redirect("volunteers:my_home")


@_need_phone
@require_POST
def my_duty(request, pk: int, action: str):
    duty = _my_duty(request, pk)
    try:
        if action == "health":
            if request.POST.get("healthy") != "1":
                raise ValidationError(_("请勾选健康承诺"))
            services.duty_health_declare(duty=duty)
            messages.success(request, _("已填写今天的健康承诺"))
        elif action == "cancel":
            services.duty_cancel(actor=None, duty=duty)
            messages.success(request, _("已取消报名"))
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("volunteers:my_home")


@_need_phone
@require_POST
def my_task_done(request, pk: int):
    task = VolunteerTask.objects.filter(pk=pk, volunteer__mobile=request.resident_phone).first()
    if task is None:
        raise Http404
    try:
        services.task_finish(actor=None, task=task)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已完成,谢谢!"))
    return redirect("volunteers:my_home")


# --- the post's QR code -------------------------------------------------------------------------


def _post(request, code: str) -> Post:
    pk = services.post_of(code)
    post = Post.objects.select_related("compound").filter(pk=pk).first() if pk is not None else None
    if post is None:
        POST_CODES.count_wrong(request)
        raise Http404
    return post


def _post_start(request, post: Post, form: PhoneForm, code: str, status: int = 200):
    return private(render(request, "volunteers/phone/post_start.html",
                          {"post": post, "form": form, "code": code}, status=status))


post_sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request, code: (_post(request, code), code),
    phone_page=lambda request, place, form: _post_start(request, place[0], form, place[1], status=400),
    verify_template="volunteers/phone/verify.html",
    verify_context=lambda place: {"post": place[0], "code": place[1]},
    start=lambda place: redirect("volunteers:post_door", code=place[1]),
    verify=lambda place: redirect("volunteers:post_verify", code=place[1]),
    done=lambda place: redirect("volunteers:post_door", code=place[1]),
    finish=private,
    wrap=POST_CODES.guards,
)


def _post_duties(phone: str, post: Post):
    """The phone's duties at this post whose check-in window is open or that are on duty."""
    now = timezone.now()
    rows = (Duty.objects.filter(volunteer__mobile=phone, shift__post=post,
                                status__in=(DutyStatus.SIGNED, DutyStatus.ON_DUTY),
                                starts_at__lte=now + services.CHECK_IN_MARGIN,
                                ends_at__gte=now - services.CHECK_IN_MARGIN)
            | Duty.objects.filter(volunteer__mobile=phone, shift__post=post, status=DutyStatus.ON_DUTY))
    return list(rows.distinct().select_related("shift", "volunteer").order_by("starts_at"))


@public
@require_GET
@POST_CODES.guards
def post_door(request, code: str):
    post = _post(request, code)
    phone = verified_phone(request)
    if not phone:
        return _post_start(request, post, PhoneForm(), code)
    today = timezone.localdate()
    duties = _post_duties(phone, post)
    upcoming = (Duty.objects.filter(volunteer__mobile=phone, shift__post=post, status=DutyStatus.SIGNED,
                                    shift__day__gte=today).exclude(pk__in=[d.pk for d in duties])
                .select_related("shift").order_by("starts_at")[:5])
    rows = [{"d": d, "health": post.health_statement and d.health_declared_at is None and d.status == DutyStatus.SIGNED}
            for d in duties]
    return private(render(request, "volunteers/phone/post.html", {
        "post": post, "code": code, "rows": rows, "upcoming": upcoming, "phone_masked": mask_phone(phone),
        "is_volunteer": services.volunteers_for_phone(phone).filter(committee_id=post.committee_id).exists(),
    }))


@resident_phone(start="volunteers:post_door")
@require_POST
@POST_CODES.guards
def post_act(request, code: str, pk: int, action: str):
    post = _post(request, code)
    duty = Duty.objects.filter(pk=pk, volunteer__mobile=request.resident_phone, shift__post=post).first()
    if duty is None:
        raise Http404
    try:
        if action == "check_in":
            services.duty_check_in(actor=None, duty=duty)
            messages.success(request, _("签到成功"))
        elif action == "check_out":
            duty = services.duty_check_out(actor=None, duty=duty)
            messages.success(request, _("签退成功,本班服务%(h)s,谢谢!") % {"h": sel.hours(duty.minutes)})
        elif action == "health":
            if request.POST.get("healthy") != "1":
                raise ValidationError(_("请勾选健康承诺"))
            services.duty_health_declare(duty=duty)
            messages.success(request, _("已填写今天的健康承诺"))
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return private(redirect("volunteers:post_door", code=code))
