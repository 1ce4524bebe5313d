"""Pages of the zones: the street's board (what changes today and tomorrow), a zone with its
history, a positive entered by hand, the compounds with their gate posters, the rules with the
preview of a new version, and each compound's public page (no login, nothing personal).

Views are thin: find the row in the user's scope (core.access: one 404 for missing and
not-yours), call one service, render.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id, active_membership, has_cap
from xiuhua.core.forms import apply_errors
from xiuhua.core.policy import public, requires
from xiuhua.core.qr import qr_svg_inline
from xiuhua.core.workflow import can
from xiuhua.places.models import Kind, OrgUnit

from . import clock, selectors
from . import services as svc
from .forms import DrawForm, PositiveForm, RuleForm
from .models import Level, Positive, RuleStatus, Zone, ZoneRule
from .presets import PRESETS
from .workflows import manages_zone


def _compounds(request):
    """The compounds of the member's unit (a committee's, a street's, a district's)."""
    unit = active_membership(request.user).org_unit
    if unit.kind in (Kind.COMPOUND, Kind.BUILDING):
        unit = OrgUnit.objects.get(pk=unit.committee_id)
    return OrgUnit.objects.filter(kind=Kind.COMPOUND, path__startswith=unit.path).select_related("parent")


@requires(Cap.VIEW_ZONES)
@require_GET
def board(request):
    today = timezone.localdate()
    rows = selectors.board(request.user, today)
    tomorrow = today + timezone.timedelta(days=1)
    return render(request, "zones/board.html", {
        "rows": rows, "today": today, "tomorrow": tomorrow,
        "changing_today": [r for r in rows if r.changes_on == today],
        "changing_tomorrow": [r for r in rows if r.changes_on == tomorrow],
        "counts": {level: sum(1 for r in rows if r.zone.level == level) for level in (Level.SEALED, Level.CONTROLLED)},
        "enters_positives": has_cap(request.user, Cap.MANAGE_ZONES),
    })


@requires(Cap.VIEW_ZONES)
@require_GET
def compounds(request):
    rows = list(_compounds(request).in_natural_order())
    zones = {z.unit_id: z for z in Zone.objects.visible_to(request.user).filter(unit__in=rows)}
    return render(request, "zones/compounds.html", {"rows": [(c, zones.get(c.pk)) for c in rows]})


@requires(Cap.VIEW_ZONES)
@require_GET
def poster(request, compound_id: int):
    """A gate poster (printed from the browser): the compound's QR to its public page."""
    compound = get_object_or_404(_compounds(request), pk=compound_id)
    svc.zones_ensure([compound])
    zone = Zone.objects.get(unit=compound)
    url = request.build_absolute_uri(reverse("zones:public", args=[zone.public_token]))
    return render(request, "zones/poster.html", {"compound": compound, "url": url, "qr": mark_safe(qr_svg_inline(url))})


