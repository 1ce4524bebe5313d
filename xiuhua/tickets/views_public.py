"""The resident's side of emergency care (紧急关怀): the door QR page and the follow-up page.

    /help/                       type the code printed on the door card          (public)
    /help/d/<pk>-<code>/         the request form, address filled in              (public)
    /help/d/<pk>-<code>/code/    sends a one-time SMS code (POST)                 (public)
    /help/d/<pk>-<code>/verify/  the code                                         (public)
    /help/t/<token>/             the follow-up page of one request                (public)

No login for an urgent medical request: the door code is the gate, and the limits (door_requests.py) hold
per household and per client address. Any other request needs a phone proven by SMS code
(xiuhua.core.resident_phone, shared with the mask and arrival pages). A wrong door code, a
missing household and an unknown token are all the same 404.

Door codes are 40 bits, but nothing stopped a script from trying hundreds a second. Wrong codes
(in the URL or typed on /help/) are counted per client address (an IPv6 address by its /64,
which one subscriber holds whole) by core.code_guessing; past WRONG_CODES_LIMIT in a window every
door page answers 429 to that address, the right code included, so that no answer tells a right
code from a wrong one until the window is over.

Every submitted form carries a hidden key; the ticket keeps it in a unique column, so a double
tap or a resubmitted form finds the ticket it made instead of making a second, and goes to its
follow-up page (the follow-up secret is a keyed hash of the key: door_requests.follow_token_of). The household
row is locked while the key is looked up, the limits are counted and the ticket is written, so
two requests of one door are taken one after the other (design rule 4).
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from xiuhua.core.code_guessing import CodeGuard, private
from xiuhua.core.crypto import mask_phone
from xiuhua.core.policy import public
from xiuhua.core.resident_phone import (
    PhoneForm,
    PhoneSignIn,
    client_ip,
    verified_phone,
)
from xiuhua.residents.models import Household

from . import services
from .door import check_door_code, door_key, parse_door_key
from .door_requests import EMERGENCY_HINT, PhoneNeeded, Refused, door_request_submit
from .forms_public import DoorCodeForm, DoorRequestForm
from .models import MEDICAL_CATEGORIES, Category, Ticket, TicketEvent, TicketStatus, Urgency
from .notify import follow_path

OTP_PURPOSE = "help_login"

# Twenty wrong door codes in ten minutes from one network is a script; the refusal names 120 and
# 12345 (core.code_guessing).
WRONG_CODES_LIMIT = 20
WRONG_CODES_WINDOW = 600  # seconds
DOOR_CODES = CodeGuard("door-code", limit=WRONG_CODES_LIMIT, window=WRONG_CODES_WINDOW,
                       template="tickets/public/too_many_codes.html")
stops_code_guessing = DOOR_CODES.guards
_count_wrong_code = DOOR_CODES.count_wrong
_private = private


def _household(request, key: str) -> Household:
    """The household of a door key; a wrong code is the same 404 as a missing household, and
    is decided before the database is asked. Each of them counts against the address."""
    parsed = parse_door_key(key)
    household = None
    if parsed is not None and check_door_code(*parsed):
        household = Household.objects.select_related("compound", "building", "committee").filter(pk=parsed[0]).first()
    if household is None:
        _count_wrong_code(request)
        raise Http404
    return household


def client_hash(request) -> str:
    """A keyed hash of the caller's address (the address itself is not kept)."""
    ip = client_ip(request)
    return salted_hmac("xiuhua.tickets.client", ip, algorithm="sha256").hexdigest() if ip else ""


# ---------------------------------------------------------------- the code typed from the card


@public
@stops_code_guessing
@require_http_methods(["GET", "POST"])
def start(request):
    form = DoorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        parsed = parse_door_key(form.cleaned_data["code"])
        if parsed is not None and check_door_code(*parsed) and Household.objects.filter(pk=parsed[0]).exists():
            return redirect("help:door", key=door_key(parsed[0]))
        _count_wrong_code(request)
        form.add_error("code", _("求助码不正确,请核对门上卡片上的求助码。") + str(EMERGENCY_HINT))
    response = render(request, "tickets/public/start.html", {"form": form}, status=400 if form.errors else 200)
    return _private(response)


# ---------------------------------------------------------------- the door page


def _door_page(
    request, household: Household, form: DoorRequestForm, *, status: int = 200, refusal: str = "",
    phone_form: PhoneForm | None = None,
):
    phone = verified_phone(request)
    radios = list(form["category"])
    context = {
        "household": household,
        "committee": household.committee,  # its phone at the foot of the page
        "key": door_key(household.pk),
        "form": form,
        "medical_radios": [r for r in radios if r.data["value"] in MEDICAL_CATEGORIES],
        "other_radios": [r for r in radios if r.data["value"] not in MEDICAL_CATEGORIES],
        "phone": phone,
        "phone_masked": mask_phone(phone or ""),
        "phone_form": phone_form or PhoneForm(),
        "refusal": refusal,
    }
    return _private(render(request, "tickets/public/door.html", context, status=status))


