"""The data migrations' rewrite of stored masks, old form (first 3, last 4) to new (first 3, last 2)."""

import pytest

from xiuhua.core.crypto import mask_identity
from xiuhua.core.models import AuditEvent
from xiuhua.core.remask import shorten_masked_column, shorten_masks_in_text, shorten_masks_in_text_column
from xiuhua.residents.models import Resident

pytestmark = pytest.mark.django_db

NUMBERS = ["11010519491231002X", "810000199007211235", "E12345678", "H1234567", "A123456", "ABCDE"]


def old_mask(number: str) -> str:
    """What mask_identity made before: the first three and the last four."""
    if len(number) <= 7:
        return number[:1] + "*" * (len(number) - 1)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def test_the_stored_old_masks_become_what_mask_identity_makes_now(world):
    long_enough = NUMBERS[:4]
    wanted = {}
    for resident, number in zip(Resident.objects.order_by("pk")[:4], long_enough, strict=True):
        Resident.objects.filter(pk=resident.pk).update(id_masked=old_mask(number))
        wanted[resident.pk] = mask_identity(number)
    assert shorten_masked_column(Resident) == 4
    assert dict(Resident.objects.filter(pk__in=wanted).values_list("pk", "id_masked")) == wanted
    # Again: nothing left to change.
    assert shorten_masked_column(Resident) == 0
    assert dict(Resident.objects.filter(pk__in=wanted).values_list("pk", "id_masked")) == wanted


def test_short_and_new_masks_are_left_as_they_are(world):
    short, new = list(Resident.objects.order_by("pk"))[:2]
    Resident.objects.filter(pk=short.pk).update(id_masked=old_mask("A123456"))
    Resident.objects.filter(pk=new.pk).update(id_masked=mask_identity("11010519491231002X"))
    shorten_masked_column(Resident)
    assert Resident.objects.get(pk=short.pk).id_masked == "A******"
    assert Resident.objects.get(pk=new.pk).id_masked == "110*************2X"


@pytest.mark.parametrize("number", NUMBERS)
def test_the_text_rewrite_agrees_with_mask_identity(number):
    assert shorten_masks_in_text(f"张三 {old_mask(number)}") == f"张三 {mask_identity(number)}"
    described = "关键词:%s · 标签:独居老人"
    assert shorten_masks_in_text(described % old_mask(number)) == described % mask_identity(number)


def test_the_text_rewrite_leaves_masked_phones_and_new_masks():
    assert shorten_masks_in_text("关键词:138****5678") == "关键词:138****5678"
    assert shorten_masks_in_text("张三 110*************2X") == "张三 110*************2X"


def test_audit_labels_are_rewritten(world):
    old = AuditEvent.objects.create(action="resident_create", subject_label="张秀英 310***********123X")
    phone = AuditEvent.objects.create(action="sms_send", subject_label="138****5678")
    plain = AuditEvent.objects.create(action="ticket_create", subject_label="GD20260101-0001")
    assert shorten_masks_in_text_column(AuditEvent, "subject_label") == 1
    labels = dict(AuditEvent.objects.filter(pk__in=[old.pk, phone.pk, plain.pk]).values_list("pk", "subject_label"))
    assert labels == {old.pk: "张秀英 310*************3X", phone.pk: "138****5678", plain.pk: "GD20260101-0001"}