@requires(Cap.MANAGE_ZONES)
def positive_new(request):
    """Step 1: the compound; step 2: the building, the day and a note."""
    compound = None
    if request.GET.get("compound") or request.POST.get("compound"):
        try:
            compound = _compounds(request).get(pk=request.GET.get("compound") or request.POST.get("compound"))
        except (OrgUnit.DoesNotExist, ValueError):
            raise Http404 from None
    form = PositiveForm(request.POST or None, compound=compound, initial={"day": timezone.localdate()}) \
        if compound else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            svc.positive_record(actor=request.user, source="street", **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已登记阳性,相关区域已更新"))
            return redirect("zones:zone", zone_id=Zone.objects.get(unit=compound).pk)
    return render(request, "zones/positive_form.html", {
        "form": form, "compound": compound, "compounds": _compounds(request).in_natural_order()})


@requires(Cap.VIEW_ZONES)
@require_GET
def zone_detail(request, zone_id: int):
    zone = access_by_id(Zone.objects.select_related("unit", "compound", "committee"), request.user, pk=zone_id)
    today = timezone.localdate()
    facts = selectors.public_facts(Zone.objects.get(unit=zone.compound), today) if zone.is_building else \
        selectors.public_facts(zone, today)
    rules = svc.rules_for(zone.unit)
    ahead = selectors.ahead_of(zone, svc.rules_for, today)
    positives = Positive.objects.filter(compound=zone.compound).select_related("building").order_by("-day", "-pk")
    if zone.is_building:
        positives = positives.filter(building=zone.unit)
    manages = manages_zone(active_membership(request.user), zone)
    return render(request, "zones/zone.html", {
        "zone": zone, "facts": facts, "ahead": ahead.steps, "day": zone.day_of_clock(today),
        "release": clock.release_of(ahead),
        "rule": rules.at(today), "events": zone.events.select_related("rule", "actor")[:50],
        "positives": positives[:50], "draw_form": DrawForm() if manages and can(request.user, zone, "draw") else None,
    })


@requires(Cap.MANAGE_ZONES)
@require_POST
def zone_draw(request, zone_id: int):
    zone = access_by_id(Zone.objects.select_related("unit"), request.user, pk=zone_id)
    if not manages_zone(active_membership(request.user), zone):
        raise Http404
    form = DrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择风险等级并填写原因"))
    else:
        try:
            svc.zone_draw(actor=request.user, zone=zone, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, "".join(exc.messages))
        else:
            messages.success(request, _("已调整风险等级"))
    return redirect("zones:zone", zone_id=zone.pk)


# ---------------------------------------------------------------- rules


def _rules(request):
    """The rule versions of the member's district and street (and those above them)."""
    unit = active_membership(request.user).org_unit
    prefixes = [unit.path[: i + 1] for i, char in enumerate(unit.path) if char == "/"]
    return ZoneRule.objects.filter(scope__path__startswith=unit.path) | ZoneRule.objects.filter(
        scope__path__in=prefixes)


@requires(Cap.VIEW_ZONES)
@require_GET
def rules(request):
    rows = _rules(request).select_related("scope").order_by("-effective_from", "-pk")
    return render(request, "zones/rules.html", {
        "rules": rows, "writes": has_cap(request.user, Cap.MANAGE_ZONE_RULES), "presets": PRESETS})


def _rule_scope(request) -> OrgUnit:
    unit = active_membership(request.user).org_unit
    if unit.kind not in (Kind.DISTRICT, Kind.STREET):
        raise Http404
    return unit


@requires(Cap.MANAGE_ZONE_RULES)
def rule_new(request):
    scope = _rule_scope(request)
    initial = {"effective_from": timezone.localdate()}
    preset = PRESETS.get(request.GET.get("preset", ""))
    if preset:
        initial |= {key: str(value) if key in ("name", "explanation") else value for key, value in preset.items()}
    elif request.GET.get("from"):
        base = _rules(request).filter(pk=request.GET["from"]).first() if request.GET["from"].isdigit() else None
        if base is None:
            raise Http404
        initial |= {field: getattr(base, field) for field in svc.RULE_FIELDS if field != "effective_from"}
    form = RuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            rule = svc.zone_rule_draft(actor=request.user, scope=scope, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存为草稿。请查看预览,确认后发布。"))
            return redirect("zones:rule", rule_id=rule.pk)
    return render(request, "zones/rule_form.html", {"form": form, "scope": scope, "rule": None})


@requires(Cap.VIEW_ZONES)
@require_GET
def rule_detail(request, rule_id: int):
    rule = get_object_or_404(_rules(request).select_related("scope", "created_by", "published_by"), pk=rule_id)
    preview = selectors.rule_preview(rule, timezone.localdate()) if rule.status == RuleStatus.DRAFT else None
    return render(request, "zones/rule.html", {
        "rule": rule, "preview": preview, "publishes": can(request.user, rule, "publish")})


@requires(Cap.MANAGE_ZONE_RULES)
def rule_edit(request, rule_id: int):
    rule = get_object_or_404(_rules(request), pk=rule_id, status=RuleStatus.DRAFT)
    form = RuleForm(request.POST or None, instance=None, initial={f: getattr(rule, f) for f in svc.RULE_FIELDS})
    if request.method == "POST" and form.is_valid():
        try:
            svc.zone_rule_change(actor=request.user, rule=rule, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("zones:rule", rule_id=rule.pk)
    return render(request, "zones/rule_form.html", {"form": form, "scope": rule.scope, "rule": rule})


@requires(Cap.MANAGE_ZONE_RULES)
@require_POST
def rule_publish(request, rule_id: int):
    rule = get_object_or_404(_rules(request), pk=rule_id)
    try:
        svc.zone_rule_publish(actor=request.user, rule=rule)
    except ValidationError as exc:
        messages.error(request, "".join(exc.messages))
    else:
        messages.success(request, _("规则已发布,自 %(day)s 起适用") % {"day": rule.effective_from.isoformat()})
    return redirect("zones:rule", rule_id=rule.pk)


# ---------------------------------------------------------------- the public page


@public
@require_GET
def public_page(request, token: str):
    zone = get_object_or_404(Zone.objects.select_related("unit", "compound"), public_token=token)
    if zone.is_building:
        raise Http404
    facts = selectors.public_facts(zone, timezone.localdate())
    return render(request, "zones/public.html", {"facts": facts, "today": timezone.localdate()})
