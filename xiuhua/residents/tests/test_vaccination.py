"""Vaccination on the resident (doses and the last dose's day): the roster's optional columns,
the resident's edit page and the service's checks. The passport's vaccination stamp reads them."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from xiuhua.core.models import AuditEvent
from xiuhua.residents import roster
from xiuhua.residents.models import Resident
from xiuhua.residents.services import resident_update
from xiuhua.testing import acting

from .test_roster_fixtures import HEADERS, import_file, new_id, person, problems_of, row_for, snapshot, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(world):
    return acting(world.staff_a1)


def test_the_roster_imports_doses_and_day_and_blank_leaves_them(world, staff):
    assert "疫苗接种剂次" in HEADERS and "末次接种日期" in HEADERS
    world.resident_a1b.vaccine_doses, world.resident_a1b.vaccinated_on = 2, dt.date(2021, 9, 1)
    world.resident_a1b.save()
    number = new_id()
    rows = [
        person(证件号码=number, 疫苗接种剂次="3", 末次接种日期="2022-04-20"),
        row_for(world.resident_a1, 疫苗接种剂次="2剂", 末次接种日期="2022/3/1"),
        row_for(world.resident_a1b),  # blank: unchanged
    ]
    imp = import_file(staff, world.committee_a1, xlsx(rows))
    assert problems_of(imp) == []
    assert (imp.count_new, imp.count_updated, imp.count_unchanged) == (1, 1, 1)
    roster.roster_import_commit(actor=staff, roster_import=imp)
    created = Resident.objects.get(name="陈新")
    assert (created.vaccine_doses, created.vaccinated_on) == (3, dt.date(2022, 4, 20))
    world.resident_a1.refresh_from_db()
    assert (world.resident_a1.vaccine_doses, world.resident_a1.vaccinated_on) == (2, dt.date(2022, 3, 1))
    world.resident_a1b.refresh_from_db()
    assert (world.resident_a1b.vaccine_doses, world.resident_a1b.vaccinated_on) == (2, dt.date(2021, 9, 1))


def test_a_file_without_the_columns_imports_nobody_vaccinated(world, staff):
    headers = [h for h in HEADERS if h not in ("疫苗接种剂次", "末次接种日期")]
    imp = import_file(staff, world.committee_a1, xlsx([person()], headers=headers))
    roster.roster_import_commit(actor=staff, roster_import=imp)
    created = Resident.objects.get(name="陈新")
    assert (created.vaccine_doses, created.vaccinated_on) == (0, None)


def test_bad_vaccination_cells_are_problems_by_row(world, staff):
    before = snapshot()
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    rows = [
        person(疫苗接种剂次="七"),
        person(室号="502", 证件号码=new_id(), 疫苗接种剂次="6"),
        person(室号="503", 证件号码=new_id(), 疫苗接种剂次="1", 末次接种日期=future),
        person(室号="504", 证件号码=new_id(), 疫苗接种剂次="0", 末次接种日期="2022-01-01"),
        person(室号="505", 证件号码=new_id(), 末次接种日期="去年"),
    ]
    imp = import_file(staff, world.committee_a1, xlsx(rows))
    assert problems_of(imp) == [
        (2, "疫苗接种剂次", "接种剂次请填写0到5的整数"),
        (3, "疫苗接种剂次", "接种剂次请填写0到5的整数"),
        (4, "末次接种日期", "接种日期不能晚于今天"),
        (5, "末次接种日期", "填写了接种日期,接种剂次不能为0"),
        (6, "末次接种日期", "日期格式不正确,请写成 1980-05-17"),
    ]
    assert snapshot()["residents"] == before["residents"]


def test_the_export_writes_the_columns(client, world):
    from .test_roster_fixtures import sheet_rows

    world.resident_a1.vaccine_doses, world.resident_a1.vaccinated_on = 2, dt.date(2022, 3, 1)
    world.resident_a1.save()
    client.force_login(world.staff_a1)
    rows = sheet_rows(client.post(reverse("residents:roster_export")).content)
    by_name = {row[3]: dict(zip(rows[0], row, strict=False)) for row in rows[1:]}
    assert by_name["张秀英"]["疫苗接种剂次"] == 2
    assert str(by_name["张秀英"]["末次接种日期"])[:10] == "2022-03-01"
    assert by_name["李建国"]["疫苗接种剂次"] == 0


def test_the_edit_page_records_vaccination_with_its_audit_event(client, world):
    client.force_login(world.staff_a1)
    resident = world.resident_a1
    page = client.get(reverse("residents:edit", args=[resident.pk]))
    assert "疫苗接种剂次" in page.content.decode()
    data = {
        "name": resident.name, "sex": resident.sex, "id_type": resident.id_type, "id_number": "",
        "mobile": resident.mobile, "relation": resident.relation, "living_status": resident.living_status,
        "tags": resident.tag_codes, "vaccine_doses": "3", "vaccinated_on": "2022-05-01",
    }
    response = client.post(reverse("residents:edit", args=[resident.pk]), data)
    assert response.status_code == 302
    resident.refresh_from_db()
    assert (resident.vaccine_doses, resident.vaccinated_on) == (3, dt.date(2022, 5, 1))
    event = AuditEvent.objects.filter(action="resident_update").latest("pk")
    assert event.detail == {"fields": ["vaccinated_on", "vaccine_doses"]}
    detail = client.get(reverse("residents:detail", args=[resident.pk])).content.decode()
    assert "3 剂 · 末次 2022-05-01" in detail


def test_the_service_refuses_a_day_without_doses_and_writes_nothing(world):
    staff = acting(world.staff_a1)
    with pytest.raises(ValidationError) as refused:
        resident_update(actor=staff, resident=world.resident_a1, vaccine_doses=0, vaccinated_on=dt.date(2022, 1, 1))
    assert refused.value.message_dict == {"vaccinated_on": ["填写了接种日期,接种剂次不能为0"]}
    with pytest.raises(ValidationError) as refused:
        resident_update(actor=staff, resident=world.resident_a1, vaccine_doses=9)
    assert refused.value.message_dict == {"vaccine_doses": ["接种剂次请填写0到5的整数"]}
    world.resident_a1.refresh_from_db()
    assert (world.resident_a1.vaccine_doses, world.resident_a1.vaccinated_on) == (0, None)
    assert not AuditEvent.objects.filter(action="resident_update").exists()


def test_a_day_without_doses_in_the_file_or_on_record_is_a_problem(world, staff):
    rows = [
        person(末次接种日期="2022-04-20"),  # new, no doses given
        row_for(world.resident_a1, 末次接种日期="2022-04-20"),  # on record: 0 doses
    ]
    imp = import_file(staff, world.committee_a1, xlsx(rows))
    assert problems_of(imp) == [(2, "末次接种日期", "填写了接种日期,接种剂次不能为0"),
                                (3, "末次接种日期", "填写了接种日期,接种剂次不能为0")]
    world.resident_a1.vaccine_doses = 1
    world.resident_a1.save()
    imp = import_file(staff, world.committee_a1, xlsx([row_for(world.resident_a1, 末次接种日期="2022-04-20")]))
    assert problems_of(imp) == []
