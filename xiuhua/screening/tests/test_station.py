"""The station's batches: each event's answer, exactly once, refusals that change nothing."""

import datetime as dt
import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.screening.models import (
    Box,
    BoxStatus,
    PoolRule,
    SamplingCode,
    StationBatch,
    Tube,
    TubeMember,
    TubeStatus,
)
from xiuhua.screening.services_station import site_live_counts, station_batch_apply
from xiuhua.testing import acting

pytestmark = pytest.mark.django_db
_keys = itertools.count(1)


def walk_in(screening, building, n, *, household=None, round_=None):
    """A code of someone not on the roster, in `building` (its compound gives the pool rule)."""
    return SamplingCode.objects.create(
        round=round_ or screening.round, reference=f"W{building.pk:03d}X{n:05d}", committee_id=building.committee_id,
        building=building, household=household, walk_in=True, walk_in_name=f"访客{n}", name_masked=f"访*{n}",
    )


def now_iso(minutes=0):
    return (timezone.now() + dt.timedelta(minutes=minutes)).isoformat()


def send(screening, user, events, *, key=None, site=None):
    return station_batch_apply(actor=acting(user), round=screening.round, site=site or screening.site_a1,
                               key=key or f"key-{next(_keys):06d}", events=events)


def tube(barcode, line=1):
    return {"kind": "tube", "barcode": barcode, "line": line, "at": now_iso()}


def person(tube_barcode, code):
    return {"kind": "person", "tube": tube_barcode, "code": code.reference, "at": now_iso()}


def snapshot():
    return (sorted(Tube.objects.values_list("barcode", "status", "capacity", "box_id")),
            sorted(TubeMember.objects.values_list("tube_id", "code_id")),
            sorted(Box.objects.values_list("barcode", "status")))


def test_ten_people_fill_a_tube_which_closes_itself_and_is_boxed_and_handed_over(world, screening):
    codes = [walk_in(screening, world.building_a1, n) for n in range(11)]
    events = [tube(" T0001 ")] + [person("T0001", c) for c in codes]
    answer = send(screening, world.volunteer, events)
    results = answer["results"]
    assert [r["ok"] for r in results] == [True] * 11 + [False]
    assert results[0]["tube"] == "T0001"  # the spaces around a scanned barcode are dropped
    assert results[1]["name"] == "访*0" and results[1]["building"] == "国和一村5号"
    assert results[1]["count"] == 1 and results[1]["capacity"] == 10
    assert results[10]["status"] == TubeStatus.CLOSED and "自动封管" in results[10]["message"]
    assert results[11]["message"] == "试管 T0001 已封管,请扫描新试管"
    assert answer["accepted"] == 11 and answer["refused"] == 1
    t = Tube.objects.get(barcode="T0001")
    assert (t.status, t.capacity, t.pool_rule, t.line.number, t.members.count()) == (
        TubeStatus.CLOSED, 10, PoolRule.TEN, 1, 10)
    assert AuditEvent.objects.filter(action="screening_tube_close").count() == 1

    answer = send(screening, world.volunteer, [
        {"kind": "box", "box": "BOX01", "tube": "T0001", "at": now_iso()},
        {"kind": "hand_over", "box": "BOX01", "at": now_iso()},
    ])
    assert [r["ok"] for r in answer["results"]] == [True, True], answer
    assert Box.objects.get(barcode="BOX01").status == BoxStatus.HANDED_OVER
    assert Tube.objects.get(barcode="T0001").status == TubeStatus.HANDED_OVER
    assert AuditEvent.objects.filter(action="screening_box_hand_over").count() == 1
    assert AuditEvent.objects.filter(action="screening_tube_hand_over").get().detail["count"] == 1
    assert AuditEvent.objects.filter(action="screening_station_batch").count() == 2


def test_the_pool_rule_comes_from_the_first_persons_compound(world, screening):
    five = [walk_in(screening, world.building_a2, n) for n in range(6)]  # compound A2: 5 per tube
    ten = walk_in(screening, world.building_a1, 99)
    answer = send(screening, world.street_officer, [tube("T5"), *[person("T5", c) for c in five[:5]],
                                                    tube("T6"), person("T6", ten), person("T6", five[5])])
    results = answer["results"]
    assert results[1]["capacity"] == 5 and results[5]["status"] == TubeStatus.CLOSED
    assert Tube.objects.get(barcode="T5").pool_rule == PoolRule.FIVE
    # A person whose compound pools 5 to a tube does not go into a 10:1 tube.
    assert results[8] == {"ok": False,
                          "message": "该居民所在小区按“5 人 1 管”采样,不能放入“10 人 1 管”的试管,请换一支试管"}
    assert Tube.objects.get(barcode="T6").members.count() == 1


