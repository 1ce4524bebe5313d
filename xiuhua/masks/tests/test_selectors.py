import uuid

from django.utils import timezone

from xiuhua.masks import selectors, services
from xiuhua.masks.models import Channel, MaskRound
from xiuhua.testing import acting

from .fixtures import holder_id, new_household, reserve, unknown_id


def test_stock_bands():
    assert selectors.stock_band(0, 5, delivered=0) == "awaiting"  # before any delivery: 未到货
    assert [selectors.stock_band(m, 5) for m in (0, 4, 5, 29, 30, 99, 100, 1000)] == [
        "none", "none", "few", "few", "some", "some", "plenty", "plenty",
    ]


def test_dashboard_figures_per_committee_and_pharmacy(world, masks):
    services.round_update(actor=acting(world.district_officer), round=masks.round, special_share_percent=0)
    masks.round.refresh_from_db()
    rs = [reserve(masks, new_household(world)) for _ in range(3)]
    reserve(masks, world.resident_a2)
    reserve(masks, world.resident_b1)
    services.reservation_submit(
        actor=None, round=masks.round, channel=Channel.ONLINE, name="陈新", id_type="resident_id",
        id_number=unknown_id(), phone="13911112222", committee=world.committee_a1, address_text="5号",
    )
    services.stock_delivery_record(
        actor=acting(world.pharmacy_clerk), round=masks.round, pharmacy=masks.pharmacy_a, quantity=12,
        delivered_at=timezone.now(), idempotency_key=uuid.uuid4().hex,
    )
    v = rs[0].vouchers.get()
    services.voucher_redeem(actor=acting(world.pharmacy_clerk), number=v.number, id_number=holder_id(rs[0]))
    board = selectors.round_dashboard(round=masks.round, user=acting(world.street_officer))
    a1 = board.committees[world.committee_a1.pk]
    assert (a1.registered, a1.verifying, a1.queued, a1.issued, a1.redeemed) == (4, 1, 1, 2, 1)
    assert world.committee_b1.pk not in board.committees  # street B is not the officer's
    pa = board.pharmacies[masks.pharmacy_a.pk]
    assert (pa.registered, pa.issued, pa.redeemed) == (5, 2, 1)
    assert (pa.delivered, pa.allocated, pa.masks_redeemed, pa.band) == (12, 10, 5, "none")
    assert list(board.pharmacies) == [masks.pharmacy_a.pk]
    district = selectors.round_dashboard(round=masks.round, user=acting(world.district_officer))
    assert set(district.committees) == {world.committee_a1.pk, world.committee_a2.pk, world.committee_b1.pk}
    assert district.total.registered == 6
    assert selectors.round_dashboard(round=masks.round, user=acting(world.volunteer)).committees == {}
    staff = selectors.round_dashboard(round=masks.round, user=acting(world.staff_a2))
    assert set(staff.committees) == {world.committee_a2.pk}


def test_public_rows_give_exact_figures_and_bands_in_one_statement(world, masks, django_assert_num_queries):
    services.round_update(actor=acting(world.district_officer), round=masks.round, special_share_percent=0)
    masks.round.refresh_from_db()
    a1_households = [reserve(masks, new_household(world), phone=f"1390000000{i}") for i in range(3)]
    reserve(masks, world.resident_a2, phone="13900000010")
    reserve(masks, world.resident_b1, phone="13900000011")
    services.reservation_submit(
        actor=None, round=masks.round, channel=Channel.ONLINE, name="陈新", id_type="resident_id",
        id_number=unknown_id(), phone="13911112222", committee=world.committee_a1, address_text="5号",
    )
    # 50 masks at 5 a household: the four queued at pharmacy A get vouchers, 30 masks (6 households) stay free.
    services.stock_delivery_record(
        actor=acting(world.pharmacy_clerk), round=masks.round, pharmacy=masks.pharmacy_a, quantity=50,
        delivered_at=timezone.now(), idempotency_key=uuid.uuid4().hex,
    )
    services.voucher_redeem(
        actor=acting(world.pharmacy_clerk), number=a1_households[0].vouchers.get().number,
        id_number=holder_id(a1_households[0]),
    )
    mask_round = MaskRound.objects.select_related("scope").get(pk=masks.round.pk)

    with django_assert_num_queries(1):
        pharmacies = selectors.pharmacy_rows(mask_round)
    pharmacy_a = {"id": masks.pharmacy_a.pk, "name": "国和药房", "address": "国和路1号", "opening_hours": ""}
    pharmacy_b = {"id": masks.pharmacy_b.pk, "name": "政立药房", "address": "政立路2号", "opening_hours": ""}
    assert pharmacies == [
        {**pharmacy_a, **_status_counts(5, 1, 0, 4, 1), "stock_band": "some"},
        {**pharmacy_b, **_status_counts(1, 0, 1, 0, 0), "stock_band": "awaiting"},
    ]
    assert selectors.pharmacy_rows(mask_round, pharmacy_ids=[masks.pharmacy_b.pk]) == pharmacies[1:]

    with django_assert_num_queries(1):
        committees = selectors.committee_rows(mask_round)
    a1, a2, b1 = (
        {"code": unit.code, "name": unit.name, "pharmacy_id": pharmacy.pk}
        for unit, pharmacy in (
            (world.committee_a1, masks.pharmacy_a),
            (world.committee_a2, masks.pharmacy_a),
            (world.committee_b1, masks.pharmacy_b),
        )
    )
    assert committees == [
        {**a1, **_status_counts(4, 1, 0, 3, 1), "stock_band": "some"},
        {**a2, **_status_counts(1, 0, 0, 1, 0), "stock_band": "some"},
        {**b1, **_status_counts(1, 0, 1, 0, 0), "stock_band": "awaiting"},
    ]
    assert selectors.committee_rows(mask_round, committee_ids=[world.committee_a2.pk]) == committees[1:2]
    assert [row["band_label"] for row in selectors.with_band_labels(committees)] == ["有货", "有货", "未到货"]


def _status_counts(registered, verifying, queued, issued, redeemed) -> dict[str, int]:
    return {"registered": registered, "verifying": verifying, "queued": queued, "issued": issued, "redeemed": redeemed}
