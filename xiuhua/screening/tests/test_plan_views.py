"""Pages of the round and its plan: the authorisation matrix (anonymous to the login page, a role
without the capability 403 with nothing written, another street 404) and what each page does."""

import datetime as dt
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.screening import services_rounds as svc
from xiuhua.screening import urls_plan
from xiuhua.screening.models import (
    CallSlot,
    Line,
    RoundCompound,
    ScreeningExemption,
    ScreeningPlan,
    ScreeningRound,
    Site,
)
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting, as_user

pytestmark = pytest.mark.django_db

VIEW, MANAGE, KEEP_LIST = "view_screening", "manage_screening", "manage_screening|issue_codes"


def snapshot():
    return (
        sorted(ScreeningRound.objects.values_list("pk", "status", "name")),
        sorted(RoundCompound.objects.values_list("pk", "pool_rule")),
        sorted(Site.objects.values_list("pk", "name", "address", "active")),
        sorted(Line.objects.values_list("pk", "rate_per_hour", "active")),
        sorted(ScreeningExemption.objects.values_list("pk", "reason")),
        sorted(CallSlot.objects.values_list("pk", "starts_at")),
        ScreeningPlan.objects.count(),
        OutboundSms.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def planned(world, screening):
    """The fixture round with a door-to-door entry and a plan."""
    officer = acting(world.street_officer)
    screening.exemption = svc.screening_exemption_add(actor=officer, screening_round=screening.round,
                                                      resident=world.resident_a1b, reason="bedridden")
    svc.screening_plan_make(actor=officer, screening_round=screening.round, phase_order="")
    return screening


# name -> (url kwargs from the fixture, methods, the capability it needs)
def matrix(s, world):
    r = {"round_id": s.round.pk}
    return {
        "rounds": ({}, ("get",), VIEW),
        "round_new": ({}, ("get", "post"), MANAGE),
        "round": (r, ("get",), VIEW),
        "round_edit": (r, ("get", "post"), MANAGE),
        "round_move": ({**r, "action": "close"}, ("post",), MANAGE),
        "compound_add": (r, ("post",), MANAGE),
        "compound_change": ({"round_compound_id": s.compound_a1.pk}, ("post",), MANAGE),
        "compound_remove": ({"round_compound_id": s.compound_a2.pk}, ("post",), MANAGE),
        "site_new": (r, ("get", "post"), MANAGE),
        "site_edit": ({"site_id": s.site_a1.pk}, ("get", "post"), MANAGE),
        "line_add": ({"site_id": s.site_a1.pk}, ("post",), MANAGE),
        "line_edit": ({"line_id": s.lines_a1[0].pk}, ("post",), MANAGE),
        "exemptions": (r, ("get", "post"), KEEP_LIST),
        "exemption_remove": ({"exemption_id": s.exemption.pk}, ("post",), KEEP_LIST),
        "door_to_door_xlsx": (r, ("get",), KEEP_LIST),
        "plan": (r, ("get",), VIEW),
        "plan_make": (r, ("post",), MANAGE),
        "plan_sms": (r, ("post",), MANAGE),
        "plan_notices": (r, ("get",), VIEW),
        "plan_speaker": (r, ("get",), VIEW),
    }


POSTS = {
    "round_new": {"name": "x", "first_day": "2026-12-06", "last_day": "2026-12-06", "day_starts": "07:00",
                  "day_ends": "19:00"},
    "round_edit": {"name": "x", "first_day": "2026-12-06", "last_day": "2026-12-06", "day_starts": "07:00",
                   "day_ends": "19:00"},
    "compound_add": {"compound": "", "pool_rule": "10"},
    "compound_change": {"pool_rule": "1"},
    "site_new": {"name": "新点", "line_count": "3"},
    "site_edit": {"name": "改名", "active": ""},
    "line_add": {"rate_per_hour": "100"},
    "line_edit": {"rate_per_hour": "100"},
    "exemptions": {"resident": "0", "reason": "bedridden"},
    "plan_make": {"phase_order": "2-1"},
}


def test_every_url_of_the_plan_pages_is_in_the_matrix(world, planned):
    assert {p.name for p in urls_plan.urlpatterns} == set(matrix(planned, world))


def test_anonymous_visitors_are_sent_to_the_login_page(client, world, planned):
    before = snapshot()
    for name, (kwargs, methods, _cap) in matrix(planned, world).items():
        url = reverse(f"screening:{name}", kwargs=kwargs)
        for method in methods:
            response = getattr(client, method)(url, POSTS.get(name, {}))
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), (name, method)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["pharmacy_clerk", "staff_a1", "volunteer", "grid_worker", "health_centre"])
def test_roles_without_the_capability_get_403_and_nothing_is_written(client, world, planned, who):
    from xiuhua.accounts.roles import ROLE_CAPS, Role
    from xiuhua.testing import make_user

    user = make_user("hc", Role.HEALTH_CENTRE, world.street_a) if who == "health_centre" else getattr(world, who)
    role = user.memberships.get().role
    as_user(client, user)
    before = snapshot()
    checked = 0
    for name, (kwargs, methods, cap) in matrix(planned, world).items():
        if any(c in ROLE_CAPS[role] for c in cap.split("|")):
            continue
        url = reverse(f"screening:{name}", kwargs=kwargs)
        for method in methods:
            assert getattr(client, method)(url, POSTS.get(name, {})).status_code == 403, (name, method)
            checked += 1
    assert checked > 0
    assert snapshot() == before