def test_a_household_tube_takes_one_household(world, screening):
    screening.compound_a1.pool_rule = PoolRule.HOUSEHOLD
    screening.compound_a1.save()
    a = walk_in(screening, world.building_a1, 1, household=world.household_a1)
    b = walk_in(screening, world.building_a1, 2, household=world.household_a1)
    other = walk_in(screening, world.building_a1b, 3, household=world.household_a1b)
    answer = send(screening, world.volunteer, [tube("TH"), person("TH", a), person("TH", b), person("TH", other)])
    assert [r["ok"] for r in answer["results"]] == [True, True, True, False]
    assert answer["results"][3]["message"] == "一户一管:该试管已有其他户的居民,请换一支试管"
    assert Tube.objects.get(barcode="TH").pool_rule == PoolRule.HOUSEHOLD


def test_refusals_say_why_and_change_nothing(world, screening):
    mine = walk_in(screening, world.building_a1, 1)
    other_round = walk_in(screening, world.building_b1, 2, round_=screening.round_b)
    send(screening, world.volunteer, [tube("T1"), person("T1", mine)])
    # A tube of street B's round.
    Tube.objects.create(round=screening.round_b, site=screening.site_b1, barcode="TB", pool_rule=PoolRule.TEN,
                        capacity=10, opened_at=timezone.now())
    before = snapshot()
    audits = AuditEvent.objects.exclude(action="screening_station_batch").count()
    answer = send(screening, world.volunteer, [
        person("T1", mine),                                   # already sampled
        {"kind": "person", "tube": "T1", "code": "NOSUCHCODE", "at": now_iso()},
        person("T1", other_round),                            # a code of another round
        person("TB", mine),                                   # a tube of another round
        tube("TB"),
        person("T9", mine),                                   # a tube never started
        tube("T 2"),                                          # a space inside the barcode
        tube("T3", line=7),                                   # no such line
        {"kind": "close", "tube": "TX", "at": now_iso()},
        {"kind": "box", "box": "BX", "tube": "T1", "at": now_iso()},  # an open tube
        {"kind": "hand_over", "box": "BX", "at": now_iso()},
        {"kind": "explode"},
        "nonsense",
    ])
    messages = [r["message"] for r in answer["results"]]
    assert messages == [
        "该居民本轮已采样(试管 T1),不能重复采样",
        "采样码无效,请核对或到登记台重新领取",
        "这是其他筛查轮次的采样码,请出示本轮采样码",
        "试管 TB 属于其他筛查轮次,不能在本轮使用",
        "试管 TB 属于其他筛查轮次,不能在本轮使用",
        "试管 T9 尚未开始采样,请先扫描试管条码",
        "条码中含有空格或不可见字符,请重新扫描",
        "本采样点没有 7 号采样台",
        "试管 TX 尚未开始采样,请先扫描试管条码",
        "试管 T1 尚未封管,请先封管再装箱",
        "转运箱 BX 还没有装入试管",
        "无法识别的扫码记录",
        "无法识别的扫码记录",
    ]
    assert answer["accepted"] == 0 and answer["refused"] == 13
    assert snapshot() == before
    assert AuditEvent.objects.exclude(action="screening_station_batch").count() == audits


def test_a_resent_batch_answers_as_the_first_time_and_changes_nothing(world, screening):
    codes = [walk_in(screening, world.building_a1, n) for n in range(3)]
    events = [tube("T1"), *[person("T1", c) for c in codes], person("T1", codes[0])]
    first = send(screening, world.volunteer, events, key="device-1-batch-0001")
    before = snapshot(), AuditEvent.objects.count()
    again = send(screening, world.volunteer, events, key="device-1-batch-0001")
    assert again == first
    assert (snapshot(), AuditEvent.objects.count()) == before
    assert StationBatch.objects.count() == 1
    # The same key from another person is not theirs to replay.
    with pytest.raises(ValidationError):
        send(screening, world.staff_a1, events, key="device-1-batch-0001")


