"""Resident pages (committee QR page, SMS-code login, reservation, status) and the public
transparency pages and open data."""

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.idnumbers import IdType
from xiuhua.masks import services
from xiuhua.masks.models import Channel, MaskRound, Reservation, ReservationStatus, Voucher
from xiuhua.masks.services.reservations import PHONE_ROUND_LIMIT
from xiuhua.masks.views_public import SESSION_PHONE, VERIFIED_FOR
from xiuhua.sms.models import OutboundSms
from xiuhua.testing import acting

from .fixtures import new_household, reserve, unknown_id

pytestmark = pytest.mark.django_db

PHONE = "13812345678"  # world.resident_a1's mobile (张秀英, 国和一村 5号 302)


def committee_url(w, name="public_committee"):
    return reverse(f"masks:{name}", kwargs={"code": w.committee_a1.code})


def last_code(phone: str) -> str:
    sms = OutboundSms.objects.filter(phone=phone, purpose__startswith="otp").order_by("-pk").first()
    assert sms is not None
    return sms.params["code"]


def login_phone(client, w, phone=PHONE, ip="10.0.0.1"):
    response = client.post(committee_url(w, "public_otp_send"), {"phone": phone}, REMOTE_ADDR=ip)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == committee_url(w, "public_verify")
    response = client.post(committee_url(w, "public_verify"), {"code": last_code(phone)})
    assert response.status_code == 302
    assert response["Location"] == committee_url(w, "public_reserve")
    return response


def form_data(w, resident=None, **overrides):
    data = {
        "name": resident.name if resident else "陈路人",
        "id_type": IdType.RESIDENT_ID,
        "id_number": resident.plain_id if resident else unknown_id(),
        "compound": w.compound_a1.pk,
        "building": "5号楼",
        "room": "302",
    }
    return data | overrides


# --- committee page and QR ----------------------------------------------------------------


def test_committee_page_shows_round_figures_and_sms_grammar(client, world, masks):
    reserve(masks, world.resident_a1)
    response = client.get(committee_url(world))
    assert response.status_code == 200
    text = response.content.decode()
    assert world.committee_a1.name in text
    assert masks.round.name in text
    assert "口罩 姓名 证件号 小区 楼号 室号" in text
    assert f"口罩 {world.committee_a1.code} 姓名" in text
    assert 'id="fig-registered">1<' in text
    assert world.resident_a1.name not in text


