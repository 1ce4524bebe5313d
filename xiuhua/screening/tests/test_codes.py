"""Sampling codes: bulk generation from the roster, walk-ins, and the station's lookup."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from xiuhua.core.codes import is_valid
from xiuhua.core.models import AuditEvent
from xiuhua.residents.models import LivingStatus, Relation
from xiuhua.screening.models import RoundCompound, RoundStatus, SamplingCode, ScreeningRound
from xiuhua.screening.services_codes import (
    REFERENCE_LENGTH,
    code_lookup,
    codes_generate,
    walk_in_register,
)
from xiuhua.testing import acting, make_resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(world):
    """Besides the world's residents of committee A1 (张秀英 in 5号 302, 李建国 in 6号 101): a
    child without a phone, one away and one moved out."""
    child = make_resident(world.household_a1, "张伟", relation=Relation.CHILD)
    away = make_resident(world.household_a1b, "钱多多", mobile="13811112222", relation=Relation.SPOUSE)
    away.living_status = LivingStatus.AWAY
    away.save()
    gone = make_resident(world.household_a1b, "孙离", relation=Relation.CHILD)
    gone.living_status = LivingStatus.MOVED_OUT
    gone.save()
    return {"child": child, "away": away, "gone": gone}


def _codes(screening_round):
    return {
        code.resident_id: (code.name_masked, code.building_id, code.room, code.phone, code.committee_id)
        for code in SamplingCode.objects.filter(round=screening_round)
    }


def test_generate_makes_one_code_per_resident_living_there(world, screening, family):
    made = codes_generate(actor=acting(world.staff_a1), round=screening.round, committee=world.committee_a1)
    assert made == 4
    a1 = world.committee_a1.pk
    assert _codes(screening.round) == {
        world.resident_a1.pk: ("张**", world.building_a1.pk, "302", "13812345678", a1),
        # A child without a phone carries the household's.
        family["child"].pk: ("张*", world.building_a1.pk, "302", "13812345678", a1),
        world.resident_a1b.pk: ("李**", world.building_a1b.pk, "101", "13812340000", a1),
        family["away"].pk: ("钱**", world.building_a1b.pk, "101", "13811112222", a1),
    }
    references = list(SamplingCode.objects.values_list("reference", flat=True))
    assert all(len(r) == REFERENCE_LENGTH and is_valid(r) for r in references)
    assert len(set(references)) == 4
    events = list(AuditEvent.objects.filter(action="screening_codes_generate"))
    assert [(e.actor_id, e.committee_id, e.detail["count"], e.object_id) for e in events] == [
        (world.staff_a1.pk, a1, 4, screening.round.pk)]


def test_a_rerun_makes_only_the_missing_codes(world, screening, family):
    staff = acting(world.staff_a1)
    codes_generate(actor=staff, round=screening.round, committee=world.committee_a1)
    before = set(SamplingCode.objects.values_list("reference", flat=True))
    assert codes_generate(actor=staff, round=screening.round, committee=world.committee_a1) == 0
    newcomer = make_resident(world.household_a1b, "周新", relation=Relation.TENANT)
    assert codes_generate(actor=staff, round=screening.round, committee=world.committee_a1) == 1
    after = SamplingCode.objects.filter(round=screening.round)
    assert set(after.values_list("reference", flat=True)) > before
    assert after.get(resident=newcomer).phone == "13812340000"  # 李建国, the head of 6号 101
    assert list(AuditEvent.objects.filter(action="screening_codes_generate").order_by("pk")
                .values_list("detail__count", flat=True)) == [4, 0, 1]


def test_a_compound_alone_and_a_household_without_any_phone(world, screening):
    # 王芳 of 国和二村 12号 201, and a lodger in a household where nobody has a mobile.
    from xiuhua.residents.models import Household

    lone = Household.objects.create(building=world.building_a2, room="1202")
    lodger = make_resident(lone, "吴静")
    made = codes_generate(actor=acting(world.street_officer), round=screening.round, compound=world.compound_a2)
    assert made == 2
    assert _codes(screening.round) == {
        world.resident_a2.pk: ("王*", world.building_a2.pk, "201", "13700001111", world.committee_a2.pk),
        lodger.pk: ("吴*", world.building_a2.pk, "1202", "", world.committee_a2.pk),
    }


@pytest.mark.parametrize(
    ("who", "unit", "error"),
    [
        ("staff_a1", "committee_a2", PermissionDenied),  # another committee
        ("staff_b1", "committee_a1", PermissionDenied),  # another street's committee
        ("volunteer", "committee_a1", PermissionDenied),  # scans at stations, issues no codes
        ("grid_worker", "committee_a1", PermissionDenied),
        ("district_officer", "committee_a1", PermissionDenied),  # plans, does not issue
        ("no_role", "committee_a1", PermissionDenied),
    ],
)
def test_generation_refused_writes_nothing(world, screening, who, unit, error):
    with pytest.raises(error):
        codes_generate(actor=acting(getattr(world, who)), round=screening.round, committee=getattr(world, unit))
    assert not SamplingCode.objects.exists()
    assert not AuditEvent.objects.exists()


def test_generation_refused_for_a_round_or_unit_outside(world, screening):
    staff = acting(world.staff_a1)
    with pytest.raises(Http404):  # street B's round is not the committee's to see
        codes_generate(actor=staff, round=screening.round_b, committee=world.committee_a1)
    only_a1 = ScreeningRound.objects.create(
        name="国和一村加测", scope=world.street_a, first_day=dt.date(2026, 5, 1), last_day=dt.date(2026, 5, 1),
        created_by=world.street_officer)
    RoundCompound.objects.create(round=only_a1, compound=world.compound_a1)
    with pytest.raises(ValidationError) as refused:
        codes_generate(actor=acting(world.staff_a2), round=only_a1, committee=world.committee_a2)
    assert refused.value.messages == ["本轮筛查不包括国和二村居委会"]
    ScreeningRound.objects.filter(pk=screening.round.pk).update(status=RoundStatus.CLOSED)
    with pytest.raises(ValidationError) as closed:
        codes_generate(actor=staff, round=screening.round, committee=world.committee_a1)
    assert closed.value.messages == ["本轮筛查已结束采样,不能再发放采样码"]
    assert not SamplingCode.objects.exists()
    assert not AuditEvent.objects.exists()


def test_walk_in_registered_once(world, screening):
    staff = acting(world.staff_a1)
    code = walk_in_register(actor=staff, round=screening.round, committee=world.committee_a1, name=" 陈访客 ",
                            phone="138 0000 1234", building=world.building_a1, room=" 501 ")
    assert (code.walk_in, code.walk_in_name, code.name_masked, code.phone, code.building_id, code.room,
            code.household_id, code.resident_id, code.committee_id) == (
        True, "陈访客", "陈**", "13800001234", world.building_a1.pk, "501", None, None, world.committee_a1.pk)
    assert is_valid(code.reference)
    again = walk_in_register(actor=acting(world.volunteer), round=screening.round, committee=world.committee_a1,
                             name="陈访客", phone="13800001234")
    assert again.pk == code.pk
    assert SamplingCode.objects.count() == 1
    assert AuditEvent.objects.filter(action="screening_walk_in_register").count() == 1
    # At the address of a roster household, the code points at it.
    tenant = walk_in_register(actor=staff, round=screening.round, committee=world.committee_a1, name="新租客",
                              phone="13900002222", building=world.building_a1, room="302")
    assert tenant.household_id == world.household_a1.pk


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": "", "phone": "13800001234"}, {"name": ["请填写姓名"]}),
        ({"name": "陈\u202e访客", "phone": "13800001234"}, {"name": ["姓名含有不可见或控制字符"]}),
        ({"name": "陈访客", "phone": "1380000"}, {"phone": ["手机号码格式不正确"]}),
        ({"name": "陈访客", "phone": ""}, {"phone": ["请填写手机号码,用于通知检测结果"]}),
        ({"name": "陈访客", "phone": "13800001234", "room": "501"}, {"building": ["填写室号时请选择楼栋"]}),
        ({"name": "陈访客", "phone": "13800001234", "building": "building_a2"},
         {"building": ["该楼栋不在本居委会本轮筛查的范围内"]}),
    ],
)
def test_walk_in_bad_input_changes_nothing(world, screening, fields, errors):
    fields = dict(fields)
    if isinstance(fields.get("building"), str):
        fields["building"] = getattr(world, fields["building"])
    with pytest.raises(ValidationError) as refused:
        walk_in_register(actor=acting(world.staff_a1), round=screening.round, committee=world.committee_a1, **fields)
    assert refused.value.message_dict == errors
    assert not SamplingCode.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("who", ["staff_a2", "pharmacy_clerk", "grid_worker", "staff_b1"])
def test_walk_in_refused_outside_scope(world, screening, who):
    with pytest.raises(PermissionDenied):
        walk_in_register(actor=acting(getattr(world, who)), round=screening.round, committee=world.committee_a1,
                         name="陈访客", phone="13800001234")
    assert not SamplingCode.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.fixture
def issued(world, screening):
    codes_generate(actor=acting(world.staff_a1), round=screening.round, committee=world.committee_a1)
    return SamplingCode.objects.get(resident=world.resident_a1)


def _full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


@pytest.mark.parametrize(
    "typed",
    [
        lambda r: r,
        lambda r: r + " ",  # a scanner's trailing space
        lambda r: f" {r[:4]} {r[4:8]} {r[8:]}\n".lower(),
        lambda r: _full_width(r),
        lambda r: f"{r[:6]}-{r[6:]}",
    ],
)
def test_lookup_reads_what_scanners_and_people_type(world, screening, issued, typed):
    card = code_lookup(actor=acting(world.volunteer), round=screening.round, reference=typed(issued.reference))
    assert (card.reference, card.name_masked, card.building, card.room, card.walk_in) == (
        issued.reference, "张**", "5号", "302", False)


def _wrong_check(reference: str) -> str:
    from xiuhua.core.codes import ALPHABET

    last = ALPHABET[(ALPHABET.index(reference[-1]) + 1) % len(ALPHABET)]
    return reference[:-1] + last


def test_lookup_bad_input(world, screening, issued):
    volunteer = acting(world.volunteer)

    def message(text, screening_round=screening.round):
        with pytest.raises(ValidationError) as refused:
            code_lookup(actor=volunteer, round=screening_round, reference=text)
        return refused.value.message_dict["reference"]

    assert message("  ") == ["请扫描或输入采样码"]
    assert message("张秀英") == ["这不是采样码,请扫描居民的采样码"]
    assert message(issued.reference[:-1]) == ["这不是采样码,请扫描居民的采样码"]
    assert message(_wrong_check(issued.reference)) == ["采样码有误(校验位不符),请重新扫描或逐位核对"]
    from xiuhua.screening.services_codes import new_reference

    assert message(new_reference()) == ["没有这个采样码,请核对后重试"]
    other = ScreeningRound.objects.create(
        name="第二轮全员核酸筛查", scope=world.street_a, first_day=dt.date(2026, 5, 3), last_day=dt.date(2026, 5, 3),
        status=RoundStatus.OPEN, created_by=world.street_officer)
    assert message(issued.reference, other) == ["这是其他轮次的采样码,请出示本轮“第二轮全员核酸筛查”的采样码"]


@pytest.mark.parametrize("who", ["pharmacy_clerk", "grid_worker", "no_role"])
def test_lookup_refused_without_a_station_or_desk_role(world, screening, issued, who):
    with pytest.raises(PermissionDenied):
        code_lookup(actor=acting(getattr(world, who)), round=screening.round, reference=issued.reference)


def test_lookup_of_another_streets_round_is_a_404(world, screening, issued):
    with pytest.raises(Http404):
        code_lookup(actor=acting(world.volunteer), round=screening.round_b, reference=issued.reference)



@pytest.mark.django_db(transaction=True)
def test_a_reference_already_taken_is_drawn_again(world, monkeypatch):
    """A drawn reference that is stored already is replaced before the insert; one stored by a
    parallel run after the check makes the insert fail, and the whole run is made again."""
    from xiuhua.screening import services_codes
    from xiuhua.screening.tests.fixtures import build_screening

    screening = build_screening(world)
    visitor = walk_in_register(actor=acting(world.staff_a1), round=screening.round, committee=world.committee_a1,
                               name="陈访客", phone="13800001234")
    fresh = [services_codes.new_reference() for _ in range(4)]
    # The first draw repeats the visitor's code: the check against the table replaces it.
    draws = iter([visitor.reference, fresh[0], fresh[1], fresh[2]])
    monkeypatch.setattr(services_codes, "new_reference", lambda: next(draws))
    assert codes_generate(actor=acting(world.staff_a1), round=screening.round, committee=world.committee_a1) == 2
    assert set(SamplingCode.objects.filter(walk_in=False).values_list("reference", flat=True)) <= set(fresh)

    # A check that misses (a parallel run stored the reference in between): the insert fails
    # and the run starts over with new draws.
    newcomer = make_resident(world.household_a1b, "周新", relation=Relation.TENANT)
    taken = SamplingCode.objects.filter(walk_in=False).values_list("reference", flat=True)[0]
    draws = iter([taken, fresh[3]])
    real_taken = services_codes._taken
    misses = iter([True])
    monkeypatch.setattr(services_codes, "_taken", lambda refs: set() if next(misses, False) else real_taken(refs))
    assert codes_generate(actor=acting(world.staff_a1), round=screening.round, committee=world.committee_a1) == 1
    assert SamplingCode.objects.get(resident=newcomer).reference == fresh[3]
    assert list(AuditEvent.objects.filter(action="screening_codes_generate").order_by("pk")
                .values_list("detail__count", flat=True)) == [2, 1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_generation_makes_each_code_once(world):
    """Two staff members (or a double click) generating the same committee's codes at once: the
    round's row lock queues the second run, which finds nothing missing."""
    from xiuhua.screening.tests.fixtures import build_screening
    from xiuhua.testing import run_parallel

    screening = build_screening(world)
    for i in range(40):
        make_resident(world.household_a1b, f"并发{i:02d}", relation=Relation.TENANT)

    def generate(i):
        actor = acting(world.staff_a1 if i % 2 else world.street_officer)
        return codes_generate(actor=actor, round=screening.round, committee=world.committee_a1)

    results = run_parallel(generate, 6)
    assert sorted(results) == [0, 0, 0, 0, 0, 42]
    assert SamplingCode.objects.filter(round=screening.round).count() == 42
    assert SamplingCode.objects.filter(round=screening.round).values("resident").distinct().count() == 42
    assert list(AuditEvent.objects.filter(action="screening_codes_generate").order_by("pk")
                .values_list("detail__count", flat=True)) == [42, 0, 0, 0, 0, 0]
