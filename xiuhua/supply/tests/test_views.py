"""The group-buy pages: the authorisation matrix, the leader's phone pages (another phone's leader
or filing is a 404), and the committee's review."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.core.resident_phone import SESSION_PHONE
from xiuhua.supply import services
from xiuhua.supply.models import Ban, Complaint, Filing, FilingStatus, Leader, LeaderStatus, ReferencePrice
from xiuhua.testing import acting, as_user

from .conftest import LEADER_PHONE, add_documents

pytestmark = pytest.mark.django_db


def verified(client, phone=LEADER_PHONE):
    session = client.session
    session[SESSION_PHONE] = {"phone": phone, "until": (timezone.now() + dt.timedelta(minutes=30)).isoformat()}
    session.save()
    return client


def snapshot():
    return [m.objects.count() for m in (Leader, Filing, Complaint, Ban, ReferencePrice, AuditEvent)]


# URL name -> (args, the capabilities that open it)
OFFICE = {
    "leaders": ([], "view"), "leader_decide": ([1], "review"), "filings": ([], "view"), "filing": ([1], "view"),
    "filing_decide": ([1], "review"), "filing_complaint": ([1], "review"), "complaints": ([], "view"),
    "complaint_handle": ([1], "review"), "document_photo": ([1], "view"), "prices": ([], "view"),
    "bans": ([], "view"), "ban_lift": ([1], "review"), "behalf": ([], "review"), "behalf_apply": ([], "review"),
    "behalf_document": ([1], "review"), "behalf_file": ([1], "review"), "behalf_edit": ([1], "review"),
}
LEAD = ["lead_home", "lead_apply", "lead_document", "lead_file", "lead_filing", "lead_complain"]


def test_every_url_is_in_the_matrix():
    from django.urls import URLPattern

    from xiuhua.supply.urls import urlpatterns

    # Donations, loans and stock come in by include(); test_stock_views holds their matrix.
    names = {p.name for p in urlpatterns if isinstance(p, URLPattern)}
    assert names == set(OFFICE) | set(LEAD) | {"lead_start", "lead_otp_send", "lead_verify", "lead_logout"}


@pytest.mark.parametrize("name", sorted(OFFICE))
def test_roles_without_the_capability_are_refused_and_nothing_written(client, world, name):
    args, _need = OFFICE[name]
    url = reverse(f"supply:{name}", args=args)
    before = snapshot()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    lacking = [world.grid_worker, world.volunteer, world.pharmacy_clerk, world.no_role]
    if _need == "review":
        lacking.append(world.street_officer)
    for user in lacking:
        as_user(client, user)
        assert client.get(url).status_code in (403, 405)
        assert client.post(url, {"action": "approve", "reason": "x"}).status_code in (403, 405)
    assert snapshot() == before


@pytest.mark.parametrize("name", LEAD)
def test_the_leader_pages_need_a_proven_phone(client, world, name):
    args = [1] if name in ("lead_document", "lead_file", "lead_filing") else []
    before = snapshot()
    assert client.get(reverse(f"supply:{name}", args=args)).status_code == 403
    assert client.post(reverse(f"supply:{name}", args=args), {"resident": world.resident_a1b.pk}).status_code == 403
    assert snapshot() == before


def test_a_resident_applies_on_the_phone_and_the_committee_approves(client, world):
    verified(client)
    home = client.get(reverse("supply:lead_home"))
    assert "李**" in home.content.decode() and "李建国" not in home.content.decode()
    # Another phone's resident is a 404.
    assert client.post(reverse("supply:lead_apply"), {"resident": world.resident_a1.pk}).status_code == 404
    assert client.post(reverse("supply:lead_apply"), {"resident": world.resident_a1b.pk}).status_code == 302
    leader = Leader.objects.get()
    assert (leader.status, leader.resident) == (LeaderStatus.APPLIED, world.resident_a1b)
    staff = as_user(client.__class__(), world.staff_a1)
    page = staff.get(reverse("supply:leaders"))
    assert f"approve-leader-{leader.pk}" in page.content.decode()
    staff.post(reverse("supply:leader_decide", args=[leader.pk]), {"action": "approve"})
    leader.refresh_from_db()
    assert leader.status == LeaderStatus.APPROVED
    # Another committee's staff: the same 404 as a missing one.
    other = as_user(client.__class__(), world.staff_a2)
    assert other.post(reverse("supply:leader_decide", args=[leader.pk]), {"action": "refuse",
                                                                         "reason": "x"}).status_code == 404


def _window(hours):
    return timezone.localtime(timezone.now() + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def filing_post(**overrides):
    data = {"supplier": "上海鲜达食品有限公司", "supplier_licence": "JY131", "driver_name": "王师傅",
            "driver_phone": "13900001234", "vehicle_plate": "沪A12345", "window_start": _window(3),
            "window_end": _window(5), "item-0-name": "鸡蛋", "item-0-unit": "枚", "item-0-pack_quantity": "30",
            "item-0-price": "36"}
    data.update(overrides)
    return data


def test_the_leader_files_on_the_phone_and_the_committee_sees_the_flag(client, world, leader):
    now = timezone.now()
    add_documents(leader, now=now)
    services.reference_price_set(actor=acting(world.street_officer), street=world.street_a, name="鸡蛋", unit="枚",
                                 price="1", effective_from=timezone.localdate() - dt.timedelta(days=1))
    verified(client)
    response = client.post(reverse("supply:lead_file", args=[leader.pk]), filing_post())
    filing = Filing.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("supply:lead_filing", args=[filing.pk])
    assert filing.items.get().flagged
    staff = as_user(client.__class__(), world.staff_a1)
    page = staff.get(reverse("supply:filings")).content.decode()
    assert f"filing-{filing.pk}" in page and "价格超参考价" in page
    detail = staff.get(reverse("supply:filing", args=[filing.pk])).content.decode()
    assert "高出参考价10%以上" in detail and 'id="action-approve"' in detail
    refused = staff.post(reverse("supply:filing_decide", args=[filing.pk]), {"action": "refuse"}, follow=True)
    assert "请填写理由" in refused.content.decode()
    filing.refresh_from_db()
    assert filing.status == FilingStatus.SUBMITTED
    staff.post(reverse("supply:filing_decide", args=[filing.pk]), {"action": "approve"})
    filing.refresh_from_db()
    assert filing.status == FilingStatus.APPROVED


def test_an_expired_document_blocks_the_filing_page_with_a_message(client, world, leader):
    add_documents(leader, now=timezone.now() - dt.timedelta(hours=47), taken=dt.timedelta(hours=2))
    verified(client)
    response = client.post(reverse("supply:lead_file", args=[leader.pk]), filing_post())
    assert response.status_code == 400
    assert "证件不全或已过期,不能报备:司机核酸阴性证明(HS001)已于" in response.content.decode()
    assert Filing.objects.count() == 0


def test_another_phone_cannot_see_the_leader_or_the_filing(client, world, leader):
    add_documents(leader, now=timezone.now())
    filing = services.filing_submit(actor=None, phone=LEADER_PHONE, leader=leader,
                                    data={**filing_post(), "items": [{"name": "米", "unit": "袋",
                                                                      "pack_quantity": "1", "price": "50"}],
                                          "window_start": timezone.now() + dt.timedelta(hours=3),
                                          "window_end": timezone.now() + dt.timedelta(hours=5)})
    verified(client, "13812345678")
    assert client.get(reverse("supply:lead_filing", args=[filing.pk])).status_code == 404
    assert client.get(reverse("supply:lead_file", args=[leader.pk])).status_code == 404
    assert client.post(reverse("supply:lead_document", args=[leader.pk]), {"kind": "vehicle_pass"}).status_code == 404


def test_the_street_keeps_reference_prices_and_committees_only_read_them(client, world):
    street = as_user(client, world.street_officer)
    street.post(reverse("supply:prices"), {"name": "大米", "unit": "kg", "price": "6.5",
                                           "effective_from": "2022-04-01"})
    street.post(reverse("supply:prices"), {"what": "share", "share": "15"})
    assert list(ReferencePrice.objects.values_list("name", "price")) == [("大米", 6.5)]
    staff = as_user(client.__class__(), world.staff_a1)
    page = staff.get(reverse("supply:prices")).content.decode()
    assert "大米" in page and "15%" in page and 'id="price-form"' not in page
    assert staff.post(reverse("supply:prices"), {"name": "油", "unit": "L", "price": "1",
                                                 "effective_from": "2022-04-01"}).status_code == 404
    assert ReferencePrice.objects.count() == 1


def test_a_ban_is_seen_street_wide(client, world, leader):
    staff = as_user(client, world.staff_a1)
    staff.post(reverse("supply:bans"), {"kind": "supplier", "supplier": "黑心蔬菜", "reason": "缺斤少两"})
    staff.post(reverse("supply:bans"), {"kind": "leader", "leader": leader.pk, "reason": "哄抬价格"})
    assert Ban.objects.count() == 2
    for user in (world.staff_a2, world.street_officer):
        page = as_user(client.__class__(), user).get(reverse("supply:bans")).content.decode()
        assert "黑心蔬菜" in page and "李**" in page and "哄抬价格" in page
    page = as_user(client.__class__(), world.street_officer_b).get(reverse("supply:bans")).content.decode()
    assert "黑心蔬菜" not in page


def test_staff_apply_document_and_file_on_a_residents_behalf(client, world):
    staff = as_user(client, world.staff_a1)
    page = staff.get(reverse("supply:behalf"), {"building": world.building_a1b.pk, "room": "101"}).content.decode()
    assert f"behalf-apply-{world.resident_a1b.pk}" in page and "李**" in page and "李建国" not in page
    # Another committee's household is not found; another committee's resident is a 404.
    assert "没有找到这一户" in staff.get(reverse("supply:behalf"), {"building": world.building_a2.pk, "room": "201"},
                                        follow=True).content.decode()
    assert staff.post(reverse("supply:behalf_apply"), {"resident": world.resident_a2.pk}).status_code == 404
    staff.post(reverse("supply:behalf_apply"), {"resident": world.resident_a1b.pk})
    leader = Leader.objects.get()
    assert leader.entered_by == world.staff_a1
    assert staff.get(reverse("supply:behalf_file", args=[leader.pk])).status_code == 404  # not approved yet
    staff.post(reverse("supply:leader_decide", args=[leader.pk]), {"action": "approve"})
    response = staff.post(reverse("supply:behalf_document", args=[leader.pk]), {
        "kind": "driver_test", "number": "HS9", "holder": "王师傅",
        "taken_at": timezone.localtime(timezone.now() - dt.timedelta(hours=50)).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 400 and "过期,请提供有效的证件" in response.content.decode()
    add_documents(leader, now=timezone.now())
    response = staff.post(reverse("supply:behalf_file", args=[leader.pk]), filing_post())
    filing = Filing.objects.get()
    assert response["Location"] == reverse("supply:filing", args=[filing.pk])
    assert filing.entered_by == world.staff_a1
    staff.post(reverse("supply:filing_decide", args=[filing.pk]), {"action": "request_changes", "reason": "补充"})
    assert "behalf-edit" in staff.get(reverse("supply:filing", args=[filing.pk])).content.decode()
    staff.post(reverse("supply:behalf_edit", args=[filing.pk]), filing_post(**{"item-0-price": "30"}))
    filing.refresh_from_db()
    assert (filing.status, filing.items.get().price) == (FilingStatus.SUBMITTED, 30)
    assert staff.get(reverse("supply:behalf_edit", args=[filing.pk])).status_code == 404  # not sent back now


def test_a_leader_account_finds_the_phone_pages_on_its_first_page(client, world):
    from xiuhua.accounts.roles import Role
    from xiuhua.testing import make_user

    client.force_login(make_user("lead_account", Role.GROUPBUY_LEADER, world.compound_a1))
    body = client.get("/").content.decode()
    assert f'<li id="work-groupbuy-lead"><a href="{reverse("supply:lead_start")}">' in body
    assert "团购报备在手机上办理" in body
