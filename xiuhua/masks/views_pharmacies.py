"""Designated pharmacy set-up pages (/masks/staff/pharmacies/), for street officers in their
street and district officers over its streets (capability manage_rounds): create and edit a
pharmacy, choose the committees it serves, attach or remove clerks (an existing clerk account of
the street, or a new account whose initial password is shown once), deactivate it.

Views are thin: find the pharmacy within the user's scope (one 404 for missing and not-yours),
call one service, render; a service's ValidationError goes back on its form, nothing written."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.access import access_by_id, active_membership
from xiuhua.core.forms import apply_errors
from xiuhua.core.policy import requires
from xiuhua.places.models import Kind, OrgUnit

from . import services
from .forms_staff import AttachClerkForm, NewClerkForm, PharmacyCommitteesForm, PharmacyForm
from .models import Pharmacy, PharmacyCommittee


def _streets(user):
    """The streets the user's membership covers (their own, or those of their district)."""
    membership = active_membership(user)
    unit = membership.org_unit
    return OrgUnit.objects.filter(kind=Kind.STREET, path__startswith=unit.path).order_by("code", "pk")


def _pharmacy(request, pharmacy_id: int) -> Pharmacy:
    return access_by_id(Pharmacy.objects.select_related("street"), request.user, cap=Cap.MANAGE_ROUNDS,
                        pk=pharmacy_id)


@requires(Cap.MANAGE_ROUNDS)
def pharmacies(request):
    streets = _streets(request.user)
    street_ids = list(streets.values_list("pk", flat=True))
    rows = (
        Pharmacy.objects.visible_to(request.user)
        .filter(street_id__in=street_ids)
        .select_related("street")
        .annotate(n_committees=Count("served", distinct=True), n_clerks=Count("clerks", distinct=True))
        .order_by("-active", "street__code", "name")
    )
    unserved = (
        OrgUnit.objects.filter(kind=Kind.COMMITTEE, parent_id__in=street_ids)
        .filter(Q(designated_pharmacy__isnull=True))
        .select_related("parent")
        .order_by("code", "pk")
    )
    return render(
        request, "masks/staff/pharmacies.html", {"pharmacies": rows, "unserved": unserved, "streets": streets}
    )


@requires(Cap.MANAGE_ROUNDS)
def pharmacy_new(request):
    streets = _streets(request.user)
    form = PharmacyForm(request.POST or None, streets=streets)
    if request.method == "POST" and form.is_valid():
        try:
            pharmacy = services.pharmacy_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("已创建指定药店“%(name)s”,请勾选它服务的居委会并添加店员") % {"name": pharmacy.name}
            )
            return redirect("masks:staff_pharmacy", pharmacy_id=pharmacy.pk)
    return render(request, "masks/staff/pharmacy_form.html", {"form": form, "pharmacy": None},
                  status=400 if form.errors else 200)


def _clerk_choices(pharmacy: Pharmacy):
    return (
        Membership.objects.filter(
            role=Role.PHARMACY_CLERK, org_unit=pharmacy.street, active=True, user__is_active=True
        )
        .exclude(pharmacies=pharmacy)
        .select_related("user")
        .order_by("user__username")
    )


def _committee_forms(pharmacy: Pharmacy, data=None) -> PharmacyCommitteesForm:
    committees = OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=pharmacy.street.path).order_by(
        "code", "pk"
    )
    links = PharmacyCommittee.objects.filter(committee__in=committees).select_related("pharmacy")
    serving = {link.committee_id: link.pharmacy.name for link in links}
    mine = [link.committee_id for link in links if link.pharmacy_id == pharmacy.pk]
    return PharmacyCommitteesForm(data, committees=committees, serving=serving, initial={"committees": mine})


