"""Coverage: per building and grid, and the "not yet sampled" list on the page and in Excel, each
within the member's scope."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from xiuhua.core.models import AuditEvent
from xiuhua.screening.models import ScreeningExemption
from xiuhua.testing import as_user

from .test_results import closed_tube, codes_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def sampled(world, screening):
    """Five people of 5号 with codes (rooms 100-104): two sampled, one bedridden (door to door)."""
    codes = codes_for(world, screening, 5)
    closed_tube(screening, "T1000", codes[:2])
    ScreeningExemption.objects.create(round=screening.round, resident=codes[2].resident, reason="bedridden",
                                      door_to_door=True, created_by=world.staff_a1, committee=world.committee_a1,
                                      building=world.building_a1)
    return codes


def test_the_committee_sees_each_building_and_the_list_of_who_is_not_sampled(client, world, screening, sampled):
    as_user(client, world.staff_a1)
    page = client.get(reverse("screening:coverage", args=[screening.round.pk])).content.decode()
    assert "应检 5 人,已采样 2 人,未采样 2 人,免于到点 1 人" in page
    assert "长期卧床 1" in page and "50%" in page  # 2 of the 4 due
    listing = client.get(reverse("screening:not_sampled", args=[screening.round.pk]),
                         {"building": world.building_a1.pk}).content.decode()
    assert "国和一村5号:2 人未采样" in listing
    assert sampled[3].reference in listing and sampled[4].reference in listing
    assert sampled[0].reference not in listing and sampled[2].reference not in listing  # sampled, exempted
    assert 'href="tel:13910000001"' in listing  # staff call the person
    before = AuditEvent.objects.filter(action="screening_not_sampled_export").count()
    response = client.get(reverse("screening:not_sampled_xlsx", args=[screening.round.pk]),
                          {"building": world.building_a1.pk})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert rows == [[1, "国和一村5号", "103", "居*3", "13910000001", sampled[3].reference, None],
                    [2, "国和一村5号", "104", "居*4", "13910000001", sampled[4].reference, None]]
    assert AuditEvent.objects.filter(action="screening_not_sampled_export").count() == before + 1


def test_a_volunteer_sees_phones_masked_and_another_street_gets_404(client, world, screening, sampled):
    as_user(client, world.volunteer)
    listing = client.get(reverse("screening:not_sampled", args=[screening.round.pk])).content.decode()
    assert "139****0001" in listing and "tel:" not in listing
    as_user(client, world.street_officer_b)
    for name in ("coverage", "not_sampled", "not_sampled_xlsx"):
        assert client.get(reverse(f"screening:{name}", args=[screening.round.pk])).status_code == 404
    as_user(client, get_user_model().objects.get(username="pharmacy"))
    assert client.get(reverse("screening:coverage", args=[screening.round.pk])).status_code == 403
    # Another committee's staff see none of committee A1's people.
    as_user(client, world.staff_a2)
    page = client.get(reverse("screening:coverage", args=[screening.round.pk])).content.decode()
    assert "应检 0 人" in page
    assert timezone.now()
