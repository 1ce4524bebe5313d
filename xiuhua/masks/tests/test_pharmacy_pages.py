"""Designated pharmacy set-up through the pages: a street officer (and a district officer over
its streets) creates, edits, assigns committees, attaches or creates clerks and deactivates; each
change is audited; wrong input gets a Chinese message and writes nothing."""

import pytest
from django.urls import reverse

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Role
from xiuhua.core.audit import AuditEvent
from xiuhua.masks.models import Pharmacy, PharmacyCommittee
from xiuhua.testing import PASSWORD, as_user, make_user

pytestmark = pytest.mark.django_db


def state():
    return (
        sorted(Pharmacy.objects.values_list("street_id", "name", "address", "opening_hours", "active")),
        sorted(PharmacyCommittee.objects.values_list("pharmacy_id", "committee_id")),
        sorted(Pharmacy.clerks.through.objects.values_list("pharmacy_id", "membership_id")),
        User.objects.count(),
        AuditEvent.objects.count(),
    )


def create(client, street, name="国和药房", address="国和路1号", hours="9:00-20:00"):
    return client.post(reverse("masks:staff_pharmacy_new"),
                       {"street": street.pk, "name": name, "address": address, "opening_hours": hours})


def test_street_officer_sets_up_a_pharmacy_from_nothing(client, world):
    as_user(client, world.street_officer)
    page = client.get(reverse("masks:staff_pharmacies")).content.decode()
    # Both committees of street A have no pharmacy, and the page says so; street B is not theirs.
    assert "以下居委会尚无指定药店" in page and "国和一村居委会" in page and "国和二村居委会" in page
    assert "政立路居委会" not in page
    response = create(client, world.street_a)
    pharmacy = Pharmacy.objects.get()
    assert response["Location"] == reverse("masks:staff_pharmacy", args=[pharmacy.pk])
    assert (pharmacy.street, pharmacy.name, pharmacy.address, pharmacy.opening_hours, pharmacy.active) == (
        world.street_a, "国和药房", "国和路1号", "9:00-20:00", True)

    response = client.post(reverse("masks:staff_pharmacy_committees", args=[pharmacy.pk]),
                           {"committees": [world.committee_a1.pk, world.committee_a2.pk]})
    assert response.status_code == 302
    assert sorted(PharmacyCommittee.objects.values_list("committee_id", flat=True)) == sorted(
        [world.committee_a1.pk, world.committee_a2.pk])
    assert "每个居委会都已有指定药店" in client.get(reverse("masks:staff_pharmacies")).content.decode()
    # Unticking A2 leaves it with none, and the list says so again.
    client.post(reverse("masks:staff_pharmacy_committees", args=[pharmacy.pk]), {"committees": [world.committee_a1.pk]})
    assert list(PharmacyCommittee.objects.values_list("committee_id", flat=True)) == [world.committee_a1.pk]

    # An existing clerk account of the street is attached.
    clerk_membership = Membership.objects.get(user=world.pharmacy_clerk)
    client.post(reverse("masks:staff_pharmacy_clerk_add", args=[pharmacy.pk]), {"membership": clerk_membership.pk})
    assert list(pharmacy.clerks.all()) == [clerk_membership]

    # Edit.
    client.post(reverse("masks:staff_pharmacy", args=[pharmacy.pk]),
                {"name": "国和大药房", "address": "国和路2号", "opening_hours": ""})
    pharmacy.refresh_from_db()
    assert (pharmacy.name, pharmacy.address, pharmacy.opening_hours) == ("国和大药房", "国和路2号", "")

    actions = list(AuditEvent.objects.filter(object_type="masks.pharmacy").order_by("pk").values_list(
        "action", flat=True))
    assert actions == ["pharmacy_create", "pharmacy_assign_committee", "pharmacy_assign_committee",
                       "pharmacy_unassign_committee", "pharmacy_add_clerk", "pharmacy_update"]
    update = AuditEvent.objects.get(action="pharmacy_update")
    assert update.detail == {"changes": {"name": ["国和药房", "国和大药房"], "address": ["国和路1号", "国和路2号"],
                                         "opening_hours": ["9:00-20:00", ""]}}


