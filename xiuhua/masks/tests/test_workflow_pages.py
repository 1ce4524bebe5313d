"""The staff pages offer a round's and a reservation's actions exactly when the workflow would
accept them (core.workflow.can), and a round's rules only to whoever manages it."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.idnumbers import IdType
from xiuhua.masks import services
from xiuhua.masks.models import Channel, MaskRound, RoundStatus
from xiuhua.testing import acting, as_user

from .fixtures import unknown_id

pytestmark = pytest.mark.django_db

OPEN_BUTTON, CLOSE_BUTTON, RULES_LINK = "开始登记</button>", "截止登记</button>", "修改规则</a>"


def _round_page(client, mask_round) -> str:
    return client.get(reverse("masks:staff_round", args=[mask_round.pk])).content.decode()


def test_the_round_page_offers_the_next_move_to_its_manager_only(client, world):
    officer = acting(world.district_officer)
    now = timezone.now()
    mask_round = services.round_create(actor=officer, scope=world.district, name="第2轮", opens_at=now,
                                       closes_at=now + dt.timedelta(days=2))
    as_user(client, world.district_officer)
    page = _round_page(client, mask_round)
    assert OPEN_BUTTON in page and CLOSE_BUTTON not in page and RULES_LINK in page
    services.round_open(actor=officer, round=mask_round)
    page = _round_page(client, mask_round)
    assert OPEN_BUTTON not in page and CLOSE_BUTTON in page
    services.round_close(actor=officer, round=mask_round)
    page = _round_page(client, mask_round)
    assert OPEN_BUTTON not in page and CLOSE_BUTTON not in page and RULES_LINK in page

    # The city's round: seen by the district officer, not theirs to move or change.
    city_round = MaskRound.objects.create(name="全市轮次", scope=world.city, opens_at=now,
                                          closes_at=now + dt.timedelta(days=1), created_by=world.district_officer)
    page = _round_page(client, city_round)
    assert city_round.status == RoundStatus.DRAFT
    assert OPEN_BUTTON not in page and RULES_LINK not in page


def test_the_verify_page_offers_a_verdict_until_one_is_given(client, world, masks):
    pending = services.reservation_submit(
        actor=None, round=masks.round, channel=Channel.ONLINE, name="陈新", id_type=IdType.RESIDENT_ID,
        id_number=unknown_id(), phone="13911112222", committee=world.committee_a1, address_text="6号102室",
    )
    as_user(client, world.staff_a1)
    page = client.get(reverse("masks:staff_verify", args=[pending.pk])).content.decode()
    assert 'id="verify-form"' in page and 'id="reject-form"' in page
    services.reservation_reject(actor=acting(world.staff_a1), reservation=pending, reason="查无此址")
    page = client.get(reverse("masks:staff_verify", args=[pending.pk])).content.decode()
    assert 'id="verify-form"' not in page and 'id="reject-form"' not in page
