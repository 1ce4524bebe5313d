"""Antigen reports through the services: exact outcomes, replacement rules, positives (the
committee's alert and the confirming single tube in screening), bad input refused with nothing
written, scoping, photos, reminders and coverage."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from xiuhua.antigen import selectors
from xiuhua.antigen.models import AntigenReport, ReminderSetting
from xiuhua.antigen.services import (
    antigen_confirm_positive,
    antigen_photo_open,
    antigen_remind,
    antigen_reminder_set,
    antigen_report,
    antigen_report_household,
    antigen_review_arrange,
    report_day,
)
from xiuhua.core.models import AuditEvent
from xiuhua.screening.models import PositiveCase, Review, ReviewStatus, Tube
from xiuhua.screening.selectors_results import open_reviews
from xiuhua.screening.services_results import ResultRow, results_apply, review_sample
from xiuhua.screening.tests.fixtures import build_screening
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting

from .conftest import png_bytes

pytestmark = pytest.mark.django_db


def snapshot():
    return (sorted(AntigenReport.objects.values_list("resident_id", "day", "result")),
            AuditEvent.objects.count(), OutboundSms.objects.count(), Review.objects.count())


def test_a_phone_reports_its_three_household_members_in_one_submission(family):
    w = family
    outcome = antigen_report_household(phone="13812345678", reports=[
        (w.resident_a1.pk, "negative"), (w.son_a1.pk, "阴性"), (w.grandson_a1.pk, "invalid")])
    assert (outcome.new, outcome.replaced, outcome.unchanged, outcome.positives) == (3, 0, 0, [])
    rows = AntigenReport.objects.order_by("resident_id")
    assert [(r.resident_id, r.result, r.channel, r.day, r.building_id, r.committee_id) for r in rows] == [
        (w.resident_a1.pk, "negative", "phone", report_day(), w.building_a1.pk, w.committee_a1.pk),
        (w.son_a1.pk, "negative", "phone", report_day(), w.building_a1.pk, w.committee_a1.pk),
        (w.grandson_a1.pk, "invalid", "phone", report_day(), w.building_a1.pk, w.committee_a1.pk),
    ]
    event = AuditEvent.objects.get(action="antigen_report")
    assert event.detail["new"] == 3 and event.personal and event.committee_id == w.committee_a1.pk
    assert not OutboundSms.objects.exists()  # nothing positive: no alert


def test_the_same_result_again_changes_nothing_and_another_replaces_it_audited(family):
    w = family
    antigen_report_household(phone="13812345678", reports=[(w.grandson_a1.pk, "invalid")])
    events = AuditEvent.objects.count()
    again = antigen_report_household(phone="13812345678", reports=[(w.grandson_a1.pk, "invalid")])
    assert (again.new, again.unchanged, AuditEvent.objects.count()) == (0, 1, events)
    retest = antigen_report_household(phone="13912340001", reports=[(w.grandson_a1.pk, "negative")])
    assert (retest.new, retest.replaced) == (0, 1)
    assert AntigenReport.objects.get(resident=w.grandson_a1).result == "negative"
    replaced = AuditEvent.objects.get(action="antigen_report_replace")
    assert replaced.detail == {"old": "invalid", "new": "negative", "channel": "phone", "photo": False}


def test_bad_input_is_refused_in_chinese_and_writes_nothing(family):
    w = family
    before = snapshot()
    with pytest.raises(ValidationError) as bad_result:
        antigen_report_household(phone="13812345678", reports=[(w.resident_a1.pk, "阴"), (w.son_a1.pk, "弱阳")])
    assert bad_result.value.messages == ["请选择结果:阴性、阳性或无效"]
    # Another household's member (committee A1 and B1 alike): one answer, and the valid pair is not written.
    for stranger in (w.resident_a1b, w.resident_b1):
        with pytest.raises(ValidationError) as not_yours:
            antigen_report_household(phone="13812345678", reports=[(w.resident_a1.pk, "negative"),
                                                                   (stranger.pk, "negative")])
        assert not_yours.value.messages == ["未找到该家庭成员,请刷新页面后重试"]
    with pytest.raises(ValidationError) as unknown_phone:
        antigen_report_household(phone="13999999999", reports=[(w.resident_a1.pk, "negative")])
    assert unknown_phone.value.messages == ["未找到该家庭成员,请刷新页面后重试"]
    with pytest.raises(ValidationError) as empty:
        antigen_report_household(phone="13812345678", reports=[])
    assert empty.value.messages == ["请选择要上报的家庭成员和结果"]
    assert snapshot() == before


def test_a_positive_alerts_the_committee_and_opens_a_single_tube_review_worked_like_a_pools(family):
    w = family
    screening = build_screening(w)
    outcome = antigen_report_household(phone="13912340001", reports=[(w.son_a1.pk, "阳性")])
    report = AntigenReport.objects.get(resident=w.son_a1)
    assert outcome.positives == [report.pk]
    alert = OutboundSms.objects.get(template="XH_ANTIGEN_POSITIVE")
    assert (alert.phone, alert.purpose) == ("13700009999", "antigen_positive")
    assert alert.text.endswith(
        "抗原阳性:国和一村居委会国和一村5号302室有居民今日抗原自测阳性,请立即联系并安排核酸单管复核。")
    review = report.review
    assert (review.source, review.status, review.pool_tube, review.round) == (
        "antigen", ReviewStatus.PENDING, None, screening.round)
    assert (review.code.resident, review.code.name_masked, review.code.room) == (w.son_a1, "张*", "302")
    assert AuditEvent.objects.filter(action="antigen_positive_alert", object_id=report.pk).count() == 1
    assert AuditEvent.objects.filter(action="screening_antigen_review_open", object_id=review.pk).count() == 1
    # The committee's reviews list holds it, and the door-to-door single tube and its result work as for a pool.
    staff = acting(w.staff_a1)
    assert list(open_reviews(staff)) == [review]
    review_sample(actor=staff, review_id=review.pk, barcode="AG0001")
    tube = Tube.objects.get(barcode="AG0001")
    assert (tube.retest, tube.pool_rule) == (True, "1")
    results_apply(actor=acting(w.street_officer), screening_round=screening.round,
                  rows=[ResultRow(1, "AG0001", "阳性")])
    review.refresh_from_db()
    assert review.status == ReviewStatus.POSITIVE
    case = PositiveCase.objects.get()
    assert (case.code, case.tube, case.building) == (review.code, tube, w.building_a1)
    # A second positive the next day while the review is open joins it.
    antigen_report_household(phone="13912340001", reports=[(w.son_a1.pk, "positive")],
                             now=timezone.now() + dt.timedelta(days=1))
    assert Review.objects.filter(source="antigen").count() == 2  # the first was closed; a new one opened


def test_without_an_open_round_the_positive_waits_and_the_committee_arranges_it_later(family):
    w = family
    antigen_report_household(phone="13812345678", reports=[(w.resident_a1.pk, "positive")])
    report = AntigenReport.objects.get(resident=w.resident_a1)
    assert report.review is None and OutboundSms.objects.filter(template="XH_ANTIGEN_POSITIVE").count() == 1
    staff = acting(w.staff_a1)
    with pytest.raises(ValidationError) as no_round:
        antigen_review_arrange(actor=staff, report_id=report.pk)
    assert no_round.value.messages == ["街道目前没有采样中的核酸筛查轮次,请联系街道开启后再安排复核"]
    screening = build_screening(w)
    antigen_review_arrange(actor=staff, report_id=report.pk)
    report.refresh_from_db()
    assert (report.review.round, report.review.source) == (screening.round, "antigen")
    with pytest.raises(Http404):  # another committee's staff
        antigen_review_arrange(actor=acting(w.staff_b1), report_id=report.pk)
    with pytest.raises(Http404):  # the grid worker follows up no positive
        antigen_confirm_positive(actor=acting(w.grid_worker), report_id=report.pk)
    antigen_confirm_positive(actor=staff, report_id=report.pk)
    report.refresh_from_db()
    assert report.confirmed_by == w.staff_a1 and report.confirmed_at is not None
    # Confirmed, it counts for zones: the compound is sealed from the report's day.
    from xiuhua.zones.models import Positive, Zone

    positive = Positive.objects.get()
    assert (positive.source, positive.source_ref, positive.building, positive.day) == (
        "antigen", f"antigen-{report.pk}", w.building_a1, report.day)
    zone = Zone.objects.get(unit=w.compound_a1)
    assert (zone.level, zone.clock_start) == ("sealed", report.day)
    with pytest.raises(ValidationError) as twice:
        antigen_confirm_positive(actor=staff, report_id=report.pk)
    assert twice.value.messages == ["该阳性已核实"]
    assert AuditEvent.objects.filter(action="antigen_positive_confirm").count() == 1


def test_staff_report_within_their_scope_only_and_a_positive_is_corrected_by_the_committee_alone(family):
    w = family
    grid = acting(w.grid_worker)
    report = antigen_report(actor=grid, resident_id=w.grandson_a1.pk, result="positive")
    assert (report.channel, report.reported_by, report.result) == ("staff", w.grid_worker, "positive")
    before = snapshot()
    with pytest.raises(ValidationError) as hidden:
        antigen_report(actor=grid, resident_id=w.grandson_a1.pk, result="negative")
    assert hidden.value.messages == ["张**今天已上报阳性,如报错请联系居委会更正"]
    with pytest.raises(ValidationError):  # nor from the household's phone
        antigen_report_household(phone="13812345678", reports=[(w.grandson_a1.pk, "negative")])
    for actor, resident in ((grid, w.resident_a1b),  # outside the grid worker's grid
                            (acting(w.staff_b1), w.resident_a1)):  # another committee
        with pytest.raises(Http404):
            antigen_report(actor=actor, resident_id=resident.pk, result="negative")
    with pytest.raises(PermissionDenied):  # the street sees but does not record
        antigen_report(actor=acting(w.street_officer), resident_id=w.resident_a1.pk, result="negative")
    assert snapshot() == before
    antigen_report(actor=acting(w.staff_a1), resident_id=w.grandson_a1.pk, result="negative")
    assert AntigenReport.objects.get(resident=w.grandson_a1).result == "negative"


def test_a_photo_is_kept_as_a_fresh_jpeg_and_every_view_is_audited(family):
    w = family
    staff = acting(w.staff_a1)
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        antigen_report(actor=staff, resident_id=w.grandson_a1.pk, result="negative",
                       photo=SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg"))
    assert refused.value.messages == ["无法识别该照片,请上传JPG或PNG照片"]
    assert snapshot() == before
    report = antigen_report(actor=staff, resident_id=w.grandson_a1.pk, result="negative",
                            photo=SimpleUploadedFile("c.png", png_bytes(), content_type="image/png"))
    assert report.photo.name.startswith("antigen/") and report.photo.name.endswith(".jpg")
    with antigen_photo_open(actor=acting(w.grid_worker), report_id=report.pk) as opened:
        assert opened.read(3) == b"\xff\xd8\xff"
    assert AuditEvent.objects.filter(action="antigen_photo_view", personal=True).count() == 1
    with pytest.raises(Http404):
        antigen_photo_open(actor=acting(w.staff_b1), report_id=report.pk)


def test_the_reminder_goes_once_a_day_to_each_household_not_yet_reported(family):
    w = family
    staff = acting(w.staff_a1)
    with pytest.raises(ValidationError) as bad_hour:
        antigen_reminder_set(actor=staff, committee=w.committee_a1, hour=24)
    assert bad_hour.value.messages == ["提醒时间应为 0 到 23 点"]
    with pytest.raises(PermissionDenied):
        antigen_reminder_set(actor=staff, committee=w.committee_b1, hour=20)
    with pytest.raises(PermissionDenied):
        antigen_reminder_set(actor=acting(w.grid_worker), committee=w.committee_a1, hour=20)
    assert not ReminderSetting.objects.exists()
    antigen_reminder_set(actor=staff, committee=w.committee_a1, hour=20)
    w.grid_worker.mobile = "13600005555"
    w.grid_worker.save(update_fields=["mobile"])
    # household_a1 (the grid worker's grid) reports but for the grandson; household_a1b (李建国) not at all.
    antigen_report_household(phone="13812345678", reports=[(w.resident_a1.pk, "negative"), (w.son_a1.pk, "negative")])
    beijing = timezone.get_default_timezone()
    today = timezone.localdate()
    before_hour = dt.datetime.combine(today, dt.time(19, 55), tzinfo=beijing)
    at_hour = dt.datetime.combine(today, dt.time(20, 0), tzinfo=beijing)
    assert antigen_remind(now=before_hour) == 0
    assert antigen_remind(now=at_hour) == 2
    assert antigen_remind(now=at_hour + dt.timedelta(minutes=5)) == 0  # once a day
    texts = OutboundSms.objects.filter(template="XH_ANTIGEN_REMIND").order_by("phone")
    assert [(t.phone, t.idempotency_key) for t in texts] == [
        ("13812340000", f"antigen-remind-{w.household_a1b.pk}-{today}"),
        ("13812345678", f"antigen-remind-{w.household_a1.pk}-{today}")]
    grid = OutboundSms.objects.get(template="XH_ANTIGEN_GRID")
    assert grid.phone == "13600005555" and grid.text.endswith(
        "抗原未上报:第一网格今天还有1人未上报,名单:http://127.0.0.1:8000/antigen/not-reported/")
    event = AuditEvent.objects.get(action="antigen_reminders_send")
    assert event.detail == {"households": 2, "queued": 2, "grid_workers": 1}


def test_coverage_per_building_and_grid_and_the_not_reported_list(family):
    w = family
    antigen_report_household(phone="13812345678", reports=[(w.resident_a1.pk, "negative"),
                                                           (w.son_a1.pk, "positive")])
    day = report_day()
    buildings, grids, total = selectors.coverage(acting(w.staff_a1), day)
    assert [(b.label, b.people, b.reported, b.waiting, b.positive) for b in buildings] == [
        ("国和一村5号", 3, 2, 1, 1), ("国和一村6号", 1, 0, 1, 0)]
    assert [(g.label, g.people, g.reported, g.positive) for g in grids] == [("第一网格", 3, 2, 1)]
    assert (total.people, total.reported, total.positive) == (4, 2, 1)
    assert [r.name for r in selectors.not_reported(acting(w.staff_a1), day)] == ["张小明", "李建国"]
    # The grid worker sees their grid's households only; another committee sees none of these.
    assert [r.name for r in selectors.not_reported(acting(w.grid_worker), day)] == ["张小明"]
    assert selectors.coverage(acting(w.staff_b1), day)[2].reported == 0
    street = selectors.coverage(acting(w.street_officer), day)[2]
    assert (street.people, street.reported) == (5, 2)  # A1's four and A2's one
