"""Every declared mutual-aid action, taken through the service the pages use, moves its record
and writes exactly one audit event."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.testing import acting, assert_moved_once
from xiuhua.volunteers import services_aid as services
from xiuhua.volunteers.workflows_aid import AID_COVER, AID_REQUEST

pytestmark = pytest.mark.django_db


@pytest.fixture
def paired(world):
    officer = acting(world.street_officer)
    services.pair_create(actor=officer, street=world.street_a, a_id=world.committee_a1.pk, b_id=world.committee_a2.pk)
    return world


def _post(world):
    return services.request_post(actor=acting(world.staff_a1), data={
        "what": "支援", "people_needed": 1, "needed_by": timezone.now() + dt.timedelta(hours=1),
        "contact_name": "李", "contact_phone": "13900001111"})


def test_every_request_action_is_audited_once(paired):
    request = _post(paired)
    assert_moved_once(AID_REQUEST, "widen", request,
                      lambda: services.requests_widen(now=timezone.now() + dt.timedelta(minutes=31)))
    assert_moved_once(AID_REQUEST, "claim", request,
                      lambda: services.request_claim(actor=acting(paired.staff_a2), request_id=request.pk))
    assert_moved_once(AID_REQUEST, "done", request,
                      lambda: services.request_done(actor=acting(paired.staff_a2), request=request))
    other = _post(paired)
    assert_moved_once(AID_REQUEST, "cancel", other,
                      lambda: services.request_cancel(actor=acting(paired.staff_a1), request=other))


def test_every_cover_action_is_audited_once(paired):
    officer = acting(paired.street_officer)
    now = timezone.now()
    cover = services.cover_start(actor=officer, committee=paired.committee_a1, reason="封控",
                                 ends_at=now + dt.timedelta(hours=1), now=now)
    assert_moved_once(AID_COVER, "end", cover, lambda: services.cover_end(actor=officer, cover=cover))
    again = services.cover_start(actor=officer, committee=paired.committee_a1, reason="封控",
                                 ends_at=now + dt.timedelta(hours=1), now=now)
    assert_moved_once(AID_COVER, "expire", again,
                      lambda: services.covers_expire(now=now + dt.timedelta(hours=1)))