def test_another_street_gets_404_and_nothing_is_written(client, world, planned):
    as_user(client, world.street_officer_b)
    before = snapshot()
    for name, (kwargs, methods, _cap) in matrix(planned, world).items():
        if not kwargs:
            continue
        url = reverse(f"screening:{name}", kwargs=kwargs)
        for method in methods:
            assert getattr(client, method)(url, POSTS.get(name, {})).status_code == 404, (name, method)
    assert snapshot() == before
    # The other street's committee staff alike (they keep a door-to-door list of their own).
    as_user(client, world.staff_b1)
    for name in ("round", "exemptions", "plan", "plan_notices"):
        kwargs = matrix(planned, world)[name][0]
        assert client.get(reverse(f"screening:{name}", kwargs=kwargs)).status_code == 404
    assert snapshot() == before


def test_a_committee_sees_the_round_but_not_the_managers_buttons_nor_other_committees_sites(client, world, planned):
    as_user(client, world.staff_a1)
    page = client.get(reverse("screening:round", args=[planned.round.pk])).content.decode()
    assert "国和一村广场" in page and "国和二村活动室" not in page
    assert 'id="round-close"' not in page and 'id="site-new"' not in page and 'id="exemptions-link"' in page
    assert client.get(reverse("screening:rounds")).content.decode().count("第一轮全员核酸筛查") == 1
    plan = client.get(reverse("screening:plan", args=[planned.round.pk])).content.decode()
    assert "5号" in plan and "12号" not in plan and 'id="plan-make"' not in plan


