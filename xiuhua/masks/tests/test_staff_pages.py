"""Staff pages of the mask module: authorisation matrix and exact outcomes of every form."""

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.accounts.models import User
from xiuhua.core.audit import AuditEvent
from xiuhua.core.idnumbers import IdType
from xiuhua.masks import pdf as voucher_pdf_module
from xiuhua.masks import services
from xiuhua.masks.codes import format_voucher_number
from xiuhua.masks.models import (
    Channel,
    MaskRound,
    PharmacyStock,
    Reservation,
    ReservationStatus,
    RoundStatus,
    StockDelivery,
    Voucher,
    VoucherStatus,
)
from xiuhua.testing import acting, as_user, qr_codes_in_pdf

from .fixtures import holder_id, new_household, reserve, unknown_id

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        Reservation.objects.count(),
        sorted(Reservation.objects.values_list("number", "status", "household_id", "status_reason")),
        Voucher.objects.count(),
        sorted(Voucher.objects.values_list("number", "status", "redeemed_at")),
        StockDelivery.objects.count(),
        sorted(PharmacyStock.objects.values_list("pharmacy_id", "delivered", "allocated", "redeemed")),
        sorted(MaskRound.objects.values_list("pk", "name", "status", "masks_per_household")),
        # Lookups made to show a page (candidates for verification) are audited reads, not writes.
        AuditEvent.objects.exclude(action="personal_lookup").count(),
    )


@pytest.fixture
def scene(world, masks):
    """A queued reservation with a voucher (A1), one waiting for verification (A1), B1 with a voucher."""
    s = masks
    s.w = world
    s.queued = reserve(s, world.resident_a1)  # issued below
    s.waiting = services.reservation_submit(
        actor=None,
        round=s.round,
        channel=Channel.ONLINE,
        name="新住户",
        id_type=IdType.RESIDENT_ID,
        id_number=unknown_id(),
        phone="13900009999",
        committee=world.committee_a1,
        address_text="国和一村6号101室",
    )
    s.b1 = reserve(s, world.resident_b1)
    now = timezone.now()
    for clerk, pharmacy in ((s.clerk_a, s.pharmacy_a), (s.clerk_b, s.pharmacy_b)):
        services.stock_delivery_record(
            actor=acting(clerk),
            round=s.round,
            pharmacy=pharmacy,
            quantity=5,
            delivered_at=now,
            idempotency_key=uuid.uuid4().hex,
        )
    s.voucher_a = Voucher.objects.get(reservation=s.queued)
    s.voucher_b = Voucher.objects.get(reservation=s.b1)
    return s


def urls(s):
    r, res, v = s.round.pk, s.queued.pk, s.voucher_a.pk
    p, clerk = s.pharmacy_a.pk, s.pharmacy_a.clerks.get().pk
    return {
        "staff_rounds": reverse("masks:staff_rounds"),
        "staff_round_new": reverse("masks:staff_round_new"),
        "staff_round": reverse("masks:staff_round", args=[r]),
        "staff_round_edit": reverse("masks:staff_round_edit", args=[r]),
        "staff_round_open": reverse("masks:staff_round_open", args=[r]),
        "staff_round_close": reverse("masks:staff_round_close", args=[r]),
        "staff_round_finish": reverse("masks:staff_round_finish", args=[r]),
        "staff_reserve": reverse("masks:staff_reserve", args=[r]),
        "staff_verify_queue": reverse("masks:staff_verify_queue", args=[r]),
        "staff_verify_queue_xlsx": reverse("masks:staff_verify_queue_xlsx", args=[r]),
        "staff_vouchers": reverse("masks:staff_vouchers", args=[r]),
        "staff_vouchers_pdf": reverse("masks:staff_vouchers_pdf", args=[r]),
        "staff_reservation": reverse("masks:staff_reservation", args=[res]),
        "staff_verify": reverse("masks:staff_verify", args=[s.waiting.pk]),
        "staff_reject": reverse("masks:staff_reject", args=[s.waiting.pk]),
        "staff_voucher_pdf": reverse("masks:staff_voucher_pdf", args=[v]),
        "staff_deliveries": reverse("masks:staff_deliveries"),
        "staff_redeem": reverse("masks:staff_redeem"),
        "staff_home": reverse("masks:staff_home"),
        "staff_household_search": reverse("masks:staff_household_search"),
        "staff_pharmacies": reverse("masks:staff_pharmacies"),
        "staff_pharmacy_new": reverse("masks:staff_pharmacy_new"),
        "staff_pharmacy": reverse("masks:staff_pharmacy", args=[p]),
        "staff_pharmacy_committees": reverse("masks:staff_pharmacy_committees", args=[p]),
        "staff_pharmacy_clerk_add": reverse("masks:staff_pharmacy_clerk_add", args=[p]),
        "staff_pharmacy_clerk_new": reverse("masks:staff_pharmacy_clerk_new", args=[p]),
        "staff_pharmacy_clerk_remove": reverse("masks:staff_pharmacy_clerk_remove", args=[p, clerk]),
        "staff_pharmacy_deactivate": reverse("masks:staff_pharmacy_deactivate", args=[p]),
    }


