"""Lab results: pooled negatives in batches, a positive pool to 待复核 with texts in the same
transaction, the door-to-door single tube, positive cases, and every bad row reported."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.screening.models import (
    PoolRule,
    PositiveCase,
    Review,
    ReviewStatus,
    SamplingCode,
    Tube,
    TubeMember,
    TubeStatus,
)
from xiuhua.screening.services_results import ResultRow, results_apply, results_import_file, review_sample
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting, make_resident

pytestmark = pytest.mark.django_db


def codes_for(world, screening, count, *, start=0):
    """`count` people of building 5号 (rooms 1xx from `start`), each with a code; every three
    share a phone."""
    from xiuhua.residents.models import Household

    codes = []
    for i in range(start, start + count):
        household = Household.objects.create(building=world.building_a1, room=f"{100 + i}")
        person = make_resident(household, f"居民{i:02d}", mobile=f"1391000{i // 3:04d}")
        codes.append(SamplingCode.objects.create(
            round=screening.round, reference=f"CODE{i:08d}", committee=world.committee_a1,
            building=world.building_a1, household=household, resident=person, name_masked=f"居*{i}",
            room=household.room, phone=person.mobile))
    return codes


def closed_tube(screening, barcode, codes, *, sampled=None, rule=PoolRule.TEN):
    sampled = sampled or timezone.now() - dt.timedelta(hours=3)
    tube = Tube.objects.create(round=screening.round, site=screening.site_a1, barcode=barcode, pool_rule=rule,
                               capacity=10, opened_at=sampled, closed_at=sampled, status=TubeStatus.CLOSED)
    for code in codes:
        TubeMember.objects.create(tube=tube, code=code, scanned_at=sampled)
    return tube


def test_a_positive_pool_puts_its_people_under_review_and_texts_each_phone_once(world, screening):
    officer = acting(world.street_officer)
    codes = codes_for(world, screening, 20)
    negative = closed_tube(screening, "T0001", codes[:10])
    positive = closed_tube(screening, "T0002", codes[10:])
    lab_time = timezone.now() - dt.timedelta(minutes=30)
    outcome = results_apply(actor=officer, screening_round=screening.round, rows=[
        ResultRow(1, "T0001", "阴性", lab_time), ResultRow(2, " t0002 ", "阳性", lab_time)])
    assert (outcome.applied, outcome.unchanged, outcome.reviews, outcome.problems) == (2, 0, 10, [])
    negative.refresh_from_db()
    positive.refresh_from_db()
    assert (negative.status, negative.result, negative.resulted_at) == (TubeStatus.RESULTED, "negative", lab_time)
    assert (positive.status, positive.result) == (TubeStatus.RESULTED, "positive")
    reviews = Review.objects.filter(pool_tube=positive)
    assert sorted(r.code.reference for r in reviews) == [c.reference for c in codes[10:]]
    assert {r.status for r in reviews} == {ReviewStatus.PENDING}
    # People 10..19 have phones 13910000003..6 (three to a phone): four texts, one per phone.
    texts = OutboundSms.objects.filter(purpose="screening_review")
    assert sorted(t.phone for t in texts) == ["13910000003", "13910000004", "13910000005", "13910000006"]
    assert outcome.texts == 4 and "留在家中" in texts[0].text
    assert not Review.objects.filter(pool_tube=negative).exists()


def test_the_door_to_door_single_tube_closes_the_review_and_a_positive_opens_a_case(world, screening):
    officer, staff = acting(world.street_officer), acting(world.staff_a1)
    codes = codes_for(world, screening, 3)
    pool = closed_tube(screening, "T0100", codes)
    results_apply(actor=officer, screening_round=screening.round, rows=[ResultRow(1, "T0100", "阳性")])
    first, second, third = Review.objects.filter(pool_tube=pool).order_by("code__reference")
    for review, barcode in ((first, "R0001"), (second, "R0002"), (third, "R0003")):
        review_sample(actor=staff, review_id=review.pk, barcode=barcode)
    with pytest.raises(ValidationError):  # a tube is used once
        review_sample(actor=staff, review_id=first.pk, barcode="R0001")
    outcome = results_apply(actor=officer, screening_round=screening.round, rows=[
        ResultRow(1, "R0001", "阴性"), ResultRow(2, "R0002", "阳性"), ResultRow(3, "R0003", "无效")])
    assert (outcome.applied, outcome.positives, outcome.problems) == (3, 1, [])
    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert (first.status, second.status, third.status) == (
        ReviewStatus.CLEARED, ReviewStatus.POSITIVE, ReviewStatus.PENDING)
    assert third.retest_tube is None  # an invalid single: another tube is taken
    case = PositiveCase.objects.get()
    assert (case.code, case.committee, case.building, case.tube.barcode) == (
        second.code, world.committee_a1, world.building_a1, "R0002")


def test_every_bad_row_is_reported_and_changes_nothing(world, screening):
    officer = acting(world.street_officer)
    codes = codes_for(world, screening, 4)
    done = closed_tube(screening, "T0200", codes[:2])
    results_apply(actor=officer, screening_round=screening.round, rows=[ResultRow(1, "T0200", "阴性")])
    open_tube = Tube.objects.create(round=screening.round, site=screening.site_a1, barcode="T0201",
                                    pool_rule=PoolRule.TEN, capacity=10, opened_at=timezone.now())
    twice = closed_tube(screening, "T0202", codes[2:3])
    early = closed_tube(screening, "T0203", codes[3:4], sampled=timezone.now() - dt.timedelta(hours=1))
    Tube.objects.create(round=screening.round_b, site=screening.site_b1, barcode="B0001", pool_rule=PoolRule.TEN,
                        capacity=10, opened_at=timezone.now(), status=TubeStatus.CLOSED)
    events = AuditEvent.objects.count()
    statuses = dict(Tube.objects.values_list("barcode", "status"))
    outcome = results_apply(actor=officer, screening_round=screening.round, rows=[
        ResultRow(2, "T0200", "阴性"),  # the same result again: unchanged
        ResultRow(4, "T0201", "阴性"),
        ResultRow(5, "NOPE9999", "阴性"),
        ResultRow(6, "B0001", "阴性"),
        ResultRow(7, "T0202", "阴性"),
        ResultRow(8, "T0202", "阳性"),
        ResultRow(9, "T0203", "阴性", timezone.now() - dt.timedelta(hours=2)),
        ResultRow(10, "T0203", "阴性", timezone.now() + dt.timedelta(hours=2)),
        ResultRow(11, "T0203", "弱阳"),
        ResultRow(12, "", "阴性"),
        ResultRow(13, "T0203", "阴性", at_text="昨天下午"),
    ])
    problems = {p["row"]: p["problem"] for p in outcome.problems}
    assert (outcome.applied, outcome.unchanged) == (0, 1)
    assert problems == {
        4: "该试管尚未封管,不能录入结果",
        5: "未找到该试管:不是本系统采样的试管",
        6: "该试管属于其他筛查轮次",
        7: "同一试管在文件中出现多次且结果不同,均未录入",
        8: "同一试管在文件中出现多次且结果不同,均未录入",
        9: "检测时间早于采样时间,请检查实验室系统时间",
        10: "检测时间晚于现在,请检查实验室系统时间",
        11: "检测结果无法识别:应为阴性、阳性或无效",
        12: "试管条码为空或格式不对",
        13: "检测时间无法识别:昨天下午",
    }
    outcome = results_apply(actor=officer, screening_round=screening.round, rows=[ResultRow(3, "T0200", "阳性")])
    assert outcome.problems == [{"row": 3, "barcode": "T0200",
                                 "problem": "该试管已录入结果“阴性”,与本行不同;如需更正请联系街道"}]
    assert dict(Tube.objects.values_list("barcode", "status")) == statuses
    assert {open_tube.barcode, twice.barcode, early.barcode, done.barcode} <= set(statuses)
    assert AuditEvent.objects.count() == events and not Review.objects.exists()


def test_only_the_street_records_results_of_its_own_round(world, screening):
    codes = codes_for(world, screening, 1)
    closed_tube(screening, "T0300", codes)
    rows = [ResultRow(1, "T0300", "阳性")]
    with pytest.raises(PermissionDenied):
        results_apply(actor=acting(world.staff_a1), screening_round=screening.round, rows=rows)
    with pytest.raises(Http404):
        results_apply(actor=acting(world.street_officer_b), screening_round=screening.round, rows=rows)
    assert not Review.objects.exists() and Tube.objects.get(barcode="T0300").status == TubeStatus.CLOSED


def test_a_lab_file_is_read_and_the_same_file_twice_is_refused(world, screening):
    from io import BytesIO

    import openpyxl

    officer = acting(world.street_officer)
    codes = codes_for(world, screening, 2)
    closed_tube(screening, "T0400", codes[:1])
    closed_tube(screening, "T0401", codes[1:])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["某某检测实验室 结果回传"])
    sheet.append(["序号", "试管条码", "检测结果", "检测时间"])
    now_local = timezone.localtime() - dt.timedelta(minutes=5)
    sheet.append([1, "T0400 ", "阴性", now_local.strftime("%Y-%m-%d %H:%M")])
    sheet.append([2, "T0401", "阳性(+)", now_local.strftime("%Y/%m/%d %H:%M")])
    sheet.append([3, "X9999", "阴性", ""])
    buffer = BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    record = results_import_file(actor=officer, screening_round=screening.round, data=data, filename="结果.xlsx")
    assert (record.rows_total, record.applied, record.unchanged) == (3, 2, 0)
    assert record.problems == [{"row": 5, "barcode": "X9999", "problem": "未找到该试管:不是本系统采样的试管"}]
    assert Review.objects.count() == 1
    expected = now_local.replace(second=0, microsecond=0)
    assert Tube.objects.get(barcode="T0400").resulted_at == expected
    with pytest.raises(ValidationError) as refused:
        results_import_file(actor=officer, screening_round=screening.round, data=data, filename="结果.xlsx")
    assert refused.value.message_dict == {"file": ["这个文件已经导入过,未重复录入"]}
    with pytest.raises(ValidationError):
        results_import_file(actor=officer, screening_round=screening.round, data=b"a,b\n1,2\n", filename="x.csv")


def test_tubes_without_a_result_after_24_hours_alert_the_street_once(world, screening):
    from xiuhua.screening.services_results import results_overdue_alert

    world.street_officer.mobile = "13800000001"
    world.street_officer.save(update_fields=["mobile"])
    codes = codes_for(world, screening, 3)
    now = timezone.now()
    late = closed_tube(screening, "T0500", codes[:1], sampled=now - dt.timedelta(hours=25))
    closed_tube(screening, "T0501", codes[1:2], sampled=now - dt.timedelta(hours=23))
    resulted = closed_tube(screening, "T0502", codes[2:], sampled=now - dt.timedelta(hours=30))
    results_apply(actor=acting(world.street_officer), screening_round=screening.round,
                  rows=[ResultRow(1, "T0502", "阴性", now - dt.timedelta(hours=1))])
    assert results_overdue_alert(now=now) == 1
    late.refresh_from_db()
    assert late.overdue_alerted_at == now and late.status == TubeStatus.CLOSED
    text = OutboundSms.objects.get(purpose="screening_overdue")
    assert text.phone == "13800000001"
    assert text.text.endswith("核酸结果预警:第一轮全员核酸筛查有1管采样超过24小时仍无结果,请联系检测机构核实。")
    assert results_overdue_alert(now=now + dt.timedelta(minutes=5)) == 0  # once per tube
    assert resulted.pk and AuditEvent.objects.filter(action="screening_results_overdue").count() == 1


def test_the_lab_receives_a_handed_over_box_with_its_tubes(world, screening):
    from xiuhua.screening.models import Box, BoxStatus
    from xiuhua.screening.services_results import box_receive

    officer = acting(world.street_officer)
    codes = codes_for(world, screening, 2)
    box = Box.objects.create(round=screening.round, site=screening.site_a1, barcode="BOX001",
                             status=BoxStatus.HANDED_OVER, handed_over_at=timezone.now())
    sampled = timezone.now() - dt.timedelta(hours=2)
    for k, code in enumerate(codes):  # boxed and handed over, as the station leaves them
        tube = Tube.objects.create(round=screening.round, site=screening.site_a1, barcode=f"T080{k}", box=box,
                                   pool_rule=PoolRule.TEN, capacity=10, opened_at=sampled, closed_at=sampled,
                                   status=TubeStatus.HANDED_OVER)
        TubeMember.objects.create(tube=tube, code=code, scanned_at=sampled)
    packing = Box.objects.create(round=screening.round, site=screening.site_a1, barcode="BOX002")
    with pytest.raises(ValidationError) as refused:
        box_receive(actor=officer, screening_round=screening.round, barcode="box002")
    assert refused.value.message_dict == {"barcode": ["该转运箱尚未交接转运,不能接收"]}
    received = box_receive(actor=officer, screening_round=screening.round, barcode=" box001 ")
    assert received.status == BoxStatus.RECEIVED and received.received_at is not None
    assert set(Tube.objects.filter(box=box).values_list("status", flat=True)) == {TubeStatus.RECEIVED}
    with pytest.raises(ValidationError):
        box_receive(actor=officer, screening_round=screening.round, barcode="BOX001")
    with pytest.raises(Http404):  # another street's round
        box_receive(actor=officer, screening_round=screening.round_b, barcode="BOX001")
    packing.refresh_from_db()
    assert packing.status == BoxStatus.PACKING
