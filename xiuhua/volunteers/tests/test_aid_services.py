"""Mutual aid's services: pools and pairs, posting and claiming (first claim wins, the second
changes nothing and is told who was first), widening by the sweep, A/B cover and seconded
officers as time-bound memberships, and the audit trail of actions taken through them."""

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from xiuhua.accounts.models import Membership, Temporary
from xiuhua.accounts.roles import Cap, Role
from xiuhua.accounts.selectors import memberships_of, personal_data_events
from xiuhua.core.models import AuditEvent
from xiuhua.core.scoping import active_membership
from xiuhua.places.models import Kind
from xiuhua.residents.models import Resident
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting, make_user, unit
from xiuhua.volunteers import services_aid as services
from xiuhua.volunteers.models_aid import (
    AidCover,
    AidCoverStatus,
    AidPartner,
    AidPoolMember,
    AidRequest,
    AidRequestStatus,
    Ring,
)
from xiuhua.volunteers.parts_aid import waiting_work

pytestmark = pytest.mark.django_db


@pytest.fixture
def aid(world):
    """Street A with a third committee A3; A1 ⇄ A2 paired; A1, A2, A3 in one pool."""
    world.committee_a3 = unit(Kind.COMMITTEE, "国和三村居委会", world.street_a, code="310110012003")
    world.staff_a3 = make_user("staff_a3", Role.COMMITTEE_STAFF, world.committee_a3)
    officer = acting(world.street_officer)
    services.pair_create(actor=officer, street=world.street_a, a_id=world.committee_a1.pk, b_id=world.committee_a2.pk)
    services.pool_save(actor=officer, street=world.street_a, name="头雁合作",
                       committee_ids=[world.committee_a1.pk, world.committee_a2.pk, world.committee_a3.pk])
    return world


def post(world, user=None, **extra):
    data = {"what": "上门采样缺扫码员", "compound": world.compound_a1.pk, "building": world.building_a1.pk,
            "people_needed": 2, "needed_by": timezone.now() + dt.timedelta(hours=2), "contact_name": "李",
            "contact_phone": "13900001111", **extra}
    return services.request_post(actor=acting(user or world.staff_a1), data=data)


def test_pair_is_one_partner_each_and_pool_one_per_committee(aid):
    officer = acting(aid.street_officer)
    with pytest.raises(ValidationError) as exc:
        services.pair_create(actor=officer, street=aid.street_a, a_id=aid.committee_a3.pk, b_id=aid.committee_a1.pk)
    assert "国和一村居委会已与国和二村居委会结对" in str(exc.value)
    assert AidPartner.objects.count() == 2
    with pytest.raises(ValidationError) as exc:
        services.pool_save(actor=officer, street=aid.street_a, name="另一个",
                           committee_ids=[aid.committee_a1.pk, aid.committee_a3.pk])
    assert "已在其他互助池" in str(exc.value)
    assert AidPoolMember.objects.count() == 3
    # A committee of another street, and a committee officer, are refused.
    with pytest.raises(ValidationError):
        services.pair_create(actor=officer, street=aid.street_a, a_id=aid.committee_b1.pk, b_id=aid.committee_a3.pk)
    with pytest.raises(PermissionDenied):
        services.pair_create(actor=acting(aid.staff_a1), street=aid.street_a, a_id=aid.committee_a3.pk,
                             b_id=aid.committee_a1.pk)


def test_post_goes_to_the_partner_first_and_only_the_ring_sees_it(aid):
    request = post(aid)
    assert request.ring == Ring.PARTNER and request.status == AidRequestStatus.OPEN
    assert AuditEvent.objects.filter(action="aid_request_post", object_id=request.pk).count() == 1
    assert list(AidRequest.objects.visible_to(acting(aid.staff_a2))) == [request]
    assert list(AidRequest.objects.visible_to(acting(aid.staff_a3))) == []
    assert list(AidRequest.objects.visible_to(acting(aid.staff_b1))) == []
    assert list(AidRequest.objects.visible_to(acting(aid.street_officer))) == [request]
    assert list(AidRequest.objects.visible_to(acting(aid.street_officer_b))) == []
    assert list(AidRequest.objects.visible_to(acting(aid.grid_worker))) == []  # no MUTUAL_AID


def test_bad_post_is_refused_with_messages_and_writes_nothing(aid):
    with pytest.raises(ValidationError) as exc:
        post(aid, what=" ", people_needed=0, needed_by=timezone.now() - dt.timedelta(minutes=1),
             contact_phone="123", compound=aid.compound_a2.pk, ring="nowhere")
    errors = exc.value.message_dict
    assert errors == {"what": ["请写明需要协助的事"], "compound": ["请选择本居委会的小区"],
                      "people_needed": ["需要人数须在1到500之间"], "needed_by": ["最晚到场时间须晚于现在"],
                      "contact_phone": ["请填写正确的手机号码"], "ring": ["请选择求助范围"]}
    assert AidRequest.objects.count() == 0


