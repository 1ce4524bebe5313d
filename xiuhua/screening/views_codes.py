"""Pages of the sampling codes (采样码).

Staff (issue_codes; the walk-in form also collect_samples):

    /screening/codes/                               rounds the user issues codes for
    /screening/codes/r/<round>/                     per committee: buildings, residents, codes made,
                                                    the generate button, label downloads
    /screening/codes/r/<round>/c/<committee>/generate/   POST: the committee's missing codes
    /screening/codes/r/<round>/b/<building>/<layout>.pdf  a building's labels (audited export)
    /screening/codes/r/<round>/walk-in/             register a person not on the roster

Residents, through the one phone sign-in (core.resident_phone):

    /screening/codes/my/                            the phone form                (public)
    /screening/codes/my/code/, verify/, logout/     the sign-in steps             (public)
    /screening/codes/my/codes/                      the household's codes as QR   (resident_phone)

A round, committee or building outside the user's scope is the same 404 as a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership, has_cap
from xiuhua.core.crypto import mask_phone
from xiuhua.core.forms import apply_errors
from xiuhua.core.policy import public, requires
from xiuhua.core.qr import qr_code
from xiuhua.core.resident_phone import PhoneForm, PhoneSignIn, resident_phone, verified_phone
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Resident

from .forms_codes import WalkInForm
from .labels import LAYOUTS
from .models import RoundCompound, RoundStatus, SamplingCode, ScreeningRound
from .services_codes import LIVING, code_label_print, codes_generate, labels_export, walk_in_register

OTP_PURPOSE = "screening_codes"


def _round(request, round_pk: int) -> ScreeningRound:
    return access_by_id(ScreeningRound.objects, request.user, pk=round_pk)


def _committees(request, screening_round: ScreeningRound) -> list[OrgUnit]:
    """The round's committees the active membership covers, in natural order."""
    membership = active_membership(request.user)
    if membership is None:
        raise Http404
    ids = RoundCompound.objects.filter(round=screening_round).values("committee_id")
    return list(OrgUnit.objects.filter(pk__in=ids, path__startswith=membership.org_unit.path).in_natural_order())


def _buildings(screening_round: ScreeningRound, committee_ids):
    compounds = RoundCompound.objects.filter(round=screening_round, committee_id__in=committee_ids)
    return (OrgUnit.objects.filter(kind=Kind.BUILDING, parent_id__in=compounds.values("compound_id"))
            .select_related("parent").in_natural_order())


@requires(Cap.ISSUE_CODES)
@require_GET
def round_list(request):
    rounds = ScreeningRound.objects.visible_to(request.user).exclude(status=RoundStatus.FINISHED)
    return render(request, "screening/codes/rounds.html", {"rounds": rounds})


@requires(Cap.ISSUE_CODES)
@require_GET
def round_page(request, round_pk: int):
    screening_round = _round(request, round_pk)
    committees = _committees(request, screening_round)
    chosen = committees[0] if len(committees) == 1 else None
    if "c" in request.GET:
        asked = request.GET["c"]
        chosen = next((c for c in committees if asked.isdigit() and c.pk == int(asked)), None)
        if chosen is None:
            raise Http404
    rows, totals = [], {"residents": 0, "codes": 0}
    walk_ins = 0
    if chosen is not None:
        buildings = list(_buildings(screening_round, [chosen.pk]))
        ids = [b.pk for b in buildings]
        residents = dict(
            Resident.objects.filter(household__building_id__in=ids, living_status__in=LIVING)
            .values("household__building_id").annotate(n=Count("pk")).values_list("household__building_id", "n"))
        codes = dict(
            SamplingCode.objects.filter(round=screening_round, building_id__in=ids)
            .values("building_id").annotate(n=Count("pk", filter=Q(walk_in=False))).values_list("building_id", "n"))
        for b in buildings:
            rows.append({"building": b, "residents": residents.get(b.pk, 0), "codes": codes.get(b.pk, 0),
                         "missing": max(0, residents.get(b.pk, 0) - codes.get(b.pk, 0))})
        totals = {"residents": sum(r["residents"] for r in rows), "codes": sum(r["codes"] for r in rows)}
        walk_ins = SamplingCode.objects.filter(round=screening_round, committee=chosen, walk_in=True).count()
    return render(request, "screening/codes/round.html", {
        "round": screening_round, "committees": committees, "chosen": chosen, "rows": rows, "totals": totals,
        "missing": sum(r["missing"] for r in rows), "walk_ins": walk_ins, "layouts": LAYOUTS,
        "issuing": screening_round.status in (RoundStatus.DRAFT, RoundStatus.OPEN),
    })