def test_a_street_officer_opens_a_round_and_sets_it_up_through_the_pages(client, world):
    as_user(client, world.street_officer)
    today = timezone.localdate()
    response = client.post(reverse("screening:round_new"), {
        "name": "第三轮筛查", "first_day": today.isoformat(), "last_day": today.isoformat(), "day_starts": "08:00",
        "day_ends": "18:00", "compounds": [world.compound_a1.pk]})
    r = ScreeningRound.objects.get(name="第三轮筛查")
    assert response.status_code == 302 and response["Location"] == reverse("screening:round", args=[r.pk])
    assert (r.scope, r.day_starts, r.status) == (world.street_a, dt.time(8, 0), "draft")
    assert list(RoundCompound.objects.filter(round=r).values_list("compound", flat=True)) == [world.compound_a1.pk]
    client.post(reverse("screening:compound_add", args=[r.pk]), {"compound": world.compound_a2.pk, "pool_rule": "5"})
    # A compound added by mistake leaves again; the round moves a day later, renamed.
    added = RoundCompound.objects.get(round=r, compound=world.compound_a2)
    page = client.get(reverse("screening:round", args=[r.pk])).content.decode()
    assert f'id="compound-remove-{added.pk}"' in page and 'id="round-edit"' in page
    client.post(reverse("screening:compound_remove", args=[added.pk]))
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    response = client.post(reverse("screening:round_edit", args=[r.pk]), {
        "name": "第三轮全员筛查", "first_day": tomorrow, "last_day": tomorrow, "day_starts": "08:00",
        "day_ends": "18:00"})
    assert response.status_code == 302
    r.refresh_from_db()
    assert (r.name, r.first_day.isoformat()) == ("第三轮全员筛查", tomorrow)
    client.post(reverse("screening:compound_add", args=[r.pk]), {"compound": world.compound_a2.pk, "pool_rule": "5"})
    client.post(reverse("screening:site_new", args=[r.pk]), {"committee": world.committee_a1.pk, "name": "一村广场",
                                                             "address": "", "line_count": "3", "rate_per_hour": ""})
    site = Site.objects.get(round=r)
    assert list(site.lines.values_list("number", "rate_per_hour")) == [(1, 200), (2, 200), (3, 200)]
    line = site.lines.get(number=3)
    client.post(reverse("screening:line_edit", args=[line.pk]), {"rate_per_hour": "150"})  # active unticked
    line.refresh_from_db()
    assert (line.rate_per_hour, line.active) == (150, False)
    client.post(reverse("screening:round_move", args=[r.pk, "open"]))
    r.refresh_from_db()
    assert r.status == "open"
    assert [e for e in AuditEvent.objects.order_by("pk").values_list("action", flat=True)] == [
        "screening_round_create", "screening_compound_add", "screening_compound_remove", "screening_round_change",
        "screening_compound_add", "screening_site_add", "screening_line_change", "screening_round_open"]
    page = client.get(reverse("screening:round", args=[r.pk])).content.decode()
    assert 'id="round-close"' in page and 'id="round-open"' not in page and 'id="compound-remove-' not in page
    # Open: the name still changes, the days no longer (their fields are shown, disabled).
    page = client.get(reverse("screening:round_edit", args=[r.pk])).content.decode()
    assert re.search(r'<input type="date" name="first_day"[^>]* disabled', page)


def test_bad_input_on_the_pages_is_answered_in_chinese_and_changes_nothing(client, world, screening):
    as_user(client, world.street_officer)
    before = snapshot()
    response = client.post(reverse("screening:round_new"), {
        "name": "坏轮次", "first_day": "2026-12-06", "last_day": "2026-12-01", "day_starts": "07:00",
        "day_ends": "19:00"})
    assert response.status_code == 200 and "采样末日不能早于首日" in response.content.decode()
    response = client.post(reverse("screening:site_new", args=[screening.round.pk]), {
        "committee": world.committee_a1.pk, "name": "国和一村广场", "line_count": "2"})
    assert "本轮已有同名采样点" in response.content.decode()
    response = client.post(reverse("screening:plan_make", args=[screening.round.pk]), {"phase_order": "3-1"},
                           follow=True)
    assert "分组呼叫顺序应由 1 到 n 的数字各出现一次组成,例如 4-2-3-1" in response.content.decode()
    response = client.post(reverse("screening:round_move", args=[screening.round.pk, "finish"]), follow=True)
    assert "筛查轮次不能从“采样中”改为“已结束”" in response.content.decode()
    assert client.post(reverse("screening:round_move", args=[screening.round.pk, "delete"])).status_code == 404
    assert snapshot() == before


def test_the_plan_page_shows_the_slots_and_the_queue_chart_as_inline_svg_without_scripts(client, world, screening):
    as_user(client, world.street_officer)
    response = client.post(reverse("screening:plan_make", args=[screening.round.pk]), {"phase_order": ""})
    assert response.status_code == 302 and CallSlot.objects.count() == 3
    page = client.get(reverse("screening:plan", args=[screening.round.pk]))
    html = page.content.decode()
    nonce = re.search(r'<style nonce="([^"]+)"', html).group(1)
    assert html.count("<svg ") == 2 and f'<style type="text/css" nonce="{nonce}">' in html
    charts = html[html.index("<svg "):html.rindex("</svg>")]
    assert "<script" not in charts and "xlink:href" not in charts
    assert all('src="/static/' in tag for tag in re.findall(r"<script[^>]*>", html))  # the site's own only
    assert "kozea" not in html.lower() and "pygal.org" not in html and ' style="' not in html
    assert "采样点“国和二村活动室”只有 1 个采样台,少于规则要求的至少 3 个同时开放" in html
    assert "采样点“国和一村广场”预计只有 2 人到场,各采样台的排队达不到 30 人的下限:可少开采样台或合并采样点" in html
    assert "5号" in html and "6号" in html and "12号" in html
    assert "07:00–07:01" in html