# Which capability each page needs, and who holds it (world usernames).
NEEDS = {
    "staff_rounds": "view_masks",
    "staff_round_new": "manage_rounds",
    "staff_round": "view_masks",
    "staff_round_edit": "manage_rounds",
    "staff_round_open": "manage_rounds",
    "staff_round_close": "manage_rounds",
    "staff_round_finish": "manage_rounds",
    "staff_reserve": "reserve_for_resident",
    "staff_verify_queue": "verify_reservation",
    "staff_verify_queue_xlsx": "verify_reservation",
    "staff_vouchers": "reserve_for_resident",
    "staff_vouchers_pdf": "reserve_for_resident",
    "staff_reservation": "view_masks",
    "staff_verify": "verify_reservation",
    "staff_reject": "verify_reservation",
    "staff_voucher_pdf": "reserve_for_resident",
    "staff_deliveries": "record_delivery",
    "staff_redeem": "redeem_voucher",
    "staff_household_search": "reserve_for_resident",
    "staff_pharmacies": "manage_rounds",
    "staff_pharmacy_new": "manage_rounds",
    "staff_pharmacy": "manage_rounds",
    "staff_pharmacy_committees": "manage_rounds",
    "staff_pharmacy_clerk_add": "manage_rounds",
    "staff_pharmacy_clerk_new": "manage_rounds",
    "staff_pharmacy_clerk_remove": "manage_rounds",
    "staff_pharmacy_deactivate": "manage_rounds",
}
HOLDERS = {
    "view_masks": "staff_a1",
    "manage_rounds": "district",
    "reserve_for_resident": "staff_a1",
    "verify_reservation": "staff_a1",
    "record_delivery": "pharmacy",
    "redeem_voucher": "pharmacy",
}
# A user without the capability (but with a membership): must get 403.
LACKING = {
    "view_masks": "pharmacy",
    "manage_rounds": "staff_a1",
    "reserve_for_resident": "district",
    "verify_reservation": "street_a",
    "record_delivery": "staff_a1",
    "redeem_voucher": "street_a",
}


def test_every_staff_url_is_in_the_matrix(scene):
    from xiuhua.masks.urls_staff import urlpatterns

    assert {p.name for p in urlpatterns} == set(urls(scene))
    assert all(name.startswith("staff_") for name in urls(scene))


def test_anonymous_goes_to_login_and_writes_nothing(client, scene):
    before = snapshot()
    for name, url in urls(scene).items():
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, name
            assert response["Location"].startswith("/accounts/login/"), name
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_wrong_role_is_refused_and_writes_nothing(client, scene, name):
    before = snapshot()
    url = urls(scene)[name]
    for username in (LACKING[NEEDS[name]], "volunteer", "nobody", "sysadmin"):
        as_user(client, User.objects.get(username=username))
        assert client.get(url).status_code in (403, 405), (name, username)
        assert client.post(url, {"reason": "x", "number": scene.voucher_a.number}).status_code == 403, (
            name,
            username,
        )
    assert snapshot() == before


def test_staff_home_routes_each_role(client, scene):
    home = reverse("masks:staff_home")
    for username, target in (
        ("pharmacy", "masks:staff_redeem"),
        ("staff_a1", "masks:staff_rounds"),
        ("district", "masks:staff_rounds"),
        ("street_a", "masks:staff_rounds"),
    ):
        as_user(client, User.objects.get(username=username))
        response = client.get(home)
        assert response.status_code == 302 and response["Location"] == reverse(target), username
    for username in ("volunteer", "nobody", "sysadmin", "grid_a1"):
        as_user(client, User.objects.get(username=username))
        assert client.get(home).status_code == 403, username


