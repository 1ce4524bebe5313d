from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership, has_cap
from xiuhua.core.forms import apply_errors as _apply_errors
from xiuhua.core.lookups import LookupThrottled
from xiuhua.core.policy import requires
from xiuhua.core.resident_phone import client_ip
from xiuhua.core.sheets import ListSheet, list_download
from xiuhua.places.models import Kind

from . import services
from .forms import HouseholdForm, ResidentForm, RevealForm, SearchForm
from .lists import SEARCH_COLUMNS, search_filters_text, search_rows
from .models import Household, Resident
from .selectors import filter_unit, household_list, person_parts, resident_search, search_key_kind

PAGE_SIZE = 50



def _search_context(request, form, page) -> dict:
    membership = active_membership(request.user)
    searched = page is not None
    return {
        "form": form, "page": page, "columns": SEARCH_COLUMNS, "now": timezone.now(),
        "unit": membership.org_unit if membership else None,
        "filters_text": search_filters_text(form, search_key_kind(form.cleaned_data.get("q", ""))) if searched else "",
        "can_export": searched and has_cap(request.user, Cap.EXPORT_ROSTER),
    }


@requires(Cap.VIEW_RESIDENTS)
def search(request):
    """The query is POSTed, so names, phones and numbers typed here stay out of URLs, browser
    history and access logs; a GET carries only the tag and status filters."""
    data = request.POST if request.method == "POST" else request.GET.copy()
    if request.method != "POST":
        data.pop("q", None)
    form = SearchForm(data if any(data.get(k) for k in ("q", "tag", "status")) else None)
    page = None
    status = 200
    if form.is_valid() and any(form.cleaned_data.values()):
        try:
            results = resident_search(request.user, **form.cleaned_data, client_ip=client_ip(request))
            page = Paginator(results, PAGE_SIZE).get_page(data.get("page"))
        except LookupThrottled as refused:
            form.add_error("q", refused.message)
            status = 200 if request.htmx else 429  # htmx swaps in only 2xx answers
    template = "residents/_results.html" if request.htmx else "residents/search.html"
    return render(request, template, _search_context(request, form, page), status=status)


@requires(Cap.EXPORT_ROSTER)
@require_POST
def search_xlsx(request):
    """The search results as Excel: the same search, POSTed like the search itself (never in a
    URL), run again through the same governed lookup (audited, counted against the user's
    limits: past them nothing is found and nothing leaves), every result, the columns the page
    shows and nothing more. Exporting needs the roster export right, and is audited."""
    form = SearchForm(request.POST)
    if not (form.is_valid() and any(form.cleaned_data.values())):
        if form.is_bound and not form.errors:
            form.add_error("q", _("请先输入查询条件"))
        return render(request, "residents/search.html", _search_context(request, form, None), status=400)
    try:
        results = resident_search(request.user, **form.cleaned_data, client_ip=client_ip(request))
    except LookupThrottled as refused:
        form.add_error("q", refused.message)
        return render(request, "residents/search.html", _search_context(request, form, None), status=429)
    membership = active_membership(request.user)
    key = search_key_kind(form.cleaned_data["q"])
    filters_text = search_filters_text(form, key)
    sheet = ListSheet(
        SEARCH_COLUMNS, filters=filters_text, name=_("居民查询"), rows=search_rows(results.iterator(chunk_size=2000)),
        title=_("%(unit)s 居民查询结果 %(time)s") % {
            "unit": membership.org_unit.name, "time": timezone.localtime().strftime("%Y-%m-%d %H:%M")},
    )
    return list_download(
        sheet, actor=request.user, membership=membership, action="resident_search_export",
        filename=_("%(unit)s-居民查询结果") % {"unit": membership.org_unit.name}, fallback="resident-search",
        detail={"key": key or ("name" if form.cleaned_data["q"] else ""),
                "tag": form.cleaned_data["tag"], "status": form.cleaned_data["status"]},
    )


@requires(Cap.VIEW_RESIDENTS)
def resident_detail(request, resident_id: int):
    resident = access_by_id(
        Resident.objects.select_related("household__building", "household__compound", "committee"),
        request.user,
        pk=resident_id,
    )
    members = resident.household.residents.exclude(pk=resident.pk).prefetch_related("tags").order_by("pk")
    parts = person_parts(request.user, resident)
    services.resident_view_record(actor=request.user, resident=resident, parts=[part.name for part, _rows in parts])
    return render(
        request,
        "residents/detail.html",
        {
            "resident": resident,
            "members": members,
            "parts": parts,
            "reveal_form": RevealForm(),
        },
    )


