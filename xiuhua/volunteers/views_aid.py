"""Mutual aid's pages. Committee staff (phone-sized): the open requests their ring reaches (polled
as JSON, so a new or taken request shows without reloading), posting a request, a request's page
with its claimer. The street: pools, pairs and the widening rule; A/B cover and seconded officers."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xiuhua.accounts.models import Membership, Temporary
from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership
from xiuhua.core.forms import apply_errors
from xiuhua.core.policy import requires
from xiuhua.core.workflow import can
from xiuhua.places.models import Kind, OrgUnit

from . import services_aid as services
from .models_aid import AidCover, AidCoverStatus, AidPartner, AidPool, AidRequest, AidRequestStatus, Ring

_LOCAL_DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _unit(request) -> OrgUnit:
    return active_membership(request.user).org_unit


def _message(exc: ValidationError) -> str:
    return " ".join(m for ms in (exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages])
                    for m in ms)


def _open_for(request):
    """Open requests the member's ring reaches, other committees' only, oldest need first."""
    unit = _unit(request)
    return (AidRequest.objects.visible_to(request.user).filter(status=AidRequestStatus.OPEN)
            .exclude(committee=unit).select_related("committee", "compound", "building").order_by("needed_by", "pk"))


def _covers_of(unit: OrgUnit):
    """Active A/B covers where `unit` is the covered or the covering committee (or its street)."""
    q = (Q(committee=unit) | Q(partner=unit)) if unit.kind == Kind.COMMITTEE else Q(street__path__startswith=unit.path)
    return AidCover.objects.filter(q, status=AidCoverStatus.ACTIVE).select_related("committee", "partner")


@requires(Cap.MUTUAL_AID)
def aid(request):
    unit = _unit(request)
    mine = claimed = street_rows = None
    if unit.kind == Kind.COMMITTEE:
        mine = (AidRequest.objects.filter(committee=unit).select_related("claimed_by", "claimed_committee")
                .order_by("-created_at")[:20])
        claimed = (AidRequest.objects.visible_to(request.user).filter(claimed_committee=unit)
                   .select_related("committee").order_by("-claimed_at")[:20])
    else:
        street_rows = (AidRequest.objects.visible_to(request.user).select_related("committee", "claimed_committee",
                                                                                   "claimed_by")
                       .order_by("-created_at")[:50])
    return render(request, "volunteers/aid/index.html", {
        "unit": unit, "open": _open_for(request), "mine": mine, "claimed": claimed, "street_rows": street_rows,
        "covers": _covers_of(unit), "can_post": unit.kind == Kind.COMMITTEE,
        "can_pair": active_membership(request.user).has(Cap.MANAGE_PAIRING),
        "membership": active_membership(request.user),
    })


@requires(Cap.MUTUAL_AID)
def aid_open_json(request):
    """The open requests for the poll (every few seconds): ids and what the list shows."""
    rows = [{
        "id": r.pk, "what": r.what, "committee": r.committee.name, "where": r.where,
        "people": r.people_needed, "needed_by": timezone.localtime(r.needed_by).strftime("%m-%d %H:%M"),
        "ring": str(Ring(r.ring).label),
    } for r in _open_for(request)[:100]]
    return JsonResponse({"open": rows})


class PostForm(forms.Form):
    what = forms.CharField(label=gettext_lazy("需要协助的事"), max_length=200,
                           widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如:3号楼上门核酸采样,缺扫码员")}))
    compound = forms.ChoiceField(label=gettext_lazy("小区"), required=False)
    building = forms.ChoiceField(label=gettext_lazy("楼栋"), required=False)
    place_note = forms.CharField(label=gettext_lazy("地点说明"), max_length=100, required=False)
    people_needed = forms.IntegerField(label=gettext_lazy("需要人数"), min_value=1, max_value=500, initial=2)
    needed_by = forms.DateTimeField(label=gettext_lazy("最晚到场时间"), widget=_LOCAL_DT,
                                    input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    contact_name = forms.CharField(label=gettext_lazy("联系人"), max_length=30)
    contact_phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=20)
    ring = forms.ChoiceField(label=gettext_lazy("先发给"), widget=forms.RadioSelect)

    def __init__(self, *args, committee: OrgUnit, rings: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        compounds = OrgUnit.objects.filter(parent=committee, kind=Kind.COMPOUND).in_natural_order()
        buildings = (OrgUnit.objects.filter(parent__parent=committee, kind=Kind.BUILDING)
                     .select_related("parent").in_natural_order())
        self.fields["compound"].choices = [("", "—")] + [(c.pk, c.name) for c in compounds]  # type: ignore[attr-defined]
        self.fields["building"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (b.pk, f"{b.parent.name} {b.name}") for b in buildings]
        partner = AidPartner.objects.filter(committee=committee).select_related("partner").first()
        labels: dict[str, str] = {
            Ring.PARTNER: _("AB角结对居委会(%(name)s)") % {"name": partner.partner.name} if partner else "",
            Ring.POOL: _("整个互助池"), Ring.STREET: _("全街道"),
        }
        self.fields["ring"].choices = [(r, labels[r]) for r in rings]  # type: ignore[attr-defined]
        self.fields["ring"].initial = rings[0]


@requires(Cap.MUTUAL_AID)
def aid_post(request):
    unit = _unit(request)
    if unit.kind != Kind.COMMITTEE:
        raise PermissionDenied
    rings = services.rings_for(unit)
    initial = {"contact_name": request.user.display_name, "contact_phone": request.user.mobile,
               "needed_by": timezone.localtime() + dt.timedelta(hours=1)}
    form = PostForm(request.POST or None, committee=unit, rings=rings, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            posted = services.request_post(actor=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已发布互助需求 #%(n)s") % {"n": posted.pk})
            return redirect("volunteers:aid_detail", pk=posted.pk)
    return render(request, "volunteers/aid/post.html", {"form": form}, status=400 if form.errors else 200)


@requires(Cap.MUTUAL_AID)
def aid_detail(request, pk: int):
    row = access_by_id(AidRequest.objects.select_related("committee", "compound", "building", "claimed_by",
                                                         "claimed_committee", "created_by"), request.user, pk=pk)
    unit = _unit(request)
    return render(request, "volunteers/aid/detail.html", {
        "r": row, "is_poster": row.committee_id == unit.pk,
        "can_claim": row.status == AidRequestStatus.OPEN and row.committee_id != unit.pk,
        "can_done": can(request.user, row, "done"), "can_cancel": can(request.user, row, "cancel"),
    })


@requires(Cap.MUTUAL_AID)
@require_POST
def aid_claim(request, pk: int):
    try:
        services.request_claim(actor=request.user, request_id=pk)
    except PermissionDenied:
        raise Http404 from None
    except services.AlreadyTaken as exc:
        messages.error(request, exc.messages[0])
        return redirect("volunteers:aid_detail", pk=pk)
    except ValidationError as exc:
        messages.error(request, _message(exc))
        return redirect("volunteers:aid_detail", pk=pk)
    messages.success(request, _("认领成功,请联系求助居委会"))
    return redirect("volunteers:aid_detail", pk=pk)


@requires(Cap.MUTUAL_AID)
@require_POST
def aid_done(request, pk: int):
    row = access_by_id(AidRequest.objects, request.user, pk=pk)
    try:
        services.request_done(actor=request.user, request=row, note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("已标记完成"))
    return redirect("volunteers:aid_detail", pk=pk)


@requires(Cap.MUTUAL_AID)
@require_POST
def aid_cancel(request, pk: int):
    row = access_by_id(AidRequest.objects, request.user, pk=pk)
    try:
        services.request_cancel(actor=request.user, request=row)
    except ValidationError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("已撤回"))
    return redirect("volunteers:aid_detail", pk=pk)


# ------------------------------------------------------------------ the street's pages


def _street(request) -> OrgUnit:
    unit = _unit(request)
    if unit.kind != Kind.STREET:
        raise PermissionDenied
    return unit


def _committees(street: OrgUnit):
    return OrgUnit.objects.filter(parent=street, kind=Kind.COMMITTEE).in_natural_order()


@requires(Cap.MANAGE_PAIRING)
def aid_pairing(request):
    street = _street(request)
    pools = AidPool.objects.filter(street=street).prefetch_related("members__committee").order_by("name")
    pairs = (AidPartner.objects.filter(street=street, committee_id__lt=F("partner_id"))
             .select_related("committee", "partner").order_by("committee__sort_key"))
    return render(request, "volunteers/aid/pairing.html", {
        "street": street, "committees": _committees(street), "pools": pools, "pairs": pairs,
        "minutes": services.widen_minutes(street.pk),
    })


def _street_post(request, action) -> None:
    try:
        action(_street(request))
    except ValidationError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("已保存"))


@requires(Cap.MANAGE_PAIRING)
@require_POST
def aid_rule_set(request):
    _street_post(request, lambda street: services.rule_set(actor=request.user, street=street,
                                                           minutes=request.POST.get("minutes", "")))
    return redirect("volunteers:aid_pairing")


@requires(Cap.MANAGE_PAIRING)
@require_POST
def aid_pool_save(request):
    def save(street):
        pool = None
        if request.POST.get("pool"):
            pool = AidPool.objects.filter(street=street, pk=services._int(request.POST["pool"])).first()
            if pool is None:
                raise Http404
        services.pool_save(actor=request.user, street=street, name=request.POST.get("name", ""),
                           committee_ids=request.POST.getlist("committees"), pool=pool)

    _street_post(request, save)
    return redirect("volunteers:aid_pairing")


@requires(Cap.MANAGE_PAIRING)
@require_POST
def aid_pair_create(request):
    _street_post(request, lambda street: services.pair_create(actor=request.user, street=street,
                                                              a_id=request.POST.get("a"), b_id=request.POST.get("b")))
    return redirect("volunteers:aid_pairing")


@requires(Cap.MANAGE_PAIRING)
@require_POST
def aid_pair_remove(request):
    _street_post(request, lambda street: services.pair_remove(actor=request.user, street=street,
                                                              committee_id=request.POST.get("committee")))
    return redirect("volunteers:aid_pairing")


class CoverForm(forms.Form):
    committee = forms.ChoiceField(label=gettext_lazy("无法履职的居委会"))
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=200,
                             widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如:班子成员所在小区封控")}))
    ends_on = forms.DateField(label=gettext_lazy("代管至(含当天)"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, street: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        paired = AidPartner.objects.filter(street=street).select_related("committee", "partner")
        self.fields["committee"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (p.committee_id, _("%(c)s(由%(p)s代管)") % {"c": p.committee.name, "p": p.partner.name})
            for p in sorted(paired, key=lambda p: p.committee.sort_key)]


class SecondForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("派驻人员的用户名"), max_length=150)
    committee = forms.ChoiceField(label=gettext_lazy("派驻到"))
    reason = forms.CharField(label=gettext_lazy("事由"), max_length=200,
                             widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如:区机关下沉担任第二书记")}))
    ends_on = forms.DateField(label=gettext_lazy("派驻至(含当天)"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, street: OrgUnit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].choices = [  # type: ignore[attr-defined]
            ("", "—"), *((c.pk, c.name) for c in _committees(street))]


@requires(Cap.MANAGE_PAIRING)
def aid_covers(request):
    street = _street(request)
    cover_form = CoverForm(street=street, prefix="cover")
    second_form = SecondForm(street=street, prefix="second")
    if request.method == "POST":
        which = request.POST.get("form")
        try:
            if which == "cover":
                cover_form = CoverForm(request.POST, street=street, prefix="cover")
                if cover_form.is_valid():
                    committee = OrgUnit.objects.get(pk=cover_form.cleaned_data["committee"])
                    services.cover_start(actor=request.user, committee=committee,
                                         reason=cover_form.cleaned_data["reason"],
                                         ends_at=cover_form.cleaned_data["ends_on"])
                    messages.success(request, _("已标记%(c)s无法履职,结对居委会已获临时代管") % {"c": committee.name})
                    return redirect("volunteers:aid_covers")
            elif which == "second":
                second_form = SecondForm(request.POST, street=street, prefix="second")
                if second_form.is_valid():
                    committee = OrgUnit.objects.get(pk=second_form.cleaned_data["committee"])
                    services.secondment_grant(actor=request.user, committee=committee,
                                              username=second_form.cleaned_data["username"],
                                              reason=second_form.cleaned_data["reason"],
                                              ends_at=second_form.cleaned_data["ends_on"])
                    messages.success(request, _("已派驻第二书记"))
                    return redirect("volunteers:aid_covers")
        except ValidationError as exc:
            apply_errors(cover_form if which == "cover" else second_form, exc,
                         rename={"ends_at": "ends_on"})
    now = timezone.now()
    temporary = (Membership.objects.current(now).filter(temporary__gt="", org_unit__parent=street)
                 .select_related("user", "org_unit", "granted_by").order_by("org_unit__sort_key", "ends_at"))
    ended = (AidCover.objects.filter(street=street, status=AidCoverStatus.ENDED)
             .select_related("committee", "partner", "ended_by").order_by("-ended_at")[:20])
    bad = bool(cover_form.errors or second_form.errors)
    return render(request, "volunteers/aid/covers.html", {
        "street": street, "cover_form": cover_form, "second_form": second_form, "covers": _covers_of(street),
        "temporary": temporary, "ended": ended, "COVER": Temporary.COVER,
    }, status=400 if bad else 200)


@requires(Cap.MANAGE_PAIRING)
@require_POST
def aid_cover_end(request, pk: int):
    street = _street(request)
    cover = AidCover.objects.filter(pk=pk, street=street).first()
    if cover is None:
        raise Http404
    try:
        services.cover_end(actor=request.user, cover=cover)
    except ValidationError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("临时代管已结束"))
    return redirect("volunteers:aid_covers")


@requires(Cap.MANAGE_PAIRING)
@require_POST
def aid_secondment_end(request, pk: int):
    try:
        services.secondment_end(actor=request.user, membership_id=pk)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("派驻已结束"))
    return redirect("volunteers:aid_covers")