def test_a_wrong_device_clock_is_replaced_by_the_servers_and_said(world, screening):
    a, b, c = (walk_in(screening, world.building_a1, n) for n in range(3))
    # Taken offline hours ago (up to three, but not before the round's first day began): kept.
    now = timezone.now()
    midnight = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time()))
    earlier = now - min(dt.timedelta(hours=3), (now - midnight) / 2)
    answer = send(screening, world.volunteer, [
        tube("T1"),
        {"kind": "person", "tube": "T1", "code": a.reference, "at": earlier.isoformat()},
        {"kind": "person", "tube": "T1", "code": b.reference, "at": now_iso(minutes=60 * 24)},
        {"kind": "person", "tube": "T1", "code": c.reference, "at": "2001-01-01T08:00:00+08:00"},
    ])
    results = answer["results"]
    assert all(r["ok"] for r in results)
    assert "note" not in results[1]
    assert results[2]["note"] == results[3]["note"] == "设备时间不准,已按服务器时间记录,请校准手机或电脑时间"
    times = dict(TubeMember.objects.values_list("code_id", "scanned_at"))
    assert times[a.pk] == earlier
    assert abs(times[b.pk] - timezone.now()) < dt.timedelta(minutes=1)
    assert abs(times[c.pk] - timezone.now()) < dt.timedelta(minutes=1)


def test_access_needs_collect_samples_and_a_visible_site(world, screening):
    events = [tube("T1")]
    for user in (world.grid_worker, world.pharmacy_clerk, world.district_officer):
        with pytest.raises(PermissionDenied):
            send(screening, user, events)
    with pytest.raises(PermissionDenied):  # committee A1's volunteer at committee A2's site
        send(screening, world.volunteer, events, site=screening.site_a2)
    assert not Tube.objects.exists() and not StationBatch.objects.exists()


def test_a_round_not_open_takes_no_scans(world, screening):
    from xiuhua.core.workflow import move

    move(screening.round, "close", actor=acting(world.street_officer))
    with pytest.raises(ValidationError) as refused:
        send(screening, world.volunteer, [tube("T1")])
    assert "本轮筛查不在采样中" in str(refused.value)
    assert not Tube.objects.exists() and not StationBatch.objects.exists()


def test_live_counts(world, screening):
    codes = [walk_in(screening, world.building_a1, n) for n in range(12)]
    send(screening, world.volunteer, [tube("T1", line=1), *[person("T1", c) for c in codes[:10]],
                                      tube("T2", line=2), *[person("T2", c) for c in codes[10:]]])
    old = TubeMember.objects.filter(code=codes[0])
    old.update(scanned_at=timezone.now() - dt.timedelta(minutes=30))
    counts = site_live_counts(screening.site_a1)
    assert counts["lines"] == [{"line": 1, "last_10": 9, "last_60": 10}, {"line": 2, "last_10": 2, "last_60": 2},
                               {"line": 3, "last_10": 0, "last_60": 0}]
    assert (counts["people"], counts["tubes_open"], counts["tubes_closed"]) == (12, 1, 1)
    assert (counts["boxes_packing"], counts["boxes_handed_over"]) == (0, 0)


def test_a_sample_that_meets_a_parallel_one_redoes_the_batch_one_by_one(world, screening, monkeypatch):
    """What a PostgreSQL race does (test_station_concurrency), made certain: the batch's look at
    who is sampled misses a person another station just sampled, so the batch's one INSERT
    meets them; the batch is done again one by one, and its answers follow what landed."""
    from xiuhua.screening import services_station

    codes = [walk_in(screening, world.building_a1, n) for n in range(11)]
    send(screening, world.staff_a1, [tube("OTHER"), person("OTHER", codes[3])])
    prefetch = services_station._prefetch
    calls = []

    def blind(state, events):
        prefetch(state, events)
        calls.append(state.one_by_one)
        if not state.one_by_one:
            state.sampled.clear()  # as if the other station committed just after this read

    monkeypatch.setattr(services_station, "_prefetch", blind)
    answer = send(screening, world.volunteer, [tube("T1"), *[person("T1", c) for c in codes]])
    assert calls == [False, True]
    results = answer["results"]
    assert results[4] == {"ok": False, "message": "该居民本轮已采样(试管 OTHER),不能重复采样"}
    # Ten others fill T1: the eleventh code fits because the refused one took no place.
    assert [r["ok"] for r in results] == [True] * 4 + [False] + [True] * 7
    assert results[-1]["count"] == 10 and results[-1]["status"] == TubeStatus.CLOSED
    assert TubeMember.objects.filter(tube__barcode="T1").count() == 10
    assert TubeMember.objects.count() == 11