@public
@stops_code_guessing
@require_http_methods(["GET", "POST"])
def door(request, key: str):
    household = _household(request, key)
    phone = verified_phone(request)
    if request.method != "POST":
        form = DoorRequestForm(initial={"submission_key": secrets.token_urlsafe(18), "phone": phone or ""})
        return _door_page(request, household, form)
    form = DoorRequestForm(request.POST, request.FILES)
    if not form.is_valid():
        if "submission_key" in form.errors:  # a form without its key: give it a fresh one
            data = request.POST.copy()
            data["submission_key"] = secrets.token_urlsafe(18)
            form = DoorRequestForm(data, request.FILES)
            form.is_valid()
            form.add_error(None, _("页面已过期,请核对后再提交一次"))
        return _door_page(request, household, form, status=400)
    data = form.cleaned_data
    try:
        ticket, token, created = door_request_submit(
            household=household, category=data["category"], urgency=data["urgency"],
            description=data["description"], phone=data["phone"], photo=data.get("photo"),
            submission_key=data["submission_key"], client_hash=client_hash(request), verified_phone=phone,
        )
    except PhoneNeeded as refused:  # the page offers to prove the phone typed in the form
        return _door_page(request, household, form, status=refused.status_code, refusal=refused.message,
                          phone_form=PhoneForm(initial={"phone": data["phone"]}))
    except Refused as refused:
        return _door_page(request, household, form, status=refused.status_code, refusal=refused.message)
    except ValidationError as exc:
        for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
            form.add_error(field if field in form.fields else None, errors)
        return _door_page(request, household, form, status=400)
    if created:
        messages.success(request, _("已收到您的求助,编号%(number)s。") % {"number": ticket.number})
        return redirect(follow_path(token))
    if token:  # this form was sent before (a double tap, a second tab): its request, not a new one
        messages.info(request, _("这条求助已经提交过了,编号%(number)s,不会重复登记。下面是它的办理进度。") % {
            "number": ticket.number})
        return redirect(follow_path(token))
    # Staff reissued the link meanwhile: the new one is in the requester's latest SMS.
    return _private(render(request, "tickets/public/already.html",
                           {"ticket": ticket, "household": household, "committee": household.committee}))


# ---------------------------------------------------------------- proving the phone


def _phone_page(request, household: Household, form: PhoneForm):
    request_form = DoorRequestForm(initial={"submission_key": secrets.token_urlsafe(18)})
    return _door_page(request, household, request_form, status=400, phone_form=form)


def _back_to_door(household: Household):
    return redirect("help:door", key=door_key(household.pk))


# The phone is proven by the one resident sign-in (core.resident_phone), behind the limit on
# guessed door codes; the door page is where it starts and where it ends.
sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request, key: _household(request, key),
    phone_page=_phone_page,
    verify_template="tickets/public/verify.html",
    verify_context=lambda household: {"household": household, "key": door_key(household.pk)},
    start=_back_to_door,
    verify=lambda household: redirect("help:verify", key=door_key(household.pk)),
    done=_back_to_door,
    done_message=gettext_lazy("手机号已验证,请填写求助内容"),
    wrap=stops_code_guessing,
    finish=_private,
)


# ---------------------------------------------------------------- the follow-up page


def timeline(ticket: Ticket) -> list[dict]:
    """The steps so far in the resident's words. Staff names and staff notes are never shown:
    only the action, its time, where the request went (the latest dispatch) and the answer (the
    latest reply, from the ticket's reply text, since a reply event's note may be a staff note)."""
    events = list(TicketEvent.objects.filter(ticket=ticket).order_by("at", "pk").values_list("action", "at"))
    last_dispatch = max(
        (i for i, (action, _at) in enumerate(events) if action in ("dispatch", "redispatch")), default=-1
    )
    last_reply = max((i for i, (action, _at) in enumerate(events) if action == "reply"), default=-1)
    department, committee = ticket.department, ticket.assigned_committee
    target = department.name if department is not None else committee.name if committee is not None else ""
    words = {
        "create": _("已收到您的求助"),
        "accept": _("已受理"),
        "start": _("正在办理"),
        "close": _("已办结"),
        "call_back": _("已回访"),
        "reopen": _("重新办理"),
        "extension_approve": _("办理时限已延长"),
    }
    steps = []
    for index, (action, at) in enumerate(events):
        text = ""
        if action in ("dispatch", "redispatch"):
            title = _("已派往%(to)s") % {"to": target} if index == last_dispatch and target else _("已派单")
        elif action == "reply":
            title = _("已答复")
            if index == last_reply:
                text = ticket.reply_text
        elif action in words:
            title = words[action]
        else:
            continue  # reminders, extension requests: staff matters
        steps.append({"action": action, "at": at, "title": title, "text": text})
    return steps


STATUS_WORDS = {
    TicketStatus.RECEIVED: gettext_lazy("已收到,等待受理"),
    TicketStatus.ACCEPTED: gettext_lazy("已受理"),
    TicketStatus.DISPATCHED: gettext_lazy("已派单,等待办理"),
    TicketStatus.HANDLING: gettext_lazy("正在办理"),
    TicketStatus.REPLIED: gettext_lazy("已答复"),
    TicketStatus.CLOSED: gettext_lazy("已办结"),
    TicketStatus.CALLED_BACK: gettext_lazy("已办结并回访"),
    TicketStatus.REOPENED: gettext_lazy("重新办理中"),
}


@public
@require_GET
def follow(request, token: str):
    if not 16 <= len(token) <= 64:
        raise Http404
    ticket = (
        Ticket.objects.select_related("department", "assigned_committee", "committee")
        .filter(follow_token_hash=services.token_hash(token))
        .first()
    )
    if ticket is None:
        raise Http404
    context = {
        "ticket": ticket,
        "category": Category(ticket.category).label,
        "urgent": ticket.urgency == Urgency.URGENT,
        "status_words": STATUS_WORDS.get(TicketStatus(ticket.status), ""),
        "steps": timeline(ticket),
        "committee": ticket.committee,
    }
    return _private(render(request, "tickets/public/follow.html", context))
