"""seed_demo's volunteers: talents (some 待确认), three posts, today's and tomorrow's shifts with
places taken and gaps left; a second run changes nothing."""

import io

import pytest
from django.core.management import call_command

from xiuhua.volunteers.models import Duty, Post, Shift, TalentStatus, Volunteer

pytestmark = pytest.mark.django_db


def test_seed_demo_writes_volunteers_posts_and_shifts():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Volunteers: 40 in" in out.getvalue()
    assert Volunteer.objects.count() == 40
    assert Volunteer.objects.filter(resident__isnull=False).count() == 20
    assert Post.objects.count() == 3 and Shift.objects.count() == 10
    statuses = set(Volunteer.objects.values_list("talents__status", flat=True))
    assert {TalentStatus.PENDING, TalentStatus.CONFIRMED, TalentStatus.SELF} <= statuses
    shifts = list(Shift.objects.all())
    assert all(s.filled == Duty.objects.filter(shift=s).count() for s in shifts)
    assert any(s.filled < s.needed for s in shifts) and any(s.filled == s.needed for s in shifts)
    call_command("seed_demo", stdout=io.StringIO())
    assert (Volunteer.objects.count(), Shift.objects.count()) == (40, 10)