@requires(Cap.REVEAL_ID)
@require_POST
def resident_reveal(request, resident_id: int):
    resident = access_by_id(Resident.objects.all(), request.user, pk=resident_id)
    form = RevealForm(request.POST)
    number = None
    if form.is_valid():
        number = services.resident_reveal_id(actor=request.user, resident=resident, reason=form.cleaned_data["reason"])
    template = "residents/_reveal.html" if request.htmx else "residents/reveal.html"
    response = render(request, template, {"resident": resident, "reveal_form": form, "number": number})
    response["Cache-Control"] = "no-store"
    return response


def _resident_initial(resident: Resident) -> dict:
    initial = {f: getattr(resident, f) for f in services.RESIDENT_FIELDS}
    if resident.birth_in_number:
        del initial["birth_date"]  # the number's own; the form shows only what the pages show
    initial["id_type"] = resident.id_type
    initial["tags"] = resident.tag_codes
    return initial


@requires(Cap.EDIT_RESIDENTS)
def resident_edit(request, resident_id: int):
    resident = access_by_id(Resident.objects.select_related("household"), request.user, pk=resident_id)
    form = ResidentForm(request.POST or None, initial=_resident_initial(resident))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.identity_governed(services.resident_update, actor=request.user, client_ip=client_ip(request),
                                       resident=resident, **data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        except LookupThrottled as refused:
            form.add_error("id_number", refused.message)
        else:
            messages.success(request, _("已保存"))
            return redirect("residents:detail", resident_id=resident.pk)
    return render(
        request, "residents/resident_form.html", {"form": form, "resident": resident, "household": resident.household}
    )


@requires(Cap.EDIT_RESIDENTS)
def resident_new(request, household_id: int):
    household = access_by_id(Household.objects.all(), request.user, pk=household_id)
    form = ResidentForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        try:
            resident = services.identity_governed(services.resident_create, actor=request.user,
                                                  client_ip=client_ip(request), household=household,
                                                  **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        except LookupThrottled as refused:
            form.add_error("id_number", refused.message)
        else:
            messages.success(request, _("已登记"))
            return redirect("residents:detail", resident_id=resident.pk)
    return render(request, "residents/resident_form.html", {"form": form, "resident": None, "household": household})


@requires(Cap.VIEW_RESIDENTS)
def households(request):
    params = {k: request.GET.get(k, "") for k in ("committee", "compound", "building")}
    page = Paginator(household_list(request.user, **params), PAGE_SIZE).get_page(request.GET.get("page"))
    unit = next(
        (filter_unit(request.user, v) for v in (params["building"], params["compound"], params["committee"]) if v), None
    )
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return render(request, "residents/households.html", {"page": page, "unit": unit, "query": query})


@requires(Cap.VIEW_RESIDENTS)
def household_detail(request, household_id: int):
    household = access_by_id(
        Household.objects.select_related("building", "compound", "committee", "grid", "micro_grid"),
        request.user,
        pk=household_id,
    )
    residents = household.residents.prefetch_related("tags").order_by("pk")
    return render(request, "residents/household.html", {"household": household, "residents": residents})


@requires(Cap.EDIT_RESIDENTS)
def household_edit(request, household_id: int):
    household = access_by_id(
        Household.objects.select_related("building", "compound"), request.user, pk=household_id
    )
    initial = {f: getattr(household, f) for f in services.HOUSEHOLD_FIELDS}
    form = HouseholdForm(request.POST or None, initial=initial, committee_id=household.committee_id)
    if request.method == "POST" and form.is_valid():
        try:
            services.household_update(actor=request.user, household=household, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("residents:household", household_id=household.pk)
    return render(
        request, "residents/household_form.html", {"form": form, "household": household, "building": household.building}
    )


@requires(Cap.EDIT_RESIDENTS)
def household_new(request):
    building = filter_unit(request.user, request.GET.get("building", ""))
    if building is None or building.kind != Kind.BUILDING:
        messages.error(request, _("请先在地点中选择楼栋"))
        return redirect("places:tree")
    form = HouseholdForm(request.POST or None, committee_id=building.committee_id)
    if request.method == "POST" and form.is_valid():
        try:
            household = services.household_create(actor=request.user, building=building, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return redirect("residents:household", household_id=household.pk)
    return render(request, "residents/household_form.html", {"form": form, "household": None, "building": building})
