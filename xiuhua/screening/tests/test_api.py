"""The lab's push of results over the API: a lab token sees no person, applies rows like a file."""

import pytest

from xiuhua.accounts.models import ApiToken, Membership
from xiuhua.accounts.roles import Role
from xiuhua.screening.models import Review, Tube
from xiuhua.testing import make_user

from .test_results import closed_tube, codes_for

pytestmark = pytest.mark.django_db
URL = "/api/screening/results"
SCREENING_ENDPOINTS = [("POST", URL)]


def token_for(user) -> str:
    membership = Membership.objects.get(user=user)
    _token, key = ApiToken.issue(membership=membership, name="lab system")
    return key


def push(client, key, body):
    return client.post(URL, body, content_type="application/json", headers={"Authorization": f"Bearer {key}"})


def test_a_lab_pushes_results_and_gets_counts_and_problems(client, world, screening):
    lab = make_user("lab", Role.LAB, world.street_a)
    key = token_for(lab)
    closed_tube(screening, "T0700", codes_for(world, screening, 2))
    body = {"round": screening.round.pk, "results": [
        {"barcode": "T0700", "result": "阳性", "time": None},
        {"barcode": "T0799", "result": "negative"},
    ]}
    response = push(client, key, body)
    assert response.status_code == 200, response.content.decode()
    assert response.json() == {"applied": 1, "unchanged": 0, "reviews": 2, "positives": 0, "problems": [
        {"row": 2, "barcode": "T0799", "problem": "未找到该试管:不是本系统采样的试管"}]}
    again = push(client, key, body)
    assert again.json()["applied"] == 0 and again.json()["unchanged"] == 1 and Review.objects.count() == 2
    # The lab sees the tubes and no person.
    from xiuhua.screening.models import PositiveCase, SamplingCode
    from xiuhua.testing import acting

    assert list(Tube.objects.visible_to(acting(lab)).values_list("barcode", flat=True)) == ["T0700"]
    assert not SamplingCode.objects.visible_to(acting(lab)).exists()
    assert not Review.objects.visible_to(acting(lab)).exists()
    assert not PositiveCase.objects.visible_to(acting(lab)).exists()
    # Another street's round is not the lab's: one 404, nothing written.
    other = push(client, key, {"round": screening.round_b.pk, "results": [{"barcode": "T0700", "result": "阴性"}]})
    assert other.status_code == 404


def test_only_a_role_that_records_results_may_push(client, world, screening):
    closed_tube(screening, "T0701", codes_for(world, screening, 1))
    key = token_for(world.staff_a1)
    response = push(client, key, {"round": screening.round.pk, "results": [{"barcode": "T0701", "result": "阳性"}]})
    assert response.status_code == 403 and Tube.objects.get(barcode="T0701").result == ""
