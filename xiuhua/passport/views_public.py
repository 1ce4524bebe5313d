"""The page a passport card's QR code opens (/passport/d/<pk>-<code>/).

Staff signed in with the household in their passport scope go straight on to its staff page (to
see and stamp). Anyone else is a resident: they prove a mobile with an SMS code (the one phone
sign-in, core.resident_phone), and the household's stamps are shown only when that mobile is
registered on the roster for a member of this household (moved-out and deceased people aside).
What a resident sees is their own household's: the address on their door, each week's four
stamps and their days; never who stamped, staff notes, names or any other household. A wrong
code is the same 404 as a missing household."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from xiuhua.core.code_guessing import CodeGuard, private
from xiuhua.core.crypto import mask_phone
from xiuhua.core.policy import public
from xiuhua.core.resident_phone import PhoneForm, PhoneSignIn, resident_phone, verified_phone
from xiuhua.residents.models import Household, Resident

from . import periods
from . import selectors as sel
from .keys import household_of
from .models import PassportHousehold

OTP_PURPOSE = "passport"


# Card codes are 40 bits; twenty wrong ones in ten minutes from one network is a script.
CARD_CODES = CodeGuard("passport-card", limit=20, window=600, template="passport/public/too_many_codes.html")
_private = private


def _household(request, code: str) -> Household:
    """The household of a card code; a wrong code is the same 404 as a missing household, and
    counts against the address."""
    pk = household_of(code)
    household = (Household.objects.select_related("compound", "building", "committee").filter(pk=pk).first()
                 if pk is not None else None)
    if household is None:
        CARD_CODES.count_wrong(request)
        raise Http404
    return household


def _start_page(request, household: Household, form: PhoneForm, code: str, status: int = 200):
    phone = verified_phone(request)
    return _private(render(request, "passport/public/door.html", {
        "household": household, "committee": household.committee, "form": form, "code": code, "phone": phone,
        "phone_masked": mask_phone(phone or ""),
    }, status=status))


@public
@require_GET
@CARD_CODES.guards
def door(request, code: str):
    household = _household(request, code)
    if request.user.is_authenticated and sel.households_for(request.user).filter(pk=household.pk).exists():
        return redirect("passport:household", pk=household.pk)
    return _start_page(request, household, PhoneForm(), code)


sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request, code: (_household(request, code), code),
    phone_page=lambda request, place, form: _start_page(request, place[0], form, place[1], status=400),
    verify_template="passport/public/verify.html",
    verify_context=lambda place: {"household": place[0], "committee": place[0].committee, "code": place[1]},
    start=lambda place: redirect("passport:door", code=place[1]),
    verify=lambda place: redirect("passport:door_verify", code=place[1]),
    done=lambda place: redirect("passport:door_stamps", code=place[1]),
    finish=_private,
    wrap=CARD_CODES.guards,
)


@resident_phone(start="passport:door")
@require_GET
@CARD_CODES.guards
def door_stamps(request, code: str):
    household = _household(request, code)
    phone = request.resident_phone
    member = Resident.objects.filter(household=household, mobile=phone, living_status__in=sel.MEMBERS).exists()
    context = {"household": household, "committee": household.committee, "code": code,
               "phone_masked": mask_phone(phone)}
    if not member:
        return _private(render(request, "passport/public/not_member.html", context, status=403))
    weeks = sel.passport_weeks(PassportHousehold(pk=household.pk), periods.recent())
    return _private(render(request, "passport/public/stamps.html", context | {"weeks": weeks}))