def test_a_new_clerk_account_gets_a_password_shown_once_that_must_be_changed(client, world):
    as_user(client, world.street_officer)
    create(client, world.street_a)
    pharmacy = Pharmacy.objects.get()
    response = client.post(reverse("masks:staff_pharmacy_clerk_new", args=[pharmacy.pk]),
                           {"username": "clerk_li", "display_name": "李店员", "mobile": "139 0021 0099"})
    assert response.status_code == 200
    password = response.context["created_clerk"]["password"]
    assert len(password) == 12 and f'id="initial-password">{password}<' in response.content.decode()
    user = User.objects.get(username="clerk_li")
    assert (user.display_name, user.mobile, user.must_change_password) == ("李店员", "13900210099", True)
    membership = Membership.objects.get(user=user)
    assert (membership.role, membership.org_unit) == (Role.PHARMACY_CLERK, world.street_a)
    assert list(pharmacy.clerks.all()) == [membership]
    # Shown once: the page afterwards does not hold it.
    assert password not in client.get(reverse("masks:staff_pharmacy", args=[pharmacy.pk])).content.decode()
    events = AuditEvent.objects.filter(action__in=["pharmacy_clerk_create", "pharmacy_add_clerk"])
    assert events.count() == 2
    assert all(password not in str(e.detail) and "13900210099" not in str(e.detail) for e in events)

    # The clerk signs in and is sent to change the password before anything else.
    client.logout()
    response = client.post(reverse("accounts:login"), {"username": "clerk_li", "password": password})
    assert response.status_code == 302
    response = client.get(reverse("masks:staff_redeem"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_change")
    response = client.post(reverse("accounts:password_change"), {
        "old_password": password, "new_password1": "Ganqi-Yaofang-77", "new_password2": "Ganqi-Yaofang-77"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.must_change_password is False and user.check_password("Ganqi-Yaofang-77")
    assert client.get(reverse("masks:staff_redeem")).status_code == 200


@pytest.mark.parametrize("data, field, message", [
    ({"username": "pharmacy", "display_name": "重名", "mobile": "13900210098"}, "username", "该用户名已被使用"),
    ({"username": "a b", "display_name": "张三", "mobile": "13900210098"}, "username", "用户名为3到30位"),
    ({"username": "clerk_x", "display_name": "张三", "mobile": "12345"}, "mobile", "手机号码格式不正确"),
    ({"username": "clerk_x", "display_name": "张\u202e三", "mobile": "13900210098"}, "display_name", "不可见"),
])
def test_bad_clerk_account_input_writes_nothing(client, world, data, field, message):
    as_user(client, world.street_officer)
    create(client, world.street_a)
    pharmacy = Pharmacy.objects.get()
    before = state()
    response = client.post(reverse("masks:staff_pharmacy_clerk_new", args=[pharmacy.pk]), data)
    assert response.status_code == 400
    assert any(message in e for e in response.context["new_clerk_form"].errors[field])
    assert state() == before


def test_bad_pharmacy_input_writes_nothing(client, world):
    as_user(client, world.street_officer)
    before = state()
    response = create(client, world.street_a, name="  ", address="")
    assert response.status_code == 400
    assert "请填写药店名称" in response.content.decode() and "请填写药店地址" in response.content.decode()
    response = create(client, world.street_b)  # not their street
    assert response.status_code == 400 and "请选择您管辖的街道" in response.content.decode()
    assert state() == before


def test_clerk_of_another_street_cannot_be_attached(client, world):
    other = make_user("clerk_b", Role.PHARMACY_CLERK, world.street_b)
    as_user(client, world.street_officer)
    create(client, world.street_a)
    pharmacy = Pharmacy.objects.get()
    before = state()
    response = client.post(reverse("masks:staff_pharmacy_clerk_add", args=[pharmacy.pk]),
                           {"membership": Membership.objects.get(user=other).pk})
    assert response.status_code == 400 and "只能添加本街道的指定药店店员账号" in response.content.decode()
    assert state() == before


def test_deactivation_needs_the_committees_handed_over_first(client, world):
    as_user(client, world.street_officer)
    create(client, world.street_a)
    pharmacy = Pharmacy.objects.get()
    client.post(reverse("masks:staff_pharmacy_committees", args=[pharmacy.pk]), {"committees": [world.committee_a1.pk]})
    before = state()
    response = client.post(reverse("masks:staff_pharmacy_deactivate", args=[pharmacy.pk]))
    assert response.status_code == 400
    assert "该药店仍服务国和一村居委会,请先将这些居委会改由其他药店服务,再停用" in response.content.decode()
    assert state() == before
    client.post(reverse("masks:staff_pharmacy_committees", args=[pharmacy.pk]), {})
    response = client.post(reverse("masks:staff_pharmacy_deactivate", args=[pharmacy.pk]))
    assert response["Location"] == reverse("masks:staff_pharmacies")
    pharmacy.refresh_from_db()
    assert pharmacy.active is False
    assert AuditEvent.objects.filter(action="pharmacy_deactivate", object_id=pharmacy.pk).count() == 1


def test_district_officer_works_over_its_streets_and_others_get_404(client, world):
    as_user(client, world.district_officer)
    create(client, world.street_b, name="政立药房")
    pharmacy = Pharmacy.objects.get()
    assert pharmacy.street == world.street_b
    # A street officer of street A sees the pharmacy of street B as missing.
    as_user(client, world.street_officer)
    before = state()
    for name in ("staff_pharmacy", "staff_pharmacy_committees", "staff_pharmacy_clerk_add",
                 "staff_pharmacy_clerk_new", "staff_pharmacy_deactivate"):
        assert client.post(reverse(f"masks:{name}", args=[pharmacy.pk]), {"name": "x", "address": "y"}
                           ).status_code == 404, name
    assert state() == before


def test_menu_leads_officers_to_the_pharmacies(client, world):
    link = reverse("masks:staff_pharmacies")
    for user in (world.street_officer, world.district_officer):
        as_user(client, user)
        assert f'href="{link}"' in client.get(reverse("masks:staff_rounds")).content.decode()
    as_user(client, world.staff_a1)
    assert f'href="{link}"' not in client.get(reverse("masks:staff_rounds")).content.decode()


def test_a_committee_without_a_round_is_told_who_opens_rounds(client, world):
    world.street_officer.mobile = "13900210001"
    world.street_officer.display_name = "陈海燕"
    world.street_officer.save()
    as_user(client, world.staff_a1)
    page = client.get(reverse("masks:staff_rounds")).content.decode()
    assert "口罩预约轮次由街道防控办或区防控办开设" in page
    assert "长海路街道 · 街道防控办 · 陈海燕 · 13900210001" in page
    assert "杨浦区 · 区防控办 · district" in page
    assert "五角场街道" not in page


def test_street_officer_opens_a_round_for_their_own_street(client, world):
    as_user(client, world.street_officer)
    form = client.get(reverse("masks:staff_round_new")).context["form"]
    assert list(form.fields["scope"].queryset) == [world.street_a]
    data = {"name": "长海路第1轮", "scope": world.street_a.pk, "masks_per_household": 5,
            "opens_at": "2026-02-10T08:00", "closes_at": "2099-02-12T20:00", "allocation_mode": "first_come",
            "lottery_seed": "", "special_share_percent": 10, "voucher_valid_days": 3}
    response = client.post(reverse("masks:staff_round_new"), data)
    assert response.status_code == 302
    from xiuhua.masks.models import MaskRound, RoundStatus

    mask_round = MaskRound.objects.get()
    client.post(reverse("masks:staff_round_open", args=[mask_round.pk]))
    mask_round.refresh_from_db()
    assert (mask_round.scope, mask_round.status) == (world.street_a, RoundStatus.OPEN)
    # Not the district, nor another street.
    before = MaskRound.objects.count()
    for scope in (world.district, world.street_b):
        response = client.post(reverse("masks:staff_round_new"), data | {"scope": scope.pk})
        assert response.status_code == 200
    assert MaskRound.objects.count() == before


def test_password_change_page_keeps_the_flag_until_a_valid_password(client, world):
    user = world.pharmacy_clerk
    user.must_change_password = True
    user.save()
    as_user(client, user)
    response = client.post(reverse("accounts:password_change"),
                           {"old_password": "wrong", "new_password1": "x", "new_password2": "x"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.must_change_password is True and user.check_password(PASSWORD)


def test_messages_before_any_pharmacy_say_who_sets_it_up(client, world):
    """No pharmacy yet: the clerk and committee staff are told the street sets it up, not "ask
    the committee" or "not this shop's voucher"."""
    import datetime as dt

    from django.utils import timezone

    from xiuhua.core.idnumbers import IdType
    from xiuhua.masks import services
    from xiuhua.testing import acting

    now = timezone.now()
    officer = acting(world.street_officer)
    mask_round = services.round_create(actor=officer, scope=world.street_a, name="第1轮",
                                       opens_at=now - dt.timedelta(hours=1), closes_at=now + dt.timedelta(days=1))
    services.round_open(actor=officer, round=mask_round)
    clerk_says = "您的账号还没有关联指定药店,请联系街道防控办在“口罩预约 › 指定药店”页面把您添加为店员。"
    as_user(client, world.pharmacy_clerk)
    assert clerk_says in client.get(reverse("masks:staff_redeem")).content.decode()
    assert clerk_says in client.get(reverse("masks:staff_deliveries")).content.decode()
    response = client.post(reverse("masks:staff_redeem"), {"number": "P08PXVTBTDWMR", "id_number": "x"})
    assert clerk_says in response.content.decode()

    staff_says = "本居委会尚未指定药店,暂不能登记。请联系街道防控办在“口罩预约 › 指定药店”页面为本居委会指定药店。"
    as_user(client, world.staff_a1)
    url = reverse("masks:staff_reserve", args=[mask_round.pk])
    assert staff_says in client.get(url).content.decode()
    before = state()
    response = client.post(url, {"channel": "desk", "name": world.resident_a1.name, "id_type": IdType.RESIDENT_ID,
                                 "id_number": world.resident_a1.plain_id, "phone": "", "household": "",
                                 "address_text": "", "paper_serial": ""})
    assert response.status_code == 200
    assert response.content.decode().count(staff_says) == 2  # the notice and the form's error
    assert state() == before

    # Once the street assigns a pharmacy, the notices go.
    pharmacy = services.pharmacy_create(actor=officer, street=world.street_a, name="国和药房", address="国和路1号")
    services.pharmacy_assign_committee(actor=officer, pharmacy=pharmacy, committee=world.committee_a1)
    assert staff_says not in client.get(url).content.decode()


def test_the_admin_lists_pharmacies_in_chinese_and_audits_a_change(client, world):
    from xiuhua.masks import services
    from xiuhua.testing import acting

    pharmacy = services.pharmacy_create(actor=acting(world.street_officer), street=world.street_a,
                                        name="国和药房", address="国和路1号")
    admin = User.objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    page = client.get(reverse("admin:masks_pharmacy_changelist")).content.decode()
    assert "指定药店" in page and "国和药房" in page and "所属街道" in page
    page = client.get(reverse("admin:masks_pharmacy_change", args=[pharmacy.pk])).content.decode()
    assert "服务的居委会" in page and "药店名称" in page
    response = client.post(reverse("admin:masks_pharmacy_change", args=[pharmacy.pk]), {
        "name": "国和大药房", "street": world.street_a.pk, "address": "国和路1号", "opening_hours": "",
        "active": "on", "served-TOTAL_FORMS": "0", "served-INITIAL_FORMS": "0", "served-MIN_NUM_FORMS": "0",
        "served-MAX_NUM_FORMS": "1000"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="pharmacy_admin_save", object_id=pharmacy.pk).count() == 1
