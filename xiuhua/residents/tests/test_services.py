import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from xiuhua.core.crypto import decrypt_text
from xiuhua.core.idnumbers import IdType, make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.residents import services
from xiuhua.residents.models import Household, Resident
from xiuhua.testing import acting

pytestmark = pytest.mark.django_db

NEW_ID = make_resident_id("310110", dt.date(1990, 7, 1), 123)  # odd sequence: male


def create(world, user=None, **overrides):
    values = {
        "household": world.household_a1, "id_type": IdType.RESIDENT_ID, "id_number": NEW_ID,
        "name": "陈明", "sex": "M", "birth_date": dt.date(1990, 7, 1), "relation": "child",
        "mobile": "+86 138-0000-9999", "tags": ["medical_professional"], "specialty": "肾内科",
    }
    values.update(overrides)
    return services.resident_create(actor=acting(user or world.staff_a1), **values)


def test_create_stores_the_number_encrypted_hashed_and_masked(world):
    resident = create(world)
    assert resident.committee == world.committee_a1
    assert resident.mobile == "13800009999"
    assert resident.id_masked == NEW_ID[:3] + "*" * 13 + NEW_ID[-2:]
    assert resident.id_last4 == NEW_ID[-4:]
    assert NEW_ID not in resident.id_encrypted
    assert decrypt_text(resident.id_encrypted) == NEW_ID
    assert resident.tag_codes == ["medical_professional"]
    event = AuditEvent.objects.get(action="resident_create")
    assert event.object_id == resident.pk and NEW_ID not in event.subject_label


def test_full_width_number_is_normalised_and_then_a_duplicate(world):
    create(world, id_number="".join(chr(ord(c) + 0xFEE0) for c in NEW_ID))
    with pytest.raises(ValidationError) as exc:
        create(world, name="另一人")
    assert "已登记在" in str(exc.value)
    assert Resident.objects.filter(name="另一人").count() == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"sex": "F"}, "sex", "性别与证件号码不一致"),
        ({"birth_date": dt.date(1990, 7, 2)}, "id_number", "出生日期与证件号码不一致"),
        ({"mobile": "12345"}, "mobile", "手机号码格式不正确"),
        ({"name": "  "}, "name", "请填写姓名"),
        ({"living_status": "away"}, "away_until", "外出人员须填写预计返回日期"),
        ({"id_number": NEW_ID[:-1] + ("0" if NEW_ID[-1] != "0" else "1")}, "id_number", "校验位不正确"),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(world, overrides, field, message):
    before = (Resident.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as exc:
        create(world, **overrides)
    assert message in " ".join(exc.value.message_dict[field])
    assert (Resident.objects.count(), AuditEvent.objects.count()) == before


def test_create_in_another_committee_is_refused(world):
    with pytest.raises(Household.DoesNotExist):
        create(world, user=world.staff_b1)
    with pytest.raises(PermissionDenied):
        create(world, user=world.street_officer)  # views only
    assert Resident.objects.filter(name="陈明").count() == 0


@pytest.mark.parametrize("birth_date", [dt.date(1946, 3, 8), dt.date(1946, 3, 9)])
def test_a_birth_date_the_stored_number_holds_is_refused_whatever_it_is(world, birth_date):
    """Compared with the stored number, a date sent would confirm or deny a guess: the right date
    and a wrong one get the same answer, and nothing changes."""
    with pytest.raises(ValidationError) as exc:
        services.resident_update(actor=acting(world.staff_a1), resident=world.resident_a1, birth_date=birth_date)
    assert exc.value.message_dict == {"birth_date": ["出生日期取自证件号码,无需填写;如有误,请重新填写证件号码"]}
    assert AuditEvent.objects.count() == 0


def test_the_birth_date_comes_from_a_number_that_holds_it(world):
    resident = create(world, birth_date=None)
    assert resident.birth_date == dt.date(1990, 7, 1)
    # A new number brings its own date, and without one the stored number's date is kept.
    number = make_resident_id("310110", dt.date(1991, 2, 3), 125)
    services.resident_update(actor=acting(world.staff_a1), resident=resident, id_number=number)
    services.resident_update(actor=acting(world.staff_a1), resident=resident, name="陈明明", birth_date=None)
    resident.refresh_from_db()
    assert (resident.birth_date, resident.name) == (dt.date(1991, 2, 3), "陈明明")


def test_a_passport_needs_a_birth_date_and_may_change_it(world):
    with pytest.raises(ValidationError) as exc:
        create(world, id_type=IdType.PASSPORT, id_number="E12345678", birth_date=None)
    assert exc.value.message_dict == {"birth_date": ["请填写出生日期"]}
    resident = create(world, id_type=IdType.PASSPORT, id_number="E12345678", birth_date=dt.date(1990, 7, 1))
    services.resident_update(actor=acting(world.staff_a1), resident=resident, birth_date=dt.date(1990, 7, 2))
    resident.refresh_from_db()
    assert resident.birth_date == dt.date(1990, 7, 2)


def test_update_without_changes_writes_no_audit(world):
    services.resident_update(actor=acting(world.staff_a1), resident=world.resident_a1, name="张秀英")
    assert AuditEvent.objects.count() == 0


def test_update_move_within_committee(world):
    resident = services.resident_update(actor=acting(world.staff_a1), resident=world.resident_a1b,
                                        household=world.household_a1)
    assert resident.household == world.household_a1
    assert AuditEvent.objects.get().detail == {"fields": ["household"]}


def test_household_rental_needs_landlord_phone(world):
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=acting(world.staff_a1), building=world.building_a1, room="501",
                                  is_rental=True)
    assert "房东联系电话" in str(exc.value)


def test_household_grid_must_belong_to_the_committee(world):
    from xiuhua.places.models import Grid

    other = Grid.objects.create(committee=world.committee_b1, kind=Grid.GridKind.GRID, name="B网格")
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=acting(world.staff_a1), building=world.building_a1, room="501", grid=other)
    assert "网格须属于本居委会" in str(exc.value)


def test_grid_worker_households_land_in_their_grid(world):
    household = services.household_create(actor=acting(world.grid_worker), building=world.building_a1, room="502")
    assert (household.grid, household.micro_grid) == (world.grid_a1, None)
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=acting(world.grid_worker), building=world.building_a1, room="503",
                                  grid=_other_grid(world))
    assert "自己负责的网格" in str(exc.value)


def _other_grid(world):
    from xiuhua.places.models import Grid

    return Grid.objects.create(committee=world.committee_a1, kind=Grid.GridKind.GRID, name="第二网格")


def test_arabic_indic_digits_are_not_an_identity_number(world):
    eastern = NEW_ID[:17].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + NEW_ID[17]
    with pytest.raises(ValidationError):
        create(world, id_number=eastern)


def test_beside_a_masked_number_the_birth_date_is_shown_as_far_as_the_number_does_not_hold_it(world):
    resident = world.resident_a1
    assert resident.birth_shown == "1946"
    resident.id_type, resident.id_masked = IdType.PASSPORT, "E12****78"
    assert resident.birth_shown == "1946-03-08"


def test_a_refused_birth_date_comes_with_the_other_errors(world):
    with pytest.raises(ValidationError) as exc:
        services.resident_update(actor=acting(world.staff_a1), resident=world.resident_a1,
                                 birth_date=dt.date(1946, 3, 8), mobile="12345")
    assert set(exc.value.message_dict) == {"birth_date", "mobile"}
