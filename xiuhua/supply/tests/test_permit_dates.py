"""A permit or pass is valid to the end of the date printed on it (Beijing time) and is shown by
that date, "有效期至 2027-06-24", on every page that shows it; only the driver's test, valid 48
hours from the sample, is shown by the hour it expires."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from xiuhua.supply import services
from xiuhua.supply.models import DocKind, Document, Filing
from xiuhua.testing import as_user

from .conftest import LEADER_PHONE, filing_data
from .test_views import verified

pytestmark = pytest.mark.django_db

BEIJING = dt.timezone(dt.timedelta(hours=8))
RECORDED = dt.datetime(2027, 6, 24, 12, 0, tzinfo=BEIJING)
LAST_MINUTE = dt.datetime(2027, 6, 24, 23, 59, tzinfo=BEIJING)
MIDNIGHT = dt.datetime(2027, 6, 25, 0, 0, tzinfo=BEIJING)


@pytest.fixture
def documents(leader):
    """The food permit printed 2027-06-24; the other permits printed 2027-12-31; the driver's
    test taken 2027-06-24 10:00 (valid to 06-26 10:00)."""
    add = {"actor": None, "phone": LEADER_PHONE, "leader": leader, "now": RECORDED}
    services.document_add(kind=DocKind.DRIVER_TEST, number="HS24", holder="王师傅",
                          taken_at=dt.datetime(2027, 6, 24, 10, 0, tzinfo=BEIJING), **add)
    permit = services.document_add(kind=DocKind.FOOD_PERMIT, number="JY624", holder="上海鲜达食品有限公司",
                                   valid_until=dt.date(2027, 6, 24), **add)
    for kind, number in ((DocKind.EPIDEMIC_PERMIT, "BG1231"), (DocKind.VEHICLE_PASS, "TX1231")):
        services.document_add(kind=kind, number=number, holder="沪A12345", valid_until=dt.date(2027, 12, 31), **add)
    return permit


def test_valid_through_the_printed_day_beijing_time(world, leader, documents):
    permit = documents
    assert (permit.valid_until, permit.expires_at) == (dt.date(2027, 6, 24), MIDNIGHT)
    assert permit.valid(LAST_MINUTE) is True
    assert permit.valid(MIDNIGHT) is False
    # A filing needs it valid: at 23:59 it is, at midnight it is not.
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader,
                                    data=filing_data(now=LAST_MINUTE), now=LAST_MINUTE)
    assert permit in filing.documents.all()
    with pytest.raises(ValidationError) as exc:
        services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader, data=filing_data(now=MIDNIGHT),
                               now=MIDNIGHT)
    assert exc.value.messages == ["证件不全或已过期,不能报备:食品经营许可证(JY624)有效期至2027-06-24,已过期"]
    assert Filing.objects.count() == 1
    # Recorded on its last day it is taken; from midnight it is refused.
    services.document_add(actor=None, phone=LEADER_PHONE, leader=leader, kind=DocKind.FOOD_PERMIT, number="JY625",
                          holder="上海鲜达食品有限公司", valid_until=dt.date(2027, 6, 24), now=LAST_MINUTE)
    with pytest.raises(ValidationError):
        services.document_add(actor=None, phone=LEADER_PHONE, leader=leader, kind=DocKind.FOOD_PERMIT,
                              number="JY626", holder="上海鲜达食品有限公司", valid_until=dt.date(2027, 6, 24),
                              now=MIDNIGHT)
    assert list(Document.objects.filter(kind=DocKind.FOOD_PERMIT).values_list("number", flat=True)
                .order_by("pk")) == ["JY624", "JY625"]


def test_the_pages_show_the_printed_date_and_the_test_by_the_hour(client, world, leader, documents):
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader,
                                    data=filing_data(now=LAST_MINUTE), now=LAST_MINUTE)
    # The leader's phone page (valid or expired, whenever this runs: the date, never the midnight).
    home = verified(client).get(reverse("supply:lead_home")).content.decode()
    assert "有效期至 2027-06-24" in home and "有效期至 2027-12-31" in home and "有效至 06-26 10:00" in home
    assert "06-25 00:00" not in home and "01-01 00:00" not in home
    # The committee's filing page and the page where staff record a document for the leader.
    staff = as_user(client.__class__(), world.staff_a1)
    page = staff.get(reverse("supply:filing", args=[filing.pk])).content.decode()
    assert "食品经营许可证:JY624 · 上海鲜达食品有限公司 · 有效期至 2027-06-24" in page
    assert "司机核酸阴性证明:HS24 · 王师傅 · 有效至 2027-06-26 10:00" in page
    assert "2027-06-25 00:00" not in page and "2028-01-01 00:00" not in page
    page = staff.get(reverse("supply:behalf_document", args=[leader.pk])).content.decode()
    assert "有效期至 2027-06-24" in page and "有效期至 2027-12-31" in page and "有效至 2027-06-26 10:00" in page
    assert "2027-06-25 00:00" not in page


def test_a_printed_date_already_past_is_refused_by_that_date(client, world, leader):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    post = {"kind": "vehicle_pass", "number": "TX1", "holder": "沪A12345", "valid_until": yesterday.isoformat()}
    message = f"该证件有效期至{yesterday.isoformat()},已过期,请提供有效的证件"
    response = verified(client).post(reverse("supply:lead_document", args=[leader.pk]), post)
    assert response.status_code == 400 and message in response.content.decode()
    staff = as_user(client.__class__(), world.staff_a1)
    response = staff.post(reverse("supply:behalf_document", args=[leader.pk]), post)
    assert response.status_code == 400 and message in response.content.decode()
    assert not Document.objects.exists()
    # Today's date is still good.
    response = staff.post(reverse("supply:behalf_document", args=[leader.pk]),
                          {**post, "valid_until": timezone.localdate().isoformat()})
    assert response.status_code == 302 and Document.objects.get().valid_until == timezone.localdate()