def test_the_notices_and_the_loudspeaker_texts_name_each_building_its_slot_and_site(client, world, planned):
    as_user(client, world.staff_a1)
    response = client.get(reverse("screening:plan_notices", args=[planned.round.pk]))
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("needs pdftotext (poppler-utils) to read the notice")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "n.pdf"
        source.write_bytes(response.content)
        text = subprocess.run(["pdftotext", str(source), "-"], capture_output=True, check=True).stdout.decode()
    # Committee A1 sees its one building with residents to call (6号's only resident is on the list).
    assert text.count("核酸筛查通知") == 1 and "国和一村5号" in text and "国和一村广场(国和路 1 号)" in text
    slot = CallSlot.objects.get(building=world.building_a1)
    start = timezone.localtime(slot.starts_at)
    assert f"{start.month}月{start.day}日 07:00 – 07:01" in text and "采样码" in text
    speaker = client.get(reverse("screening:plan_speaker", args=[planned.round.pk])).content.decode()
    assert f"请国和一村5号的居民,于{start.month}月{start.day}日07:00至07:01到国和一村广场排队核酸采样" in speaker


def test_the_slot_texts_go_once_to_each_household_in_the_order_of_the_slots(client, world, planned):
    as_user(client, world.street_officer)
    response = client.post(reverse("screening:plan_sms", args=[planned.round.pk]), follow=True)
    assert "已排队发送 2 条时段短信" in response.content.decode()
    rows = list(OutboundSms.objects.order_by("pk").values_list("phone", "template", "purpose"))
    # 5号 302 and 12号 201 have a mobile; 6号 has no slot (its only resident is on the list).
    assert rows == [("13812345678", "XH_SCREEN_SLOT", "screening_slot"), ("13700001111", "XH_SCREEN_SLOT",
                                                                         "screening_slot")]
    assert OutboundSms.objects.order_by("pk").first().params["site"] == "国和一村广场"
    client.post(reverse("screening:plan_sms", args=[planned.round.pk]))
    assert OutboundSms.objects.count() == 2
    sent = AuditEvent.objects.filter(action="screening_plan_sms").order_by("pk")
    assert list(sent.values_list("detail", flat=True)) == [
        {"queued": 2, "households": 2, "without_mobile": 0}, {"queued": 0, "households": 2, "without_mobile": 0}]


def test_the_committee_keeps_its_door_to_door_list_on_its_page(client, world, screening):
    as_user(client, world.staff_a1)
    url = reverse("screening:exemptions", args=[screening.round.pk])
    page = client.get(url, {"building": world.building_a1.pk}).content.decode()
    assert "张秀英" in page and world.building_a2.name not in page
    response = client.post(url, {"resident": world.resident_a1.pk, "reason": "disabled", "door_to_door": "on",
                                 "note": "轮椅"})
    assert response.status_code == 302
    row = ScreeningExemption.objects.get()
    assert (row.resident, row.reason, row.door_to_door, row.note) == (world.resident_a1, "disabled", True, "轮椅")
    before = snapshot()
    # Another committee's resident: one 404, nothing written.
    assert client.post(url, {"resident": world.resident_a2.pk, "reason": "disabled"}).status_code == 404
    assert snapshot() == before
    client.post(reverse("screening:exemption_remove", args=[row.pk]))
    assert not ScreeningExemption.objects.exists()


def test_the_door_to_door_list_downloads_for_the_mobile_team(client, world, planned):
    import io

    from openpyxl import load_workbook

    from xiuhua.core.models import AuditEvent

    as_user(client, world.staff_a1)
    response = client.get(reverse("screening:door_to_door_xlsx", kwargs={"round_id": planned.round.pk}))
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert rows == [[1, "国和一村6号", "101", "李建国", "长期卧床", "13812340000", None, None]]
    assert AuditEvent.objects.filter(action="screening_door_to_door_export", actor=world.staff_a1).count() == 1
    # Another committee of the street sees none of A1's people in its list.
    as_user(client, world.staff_a2)
    response = client.get(reverse("screening:door_to_door_xlsx", kwargs={"round_id": planned.round.pk}))
    assert [[c.value for c in row] for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(
        min_row=4)] == []
