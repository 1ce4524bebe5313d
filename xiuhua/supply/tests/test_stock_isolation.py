"""The home-isolation door visit draws its kit from the committee's stock (when a kit is set up)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.core.models import AuditEvent
from xiuhua.isolation import services as isolation
from xiuhua.isolation.models import CaseStep, Step
from xiuhua.supply import services_stock as s
from xiuhua.supply.models_stock import StockItem, StockMove
from xiuhua.testing import acting

pytestmark = pytest.mark.django_db


def _case(w):
    staff = acting(w.staff_a1)
    arrival = isolation.arrival_register(
        actor=staff, household=w.household_a1, name="周来沪", id_type="resident_id",
        id_number=make_resident_id("420102", dt.date(1985, 4, 2), 321), phone="13911112222",
        origin_text="湖北省武汉市", transport="train", transport_number="G1722", arrival_date=timezone.localdate(),
    )
    return isolation.case_open(actor=staff, arrival=arrival)


def _photo():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(buffer, "JPEG")
    return SimpleUploadedFile("pledge.jpg", buffer.getvalue(), content_type="image/jpeg")


def _door_visit(w, case):
    return isolation.step_complete(actor=acting(w.staff_a1), case=case, step=Step.DOOR_VISIT, health_form=True,
                                   pledge_signed=True, kit_given=True, pledge_photo=_photo())


def _kit(w, masks=10, thermometers=1):
    staff = acting(w.staff_a1)
    items = []
    for name, unit, stock, per_kit in (("口罩", "只", masks, 10), ("体温计", "支", thermometers, 1)):
        item = s.stock_item_add(actor=staff, committee=w.committee_a1, name=name, unit=unit)
        if stock:
            s.stock_receive(actor=staff, committee=w.committee_a1, item=item, quantity=stock)
        items.append(s.stock_kit_set(actor=staff, item=item, kit_quantity=per_kit))
    return items


def test_the_door_visit_takes_one_kit_out_of_stock(world):
    case = _case(world)
    masks, thermometers = _kit(world, masks=25, thermometers=3)
    _door_visit(world, case)
    assert StockItem.objects.get(pk=masks.pk).quantity == 15
    assert StockItem.objects.get(pk=thermometers.pk).quantity == 2
    kit_moves = StockMove.objects.filter(reason="isolation_kit")
    assert {(m.item.name, m.delta, m.ref) for m in kit_moves} == {
        ("口罩", -10, f"isolation_case:{case.pk}"), ("体温计", -1, f"isolation_case:{case.pk}")}
    assert AuditEvent.objects.filter(action="stock_issue").count() == 2
    # Ticking the done step again issues nothing more.
    _door_visit(world, case)
    assert StockMove.objects.filter(reason="isolation_kit").count() == 2


def test_a_short_kit_refuses_the_door_visit_and_changes_nothing(world):
    case = _case(world)
    masks, thermometers = _kit(world, masks=25, thermometers=0)
    with pytest.raises(ValidationError) as err:
        _door_visit(world, case)
    assert err.value.message_dict == {"kit_given": ["防疫包物资不足,请先入库:库存不足:体温计只剩0支"]}
    assert StockItem.objects.get(pk=masks.pk).quantity == 25
    assert not StockMove.objects.filter(reason="isolation_kit").exists()
    assert CaseStep.objects.get(case=case, step=Step.DOOR_VISIT).done_at is None


def test_without_a_kit_the_door_visit_touches_no_stock(world):
    case = _case(world)
    _door_visit(world, case)
    assert CaseStep.objects.get(case=case, step=Step.DOOR_VISIT).done_at is not None
    assert not StockMove.objects.exists()


def test_bad_kit_quantity(world):
    item = s.stock_item_add(actor=acting(world.staff_a1), committee=world.committee_a1, name="口罩")
    for bad in (-1, "x", 1001):
        with pytest.raises(ValidationError) as err:
            s.stock_kit_set(actor=acting(world.staff_a1), item=item, kit_quantity=bad)
        assert err.value.message_dict == {"kit_quantity": ["防疫包数量请填0或正整数"]}
    assert StockItem.objects.get(pk=item.pk).kit_quantity == 0