def test_committee_qr_is_an_svg_of_the_page_url(client, world, masks):
    response = client.get(committee_url(world, "public_committee_qr"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<?xml") or b"<svg" in response.content[:200]
    poster = client.get(committee_url(world, "public_committee_poster"))
    assert poster.status_code == 200 and b"<svg" in poster.content


def test_unknown_committee_is_404(client, world, masks):
    assert client.get(reverse("masks:public_committee", kwargs={"code": "999999999999"})).status_code == 404


# --- phone login --------------------------------------------------------------------------


def test_otp_login_then_form_is_prefilled_with_own_household_only(client, world, masks):
    login_phone(client, world)
    session = client.session[SESSION_PHONE]
    assert session["phone"] == PHONE
    until = dt.datetime.fromisoformat(session["until"])
    assert dt.timedelta(minutes=29) < until - timezone.now() <= VERIFIED_FOR
    response = client.get(committee_url(world, "public_reserve"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["name"] == world.resident_a1.name
    assert form.initial["room"] == "302"
    assert form.initial["compound"] == world.compound_a1.pk
    text = response.content.decode()
    # Nobody else's data: not the neighbour's name, room or phone.
    assert world.resident_a1b.name not in text
    assert "13812340000" not in text
    assert world.resident_a1.plain_id not in text


def test_wrong_code_is_refused_and_not_verified(client, world, masks):
    client.post(committee_url(world, "public_otp_send"), {"phone": PHONE})
    response = client.post(
        committee_url(world, "public_verify"), {"code": "000000" if last_code(PHONE) != "000000" else "111111"}
    )
    assert response.status_code == 400
    assert "验证码错误" in response.content.decode()
    assert SESSION_PHONE not in client.session
    response = client.get(committee_url(world, "public_reserve"))
    assert response.status_code == 302 and response["Location"] == committee_url(world)


def test_bad_phone_gets_a_clear_message(client, world, masks):
    response = client.post(committee_url(world, "public_otp_send"), {"phone": "12345"})
    assert response.status_code == 400
    assert "手机号码格式不正确" in response.content.decode()
    assert not OutboundSms.objects.exists()


def test_code_requests_are_rate_limited_per_phone_and_address(client, world, masks):
    client.post(committee_url(world, "public_otp_send"), {"phone": PHONE})
    again = client.post(committee_url(world, "public_otp_send"), {"phone": PHONE})
    # The same phone within 60 s: sent on to the code page with the wait, no second SMS.
    assert again.status_code == 302
    assert OutboundSms.objects.filter(phone=PHONE).count() == 1
    # Many phones from one address: the 11th in an hour is refused.
    for i in range(9):
        response = client.post(
            committee_url(world, "public_otp_send"), {"phone": f"1390000{i:04d}"}, REMOTE_ADDR="10.9.9.9"
        )
        assert response.status_code == 302
    client.post(committee_url(world, "public_otp_send"), {"phone": "13900009990"}, REMOTE_ADDR="10.9.9.9")
    refused = client.post(committee_url(world, "public_otp_send"), {"phone": "13900009991"}, REMOTE_ADDR="10.9.9.9")
    assert refused.status_code == 400
    assert "过于频繁" in refused.content.decode()


def test_verification_expires_after_30_minutes(client, world, masks):
    login_phone(client, world)
    session = client.session
    session[SESSION_PHONE] = {"phone": PHONE, "until": (timezone.now() - dt.timedelta(seconds=1)).isoformat()}
    session.save()
    response = client.get(reverse("masks:public_status"), follow=True)
    assert response.redirect_chain[0][1] == 302
    page = response.content.decode()
    assert "手机验证已超过30分钟,请重新获取验证码" in page and "请先验证手机号码" not in page
    # Said once: the next refusal is the plain one.
    page = client.get(reverse("masks:public_status"), follow=True).content.decode()
    assert "请先验证手机号码" in page and "已超过30分钟" not in page


def test_status_needs_a_verified_phone(client, world, masks):
    response = client.get(reverse("masks:public_status"))
    assert response.status_code == 403
    assert "请先验证手机号" in response.content.decode()


# --- reservation --------------------------------------------------------------------------


def test_roster_resident_reserves_and_sees_the_number_at_once(client, world, masks):
    login_phone(client, world)
    response = client.post(committee_url(world, "public_reserve"), form_data(world, world.resident_a1), follow=True)
    assert response.status_code == 200
    r = Reservation.objects.get()
    assert r.channel == Channel.ONLINE and r.status == ReservationStatus.QUEUED
    assert r.household == world.household_a1 and r.phone == PHONE and r.created_by is None
    text = response.content.decode()
    assert f"预约成功,预约号 {r.number}" in text
    assert r.number in text  # and listed on the status page


def test_resubmitting_shows_the_same_reservation(client, world, masks):
    login_phone(client, world)
    client.post(committee_url(world, "public_reserve"), form_data(world, world.resident_a1))
    response = client.post(committee_url(world, "public_reserve"), form_data(world, world.resident_a1), follow=True)
    r = Reservation.objects.get()
    assert f"您本轮已预约,预约号 {r.number}" in response.content.decode()


def test_person_not_in_roster_goes_to_verification_with_an_explanation(client, world, masks):
    login_phone(client, world, phone="13955556666")
    response = client.post(committee_url(world, "public_reserve"), form_data(world, room="909"), follow=True)
    r = Reservation.objects.get()
    assert r.status == ReservationStatus.VERIFYING and r.household is None
    assert r.address_text == "国和一村5号909室"
    text = response.content.decode()
    assert "已收到登记,需居委会核实后生效" in text
    # The message is the same for every reason an entry waits, so it says none of them.
    assert "不在本小区居民名单中" not in text and "不在居民名单中" not in text


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"id_number": "310110198005170012"}, "校验位不正确"),
        ({"building": "99号楼"}, "没有“99号楼”这个楼号"),
        ({"name": ""}, "这个字段是必填项"),
    ],
)
def test_bad_input_gets_a_chinese_message_and_writes_nothing(client, world, masks, overrides, message):
    login_phone(client, world)
    response = client.post(committee_url(world, "public_reserve"), form_data(world, world.resident_a1, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Reservation.objects.exists()


def test_compound_of_another_committee_is_refused(client, world, masks):
    login_phone(client, world)
    response = client.post(
        committee_url(world, "public_reserve"), form_data(world, world.resident_a1, compound=world.compound_b1.pk)
    )
    assert response.status_code == 400
    assert "请选择本居委会的小区" in response.content.decode()
    assert not Reservation.objects.exists()


def test_closed_round_is_refused_and_writes_nothing(client, world, masks):
    login_phone(client, world)
    services.round_close(actor=acting(world.district_officer), round=masks.round)
    response = client.post(committee_url(world, "public_reserve"), form_data(world, world.resident_a1))
    assert response.status_code == 400
    assert "本轮预约已截止" in response.content.decode()
    assert not Reservation.objects.exists()


def test_one_phone_reserves_for_at_most_the_limit(client, world, masks):
    login_phone(client, world, phone="13955557777")
    for i in range(PHONE_ROUND_LIMIT):
        response = client.post(committee_url(world, "public_reserve"), form_data(world, room=f"90{i}"))
        assert response.status_code == 302
    response = client.post(committee_url(world, "public_reserve"), form_data(world, room="999"))
    assert response.status_code == 400
    assert f"同一手机号本轮最多预约{PHONE_ROUND_LIMIT}人" in response.content.decode()
    assert Reservation.objects.count() == PHONE_ROUND_LIMIT


def test_anothers_reservation_number_is_not_shown(client, world, masks):
    mine = reserve(masks, world.resident_a1, phone=PHONE)
    login_phone(client, world, phone="13955558888")
    response = client.post(committee_url(world, "public_reserve"), form_data(world, world.resident_a1))
    assert response.status_code == 400
    assert "已由其他手机号预约" in response.content.decode()
    assert mine.number not in response.content.decode()


def test_status_page_shows_own_reservations_and_vouchers_only(client, world, masks):
    mine = reserve(masks, world.resident_a1, phone=PHONE)
    other = reserve(masks, world.resident_a1b, phone="13812340000")
    services.stock_delivery_record(
        actor=acting(masks.clerk_a),
        round=masks.round,
        pharmacy=masks.pharmacy_a,
        quantity=10,
        delivered_at=timezone.now(),
        idempotency_key="d1",
    )
    voucher = Voucher.objects.get(reservation=mine)
    login_phone(client, world)
    response = client.get(reverse("masks:public_status"))
    text = response.content.decode()
    assert mine.number in text
    assert voucher.number[:4] in text and "<svg" in text
    assert masks.pharmacy_a.name in text
    assert other.number not in text
    assert world.resident_a1b.name not in text


# --- public pages and open data -----------------------------------------------------------


def _personal_fragments(w, reservations):
    values = []
    for resident in (w.resident_a1, w.resident_a1b, w.resident_a2, w.resident_b1):
        values += [
            resident.name,
            resident.plain_id,
            resident.plain_id[-4:],
            resident.plain_id[:6] + "*",
            resident.mobile,
        ]
    for r in reservations:
        values += [r.name, r.phone, r.id_masked, r.number, r.address_text]
    return [v for v in values if v]


def _public_outputs(client, w, m):
    rid = m.round.pk
    urls = [
        reverse("masks:public_committee", kwargs={"code": w.committee_a1.code}),
        reverse("masks:public_pharmacy", kwargs={"pk": m.pharmacy_a.pk}),
        reverse("masks:public_open"),
        reverse("masks:public_open_round", kwargs={"round_id": rid}),
    ] + [
        reverse(f"masks:public_open_{kind}", kwargs={"round_id": rid, "fmt": fmt})
        for kind in ("pharmacies", "committees")
        for fmt in ("json", "csv")
    ]
    outputs = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        outputs[url] = response
    return outputs


def test_open_data_has_figures_and_no_personal_data(client, world, masks):
    queued = reserve(masks, world.resident_a1, phone=PHONE)
    reserve(masks, world.resident_a2, phone=world.resident_a2.mobile)
    verifying = services.reservation_submit(
        actor=None,
        round=masks.round,
        channel=Channel.ONLINE,
        name="陈路人",
        id_type=IdType.RESIDENT_ID,
        id_number=unknown_id(),
        phone="13955550000",
        committee=world.committee_a1,
        address_text="国和一村5号909室",
    )
    services.stock_delivery_record(
        actor=acting(masks.clerk_a),
        round=masks.round,
        pharmacy=masks.pharmacy_a,
        quantity=200,
        delivered_at=timezone.now(),
        idempotency_key="d2",
    )
    outputs = _public_outputs(client, world, masks)
    forbidden = _personal_fragments(world, Reservation.objects.all())
    for url, response in outputs.items():
        text = response.content.decode("utf-8-sig")
        for value in forbidden:
            if value.isdigit() and len(value) <= 4:
                # The last 4 of an ID on their own, not as digits of a timestamp or a count.
                assert not re.search(rf"(?<![0-9]){value}(?![0-9])", text), (url, value)
            else:
                assert value not in text, (url, value)

    rid = masks.round.pk
    data = json.loads(outputs[reverse("masks:public_open_committees", kwargs={"round_id": rid, "fmt": "json"})].content)
    assert data["round"]["id"] == rid
    by_code = {row["code"]: row for row in data["committees"]}
    a1 = by_code[world.committee_a1.code]
    assert (a1["registered"], a1["verifying"], a1["issued"]) == (2, 1, 1)
    assert by_code[world.committee_a2.code]["issued"] == 1
    assert a1["stock_band"] == "plenty"  # 200 - 10 masks left: 38 households' worth
    assert set(a1) == {
        "code",
        "name",
        "pharmacy_id",
        "registered",
        "verifying",
        "queued",
        "issued",
        "redeemed",
        "stock_band",
    }
    pharmacies_json = outputs[reverse("masks:public_open_pharmacies", kwargs={"round_id": rid, "fmt": "json"})]
    assert pharmacies_json["Cache-Control"] in ("public, max-age=30", "max-age=30, public")
    rows = {row["id"]: row for row in json.loads(pharmacies_json.content)["pharmacies"]}
    assert rows[masks.pharmacy_a.pk]["issued"] == 2 and rows[masks.pharmacy_a.pk]["registered"] == 3
    assert rows[masks.pharmacy_b.pk]["stock_band"] == "awaiting"  # nothing delivered there yet
    csv_response = outputs[reverse("masks:public_open_pharmacies", kwargs={"round_id": rid, "fmt": "csv"})]
    assert "max-age=30" in csv_response["Cache-Control"]
    table = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert {r["name"] for r in table} == {masks.pharmacy_a.name, masks.pharmacy_b.name}
    assert queued.number and verifying.number  # used above as forbidden values


def test_band_is_none_as_soon_as_the_last_masks_are_allocated(client, world, masks):
    reserve(masks, world.resident_a1, phone=PHONE)
    url = reverse("masks:public_open_pharmacies", kwargs={"round_id": masks.round.pk, "fmt": "json"})
    services.stock_delivery_record(
        actor=acting(masks.clerk_a),
        round=masks.round,
        pharmacy=masks.pharmacy_a,
        quantity=10,
        delivered_at=timezone.now(),
        idempotency_key="d3",
    )
    row = next(r for r in client.get(url).json()["pharmacies"] if r["id"] == masks.pharmacy_a.pk)
    assert row["stock_band"] == "few"  # one voucher's worth left
    reserve(masks, new_household(world), phone="13955551111")
    services.vouchers_issue(round=masks.round, pharmacy=masks.pharmacy_a)
    row = next(r for r in client.get(url).json()["pharmacies"] if r["id"] == masks.pharmacy_a.pk)
    assert row["stock_band"] == "none" and row["issued"] == 2


def test_draft_round_is_not_published(client, world, masks):
    draft = services.round_create(
        actor=acting(world.district_officer),
        scope=world.district,
        name="草稿轮",
        opens_at=timezone.now(),
        closes_at=timezone.now() + dt.timedelta(days=1),
    )
    assert MaskRound.objects.get(pk=draft.pk).status == "draft"
    url = reverse("masks:public_open_committees", kwargs={"round_id": draft.pk, "fmt": "json"})
    assert client.get(url).status_code == 404


def test_committee_page_and_poster_show_the_platform_sms_number(client, world, masks, settings):
    settings.SMS_INBOUND_NUMBER = "106900112233"
    for name in ("masks:public_committee", "masks:public_committee_poster"):
        page = client.get(reverse(name, args=[world.committee_a1.code])).content.decode()
        assert '<b class="sms-number" id="sms-number">106900112233</b>' in page, name
        assert "本平台号码" not in page
    settings.SMS_INBOUND_NUMBER = ""
    page = client.get(reverse("masks:public_committee", args=[world.committee_a1.code])).content.decode()
    assert "用手机发短信到本平台短信号码(号码请向居委会询问),内容:" in page


def test_stock_band_reads_not_delivered_before_any_delivery(client, world, masks):
    from xiuhua.masks.selectors import committee_rows, pharmacy_rows

    assert {r["id"]: r["stock_band"] for r in pharmacy_rows(masks.round)} == {
        masks.pharmacy_a.pk: "awaiting", masks.pharmacy_b.pk: "awaiting"}
    page = client.get(reverse("masks:public_committee", args=[world.committee_a1.code])).content.decode()
    assert '<span class="band band-awaiting" id="fig-band">未到货</span>' in page and "无货" not in page
    page = client.get(reverse("masks:public_open_round", args=[masks.round.pk])).content.decode()
    assert "未到货" in page and "无货" not in page
    from xiuhua.testing import as_user

    as_user(client, world.district_officer)
    page = client.get(reverse("masks:staff_round", args=[masks.round.pk])).content.decode()
    assert '<span class="band band-awaiting">未到货</span>' in page and "无货" not in page
    # Delivered and all given out: now it is none (无货).
    import uuid

    from xiuhua.masks import services
    from xiuhua.testing import acting

    from .fixtures import reserve

    reserve(masks, world.resident_a1)
    services.stock_delivery_record(actor=acting(masks.clerk_a), round=masks.round, pharmacy=masks.pharmacy_a,
                                   quantity=masks.round.masks_per_household, delivered_at=timezone.now(),
                                   idempotency_key=uuid.uuid4().hex)
    rows = {r["code"]: r["stock_band"] for r in committee_rows(masks.round)}
    assert rows[world.committee_a1.code] == "none" and rows[world.committee_b1.code] == "awaiting"
