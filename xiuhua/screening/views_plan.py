"""Pages of the round and its plan: the rounds, a round with its compounds, sites and lines, the
door-to-door list, and the plan (slots, the simulated queues, notices, loudspeaker texts, SMS).

Views are thin: parse the form, find the row within the user's scope (core.access: one 404 for
missing and not-yours), call one service, render. The street (or district) that runs a round
manages it; committees see it, their own sites and slots, and keep their door-to-door list.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership
from xiuhua.core.forms import apply_errors
from xiuhua.core.policy import requires
from xiuhua.core.workflow import can
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import LivingStatus, Resident

from . import services_rounds as services
from .forms_plan import (
    CompoundAddForm,
    ExemptionForm,
    LineAddForm,
    LineForm,
    PlanForm,
    PoolRuleForm,
    RoundEditForm,
    RoundForm,
    SiteEditForm,
    SiteForm,
)
from .models import Line, RoundCompound, RoundStatus, ScreeningRound, Site
from .models_plan import CallSlot, ScreeningExemption, ScreeningPlan
from .plan_output import notices_pdf, queue_chart, speaker_calls
from .workflows import SCREENING_ROUND, manages_round

ROUND_ACTIONS = ("open", "close", "reopen", "finish")


def _round(request, round_id: int) -> ScreeningRound:
    return access_by_id(ScreeningRound.objects.select_related("scope"), request.user, pk=round_id)


def _managed_round(request, round_id: int) -> ScreeningRound:
    """A round the user manages; a round of a unit above theirs is seen but not managed here."""
    screening_round = _round(request, round_id)
    if not manages_round(active_membership(request.user), screening_round):
        raise Http404
    return screening_round


def _errors(request, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


def _plan_warnings(plan: ScreeningPlan | None, screening_round: ScreeningRound) -> list[str]:
    if plan is None:
        return []
    names = dict(Site.objects.filter(round=screening_round).values_list("pk", "name"))
    worded = []
    for code in plan.warnings:
        kind, *args = code.split(":")
        if kind == "few_lines":
            lines = int(args[1])
            worded.append(ngettext(
                "采样点“%(site)s”只有 %(lines)d 个采样台,少于规则要求的至少 %(min)d 个同时开放",
                "采样点“%(site)s”只有 %(lines)d 个采样台,少于规则要求的至少 %(min)d 个同时开放", lines,
            ) % {"site": names.get(int(args[0]), args[0]), "lines": lines, "min": screening_round.min_open_lines})
        elif kind == "thin":
            expected = int(args[1])
            worded.append(ngettext(
                "采样点“%(site)s”预计只有 %(n)d 人到场,各采样台的排队达不到 %(min)d 人的下限:可少开采样台或合并采样点",
                "采样点“%(site)s”预计只有 %(n)d 人到场,各采样台的排队达不到 %(min)d 人的下限:可少开采样台或合并采样点",
                expected,
            ) % {"site": names.get(int(args[0]), args[0]), "n": expected, "min": screening_round.queue_min})
        elif kind == "unplanned":
            count = int(args[0])
            worded.append(ngettext(
                "有 %(n)d 栋楼在本轮采样日期内排不下,请增加采样台、延长每日采样时间或增加采样日",
                "有 %(n)d 栋楼在本轮采样日期内排不下,请增加采样台、延长每日采样时间或增加采样日", count,
            ) % {"n": count})
    return worded


# ---------------------------------------------------------------- rounds


@requires(Cap.VIEW_SCREENING)
def rounds(request):
    rows = list(ScreeningRound.objects.visible_to(request.user).select_related("scope"))
    membership = active_membership(request.user)
    may_create = membership.has(Cap.MANAGE_SCREENING) and membership.org_unit.kind in (Kind.STREET, Kind.DISTRICT)
    return render(request, "screening/plan/rounds.html", {"rounds": rows, "may_create": may_create})


@requires(Cap.MANAGE_SCREENING)
def round_new(request):
    scope = active_membership(request.user).org_unit
    form = RoundForm(request.POST or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        try:
            screening_round = services.screening_round_create(actor=request.user, scope=scope, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已创建筛查轮次,请添加采样点和采样台"))
            return redirect("screening:round", round_id=screening_round.pk)
    return render(request, "screening/plan/round_form.html", {"form": form, "scope": scope})


@requires(Cap.MANAGE_SCREENING)
def round_edit(request, round_id: int):
    """Rename a round, or move its days and hours while it is 筹备中."""
    screening_round = _managed_round(request, round_id)
    fields = ("name", "first_day", "last_day", "day_starts", "day_ends")
    form = RoundEditForm(request.POST or None, initial={f: getattr(screening_round, f) for f in fields})
    if request.method == "POST" and form.is_valid():
        try:
            _changed, dropped = services.screening_round_change(actor=request.user, screening_round=screening_round,
                                                               **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            if dropped:
                messages.warning(request, _("原排班已作废(日期或时间已改),请重新生成排班"))
            return redirect("screening:round", round_id=screening_round.pk)
    if screening_round.status != RoundStatus.DRAFT:
        for field in fields[1:]:
            form.fields[field].disabled = True
    return render(request, "screening/plan/round_form.html", {
        "form": form, "scope": screening_round.scope, "round": screening_round})


@requires(Cap.VIEW_SCREENING)
def round_detail(request, round_id: int):
    screening_round = _round(request, round_id)
    membership = active_membership(request.user)
    manages = manages_round(membership, screening_round)
    compounds = list(RoundCompound.objects.visible_to(request.user).filter(round=screening_round)
                     .select_related("compound", "committee").order_by("committee__sort_key", "compound__sort_key"))
    sites = list(Site.objects.visible_to(request.user).filter(round=screening_round)
                 .select_related("committee").prefetch_related("lines").order_by("committee__sort_key", "name"))
    actions = [(name, SCREENING_ROUND.actions[name].label) for name in ROUND_ACTIONS
               if can(request.user, screening_round, name)]
    editable = manages and screening_round.status != RoundStatus.FINISHED
    return render(request, "screening/plan/round.html", {
        "round": screening_round, "compounds": compounds, "sites": sites, "manages": manages, "editable": editable,
        "actions": actions, "pool_form": PoolRuleForm(),
        "compound_form": CompoundAddForm(screening_round=screening_round) if editable else None,
        "line_add_form": LineAddForm(),
        "exemptions": ScreeningExemption.objects.visible_to(request.user).filter(round=screening_round).count(),
        "plan": ScreeningPlan.objects.filter(round=screening_round).first(),
    })


@requires(Cap.MANAGE_SCREENING)
@require_POST
def round_move(request, round_id: int, action: str):
    if action not in ROUND_ACTIONS:
        raise Http404
    screening_round = _managed_round(request, round_id)
    try:
        moved = services.screening_round_move(actor=request.user, screening_round=screening_round, action=action)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("轮次状态已改为“%(status)s”") % {"status": moved.get_status_display()})
    return redirect("screening:round", round_id=screening_round.pk)


# ---------------------------------------------------------------- compounds, sites, lines


@requires(Cap.MANAGE_SCREENING)
@require_POST
def compound_add(request, round_id: int):
    screening_round = _managed_round(request, round_id)
    form = CompoundAddForm(request.POST, screening_round=screening_round)
    if not form.is_valid():
        messages.error(request, _("请选择小区和混采规则"))
    else:
        try:
            services.screening_compound_add(actor=request.user, screening_round=screening_round, **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已添加小区"))
    return redirect("screening:round", round_id=screening_round.pk)


def _managed_round_compound(request, round_compound_id: int) -> RoundCompound:
    row = access_by_id(RoundCompound.objects.select_related("round__scope"), request.user, pk=round_compound_id)
    if not manages_round(active_membership(request.user), row.round):
        raise Http404
    return row


@requires(Cap.MANAGE_SCREENING)
@require_POST
def compound_remove(request, round_compound_id: int):
    row = _managed_round_compound(request, round_compound_id)
    try:
        dropped = services.screening_compound_remove(actor=request.user, round_compound=row)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("已将该小区移出本轮筛查"))
        if dropped:
            messages.warning(request, _("原排班已作废(小区已改),请重新生成排班"))
    return redirect("screening:round", round_id=row.round_id)


@requires(Cap.MANAGE_SCREENING)
@require_POST
def compound_change(request, round_compound_id: int):
    row = _managed_round_compound(request, round_compound_id)
    form = PoolRuleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择混采规则"))
    else:
        try:
            services.screening_compound_change(actor=request.user, round_compound=row, **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已修改混采规则"))
    return redirect("screening:round", round_id=row.round_id)


def _managed_site(request, site_id: int) -> Site:
    site = access_by_id(Site.objects.select_related("round__scope", "committee"), request.user, pk=site_id)
    if not manages_round(active_membership(request.user), site.round):
        raise Http404
    return site


@requires(Cap.MANAGE_SCREENING)
def site_new(request, round_id: int):
    screening_round = _managed_round(request, round_id)
    form = SiteForm(request.POST or None, screening_round=screening_round)
    if request.method == "POST" and form.is_valid():
        try:
            services.screening_site_add(actor=request.user, screening_round=screening_round, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已新增采样点"))
            return redirect("screening:round", round_id=screening_round.pk)
    return render(request, "screening/plan/site_form.html", {"form": form, "round": screening_round, "site": None})


@requires(Cap.MANAGE_SCREENING)
def site_edit(request, site_id: int):
    site = _managed_site(request, site_id)
    initial = {"name": site.name, "address": site.address, "active": site.active}
    form = SiteEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.screening_site_change(actor=request.user, site=site, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("screening:round", round_id=site.round_id)
    return render(request, "screening/plan/site_form.html", {"form": form, "round": site.round, "site": site})


@requires(Cap.MANAGE_SCREENING)
@require_POST
def line_add(request, site_id: int):
    site = _managed_site(request, site_id)
    form = LineAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("每小时采样人数须在 1 到 2000 之间"))
    else:
        try:
            line = services.screening_line_add(actor=request.user, site=site, **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已新增 %(line)s") % {"line": line})
    return redirect("screening:round", round_id=site.round_id)


@requires(Cap.MANAGE_SCREENING)
@require_POST
def line_edit(request, line_id: int):
    sites = Site.objects.visible_to(request.user)
    try:
        line = Line.objects.select_related("site__round__scope").get(pk=line_id, site__in=sites)
    except (Line.DoesNotExist, ValueError):
        raise Http404 from None
    if not manages_round(active_membership(request.user), line.site.round):
        raise Http404
    form = LineForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("每小时采样人数须在 1 到 2000 之间"))
    else:
        try:
            services.screening_line_change(actor=request.user, line=line, **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已保存 %(line)s") % {"line": line})
    return redirect("screening:round", round_id=line.site.round_id)


# ---------------------------------------------------------------- door-to-door list


def _round_buildings(request, screening_round: ScreeningRound):
    """The round's buildings the user's membership covers, in natural order."""
    compounds = RoundCompound.objects.visible_to(request.user).filter(round=screening_round).values("compound_id")
    unit = active_membership(request.user).org_unit
    return (OrgUnit.objects.filter(kind=Kind.BUILDING, parent_id__in=compounds, path__startswith=unit.path)
            .select_related("parent").in_natural_order())


@requires(Cap.MANAGE_SCREENING, Cap.ISSUE_CODES)
def exemptions(request, round_id: int):
    screening_round = _round(request, round_id)
    buildings = list(_round_buildings(request, screening_round))
    building = None
    raw = request.GET.get("building", "")
    if raw.isdigit():
        building = next((b for b in buildings if b.pk == int(raw)), None)
    form = ExemptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        resident = Resident.objects.visible_to(request.user).filter(pk=data.pop("resident")).first()
        if resident is None:
            raise Http404
        try:
            services.screening_exemption_add(actor=request.user, screening_round=screening_round, resident=resident,
                                             **data)
        except ValidationError as exc:
            _errors(request, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("已加入名单"))
        return redirect(f"{request.path}?building={resident.household.building_id}")
    listed = list(ScreeningExemption.objects.visible_to(request.user).filter(round=screening_round)
                  .select_related("resident", "resident__household", "building__parent")
                  .order_by("building__sort_key", "resident__household__room_sort", "pk"))
    taken = {row.resident_id for row in listed}
    residents = []
    if building is not None:
        residents = [r for r in Resident.objects.visible_to(request.user)
                     .filter(household__building=building, living_status=LivingStatus.HERE)
                     .select_related("household").order_by("household__room_sort", "pk") if r.pk not in taken]
    return render(request, "screening/plan/exemptions.html", {
        "round": screening_round, "buildings": buildings, "building": building, "residents": residents,
        "listed": listed, "form": ExemptionForm(),
        "editable": screening_round.status != RoundStatus.FINISHED,
    })


@requires(Cap.MANAGE_SCREENING, Cap.ISSUE_CODES)
@require_GET
def door_to_door_xlsx(request, round_id: int):
    """The door-to-door list for the mobile team: the member's part of the round, in building and
    room order, with the column the team writes in (audited: it names people)."""
    from xiuhua.core.sheets import ListSheet, list_download

    from .lists import DOOR_TO_DOOR_COLUMNS, door_to_door_rows

    screening_round = _round(request, round_id)
    rows = (ScreeningExemption.objects.visible_to(request.user).filter(round=screening_round, door_to_door=True)
            .select_related("resident", "resident__household", "building__parent")
            .order_by("building__parent__sort_key", "building__sort_key", "resident__household__room_sort", "pk"))
    sheet = ListSheet(
        DOOR_TO_DOOR_COLUMNS, filters=_("上门采样"), name=_("上门采样"),
        title=_("%(round)s 上门采样名单 %(time)s") % {
            "round": screening_round.name, "time": timezone.localtime().strftime("%Y-%m-%d %H:%M")},
        rows=door_to_door_rows(rows.iterator(chunk_size=2000)),
    )
    return list_download(sheet, actor=request.user, membership=active_membership(request.user),
                         action="screening_door_to_door_export", obj=screening_round,
                         filename=_("%(round)s-上门采样名单") % {"round": screening_round.name},
                         fallback="door-to-door")


@requires(Cap.MANAGE_SCREENING, Cap.ISSUE_CODES)
@require_POST
def exemption_remove(request, exemption_id: int):
    row = access_by_id(ScreeningExemption.objects.select_related("round"), request.user, pk=exemption_id)
    try:
        services.screening_exemption_remove(actor=request.user, exemption=row)
    except ValidationError as exc:
        _errors(request, exc)
    except PermissionDenied:
        raise Http404 from None
    else:
        messages.success(request, _("已移出名单"))
    return redirect("screening:exemptions", round_id=row.round_id)


# ---------------------------------------------------------------- the plan


def _slots(request, screening_round: ScreeningRound):
    return (CallSlot.objects.visible_to(request.user).filter(round=screening_round)
            .select_related("site", "building__parent", "committee").order_by("day", "site__name", "position"))


@requires(Cap.VIEW_SCREENING)
def plan(request, round_id: int):
    screening_round = _round(request, round_id)
    made = ScreeningPlan.objects.filter(round=screening_round).select_related("round", "made_by").first()
    slots = list(_slots(request, screening_round))
    by_site: dict[int, dict] = {}
    for slot in slots:
        entry = by_site.setdefault(slot.site_id, {"site": slot.site, "slots": [], "people": 0, "expected": 0})
        entry["slots"].append(slot)
        entry["people"] += slot.people
        entry["expected"] += slot.expected
    charts = []
    if made is not None:
        visible_sites = {s.pk: s for s in Site.objects.visible_to(request.user).filter(round=screening_round)}
        for key in sorted(made.series, key=lambda k: (made.series[k]["day"], k)):
            site_id = int(key.split(":")[0])
            if site_id in visible_sites:
                title = f"{visible_sites[site_id].name} · {made.series[key]['day']}"
                charts.append((title, queue_chart(made, key, title=title, nonce=getattr(request, "csp_nonce", ""))))
    manages = manages_round(active_membership(request.user), screening_round)
    return render(request, "screening/plan/plan.html", {
        "round": screening_round, "made": made, "sites": list(by_site.values()), "charts": charts,
        "warnings": _plan_warnings(made, screening_round), "manages": manages,
        "form": PlanForm(initial={"phase_order": made.phase_order if made else ""}),
        "may_plan": manages and screening_round.status in (RoundStatus.DRAFT, RoundStatus.OPEN),
        "in_bounds_percent": round(made.in_bounds * 100, 1) if made else None,
    })


@requires(Cap.MANAGE_SCREENING)
@require_POST
def plan_make(request, round_id: int):
    screening_round = _managed_round(request, round_id)
    form = PlanForm(request.POST)
    if form.is_valid():
        try:
            made = services.screening_plan_make(actor=request.user, screening_round=screening_round,
                                                **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("已生成排班:模拟排队人数在范围内的时间占 %(share)s%%") % {
                "share": round(made.in_bounds * 100, 1)})
    else:
        messages.error(request, _("分组呼叫顺序最多 60 个字符"))
    return redirect("screening:plan", round_id=screening_round.pk)


@requires(Cap.MANAGE_SCREENING)
@require_POST
def plan_sms(request, round_id: int):
    screening_round = _managed_round(request, round_id)
    try:
        queued = services.screening_plan_sms(actor=request.user, screening_round=screening_round)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, ngettext("已排队发送 %(n)d 条时段短信(按采样时段先后发送)",
                                           "已排队发送 %(n)d 条时段短信(按采样时段先后发送)", queued) % {"n": queued})
    return redirect("screening:plan", round_id=screening_round.pk)


@requires(Cap.VIEW_SCREENING)
def plan_notices(request, round_id: int):
    screening_round = _round(request, round_id)
    slots = _slots(request, screening_round)
    raw = request.GET.get("building", "")
    if raw.isdigit():
        slots = slots.filter(building_id=int(raw))
    pdf = notices_pdf(screening_round, list(slots))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="screening-notices-{screening_round.pk}.pdf"'
    return response


@requires(Cap.VIEW_SCREENING)
def plan_speaker(request, round_id: int):
    screening_round = _round(request, round_id)
    return render(request, "screening/plan/speaker.html", {
        "round": screening_round, "calls": speaker_calls(list(_slots(request, screening_round))),
    })