def test_first_claim_wins_the_second_is_told_who(aid):
    request = post(aid, ring=Ring.POOL)
    with CaptureQueriesContext(connection) as queries:
        won = services.request_claim(actor=acting(aid.staff_a3), request_id=request.pk)
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "volunteers_aidrequest"')]
    assert len(updates) == 1 and '"claimed_by_id" IS NULL' in updates[0]
    assert not any("FOR UPDATE" in q["sql"] for q in queries)  # no locked read: the UPDATE decides
    assert won.status == AidRequestStatus.CLAIMED and won.claimed_by == aid.staff_a3
    assert won.claimed_committee == aid.committee_a3
    events = AuditEvent.objects.filter(action="aid_request_claim")
    assert events.count() == 1
    with pytest.raises(services.AlreadyTaken) as exc:
        services.request_claim(actor=acting(aid.staff_a2), request_id=request.pk)
    assert exc.value.messages[0].startswith("已被认领:staff_a3(国和三村居委会)")
    assert events.count() == 1
    request.refresh_from_db()
    assert request.claimed_by == aid.staff_a3
    # The poster cannot claim its own; one outside the ring sees nothing to claim.
    other = post(aid)
    with pytest.raises(ValidationError, match="不能认领本居委会发布的需求"):
        services.request_claim(actor=acting(aid.staff_a1), request_id=other.pk)
    with pytest.raises(PermissionDenied):
        services.request_claim(actor=acting(aid.staff_a3), request_id=other.pk)


def test_claimer_marks_done_poster_sees_who_and_when(aid):
    request = post(aid)
    services.request_claim(actor=acting(aid.staff_a2), request_id=request.pk)
    with pytest.raises(PermissionDenied):
        services.request_done(actor=acting(aid.staff_a1), request=request)
    done = services.request_done(actor=acting(aid.staff_a2), request=request, note="两人已到场")
    assert done.status == AidRequestStatus.DONE and done.done_note == "两人已到场" and done.done_at is not None
    assert AuditEvent.objects.filter(action="aid_request_done").count() == 1
    with pytest.raises(ValidationError):
        services.request_cancel(actor=acting(aid.staff_a1), request=done)


def test_sweep_widens_after_the_rule_and_texts_the_street(aid):
    aid.street_officer.mobile = "13700007777"
    aid.street_officer.save(update_fields=["mobile"])
    services.rule_set(actor=acting(aid.street_officer), street=aid.street_a, minutes=30)
    request = post(aid)
    start = request.ring_since
    assert services.requests_widen(now=start + dt.timedelta(minutes=29, seconds=59)) == 0
    assert services.requests_widen(now=start + dt.timedelta(minutes=30)) == 1
    request.refresh_from_db()
    assert request.ring == Ring.POOL and request.escalated_at is not None
    assert list(AidRequest.objects.visible_to(acting(aid.staff_a3))) == [request]
    assert OutboundSms.objects.filter(purpose="aid_widened").count() == 1
    assert AuditEvent.objects.filter(action="aid_request_widen").count() == 1
    assert waiting_work(aid.street_officer, acting(aid.street_officer).active_membership)["aid_escalated"] == 1
    # Another 30 minutes: the whole street, then nothing more to widen.
    assert services.requests_widen(now=start + dt.timedelta(minutes=60)) == 1
    request.refresh_from_db()
    assert request.ring == Ring.STREET
    assert services.requests_widen(now=start + dt.timedelta(minutes=120)) == 0
    assert OutboundSms.objects.filter(purpose="aid_widened").count() == 2


def test_rule_is_checked(aid):
    with pytest.raises(ValidationError):
        services.rule_set(actor=acting(aid.street_officer), street=aid.street_a, minutes="3")
    with pytest.raises(PermissionDenied):
        services.rule_set(actor=acting(aid.staff_a1), street=aid.street_a, minutes="30")


def _at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_cover_gives_partner_staff_a_membership_that_ends_exactly_at_its_end(aid):
    start = timezone.now()
    officer = acting(aid.street_officer)
    cover = services.cover_start(actor=officer, committee=aid.committee_a1, reason="班子所在小区封控",
                                 ends_at=start + dt.timedelta(days=2), now=start)
    granted = Membership.objects.get(user=aid.staff_a2, org_unit=aid.committee_a1)
    assert granted.temporary == Temporary.COVER and granted.granted_by == aid.street_officer
    assert granted.reason == "班子所在小区封控" and granted.ends_at == cover.ends_at
    assert str(granted).startswith("AB角临时代管: 国和一村居委会, 至")
    assert AuditEvent.objects.filter(action="aid_cover_start").count() == 1
    end = cover.ends_at
    with _at(end - dt.timedelta(microseconds=1)):
        assert granted.has(Cap.EDIT_RESIDENTS)
        assert granted in memberships_of(aid.staff_a2)
        aid.staff_a2.active_membership = granted
        assert active_membership(aid.staff_a2) == granted
        assert list(Resident.objects.visible_to(aid.staff_a2)) == [aid.resident_a1, aid.resident_a1b]
    with _at(end):
        assert not granted.has(Cap.EDIT_RESIDENTS)
        assert granted not in memberships_of(aid.staff_a2)
        assert active_membership(aid.staff_a2) is None
        assert list(Resident.objects.visible_to(aid.staff_a2)) == []
    # The sweep closes the cover on its date, audited as the system's, and marks the membership
    # inactive (off the lists that pick who gets alerts).
    assert services.covers_expire(now=end) == 1
    cover.refresh_from_db()
    assert cover.status == AidCoverStatus.ENDED and cover.ended_by is None
    assert services.temporary_memberships_close(now=end - dt.timedelta(seconds=1)) == 0
    assert services.temporary_memberships_close(now=end) == 1
    granted.refresh_from_db()
    assert not granted.active
    assert Membership.objects.get(user=aid.staff_a2, org_unit=aid.committee_a2).active


