"""The zone pages: who may open what (anonymous to the login page, a role without the capability
403 with nothing written, another street 404), the preview that lists exactly the zones a new
rule changes, publishing it, a positive entered through the pages, and the public page."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.testing import acting, as_user
from xiuhua.zones import services as svc
from xiuhua.zones import urls
from xiuhua.zones.models import Level, Positive, RuleStatus, Zone, ZoneEvent, ZoneRule
from xiuhua.zones.presets import APRIL_11

from .conftest import published

pytestmark = pytest.mark.django_db

VIEW, MANAGE, RULES = "view_zones", "manage_zones", "manage_zone_rules"


def snapshot():
    return (sorted(Zone.objects.values_list("pk", "level", "clock_start")), Positive.objects.count(),
            sorted(ZoneRule.objects.values_list("pk", "status", "name")), ZoneEvent.objects.count(),
            AuditEvent.objects.count())


@pytest.fixture
def zones(world):
    """Street A under the 11 April rule, compound A1 sealed since yesterday."""
    today = timezone.localdate()
    rule = published(world, APRIL_11, today - dt.timedelta(days=60))
    svc.positive_record(actor=acting(world.street_officer), building=world.building_a1,
                        day=today - dt.timedelta(days=1), source="street")
    zone = Zone.objects.get(unit=world.compound_a1)
    draft = ZoneRule.objects.create(scope=world.district, name="草稿", effective_from=today, explanation="说明",
                                    seal_unit="compound", sealed_days=7, sealed_to="controlled",
                                    controlled_days=3, created_by=world.district_officer)
    return type("Zones", (), {"rule": rule, "zone": zone, "draft": draft, "today": today})


def matrix(z, world):
    return {
        "board": ({}, ("get",), VIEW),
        "zone": ({"zone_id": z.zone.pk}, ("get",), VIEW),
        "zone_draw": ({"zone_id": z.zone.pk}, ("post",), MANAGE),
        "positive_new": ({}, ("get", "post"), MANAGE),
        "compounds": ({}, ("get",), VIEW),
        "poster": ({"compound_id": world.compound_a1.pk}, ("get",), VIEW),
        "rules": ({}, ("get",), VIEW),
        "rule_new": ({}, ("get", "post"), RULES),
        "rule": ({"rule_id": z.draft.pk}, ("get",), VIEW),
        "rule_edit": ({"rule_id": z.draft.pk}, ("get", "post"), RULES),
        "rule_publish": ({"rule_id": z.draft.pk}, ("post",), RULES),
        "public": ({"token": z.zone.public_token}, ("get",), None),
    }


POSTS = {
    "zone_draw": {"level": "precaution", "reason": "x"},
    "positive_new": {"compound": "0", "building": "0", "day": "2026-12-01"},
    "rule_new": {"name": "x"},
    "rule_edit": {"name": "x"},
}


def test_every_url_is_in_the_matrix(world, zones):
    assert {p.name for p in urls.urlpatterns} == set(matrix(zones, world))


def test_anonymous_visitors_are_sent_to_the_login_page_except_for_the_public_page(client, world, zones):
    before = snapshot()
    for name, (kwargs, methods, cap) in matrix(zones, world).items():
        for method in methods:
            response = getattr(client, method)(reverse(f"zones:{name}", kwargs=kwargs), POSTS.get(name, {}))
            if cap is None:
                assert response.status_code == 200, name
            else:
                assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
    assert snapshot() == before


@pytest.mark.parametrize("who", ["volunteer", "pharmacy_clerk", "staff_a1", "grid_worker", "street_officer"])
def test_roles_without_the_capability_get_403_and_nothing_is_written(client, world, zones, who):
    from xiuhua.accounts.roles import role_has

    user = getattr(world, who)
    role = user.memberships.get().role
    client.force_login(user)
    before = snapshot()
    for name, (kwargs, methods, cap) in matrix(zones, world).items():
        if cap is None or role_has(role, cap):
            continue
        for method in methods:
            response = getattr(client, method)(reverse(f"zones:{name}", kwargs=kwargs), POSTS.get(name, {}))
            assert response.status_code == 403, (who, name)
    assert snapshot() == before


def test_another_street_gets_404_and_nothing_is_written(client, world, zones):
    client.force_login(world.street_officer_b)
    before = snapshot()
    for name in ("zone", "zone_draw", "poster"):
        kwargs, methods, _cap = matrix(zones, world)[name]
        for method in methods:
            assert getattr(client, method)(reverse(f"zones:{name}", kwargs=kwargs),
                                           POSTS.get(name, {})).status_code == 404, name
    response = client.post(reverse("zones:positive_new"), {"compound": world.compound_a1.pk,
                                                            "building": world.building_a1.pk, "day": "2026-12-01"})
    assert response.status_code == 404
    assert snapshot() == before


def test_the_preview_lists_exactly_the_zones_a_new_rule_changes_and_publishing_applies_it(client, world):
    """11 April in force; a draft for street A that ends controlled zones after 3 days."""
    today = timezone.localdate()
    published(world, APRIL_11, today - dt.timedelta(days=60))
    officer = acting(world.street_officer)

    def controlled(compound, since, by=officer):
        zone = svc._zones_locked([compound])[compound.pk]
        svc.zone_draw(actor=by, zone=zone, level=Level.CONTROLLED, reason="毗邻", today=since)
        return Zone.objects.get(pk=zone.pk)

    # Sealed A1 goes straight to precaution under both rules: unchanged.
    svc.positive_record(actor=officer, building=world.building_a1, day=today - dt.timedelta(days=3),
                        source="street")
    released = controlled(world.compound_a2, today - dt.timedelta(days=3))   # 3 days over: released today
    later = svc._zones_locked([world.building_a1b])[world.building_a1b.pk]
    svc.zone_draw(actor=officer, zone=later, level=Level.CONTROLLED, reason="复核", today=today - dt.timedelta(days=1))
    # Another street's zone: a district rule would reach it; this one is for street A.
    controlled_b = controlled(world.compound_b1, today - dt.timedelta(days=5), by=acting(world.street_officer_b))
    as_user(client, world.district_officer)
    response = client.post(reverse("zones:rule_new") + "?preset=april_11", {
        **{k: str(v) for k, v in APRIL_11.items() if v is not None}, "name": "管控区3天",
        "effective_from": today.isoformat(), "controlled_days": "3", "controlled_test_day": "",
        "sealed_test_day": "13"})
    draft = ZoneRule.objects.get(name="管控区3天")
    assert response.status_code == 302 and draft.status == RuleStatus.DRAFT and draft.scope == world.district
    # A district rule would reach street B's zone too; this one is meant for street A only.
    ZoneRule.objects.filter(pk=draft.pk).update(scope=world.street_a)
    page = client.get(reverse("zones:rule", args=[draft.pk])).content.decode()
    changed = re.findall(r'id="preview-(\d+)"', page)
    assert changed == [str(later.pk), str(released.pk)]  # in place order: 国和一村 6号, 国和二村
    assert "2 个区域将因此改变" in page and "其中 1 个将于" in page
    # Published: the released zone steps down now, the others wait for their day.
    client.post(reverse("zones:rule_publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == RuleStatus.PUBLISHED and draft.published_by == world.district_officer
    assert Zone.objects.get(pk=released.pk).level == Level.PRECAUTION
    assert Zone.objects.get(pk=later.pk).level == Level.CONTROLLED
    assert Zone.objects.get(pk=controlled_b.pk).level == Level.CONTROLLED
    assert Zone.objects.get(unit=world.compound_a1).level == Level.SEALED
    # A published rule is history: it no longer edits, and a second publish is refused.
    assert client.get(reverse("zones:rule_edit", args=[draft.pk])).status_code == 404
    response = client.post(reverse("zones:rule_publish", args=[draft.pk]), follow=True)
    assert "当前为“已发布”,不能发布" in response.content.decode()


def test_bad_rules_are_answered_in_chinese_and_nothing_is_written(client, world):
    as_user(client, world.district_officer)
    before = snapshot()
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    response = client.post(reverse("zones:rule_new"), {
        "name": "坏规则", "effective_from": yesterday, "explanation": "说明", "seal_unit": "compound",
        "compound_on_building_seal": "controlled", "sealed_days": "7", "sealed_to": "controlled",
        "sealed_test_day": "9", "controlled_days": "3"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "生效日期不能早于今天:规则只从其生效之日起适用" in body
    assert "核酸检测日应在第 1 天到第 7 天之间" in body
    assert snapshot() == before


def test_the_street_enters_a_positive_through_the_pages_and_the_public_page_shows_the_clock(client, world):
    today = timezone.localdate()
    published(world, APRIL_11, today - dt.timedelta(days=60))
    as_user(client, world.street_officer)
    page = client.get(reverse("zones:positive_new") + f"?compound={world.compound_a2.pk}").content.decode()
    assert f'<option value="{world.building_a2.pk}">12号</option>' in page
    response = client.post(reverse("zones:positive_new"), {
        "compound": world.compound_a2.pk, "building": world.building_a2.pk,
        "day": (today - dt.timedelta(days=2)).isoformat(), "note": "区疾控通报"})
    zone = Zone.objects.get(unit=world.compound_a2)
    assert response.status_code == 302 and response["Location"] == reverse("zones:zone", args=[zone.pk])
    assert (zone.level, zone.clock_start) == (Level.SEALED, today - dt.timedelta(days=2))
    board = client.get(reverse("zones:board")).content.decode()
    assert f'id="zone-{zone.pk}"' in board and "第3天" in board
    public = client.logout() or client.get(reverse("zones:public", args=[zone.public_token])).content.decode()
    assert "国和二村" in public and "第3天" in public and "区疾控通报" not in public
    assert (today + dt.timedelta(days=12)).isoformat() in public  # 14 days from the positive
    assert "全员核酸阴性" in public  # the rule's plain explanation
    # A positive in the future is refused and changes nothing.
    as_user(client, world.street_officer)
    before = snapshot()
    response = client.post(reverse("zones:positive_new"), {
        "compound": world.compound_a2.pk, "building": world.building_a2.pk,
        "day": (today + dt.timedelta(days=1)).isoformat()})
    assert "阳性日期不能晚于今天" in response.content.decode()
    assert snapshot() == before
