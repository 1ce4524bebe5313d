"""33 committee secretaries claim one request at the same moment (PostgreSQL, real parallel
transactions): exactly one wins, the other 32 are told it is taken, and one audit event is written."""

import datetime as dt

import pytest
from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.accounts.roles import Role
from xiuhua.core.models import AuditEvent
from xiuhua.places.models import Kind
from xiuhua.testing import acting, build_world, make_user, run_parallel, unit
from xiuhua.volunteers import services_aid as services
from xiuhua.volunteers.models_aid import AidRequest, AidRequestStatus, Ring

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_33_parallel_claims_exactly_one_wins():
    world = build_world()
    secretaries = []
    committees = [world.committee_a1]
    for i in range(33):
        committee = unit(Kind.COMMITTEE, f"第{i + 1}居委会", world.street_a, code=f"3101100121{i:02d}")
        committees.append(committee)
        secretaries.append(make_user(f"secretary{i}", Role.COMMITTEE_STAFF, committee))
    officer = acting(world.street_officer)
    services.pool_save(actor=officer, street=world.street_a, name="头雁合作", committee_ids=[c.pk for c in committees])
    request = services.request_post(actor=acting(world.staff_a1), data={
        "what": "支援核酸采样", "people_needed": 3, "needed_by": timezone.now() + dt.timedelta(hours=1),
        "contact_name": "李", "contact_phone": "13900001111", "ring": Ring.POOL})

    def claim(i):
        user = acting(User.objects.get(pk=secretaries[i].pk))
        return services.request_claim(actor=user, request_id=request.pk)

    results = run_parallel(claim, 33)
    won = [r for r in results if isinstance(r, AidRequest)]
    lost = [r for r in results if isinstance(r, services.AlreadyTaken)]
    assert len(won) == 1 and len(lost) == 32, results
    request.refresh_from_db()
    assert request.status == AidRequestStatus.CLAIMED and request.claimed_by_id == won[0].claimed_by_id
    winner = User.objects.get(pk=request.claimed_by_id)
    assert {e.messages[0].split(",")[0] for e in lost} == {
        f"已被认领:{winner}({request.claimed_committee.name})"}
    assert AuditEvent.objects.filter(action="aid_request_claim").count() == 1