def test_either_street_ends_the_cover_now(aid):
    officer = acting(aid.street_officer)
    cover = services.cover_start(actor=officer, committee=aid.committee_a1, reason="封控",
                                 ends_at=timezone.localdate() + dt.timedelta(days=3))
    with pytest.raises(PermissionDenied):
        services.cover_end(actor=acting(aid.street_officer_b), cover=cover)
    services.cover_end(actor=officer, cover=cover)
    granted = Membership.objects.get(user=aid.staff_a2, org_unit=aid.committee_a1)
    assert not granted.has(Cap.VIEW_RESIDENTS)
    assert AuditEvent.objects.filter(action="aid_cover_end").count() == 1
    with pytest.raises(ValidationError):
        services.cover_end(actor=officer, cover=cover)


def test_cover_needs_a_partner_a_reason_and_a_future_end(aid):
    officer = acting(aid.street_officer)
    with pytest.raises(ValidationError, match="尚未结对"):
        services.cover_start(actor=officer, committee=aid.committee_a3, reason="封控",
                             ends_at=timezone.localdate() + dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        services.cover_start(actor=officer, committee=aid.committee_a1, reason=" ",
                             ends_at=timezone.localdate() + dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        services.cover_start(actor=officer, committee=aid.committee_a1, reason="封控",
                             ends_at=timezone.now() - dt.timedelta(minutes=1))
    assert AidCover.objects.count() == 0 and not Membership.objects.exclude(temporary="").exists()


def test_actions_through_a_temporary_membership_show_as_such_in_the_audit(aid, client):
    from xiuhua.residents import services as resident_services

    officer = acting(aid.street_officer)
    services.cover_start(actor=officer, committee=aid.committee_a1, reason="封控",
                         ends_at=timezone.localdate() + dt.timedelta(days=1))
    granted = Membership.objects.get(user=aid.staff_a2, org_unit=aid.committee_a1)
    aid.staff_a2.active_membership = granted
    resident_services.resident_update(actor=aid.staff_a2, resident=aid.resident_a1, living_status="moved_out")
    event = AuditEvent.objects.get(action="resident_update")
    assert event.membership_id == granted.pk and event.via_temporary == Temporary.COVER
    assert event in personal_data_events(officer)
    client.force_login(aid.street_officer)
    page = client.get("/accounts/audit/").content.decode()
    assert 'data-temporary="cover">AB角临时代管</b>' in page


def test_secondment_is_a_time_bound_committee_membership(aid):
    officer = acting(aid.street_officer)
    start = timezone.now()
    seconded = services.secondment_grant(actor=officer, committee=aid.committee_a3, username="district",
                                         reason="区机关下沉", ends_at=start + dt.timedelta(days=30), now=start)
    assert seconded.temporary == Temporary.SECONDED and seconded.role == Role.COMMITTEE_STAFF
    assert str(seconded).startswith("第二书记: 国和三村居委会, 至")
    with pytest.raises(ValidationError, match="已在此居委会任职"):
        services.secondment_grant(actor=officer, committee=aid.committee_a3, username="district",
                                  reason="区机关下沉", ends_at=start + dt.timedelta(days=30))
    with pytest.raises(ValidationError, match="没有这个用户名的账号"):
        services.secondment_grant(actor=officer, committee=aid.committee_a3, username="nobody-here",
                                  reason="x", ends_at=start + dt.timedelta(days=1))
    services.secondment_end(actor=officer, membership_id=seconded.pk)
    seconded.refresh_from_db()
    assert not seconded.has(Cap.VIEW_RESIDENTS)
    assert list(AuditEvent.objects.filter(action__startswith="aid_secondment").values_list("action", flat=True)
                .order_by("pk")) == ["aid_secondment_grant", "aid_secondment_end"]


def test_first_page_counts(aid):
    request = post(aid)
    assert waiting_work(aid.staff_a2, acting(aid.staff_a2).active_membership) == {
        "aid_open": 1, "aid_to_finish": 0, "aid_covering": 0}
    services.request_claim(actor=acting(aid.staff_a2), request_id=request.pk)
    assert waiting_work(aid.staff_a2, acting(aid.staff_a2).active_membership) == {
        "aid_open": 0, "aid_to_finish": 1, "aid_covering": 0}
    assert waiting_work(aid.grid_worker, acting(aid.grid_worker).active_membership) is None