def _detail(request, pharmacy: Pharmacy, *, status: int = 200, **forms):
    context = {
        "pharmacy": pharmacy,
        "edit_form": forms.get("edit_form")
        or PharmacyForm(initial={f: getattr(pharmacy, f) for f in ("name", "address", "opening_hours")}),
        "committees_form": forms.get("committees_form") or _committee_forms(pharmacy),
        "attach_form": forms.get("attach_form") or AttachClerkForm(memberships=_clerk_choices(pharmacy)),
        "new_clerk_form": forms.get("new_clerk_form") or NewClerkForm(),
        "clerks": pharmacy.clerks.select_related("user").order_by("user__username"),
        "served": PharmacyCommittee.objects.filter(pharmacy=pharmacy).select_related("committee").order_by(
            "committee__code"
        ),
        "created_clerk": forms.get("created_clerk"),
        "deactivate_error": forms.get("deactivate_error", ""),
    }
    return render(request, "masks/staff/pharmacy.html", context, status=status)


@requires(Cap.MANAGE_ROUNDS)
def pharmacy_detail(request, pharmacy_id: int):
    pharmacy = _pharmacy(request, pharmacy_id)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.method != "POST":
        return _detail(request, pharmacy)
    form = PharmacyForm(request.POST)
    if form.is_valid():
        try:
            services.pharmacy_update(actor=request.user, pharmacy=pharmacy, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("masks:staff_pharmacy", pharmacy_id=pharmacy.pk)
    return _detail(request, pharmacy, status=400, edit_form=form)


@requires(Cap.MANAGE_ROUNDS)
@require_POST
def pharmacy_committees(request, pharmacy_id: int):
    pharmacy = _pharmacy(request, pharmacy_id)
    form = _committee_forms(pharmacy, request.POST)
    if form.is_valid():
        try:
            added, removed = services.pharmacy_set_committees(
                actor=request.user, pharmacy=pharmacy, committees=list(form.cleaned_data["committees"])
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("服务的居委会已保存:新增%(added)s个,移出%(removed)s个") %
                             {"added": added, "removed": removed})
            return redirect("masks:staff_pharmacy", pharmacy_id=pharmacy.pk)
    return _detail(request, pharmacy, status=400, committees_form=form)


@requires(Cap.MANAGE_ROUNDS)
@require_POST
def pharmacy_clerk_add(request, pharmacy_id: int):
    pharmacy = _pharmacy(request, pharmacy_id)
    form = AttachClerkForm(request.POST, memberships=_clerk_choices(pharmacy))
    if form.is_valid():
        try:
            services.pharmacy_add_clerk(
                actor=request.user, pharmacy=pharmacy, membership=form.cleaned_data["membership"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已添加店员"))
            return redirect("masks:staff_pharmacy", pharmacy_id=pharmacy.pk)
    return _detail(request, pharmacy, status=400, attach_form=form)


@requires(Cap.MANAGE_ROUNDS)
@require_POST
def pharmacy_clerk_new(request, pharmacy_id: int):
    """Make the clerk's account; the page that answers shows the initial password, once."""
    pharmacy = _pharmacy(request, pharmacy_id)
    form = NewClerkForm(request.POST)
    if form.is_valid():
        try:
            membership, password = services.pharmacy_clerk_create(
                actor=request.user, pharmacy=pharmacy, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _detail(request, pharmacy, created_clerk={"user": membership.user, "password": password})
    return _detail(request, pharmacy, status=400, new_clerk_form=form)


@requires(Cap.MANAGE_ROUNDS)
@require_POST
def pharmacy_clerk_remove(request, pharmacy_id: int, membership_id: int):
    pharmacy = _pharmacy(request, pharmacy_id)
    membership = pharmacy.clerks.filter(pk=membership_id).select_related("user").first()
    if membership is not None:
        services.pharmacy_remove_clerk(actor=request.user, pharmacy=pharmacy, membership=membership)
        messages.success(request, _("已将%(name)s移出本店店员") % {"name": membership.user})
    return redirect("masks:staff_pharmacy", pharmacy_id=pharmacy.pk)


@requires(Cap.MANAGE_ROUNDS)
@require_POST
def pharmacy_deactivate(request, pharmacy_id: int):
    pharmacy = _pharmacy(request, pharmacy_id)
    try:
        services.pharmacy_deactivate(actor=request.user, pharmacy=pharmacy)
    except ValidationError as exc:
        return _detail(request, pharmacy, status=400, deactivate_error=" ".join(exc.messages))
    messages.success(request, _("已停用“%(name)s”") % {"name": pharmacy.name})
    return redirect("masks:staff_pharmacies")
