import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from xiuhua.core.lookups import LIMITS, LookupKey, LookupThrottled, lookup_throttle, personal_lookup
from xiuhua.core.models import AuditEvent, RateCounter
from xiuhua.core.ratelimit import rate_hit, rate_peek, rate_prune
from xiuhua.residents.models import Resident
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting, run_parallel

NOW = dt.datetime(2026, 12, 5, 10, 3, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_rate_hit_counts_within_a_window_and_starts_again_in_the_next():
    results = [rate_hit("k", limit=2, window=600, now=NOW) for _ in range(3)]
    assert [r.allowed for r in results] == [True, True, False]
    assert [r.count for r in results] == [1, 2, 3]
    assert results[2].retry_after == 420  # 10:03 -> the window ends at 10:10
    assert rate_hit("k", limit=2, window=600, now=NOW + dt.timedelta(minutes=7)).count == 1
    assert rate_peek("k", window=600, now=NOW) == 3
    assert rate_prune(now=NOW + dt.timedelta(days=3)) == 2
    assert RateCounter.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rate_hit_under_parallel_clients_lets_exactly_the_limit_through():
    results = run_parallel(lambda i: rate_hit("race", limit=5, window=3600, now=NOW).allowed, 16)
    assert results.count(True) == 5
    assert results.count(False) == 11
    assert RateCounter.objects.get(key="race").count == 16


@pytest.mark.django_db
def test_personal_lookup_refuses_an_unscoped_queryset(world):
    with pytest.raises(ImproperlyConfigured):
        personal_lookup(actor=acting(world.staff_a1), key=LookupKey.PHONE, purpose="t",
                        scope=Resident.objects.all(), match=Q(mobile="13600002222"))
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_personal_lookup_answers_within_scope_and_audits_the_kind_and_hits_not_the_key(world):
    staff = acting(world.staff_a1)
    scope = Resident.objects.visible_to(staff)
    # Another committee's resident: the same empty answer as a number nobody has.
    assert list(personal_lookup(actor=staff, key=LookupKey.PHONE, purpose="search", scope=scope,
                                match=Q(mobile="13600002222"))) == []
    found = personal_lookup(actor=staff, key=LookupKey.PHONE, purpose="search", scope=scope,
                            match=Q(mobile="13812345678"))
    assert list(found) == [world.resident_a1]
    events = list(AuditEvent.objects.filter(action="personal_lookup").order_by("pk"))
    assert [(e.personal, e.detail, e.committee_id) for e in events] == [
        (True, {"key": "phone", "purpose": "search", "hits": 0}, world.committee_a1.pk),
        (True, {"key": "phone", "purpose": "search", "hits": 1}, world.committee_a1.pk),
    ]
    assert "13812345678" not in str([(e.subject_label, e.reason, e.detail) for e in events])


@pytest.mark.django_db
def test_a_burst_is_refused_and_alerts_the_street_once(world):
    world.street_officer.mobile = "13900000009"
    world.street_officer.save()
    grid = acting(world.grid_worker)
    per_ten_minutes = next(rule.limit for rule in LIMITS if rule.scope == "actor" and rule.window == 600)
    for _ in range(per_ten_minutes):
        lookup_throttle(actor=grid, client_ip="10.0.0.8", purpose="search", now=NOW)
    for _ in range(3):
        with pytest.raises(LookupThrottled) as refused:
            lookup_throttle(actor=grid, client_ip="10.0.0.8", purpose="search", now=NOW)
    assert refused.value.retry_after == 420
    assert "7分钟" in refused.value.message
    bursts = AuditEvent.objects.filter(action="lookup_burst")
    assert bursts.count() == 1
    assert bursts.get().detail == {"scope": "actor", "window": 600, "limit": per_ten_minutes}
    texts = OutboundSms.objects.filter(purpose="lookup_burst")
    assert [(t.phone, t.params) for t in texts] == [
        ("13900000009", {"unit": "国和一村居委会", "role": "网格员/楼组长"}),
    ]
    # Another actor from elsewhere is not held back by this one's limit.
    lookup_throttle(actor=acting(world.staff_b1), client_ip="10.0.0.9", purpose="search", now=NOW)


@pytest.mark.django_db
def test_a_user_without_roster_rights_looks_up_nothing(world):
    volunteer = acting(world.volunteer)
    found = personal_lookup(actor=volunteer, key=LookupKey.PHONE, purpose="t",
                            scope=Resident.objects.visible_to(volunteer), match=Q(mobile="13812345678"))
    assert list(found) == []
    assert AuditEvent.objects.get(action="personal_lookup").detail["hits"] == 0


@pytest.mark.django_db
def test_the_daily_prune_forgets_old_windows():
    from io import StringIO

    from django.core.management import call_command

    rate_hit("old", limit=1, window=600, now=NOW - dt.timedelta(days=3))
    rate_hit("new", limit=1, window=600)
    out = StringIO()
    call_command("prune_rate_counters", stdout=out)
    assert out.getvalue().strip() == "deleted=1"
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_lookup_check_refuses_without_counting_once_a_limit_is_reached():
    from xiuhua.core.lookups import lookup_check, lookup_counters

    rule = LIMITS[0]
    for _ in range(rule.limit - 1):
        lookup_throttle(phone="13900007777", now=NOW)
    lookup_check(phone="13900007777", now=NOW)  # one more is still allowed, and not counted
    [counter, *_rest] = lookup_counters(phone="13900007777", now=NOW)
    assert RateCounter.objects.get(key=counter.key).count == rule.limit - 1
    lookup_throttle(phone="13900007777", now=NOW)
    with pytest.raises(LookupThrottled) as exc:
        lookup_check(phone="13900007777", now=NOW)
    assert exc.value.retry_after == 420  # 10:03 -> the ten-minute window ends at 10:10
    assert RateCounter.objects.get(key=counter.key).count == rule.limit