POST_ONLY = {"staff_household_search", "staff_pharmacy_committees", "staff_pharmacy_clerk_add",
             "staff_pharmacy_clerk_new", "staff_pharmacy_clerk_remove", "staff_pharmacy_deactivate"}


def test_right_user_gets_every_page(client, scene):
    for name, url in urls(scene).items():
        if name in ("staff_round_open", "staff_round_close", "staff_round_finish", "staff_reject", "staff_home") \
                or name in POST_ONLY:
            continue
        username = HOLDERS[NEEDS[name]]
        as_user(client, User.objects.get(username=username))
        response = client.get(url)
        assert response.status_code == 200, (name, username)


def test_nav_link_shows_for_mask_roles_only(client, scene):
    link = reverse("masks:staff_home")
    for username, shown in (("pharmacy", True), ("staff_a1", True), ("grid_a1", False), ("volunteer", False)):
        as_user(client, User.objects.get(username=username))
        assert (link in client.get("/").content.decode()) is shown, username


# Other committee, other pharmacy, other unit: 404 like a missing id, nothing written.


def test_other_committee_gets_404_and_writes_nothing(client, scene):
    before = snapshot()
    as_user(client, scene.w.staff_b1)
    other = [
        reverse("masks:staff_reservation", args=[scene.queued.pk]),
        reverse("masks:staff_verify", args=[scene.waiting.pk]),
        reverse("masks:staff_voucher_pdf", args=[scene.voucher_a.pk]),
        reverse("masks:staff_reservation", args=[999999]),
    ]
    for url in other:
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("masks:staff_verify", args=[scene.waiting.pk]), {"household": scene.w.household_b1.pk}
        ).status_code
        == 404
    )
    assert client.post(reverse("masks:staff_reject", args=[scene.waiting.pk]), {"reason": "不符"}).status_code == 404
    # The B1 print-out holds only B1's vouchers.
    payloads = []
    original = voucher_pdf_module.qr_payload
    voucher_pdf_module.qr_payload = lambda v: payloads.append(v.number) or original(v)
    try:
        response = client.get(reverse("masks:staff_vouchers_pdf", args=[scene.round.pk]), {"v": [scene.voucher_a.pk]})
    finally:
        voucher_pdf_module.qr_payload = original
    assert response.status_code == 200 and payloads == []
    assert snapshot() == before


def test_round_outside_the_users_unit_is_404(client, scene):
    w = scene.w
    round_b = services.round_create(
        actor=acting(w.district_officer),
        scope=w.street_b,
        name="五角场专场",
        opens_at=timezone.now() - dt.timedelta(hours=1),
        closes_at=timezone.now() + dt.timedelta(days=1),
    )
    city_round = MaskRound.objects.create(
        name="全市轮次",
        scope=w.city,
        opens_at=timezone.now(),
        closes_at=timezone.now() + dt.timedelta(days=1),
        created_by=w.district_officer,
    )
    before = snapshot()
    as_user(client, w.staff_a1)
    for name in ("staff_round", "staff_reserve", "staff_verify_queue", "staff_vouchers"):
        assert client.get(reverse(f"masks:{name}", args=[round_b.pk])).status_code == 404, name
    assert client.post(reverse("masks:staff_reserve", args=[round_b.pk]), {}).status_code == 404
    # The district officer sees the city's round but does not manage it.
    as_user(client, w.district_officer)
    assert client.get(reverse("masks:staff_round", args=[city_round.pk])).status_code == 200
    assert client.get(reverse("masks:staff_round_edit", args=[city_round.pk])).status_code == 404
    assert client.post(reverse("masks:staff_round_open", args=[city_round.pk])).status_code == 404
    assert client.post(reverse("masks:staff_round_edit", args=[city_round.pk]), {"name": "x"}).status_code == 404
    assert snapshot() == before


