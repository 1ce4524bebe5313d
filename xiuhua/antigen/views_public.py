"""The household's phone page (抗原上报), through the one phone sign-in (core.resident_phone).

    /antigen/my/                      the phone form                                (public)
    /antigen/my/code/, verify/, logout/  the sign-in steps                           (public)
    /antigen/my/report/               the household's members, one tap each; POST: a form
                                      fallback without JavaScript (with a photo)     (resident_phone)
    /antigen/my/report.json           GET: members and today's results; POST
                                      {"reports": [{"member": id, "result": "negative"}, ...]}
                                      what the page's buttons (and the bench) send   (resident_phone)

Members are shown by masked name and relation: a phone shared in a family sees no more than it
needs to tell them apart. A member of another household is refused like a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from xiuhua.core.crypto import mask_name, mask_phone
from xiuhua.core.jsonbody import JsonBodyError, parse_json_body
from xiuhua.core.policy import public
from xiuhua.core.resident_phone import PhoneForm, PhoneSignIn, resident_phone, resident_phone_json, verified_phone

from .models import AntigenReport, Channel, Result
from .services import antigen_report_household, phone_members, report_day

OTP_PURPOSE = "antigen_report"
MAX_BODY = 4096


def _start_page(request, form: PhoneForm, status: int = 200):
    return render(request, "antigen/my_start.html", {"form": form}, status=status)


sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request: None,
    phone_page=lambda request, place, form: _start_page(request, form, status=400),
    verify_template="antigen/my_verify.html",
    verify_context=lambda place: {},
    start=lambda place: redirect("antigen:my_start"),
    verify=lambda place: redirect("antigen:my_verify"),
    done=lambda place: redirect("antigen:my_report"),
)


@public
@require_GET
def my_start(request):
    if verified_phone(request):
        return redirect("antigen:my_report")
    return _start_page(request, PhoneForm())


def _members(phone: str) -> list[dict]:
    residents = list(phone_members(phone))
    today = {r.resident_id: r.result for r in AntigenReport.objects.filter(
        resident__in=[m.pk for m in residents], day=report_day())}
    labels = dict(Result.choices)
    return [{"id": m.pk, "name": mask_name(m.name), "relation": m.get_relation_display(),
             "address": f"{m.household.building.name}{m.household.room}室",
             "result": today.get(m.pk, ""), "result_label": str(labels.get(today.get(m.pk, ""), ""))}
            for m in residents]


@resident_phone(template="antigen/my_need_phone.html")
@require_http_methods(["GET", "POST"])
def my_report(request):
    phone = request.resident_phone
    if request.method == "POST":
        member = request.POST.get("member", "")
        photo = request.FILES.get("photo")
        try:
            antigen_report_household(
                phone=phone, reports=[(member, request.POST.get("result", ""))], channel=Channel.PHONE,
                photos={member: photo} if photo is not None and member.isdigit() else None)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("已上报"))
        return redirect("antigen:my_report")
    members = _members(phone)
    return render(request, "antigen/my_report.html", {
        "members": members, "phone_masked": mask_phone(phone), "results": Result.choices, "day": report_day(),
        "done": sum(1 for m in members if m["result"]),
    })


@resident_phone_json
@require_http_methods(["GET", "POST"])
def my_report_json(request):
    phone = request.resident_phone
    if request.method == "GET":
        return JsonResponse({"day": report_day().isoformat(), "members": _members(phone)})
    try:
        body = parse_json_body(request, max_bytes=MAX_BODY, max_depth=3, empty={})
    except JsonBodyError as exc:
        return JsonResponse({"detail": exc.message}, status=exc.status_code)
    items = body.get("reports") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return JsonResponse({"detail": {"reports": [_("请选择要上报的家庭成员和结果")]}}, status=422)
    try:
        outcome = antigen_report_household(
            phone=phone, reports=[(i.get("member"), i.get("result")) for i in items], channel=Channel.PHONE)
    except ValidationError as exc:
        return JsonResponse({"detail": exc.message_dict}, status=422)
    return JsonResponse({
        "new": outcome.new, "replaced": outcome.replaced, "unchanged": outcome.unchanged,
        "positive": bool(outcome.positives),
        "results": {str(r.resident_id): r.result for r in outcome.reports},
    })
