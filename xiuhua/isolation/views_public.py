"""Self-registration of arrivals (来沪人员自主登记): a phone page reached by the committee's QR code.

    /arrive/c/<code>/           what it is for, and the phone number       (public)
    /arrive/c/<code>/code/      sends the one-time SMS code (POST)         (public)
    /arrive/c/<code>/verify/    the code                                   (public)
    /arrive/c/<code>/register/  the form                                   (resident_phone)
    /arrive/c/<code>/done/      what was registered, the ID number masked  (resident_phone)
    /arrive/c/<code>/qr.svg     the printable QR code of the first page    (public)

The phone is proven by the one resident sign-in (xiuhua.core.resident_phone.PhoneSignIn) and kept
in the same session keys as on every resident page, so a phone proven on the mask pages counts
here. The registration is
`services.arrival_register` with channel SELF and no actor; the address must be a roster
household of this committee. No case is opened: the committee verifies first and sees these
arrivals in `selectors.arrivals_awaiting_case`, beside any other registration of the same number
they can see. The answer depends only on this phone's own registrations, never on what exists
for the number elsewhere; each submission counts against the phone's and the client address's
lookup limits (core.lookups), 429 past them.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from xiuhua.core.crypto import mask_phone
from xiuhua.core.forms import apply_errors as _apply_errors
from xiuhua.core.lookups import LookupThrottled, lookup_throttle
from xiuhua.core.policy import public
from xiuhua.core.qr import qr_svg_response
from xiuhua.core.resident_phone import (
    PhoneForm,
    PhoneSignIn,
    client_ip,
    resident_phone,
    verified_phone,
)
from xiuhua.places.models import Kind, OrgUnit

from . import services
from .forms_public import SelfArrivalForm
from .models import Arrival, Channel

OTP_PURPOSE = "arrival_login"
# The arrival this session registered last, for the confirmation page.
SESSION_DONE = "arrive_done"

phone_required = resident_phone(start="arrive:committee")


def _committee(code: str) -> OrgUnit:
    return get_object_or_404(OrgUnit, kind=Kind.COMMITTEE, code=code)


def _committee_page(request, committee: OrgUnit, form: PhoneForm, status: int = 200):
    phone = verified_phone(request)
    return render(
        request,
        "isolation/public/committee.html",
        {"committee": committee, "form": form, "phone": phone, "phone_masked": mask_phone(phone or "")},
        status=status,
    )


@public
@require_GET
def committee_page(request, code: str):
    return _committee_page(request, _committee(code), PhoneForm())


@public
@require_GET
def committee_qr(request, code: str):
    committee = _committee(code)
    url = request.build_absolute_uri(reverse("arrive:committee", kwargs={"code": committee.code}))
    return qr_svg_response(url, f"{committee.name} 来沪人员登记")


def _signed_out(request, committee: OrgUnit):
    request.session.pop(SESSION_DONE, None)
    return redirect("arrive:committee", code=committee.code)


# The phone is proven as on every resident page (core.resident_phone).
sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request, code: _committee(code),
    phone_page=lambda request, committee, form: _committee_page(request, committee, form, status=400),
    verify_template="isolation/public/verify.html",
    verify_context=lambda committee: {"committee": committee},
    start=lambda committee: redirect("arrive:committee", code=committee.code),
    verify=lambda committee: redirect("arrive:verify", code=committee.code),
    done=lambda committee: redirect("arrive:register", code=committee.code),
    signed_out=_signed_out,
)



@phone_required
@require_http_methods(["GET", "POST"])
def register(request, code: str):
    committee = _committee(code)
    phone = request.resident_phone
    form = SelfArrivalForm(request.POST or None, committee=committee)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        started = timezone.now()
        try:
            lookup_throttle(phone=phone, client_ip=client_ip(request), purpose="arrival_self_register")
            arrival = services.arrival_register(
                actor=None,
                channel=Channel.SELF,
                household=data["household"],
                name=data["name"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                phone=phone,
                origin_text=data["origin_text"],
                transport=data["transport"],
                transport_number=data["transport_number"],
                arrival_date=data["arrival_date"],
                household_size=data["household_size"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        except LookupThrottled as exc:
            form.add_error(None, exc.message)
            response = render(request, "isolation/public/register.html",
                              {"committee": committee, "form": form, "phone_masked": mask_phone(phone)}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        else:
            if arrival.created_at < started:  # this phone's own registration, made before
                messages.info(request, _("您已登记过,无需重复登记。如需更正,请联系居委会。"))
            request.session[SESSION_DONE] = arrival.pk
            return redirect("arrive:done", code=committee.code)
    return render(
        request,
        "isolation/public/register.html",
        {"committee": committee, "form": form, "phone_masked": mask_phone(phone)},
        status=400 if form.errors else 200,
    )


@phone_required
@require_GET
def done(request, code: str):
    committee = _committee(code)
    arrival_id = request.session.get(SESSION_DONE)
    arrival = (
        Arrival.objects.filter(pk=arrival_id, committee=committee, phone=request.resident_phone)
        .select_related("household__compound", "household__building")
        .first()
        if isinstance(arrival_id, int)
        else None
    )
    if arrival is None:
        return redirect("arrive:register", code=committee.code)
    return render(
        request,
        "isolation/public/done.html",
        {"committee": committee, "arrival": arrival, "phone_masked": mask_phone(arrival.phone)},
    )