@requires(Cap.ISSUE_CODES)
@require_POST
def generate(request, round_pk: int, committee_pk: int):
    screening_round = _round(request, round_pk)
    committee = access_by_id(OrgUnit.objects, request.user, pk=committee_pk, kind=Kind.COMMITTEE)
    try:
        made = codes_generate(actor=request.user, round=screening_round, committee=committee)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if made:
            text = ngettext("已为%(unit)s生成 %(n)d 个采样码", "已为%(unit)s生成 %(n)d 个采样码", made)
            messages.success(request, text % {"unit": committee.name, "n": made})
        else:
            messages.info(request, _("%(unit)s的在住居民都已有采样码,没有新生成") % {"unit": committee.name})
    return redirect(f"{reverse('screening:codes_round', args=[screening_round.pk])}?c={committee.pk}")


@requires(Cap.ISSUE_CODES)
@require_GET
def labels(request, round_pk: int, building_pk: int, layout: str):
    if layout not in LAYOUTS:
        raise Http404
    screening_round = _round(request, round_pk)
    building = access_by_id(OrgUnit.objects, request.user, pk=building_pk, kind=Kind.BUILDING)
    pdf = labels_export(actor=request.user, round=screening_round, building=building, layout=layout)
    response = HttpResponse(pdf, content_type="application/pdf")
    stamp = timezone.localtime().strftime("%Y%m%d")
    name = f"codes-{screening_round.pk}-{building.pk}-{layout}-{stamp}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@requires(Cap.ISSUE_CODES, Cap.COLLECT_SAMPLES)
@require_GET
def code_label(request, round_pk: int, code_pk: int, layout: str):
    if layout not in LAYOUTS:
        raise Http404
    screening_round = _round(request, round_pk)
    code = access_by_id(SamplingCode.objects.select_related("round", "building"), request.user, pk=code_pk,
                        round=screening_round)
    response = HttpResponse(code_label_print(actor=request.user, code=code, layout=layout),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="code-{code.pk}-{layout}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def _qr_uri(reference: str) -> str:
    return qr_code(reference).png_data_uri(scale=8, border=4)


@requires(Cap.ISSUE_CODES, Cap.COLLECT_SAMPLES)
@require_http_methods(["GET", "POST"])
def walk_in(request, round_pk: int):
    screening_round = _round(request, round_pk)
    committees = _committees(request, screening_round)
    if not committees:
        raise Http404
    membership = active_membership(request.user)
    buildings = [b for b in _buildings(screening_round, [c.pk for c in committees])
                 if b.path.startswith(membership.org_unit.path)]
    form = WalkInForm(request.POST or None, committees=committees, buildings=buildings)
    made = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        by_pk = {b.pk: b for b in buildings}
        try:
            made = walk_in_register(
                actor=request.user, round=screening_round,
                committee=next(c for c in committees if c.pk == data["committee"]),
                name=data["name"], phone=data["phone"], building=by_pk.get(data["building"]), room=data["room"])
        except ValidationError as exc:
            apply_errors(form, exc)
    return render(request, "screening/codes/walk_in.html", {
        "round": screening_round, "form": form, "made": made,
        "qr": _qr_uri(made.reference) if made is not None else "",
        "can_issue": has_cap(request.user, Cap.ISSUE_CODES), "layouts": LAYOUTS,
    }, status=400 if form.errors else 200)


# ------------------------------------------------------------------ residents


def _start_page(request, _place, form: PhoneForm, status: int = 200):
    return render(request, "screening/codes/my_start.html",
                  {"form": form, "phone": verified_phone(request)}, status=status)


sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request: None,
    phone_page=lambda request, place, form: _start_page(request, place, form, status=400),
    verify_template="screening/codes/my_verify.html",
    verify_context=lambda place: {},
    start=lambda place: redirect("screening:my_start"),
    verify=lambda place: redirect("screening:my_verify"),
    done=lambda place: redirect("screening:my_codes"),
)


@public
@require_GET
def my_start(request):
    if verified_phone(request):
        return redirect("screening:my_codes")
    return _start_page(request, None, PhoneForm())


@resident_phone(template="screening/codes/my_need_phone.html")
@require_GET
def my_codes(request):
    """The codes of open rounds for the households where this phone is a living resident's, and
    any code made with this phone (a walk-in, a relative's)."""
    phone = request.resident_phone
    households = Resident.objects.filter(mobile=phone, living_status__in=LIVING).values("household_id")
    codes = (
        SamplingCode.objects.filter(round__status__in=(RoundStatus.DRAFT, RoundStatus.OPEN))
        .filter(Q(household_id__in=households, resident__living_status__in=LIVING) | Q(phone=phone)
                | Q(household_id__in=households, walk_in=True))
        .select_related("round", "building").order_by("round__first_day", "round_id", "pk").distinct()
    )
    cards = [{"code": code, "qr": _qr_uri(code.reference)} for code in codes]
    return render(request, "screening/codes/my_codes.html", {"cards": cards, "phone_masked": mask_phone(phone)})
