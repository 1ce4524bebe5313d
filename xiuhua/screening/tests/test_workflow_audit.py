"""Every declared action of the screening workflows, driven through the service the pages (or the
station, or the lab) call, writes exactly one audit event named after it and reaches its target
state. A driver prepares a record for its action and returns it with the call that moves it; an
action declared without a driver fails here."""

import itertools

import pytest
from django.utils import timezone

from xiuhua.screening.models import Box, SamplingCode, Tube
from xiuhua.screening.models_results import Review
from xiuhua.screening.services_results import ResultRow, box_receive, results_apply, review_sample
from xiuhua.screening.services_rounds import screening_round_create, screening_round_move
from xiuhua.screening.services_station import station_batch_apply
from xiuhua.screening.workflows import BOX, REVIEW, SCREENING_ROUND, TUBE
from xiuhua.testing import acting, assert_moved_once

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)


def _officer(world):
    return acting(world.street_officer)


# ---------------------------------------------------------------- the round


def _draft(world, s):
    today = timezone.localdate()
    return screening_round_create(actor=_officer(world), scope=world.street_a, name="第2轮", first_day=today,
                                  last_day=today)


def _closed(world, s):
    screening_round_move(actor=_officer(world), screening_round=s.round, action="close")
    return s.round


def _round_move(action, round_of):
    def driver(world, s):
        screening_round = round_of(world, s)
        return screening_round, lambda: screening_round_move(actor=_officer(world), screening_round=screening_round,
                                                             action=action)
    return driver


ROUND_DRIVERS = {
    "open": _round_move("open", _draft),
    "close": _round_move("close", lambda world, s: s.round),
    "reopen": _round_move("reopen", _closed),
    "finish": _round_move("finish", _closed),
}


# ---------------------------------------------------------------- the station, the lab


def _code(world, s):
    n = next(_numbers)
    return SamplingCode.objects.create(round=s.round, reference=f"WA{n:08d}", committee=world.committee_a1,
                                       building=world.building_a1, walk_in=True, walk_in_name=f"访客{n}",
                                       name_masked="访*")


def _send(world, s, events):
    at = timezone.now().isoformat()
    return station_batch_apply(actor=acting(world.volunteer), round=s.round, site=s.site_a1,
                               key=f"audit-{next(_numbers):06d}", events=[{**e, "at": at} for e in events])


def _open_tube(world, s):
    barcode = f"T{next(_numbers):06d}"
    answer = _send(world, s, [{"kind": "tube", "barcode": barcode, "line": 1},
                              {"kind": "person", "tube": barcode, "code": _code(world, s).reference}])
    assert answer["refused"] == 0, answer
    return Tube.objects.get(barcode=barcode)


def _closed_tube(world, s):
    tube = _open_tube(world, s)
    _send(world, s, [{"kind": "close", "tube": tube.barcode}])
    return tube


def _boxed_tube(world, s, box="BOX"):
    tube = _closed_tube(world, s)
    box = f"{box}{next(_numbers):05d}"
    _send(world, s, [{"kind": "box", "box": box, "tube": tube.barcode}])
    return tube, Box.objects.get(barcode=box)


def _handed_over(world, s):
    tube, box = _boxed_tube(world, s)
    _send(world, s, [{"kind": "hand_over", "box": box.barcode}])
    return tube, box


def _receive(world, s, box):
    return lambda: box_receive(actor=_officer(world), screening_round=s.round, barcode=box.barcode)


def _result(world, s, tube, result="阴性"):
    at = timezone.now()
    return lambda: results_apply(actor=_officer(world), screening_round=s.round,
                                 rows=[ResultRow(1, tube.barcode, result, at)])


def _tube_close(world, s):
    tube = _open_tube(world, s)
    return tube, lambda: _send(world, s, [{"kind": "close", "tube": tube.barcode}])


def _tube_box(world, s):
    tube = _closed_tube(world, s)
    return tube, lambda: _send(world, s, [{"kind": "box", "box": f"BOX{next(_numbers):05d}", "tube": tube.barcode}])


def _tube_hand_over(world, s):
    tube, box = _boxed_tube(world, s)
    return tube, lambda: _send(world, s, [{"kind": "hand_over", "box": box.barcode}])


def _tube_receive(world, s):
    tube, box = _handed_over(world, s)
    return tube, _receive(world, s, box)


def _tube_result(world, s):
    tube = _closed_tube(world, s)
    return tube, _result(world, s, tube)


TUBE_DRIVERS = {
    "close": _tube_close, "box": _tube_box, "hand_over": _tube_hand_over, "receive": _tube_receive,
    "result": _tube_result,
}


def _box_hand_over(world, s):
    _tube, box = _boxed_tube(world, s)
    return box, lambda: _send(world, s, [{"kind": "hand_over", "box": box.barcode}])


def _box_receive(world, s):
    _tube, box = _handed_over(world, s)
    return box, _receive(world, s, box)


BOX_DRIVERS = {"hand_over": _box_hand_over, "receive": _box_receive}


# ---------------------------------------------------------------- reviews


def _pending(world, s):
    tube = _closed_tube(world, s)
    _result(world, s, tube, "阳性")()
    return Review.objects.get(pool_tube=tube)


def _sampled(world, s):
    review = _pending(world, s)
    barcode = f"R{next(_numbers):06d}"
    review_sample(actor=acting(world.staff_a1), review_id=review.pk, barcode=barcode)
    return review, Tube.objects.get(barcode=barcode)


def _review_sample(world, s):
    review = _pending(world, s)
    return review, lambda: review_sample(actor=acting(world.staff_a1), review_id=review.pk,
                                         barcode=f"R{next(_numbers):06d}")


def _review_by_result(result):
    def driver(world, s):
        review, single = _sampled(world, s)
        return review, _result(world, s, single, result)
    return driver


REVIEW_DRIVERS = {
    "sample": _review_sample, "clear": _review_by_result("阴性"), "confirm": _review_by_result("阳性"),
    "resample": _review_by_result("无效"),
}


def _one_event_and_the_target_state(workflow, drivers, action, world, screening):
    record, act = drivers[action](world, screening)
    assert_moved_once(workflow, action, record, act)


@pytest.mark.parametrize("action", sorted(SCREENING_ROUND.actions))
def test_each_round_action(world, screening, action):
    _one_event_and_the_target_state(SCREENING_ROUND, ROUND_DRIVERS, action, world, screening)


@pytest.mark.parametrize("action", sorted(TUBE.actions))
def test_each_tube_action(world, screening, action):
    _one_event_and_the_target_state(TUBE, TUBE_DRIVERS, action, world, screening)


@pytest.mark.parametrize("action", sorted(BOX.actions))
def test_each_box_action(world, screening, action):
    _one_event_and_the_target_state(BOX, BOX_DRIVERS, action, world, screening)


@pytest.mark.parametrize("action", sorted(REVIEW.actions))
def test_each_review_action(world, screening, action):
    _one_event_and_the_target_state(REVIEW, REVIEW_DRIVERS, action, world, screening)