def test_clerk_of_another_pharmacy_cannot_redeem_or_deliver(client, scene):
    before = snapshot()
    as_user(client, scene.clerk_b)
    response = client.post(
        reverse("masks:staff_redeem"),
        {"number": scene.voucher_a.number, "id_number": holder_id(scene.queued)},
    )
    assert response.status_code == 200
    assert response.context["result"]["ok"] is False
    assert "这张凭证不是政立药房的凭证,请核对凭证号,或请居民到凭证上写明的指定药店购买" in response.content.decode()
    response = client.post(
        reverse("masks:staff_deliveries"),
        {
            "round": scene.round.pk,
            "pharmacy": scene.pharmacy_a.pk,
            "quantity": 100,
            "delivered_at": "2026-02-10T09:00",
            "idempotency_key": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 200 and response.context["result"] is None
    assert "pharmacy" in response.context["form"].errors
    assert snapshot() == before


# Rounds


def test_dashboard_figures_scoped_to_the_user(client, scene):
    as_user(client, scene.w.staff_a1)
    response = client.get(reverse("masks:staff_round", args=[scene.round.pk]))
    board = response.context["board"]
    assert set(board.committees) == {scene.w.committee_a1.pk}
    a1 = board.committees[scene.w.committee_a1.pk]
    assert (a1.registered, a1.verifying, a1.issued, a1.redeemed) == (2, 1, 1, 0)
    assert list(board.pharmacies) == [scene.pharmacy_a.pk]
    figures = board.pharmacies[scene.pharmacy_a.pk]
    assert (figures.delivered, figures.allocated, figures.masks_redeemed, figures.band) == (5, 5, 0, "none")
    body = response.content.decode()
    assert "国和药房" in body and "政立药房" not in body and "无货" in body
    as_user(client, scene.w.district_officer)
    board = client.get(reverse("masks:staff_round", args=[scene.round.pk])).context["board"]
    assert board.total.registered == 3
    assert set(board.pharmacies) == {scene.pharmacy_a.pk, scene.pharmacy_b.pk}


def test_round_create_edit_open_close(client, world):
    as_user(client, world.district_officer)
    data = {
        "name": "第2轮",
        "scope": world.district.pk,
        "masks_per_household": 5,
        "opens_at": "2026-02-10T08:00",
        "closes_at": "2026-02-09T08:00",
        "allocation_mode": "first_come",
        "lottery_seed": "",
        "special_share_percent": 10,
        "voucher_valid_days": 3,
    }
    response = client.post(reverse("masks:staff_round_new"), data)
    assert response.status_code == 200
    assert "登记截止时间须晚于开始时间" in response.content.decode()
    assert not MaskRound.objects.exists()
    data["closes_at"] = "2099-02-12T20:00"
    response = client.post(reverse("masks:staff_round_new"), data)
    mask_round = MaskRound.objects.get()
    assert response["Location"] == reverse("masks:staff_round", args=[mask_round.pk])
    assert (mask_round.name, mask_round.scope, mask_round.status) == ("第2轮", world.district, RoundStatus.DRAFT)
    assert timezone.localtime(mask_round.opens_at).strftime("%Y-%m-%d %H:%M") == "2026-02-10 08:00"

    edit = {k: v for k, v in data.items() if k != "scope"} | {"masks_per_household": 3, "name": "第二轮"}
    response = client.post(reverse("masks:staff_round_edit", args=[mask_round.pk]), edit)
    assert response.status_code == 302
    mask_round.refresh_from_db()
    assert (mask_round.name, mask_round.masks_per_household) == ("第二轮", 3)

    client.post(reverse("masks:staff_round_open", args=[mask_round.pk]))
    mask_round.refresh_from_db()
    assert mask_round.status == RoundStatus.OPEN
    response = client.post(reverse("masks:staff_round_open", args=[mask_round.pk]), follow=True)
    assert "轮次不能从“登记中”改为“登记中”" in response.content.decode()
    client.post(reverse("masks:staff_round_close", args=[mask_round.pk]))
    mask_round.refresh_from_db()
    assert mask_round.status == RoundStatus.CLOSED
    assert client.get(reverse("masks:staff_round_open", args=[mask_round.pk])).status_code == 405

    # Closed: the page offers to finish the round, and finishing ends deliveries and changes.
    page = client.get(reverse("masks:staff_round", args=[mask_round.pk])).content.decode()
    assert 'id="round-finish"' in page
    response = client.post(reverse("masks:staff_round_finish", args=[mask_round.pk]), follow=True)
    mask_round.refresh_from_db()
    assert mask_round.status == RoundStatus.FINISHED
    assert "轮次状态已改为“已结束”" in response.content.decode()
    assert 'id="round-finish"' not in response.content.decode()
    assert AuditEvent.objects.filter(action="mask_round_finished", object_id=mask_round.pk).count() == 1


# Desk and phone entry


def desk(resident, **extra):
    return {
        "channel": "desk",
        "name": resident.name,
        "id_type": IdType.RESIDENT_ID,
        "id_number": resident.plain_id,
        "phone": "",
        "household": "",
        "address_text": "",
        "paper_serial": "",
    } | extra


def test_desk_entry_shows_the_number_and_twice_is_the_same(client, world, masks):
    as_user(client, world.staff_a1)
    url = reverse("masks:staff_reserve", args=[masks.round.pk])
    resident = new_household(world, name="孙丽")
    response = client.post(url, desk(resident))
    reservation = Reservation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("masks:staff_reservation", args=[reservation.pk])
    assert (reservation.channel, reservation.status, reservation.household) == (
        Channel.DESK,
        ReservationStatus.QUEUED,
        resident.household,
    )
    page = client.get(response["Location"]).content.decode()
    assert f'id="reservation-number">{reservation.number}<' in page
    again = client.post(url, desk(resident, channel="phone"))
    assert again["Location"] == response["Location"]
    assert Reservation.objects.count() == 1


def test_phone_entry_unknown_person_waits_for_verification(client, world, masks):
    as_user(client, world.staff_a1)
    url = reverse("masks:staff_reserve", args=[masks.round.pk])
    data = {
        "channel": "phone",
        "name": "来电人",
        "id_type": IdType.RESIDENT_ID,
        "id_number": unknown_id(),
        "phone": "13900001111",
        "household": "",
        "address_text": "国和一村5号楼303室",
        "paper_serial": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert (reservation.channel, reservation.status, reservation.address_text, reservation.committee) == (
        Channel.PHONE,
        ReservationStatus.VERIFYING,
        "国和一村5号楼303室",
        world.committee_a1,
    )
    # Staff who matched the caller to a household of their committee queue them at once.
    data |= {"id_number": unknown_id(), "household": "国和一村 6号 101室", "address_text": ""}
    client.post(url, data)
    matched = Reservation.objects.exclude(pk=reservation.pk).get()
    assert (matched.status, matched.household) == (ReservationStatus.QUEUED, world.household_a1b)


def test_paper_serial_fixes_the_order(client, world, masks):
    book = services.paper_book_create(
        actor=acting(world.staff_a1), round=masks.round, committee=world.committee_a1, first_serial=100, last_serial=199
    )
    as_user(client, world.staff_a1)
    resident = new_household(world)
    response = client.post(reverse("masks:staff_reserve", args=[masks.round.pk]), desk(resident, paper_serial="105"))
    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert reservation.paper_serial == "105"
    assert reservation.order_at == book.handed_out_at + dt.timedelta(microseconds=5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id_number": "bad"}, "证件号码应为18位"),
        ("checksum", "证件号码校验位不正确"),
        ("household_b1", "没有找到本居委会的这一住户,请从提示中选择(小区 楼号 室号),或留空并填写地址"),
        ("resident_b1", "此人登记在其他居委会的花名册中"),
        ("closed", "本轮预约已截止"),
        ({"paper_serial": "999"}, "该纸质登记单编号不在本居委会已发放的登记簿范围内"),
        ({"name": " "}, "请填写姓名"),
    ],
)
def test_desk_entry_bad_input_shows_the_message_and_writes_nothing(client, world, masks, change, message):
    resident = new_household(world)
    data = desk(resident)
    if change == "checksum":
        last = data["id_number"][-1]
        data["id_number"] = data["id_number"][:-1] + ("0" if last != "0" else "1")
    elif change == "household_b1":
        data |= {"id_number": unknown_id(), "household": "政立小区 3号 401室"}
    elif change == "resident_b1":
        data = desk(world.resident_b1)
    elif change == "closed":
        services.round_close(actor=acting(world.district_officer), round=masks.round)
    else:
        data |= change
    before = snapshot()
    as_user(client, world.staff_a1)
    response = client.post(reverse("masks:staff_reserve", args=[masks.round.pk]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot() == before


def test_prefill_from_the_roster(client, world, masks):
    as_user(client, world.staff_a1)
    url = reverse("masks:staff_reserve", args=[masks.round.pk])
    response = client.post(url, {"q": "张秀英", "find": "1"})
    assert [r.pk for r in response.context["found"]] == [world.resident_a1.pk]
    assert not Reservation.objects.exists()  # finding is not reserving
    assert f'href="?resident={world.resident_a1.pk}"' in response.content.decode()
    form = client.get(url, {"resident": world.resident_a1.pk}).context["form"]
    assert (form.initial["name"], form.initial["household"]) == ("张秀英", "国和一村 5号 302室")
    # Another committee's resident is neither found nor prefilled.
    assert list(client.post(url, {"q": "赵强", "find": "1"}).context["found"]) == []
    # A query in the URL is not run.
    assert client.get(url, {"q": "张秀英"}).context["found"] is None
    assert client.get(url, {"resident": world.resident_b1.pk}).context["form"].initial == {}


# Verification queue


def test_verification_queue_verify_and_reject(client, scene):
    w = scene.w
    as_user(client, w.staff_a1)
    queue = client.get(reverse("masks:staff_verify_queue", args=[scene.round.pk]))
    assert [r.pk for r in queue.context["waiting"]] == [scene.waiting.pk]
    assert "国和一村6号101室" in queue.content.decode()
    page = client.get(reverse("masks:staff_verify", args=[scene.waiting.pk]))
    assert w.household_a1b.pk in [h.pk for h in page.context["candidates"]]

    before = snapshot()
    response = client.post(reverse("masks:staff_verify", args=[scene.waiting.pk]), {"household": w.household_b1.pk})
    assert response.status_code == 200 and "请选择本居委会的住户" in response.content.decode()
    response = client.post(reverse("masks:staff_reject", args=[scene.waiting.pk]), {"reason": " "})
    assert response.status_code == 200 and "请填写未通过核实的原因" in response.content.decode()
    assert snapshot() == before

    response = client.post(reverse("masks:staff_verify", args=[scene.waiting.pk]), {"household": w.household_a1b.pk})
    assert response["Location"] == reverse("masks:staff_verify_queue", args=[scene.round.pk])
    scene.waiting.refresh_from_db()
    assert (scene.waiting.status, scene.waiting.household) == (ReservationStatus.QUEUED, w.household_a1b)


def test_reject_with_reason(client, scene):
    as_user(client, scene.w.staff_a1)
    response = client.post(reverse("masks:staff_reject", args=[scene.waiting.pk]), {"reason": "地址不存在"})
    assert response.status_code == 302
    scene.waiting.refresh_from_db()
    assert (scene.waiting.status, scene.waiting.status_reason) == (ReservationStatus.REJECTED, "地址不存在")
    # Already decided: the form is gone and a second verdict is refused with the service's message.
    response = client.post(
        reverse("masks:staff_verify", args=[scene.waiting.pk]), {"household": scene.w.household_a1b.pk}
    )
    assert "预约状态不能从“未通过核实”改为“排队中”" in response.content.decode()


# Deliveries


def test_delivery_records_once_and_shows_what_was_issued(client, world, masks):
    for _ in range(3):
        reserve(masks, new_household(world))
    as_user(client, masks.clerk_a)
    page = client.get(reverse("masks:staff_deliveries"))
    key = page.context["form"].initial["idempotency_key"]
    assert len(key) == 32 and f'value="{key}"' in page.content.decode()
    assert client.get(reverse("masks:staff_deliveries")).context["form"].initial["idempotency_key"] != key
    data = {
        "round": masks.round.pk,
        "pharmacy": masks.pharmacy_a.pk,
        "quantity": 12,
        "delivered_at": "2026-02-10T09:30",
        "idempotency_key": key,
    }
    response = client.post(reverse("masks:staff_deliveries"), data)
    result = response.context["result"]
    assert (result["repeated"], result["issued"]) == (False, 2)
    assert "本次发放购买凭证 2 张" in response.content.decode()
    again = client.post(reverse("masks:staff_deliveries"), data)
    assert again.context["result"]["repeated"] is True
    assert "这次到货已经登记过" in again.content.decode()
    assert StockDelivery.objects.count() == 1
    assert Voucher.objects.count() == 2
    stock = PharmacyStock.objects.get(pharmacy=masks.pharmacy_a)
    assert (stock.delivered, stock.allocated) == (12, 10)

    before = snapshot()
    bad = client.post(reverse("masks:staff_deliveries"), data | {"quantity": 0, "idempotency_key": uuid.uuid4().hex})
    assert bad.context["result"] is None and "quantity" in bad.context["form"].errors
    assert snapshot() == before


def test_street_officer_records_for_pharmacies_of_their_street(client, scene):
    as_user(client, scene.w.street_officer)
    form = client.get(reverse("masks:staff_deliveries")).context["form"]
    assert list(form.fields["pharmacy"].queryset) == [scene.pharmacy_a]


# Redemption


@pytest.mark.parametrize("typed", ["plain", "grouped", "lower", "fullwidth"])
def test_redeem_accepts_how_people_type_and_refuses_a_second_time(client, scene, typed):
    number = scene.voucher_a.number
    text = {
        "plain": number,
        "grouped": " " + format_voucher_number(number).replace("-", " - ") + " ",
        "lower": format_voucher_number(number).lower(),
        "fullwidth": "".join(chr(ord(c) + 0xFEE0) for c in number),
    }[typed]
    as_user(client, scene.clerk_a)
    shown = holder_id(scene.queued).lower()
    response = client.post(reverse("masks:staff_redeem"), {"number": text, "id_number": shown})
    assert response.context["result"]["ok"] is True, response.context["result"]
    body = response.content.decode()
    assert "核销成功" in body and "请交付口罩 5 只" in body and "张**" in body
    scene.voucher_a.refresh_from_db()
    assert scene.voucher_a.status == VoucherStatus.REDEEMED

    before = snapshot()
    again = client.post(reverse("masks:staff_redeem"), {"number": text, "id_number": shown})
    assert again.context["result"]["ok"] is False
    when = timezone.localtime(scene.voucher_a.redeemed_at).strftime("%Y-%m-%d %H:%M")
    assert f"该凭证已于{when}在国和药房使用,不能重复购买" in again.content.decode()
    assert snapshot() == before


def test_redeem_refusals_write_nothing(client, scene):
    as_user(client, scene.clerk_a)
    before = snapshot()
    number = scene.voucher_a.number
    shown = holder_id(scene.queued)
    cases = [
        ({"number": number, "id_number": scene.w.resident_b1.plain_id}, "证件号码与预约人不符"),
        ({"number": number, "id_number": shown[-4:]}, "不能只输后四位"),
        ({"number": number[:-1] + ("0" if number[-1] != "0" else "1"), "id_number": shown}, "凭证号有误"),
        ({"number": scene.voucher_b.number, "id_number": holder_id(scene.b1)}, "这张凭证不是国和药房的凭证"),
    ]
    for data, message in cases:
        response = client.post(reverse("masks:staff_redeem"), data)
        assert response.context["result"]["ok"] is False
        assert message in response.content.decode(), data
    assert snapshot() == before


def test_redeem_page_is_ready_for_a_scanner(client, scene):
    as_user(client, scene.clerk_a)
    body = client.get(reverse("masks:staff_redeem")).content.decode()
    assert 'name="number"' in body and "autofocus" in body and 'inputmode="text"' in body
    assert 'name="id_number"' in body and "id_last4" not in body


# Printed vouchers


def test_voucher_pdf_holds_the_number_in_a_qr_code_a_phone_reads(client, scene):
    """Rendered and read by a real decoder: a full QR code (never Micro QR, which WeChat does not
    read) carrying the voucher number, one per voucher."""
    as_user(client, scene.w.staff_a1)
    response = client.get(reverse("masks:staff_voucher_pdf", args=[scene.voucher_a.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert qr_codes_in_pdf(response.content) == [[("QRCode", scene.voucher_a.number)]]

    response = client.get(reverse("masks:staff_vouchers_pdf", args=[scene.round.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert qr_codes_in_pdf(response.content) == [[("QRCode", scene.voucher_a.number)]]  # only A1's issued vouchers


def test_voucher_list_is_the_committees_issued_vouchers(client, scene):
    as_user(client, scene.w.staff_a1)
    response = client.get(reverse("masks:staff_vouchers", args=[scene.round.pk]))
    assert [v.pk for v in response.context["vouchers"]] == [scene.voucher_a.pk]
    as_user(client, scene.clerk_a)
    client.post(reverse("masks:staff_redeem"), {"number": scene.voucher_a.number, "id_number": holder_id(scene.queued)})
    as_user(client, scene.w.staff_a1)
    assert list(client.get(reverse("masks:staff_vouchers", args=[scene.round.pk])).context["vouchers"]) == []


def test_mask_name():
    from xiuhua.core.crypto import mask_name

    assert mask_name("张秀英") == "张**"
    assert mask_name("王芳") == "王*"
    assert voucher_pdf_module.mask_name("李") == "李"


def test_verification_page_shows_the_roster_person_with_that_number_within_scope(client, scene):
    w = scene.w
    impostor = services.reservation_submit(
        actor=None, round=scene.round, channel=Channel.ONLINE, name="王小明", id_type=IdType.RESIDENT_ID,
        id_number=w.resident_a1b.plain_id, phone="13900007777", committee=w.committee_a1,
        address_text="国和一村6号101室",
    )
    assert impostor.status == ReservationStatus.VERIFYING
    as_user(client, w.staff_a1)
    events = AuditEvent.objects.filter(action="personal_lookup").count()
    page = client.get(reverse("masks:staff_verify", args=[impostor.pk])).content.decode()
    assert "花名册中此证件号码属于 <b>李建国</b>" in page and "与登记的姓名不一致" in page
    # Two lookups: the number given, and the address given (the candidate households).
    assert sorted(AuditEvent.objects.filter(action="personal_lookup").order_by("-pk")[:2].values_list(
        "detail__key", flat=True)) == ["address", "id_number"]
    assert AuditEvent.objects.filter(action="personal_lookup").count() == events + 2
    # Another committee's staff see nothing of A1's roster (and the entry is not theirs anyway).
    as_user(client, w.staff_b1)
    assert client.get(reverse("masks:staff_verify", args=[impostor.pk])).status_code == 404


def test_finding_households_on_the_verify_page_is_posted_and_stops_at_the_lookup_limit(client, scene):
    from xiuhua.testing import use_up_lookups

    w = scene.w
    url = reverse("masks:staff_verify", args=[scene.waiting.pk])
    as_user(client, w.staff_a1)
    before = snapshot()
    page = client.post(url, {"q": "6号101", "find": "1"})
    assert [h.pk for h in page.context["candidates"]] == [w.household_a1b.pk]
    assert page.context["q"] == "6号101"
    assert snapshot() == before  # finding verifies nothing
    use_up_lookups(w.staff_a1)
    page = client.post(url, {"q": "6号101", "find": "1"})
    assert page.status_code == 200
    assert list(page.context["candidates"]) == []
    assert "查询过于频繁" in page.content.decode()


def test_household_search_answers_within_scope_with_the_head_masked(client, scene):
    w = scene.w
    url = reverse("masks:staff_household_search")
    as_user(client, w.staff_a1)
    assert client.post(url, {"q": "5号 302"}).json() == {
        "results": [{"id": w.household_a1.pk, "label": "国和一村 5号 302室", "head": "张**"}]}
    assert [r["label"] for r in client.post(url, {"q": "张"}).json()["results"]] == ["国和一村 5号 302室"]
    assert [r["label"] for r in client.post(url, {"q": "国和一村"}).json()["results"]] == [
        "国和一村 5号 302室", "国和一村 6号 101室"]
    # Another committee's households (政立小区 3号 401, head 赵强) are not there, by any key.
    for q in ("政立", "3号 401", "赵", "401"):
        assert client.post(url, {"q": q}).json() == {"results": []}, q
    assert client.post(url, {"q": ""}).json() == {"results": []}
    assert client.get(url).status_code == 405


def test_desk_entry_takes_the_household_typed_as_its_label(client, world, masks):
    as_user(client, world.staff_a1)
    url = reverse("masks:staff_reserve", args=[masks.round.pk])
    page = client.get(url).content.decode()
    # A text field with suggestions, not a dropdown of every household.
    assert 'list="household-options"' in page and "<select name=\"household\"" not in page
    data = {"channel": "desk", "name": "新来户", "id_type": IdType.RESIDENT_ID, "id_number": unknown_id(),
            "phone": "", "household": " 国和一村  5号 302 ", "address_text": "", "paper_serial": ""}
    response = client.post(url, data)
    assert response.status_code == 302
    assert Reservation.objects.get().household == world.household_a1
