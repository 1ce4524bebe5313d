"""The passport's staff pages: coverage per committee, grid and micro-grid with a map of
households, the household's passport (stamping and withdrawing), and the A6 cards as PDF."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, has_cap
from xiuhua.core.policy import requires
from xiuhua.core.workflow import can
from xiuhua.places.models import Grid

from . import periods, services
from . import selectors as sel
from .cards import cards_for, cards_pdf
from .forms import StampForm, WithdrawForm
from .models import PassportHousehold, Stamp


def _week_links(period: periods.Period) -> dict:
    this = periods.current()
    return {"period": period, "previous": period.previous(),
            "following": period.next() if period.start < this.start else None, "is_current": period == this}


@requires(Cap.VIEW_PASSPORT)
@require_GET
def home(request):
    period = periods.parse(request.GET.get("week"))
    households = sel.households_for(request.user)
    committee = request.GET.get("committee", "")
    extra_query = ""
    if committee.isdigit():
        households = households.filter(committee_id=int(committee))
        extra_query = f"&committee={int(committee)}"
    several = households.values("committee_id").distinct().count() > 1
    by = "committee" if several else "grid"
    rows, total, _stamps = sel.coverage(households, period, by=by)
    return render(request, "passport/home.html", {
        **_week_links(period), "rows": rows, "total": total, "by": by, "extra_query": extra_query,
    })


@requires(Cap.VIEW_PASSPORT)
@require_GET
def grid(request, pk: int):
    the_grid = access_by_id(Grid.objects.select_related("parent", "committee"), request.user, pk=pk,
                            cap=Cap.VIEW_PASSPORT)
    period = periods.parse(request.GET.get("week"))
    households = sel.grid_households(sel.households_for(request.user), the_grid)
    micro = the_grid.kind == Grid.GridKind.MICRO
    rows, total, stamps = sel.coverage(households, period, by="micro_grid")
    return render(request, "passport/grid.html", {
        **_week_links(period), "grid": the_grid, "micro": micro, "rows": [] if micro else rows, "total": total,
        "buildings": sel.household_map(households, period, stamps),
    })


def _household_page(request, household, form=None, status=200):
    weeks = sel.passport_weeks(household, periods.recent())
    may_stamp = has_cap(request.user, Cap.STAMP_PASSPORT)
    ids = [shown.stamp_id for _period, stamps in weeks for _kind, _label, shown in stamps if shown and shown.stamp_id]
    recorded = {stamp.pk: stamp for stamp in Stamp.objects.filter(pk__in=ids)} if may_stamp else {}
    rows = []
    for period, stamps in weeks:
        cells = []
        for kind, label, shown in stamps:
            stamp = recorded.get(shown.stamp_id) if shown else None
            withdrawable = stamp is not None and can(request.user, stamp, "withdraw")
            cells.append({"kind": kind, "label": label, "shown": shown, "withdrawable": withdrawable})
        rows.append({"period": period, "cells": cells})
    if form is None and may_stamp:
        form = StampForm(initial={"stamped_on": timezone.localdate()})
    return render(request, "passport/household.html", {
        "household": household, "this_week": rows[0], "weeks": rows, "form": form, "may_stamp": may_stamp,
        "withdraw_form": WithdrawForm(),
    }, status=status)


def _household(request, pk: int, cap: str = Cap.VIEW_PASSPORT):
    return access_by_id(
        PassportHousehold.objects.select_related("compound", "building", "committee", "grid", "micro_grid"),
        request.user, pk=pk, cap=cap)


@requires(Cap.VIEW_PASSPORT)
@require_GET
def household(request, pk: int):
    return _household_page(request, _household(request, pk))


@requires(Cap.STAMP_PASSPORT)
@require_POST
def stamp(request, pk: int):
    the_household = _household(request, pk, Cap.STAMP_PASSPORT)
    form = StampForm(request.POST)
    if form.is_valid():
        try:
            done = services.stamp_record(actor=request.user, household=the_household, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("已盖%(kind)s章") % {"kind": done.get_kind_display()})
            return redirect("passport:household", pk=the_household.pk)
    return _household_page(request, the_household, form=form, status=400)


@requires(Cap.STAMP_PASSPORT)
@require_POST
def withdraw(request, pk: int):
    the_stamp = access_by_id(Stamp.objects, request.user, pk=pk, cap=Cap.STAMP_PASSPORT)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写撤销原因"))
    else:
        try:
            services.stamp_withdraw(actor=request.user, stamp=the_stamp, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("已撤销%(kind)s章") % {"kind": the_stamp.get_kind_display()})
    return redirect("passport:household", pk=the_stamp.household_id)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@requires(Cap.VIEW_PASSPORT)
@require_GET
def card(request, pk: int):
    the_household = _household(request, pk)
    period = periods.current()
    stamps = sel.stamps_of(PassportHousehold.objects.filter(pk=the_household.pk), [period])
    services.cards_print(actor=request.user, households=[the_household], scope_label=the_household.address)
    return _pdf(cards_pdf(cards_for([the_household], period, stamps), period), f"passport-{the_household.pk}.pdf")


@requires(Cap.VIEW_PASSPORT)
@require_GET
def cards(request, pk: int):
    the_grid = access_by_id(Grid.objects.all(), request.user, pk=pk, cap=Cap.VIEW_PASSPORT)
    period = periods.current()
    households = (sel.grid_households(sel.households_for(request.user), the_grid)
                  .select_related("compound", "building", "committee", "grid", "micro_grid").in_natural_order())
    stamps = sel.stamps_of(households, [period])
    chosen = list(households)
    services.cards_print(actor=request.user, households=chosen, scope_label=the_grid.name)
    return _pdf(cards_pdf(cards_for(chosen, period, stamps), period), f"passport-grid-{the_grid.pk}.pdf")
