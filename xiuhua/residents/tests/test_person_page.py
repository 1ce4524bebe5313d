"""The person page (residents:detail): one resident and everything the apps hold about them that
the viewer may see (core.registry.PersonPart), audited as a personal read."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.isolation import services as isolation
from xiuhua.masks.models import Reservation
from xiuhua.masks.tests.fixtures import build_masks, reserve
from xiuhua.residents.selectors import person_parts
from xiuhua.testing import acting, as_user
from xiuhua.tickets import services as tickets
from xiuhua.tracing import services as tracing

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def about(world):
    return person_with_everything(world)


def person_with_everything(w) -> dict:
    """Resident A1 (张秀英) with a mask reservation, a case, a tracing entry and a work order."""
    masks = build_masks(w)
    reservation = reserve(masks, w.resident_a1)
    arrival = isolation.arrival_register(
        actor=acting(w.staff_a1), household=w.household_a1, name="张秀英", id_type="resident_id",
        id_number=w.resident_a1.plain_id, phone="13812345678", origin_text="湖北省武汉市", transport="train",
        transport_number="G1722", arrival_date=timezone.localdate(), now=NOW,
    )
    case = isolation.case_open(actor=acting(w.staff_a1), arrival=arrival, now=NOW)
    batch = tracing.batch_import(
        actor=acting(w.street_officer), street=w.street_a, source="telecom", reference="通信大数据 第1批",
        received_at=NOW, data=f"姓名,身份证号,手机号码,现住址,抵沪日期\n张秀英,{w.resident_a1.plain_id},,,\n".encode(),
        filename="list.csv", now=NOW,
    )
    ticket, _token = tickets.ticket_create(
        actor=acting(w.staff_a1), source="call", category="dialysis", urgency="urgent", description="周三透析,需要车辆",
        committee=w.committee_a1, household=w.household_a1, requester_phone="13812345678", now=NOW,
    )
    return {"reservation": reservation, "case": case, "entry": batch.entries.get(), "ticket": ticket}


def part_links(html: str, name: str) -> list[str]:
    section = re.search(rf'<section class="person-part" id="part-{name}">(.*?)</section>', html, re.S)
    return re.findall(r'<a href="([^"]+)">', section.group(1)) if section else []


def test_committee_staff_see_every_part_linked_and_the_view_is_audited(client, world, about):
    as_user(client, world.staff_a1)
    page = client.get(reverse("residents:detail", args=[world.resident_a1.pk]))
    html = page.content.decode()
    assert [part.name for part, _rows in page.context["parts"]] == ["masks", "isolation", "tracing", "tickets"]
    assert part_links(html, "household") == [reverse("residents:household", args=[world.household_a1.pk])]
    reservation = Reservation.objects.get(pk=about["reservation"].pk)
    assert part_links(html, "masks") == [reverse("masks:staff_reservation", args=[reservation.pk])]
    assert f"第1轮 · {reservation.number}" in html
    assert part_links(html, "isolation") == [reverse("isolation:case", args=[about["case"].pk])]
    assert part_links(html, "tracing") == [reverse("tracing:entry", args=[about["entry"].pk])]
    assert part_links(html, "tickets") == [reverse("tickets:detail", args=[about["ticket"].pk])]
    for heading in ("口罩预约与凭证(本户)", "居家隔离", "大数据清单", "工单(本户)"):
        assert f"<h2>{heading}</h2>" in html
    event = AuditEvent.objects.filter(action="resident_view").get()
    assert (event.personal, event.object_id, event.committee_id, event.detail) == (
        True, world.resident_a1.pk, world.committee_a1.pk,
        {"parts": ["masks", "isolation", "tracing", "tickets"]},
    )
    assert world.resident_a1.plain_id not in str(event.detail) + event.subject_label


def test_each_part_shows_only_what_the_viewers_role_sees(client, world, about):
    # A grid worker sees residents and isolation in their grid: no masks, lists or orders at all.
    as_user(client, world.grid_worker)
    page = client.get(reverse("residents:detail", args=[world.resident_a1.pk]))
    assert [part.name for part, _rows in page.context["parts"]] == ["isolation"]
    html = page.content.decode()
    assert 'id="part-masks"' not in html and 'id="part-tickets"' not in html
    # A street officer holds the entry (its street) and sees orders and cases; no mask part rows
    # hidden: the household's reservation is in its street.
    officer = acting(world.street_officer)
    shown = {part.name: [row.url for row in rows] for part, rows in person_parts(officer, world.resident_a1)}
    assert shown["tracing"] == [reverse("tracing:entry", args=[about["entry"].pk])]
    assert set(shown) == {"masks", "isolation", "tracing", "tickets"}


def test_a_resident_of_another_committee_is_a_404_and_not_audited(client, world, about):
    as_user(client, world.staff_b1)
    assert client.get(reverse("residents:detail", args=[world.resident_a1.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="resident_view").exists()


def test_a_resident_with_nothing_elsewhere_shows_empty_parts(client, world):
    as_user(client, world.staff_a1)
    html = client.get(reverse("residents:detail", args=[world.resident_a1b.pk])).content.decode()
    for name in ("masks", "isolation", "tracing", "tickets"):
        section = re.search(rf'id="part-{name}">(.*?)</section>', html, re.S)
        assert section and "暂无记录" in section.group(1), name
    assert "本户没有其他成员" in html


def test_household_members_are_listed_with_their_tags(client, world):
    from xiuhua.testing import make_resident

    make_resident(world.household_a1, "张小明", birth=dt.date(2015, 1, 2), tags=["disabled"])
    as_user(client, world.staff_a1)
    html = client.get(reverse("residents:detail", args=[world.resident_a1.pk])).content.decode()
    members = re.search(r'<table class="responsive" id="household-members">(.*?)</table>', html, re.S).group(1)
    assert "张小明" in members and '<span class="tag">残疾</span>' in members
