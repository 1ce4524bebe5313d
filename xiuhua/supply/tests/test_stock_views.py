"""Pages of donations, loans and stock: who may open them, exact outcomes, the receipt PDF."""

import datetime as dt
import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.core.registry import home_parts
from xiuhua.supply import services_stock as s
from xiuhua.supply.models_stock import Donation, Loan, StockItem, StockMove
from xiuhua.testing import acting, as_user, qr_codes_in_pdf

pytestmark = pytest.mark.django_db

GET_URLS = ["supply:stock", "supply:donations", "supply:loans"]
POST_URLS = ["supply:stock_item_add", "supply:stock_receive", "supply:stock_issue", "supply:stock_kit",
             "supply:donation_new", "supply:loan_new"]


def _donation(w, unit=None, actor=None):
    return s.donation_record(actor=acting(actor or w.staff_a1), unit=unit or w.committee_a1, donor_name="国和超市",
                             donor_kind="organisation", donor_phone="13812345678", kind="goods",
                             lines=[("口罩", 500, "只")])


def _loan(w, committee=None, actor=None):
    return s.loan_record(actor=acting(actor or w.staff_a1), committee=committee or w.committee_a1,
                         lender_name="张先生", item="体温枪", quantity=4, lent_to="采样点", due_on=timezone.localdate())


def test_roles_without_the_capability_get_403_and_write_nothing(client, world):
    d, loan = _donation(world), _loan(world)
    urls = [reverse(n) for n in GET_URLS + POST_URLS] + [
        reverse("supply:donation", args=[d.pk]), reverse("supply:donation_receipt", args=[d.pk]),
        reverse("supply:donation_allocate", args=[d.pk]), reverse("supply:loan_return", args=[loan.pk])]
    for user in (world.volunteer, world.grid_worker, world.pharmacy_clerk, world.no_role):
        as_user(client, user)
        for url in urls:
            assert client.post(url, {"quantity": 1}).status_code in (403, 405), (user, url)
            assert client.get(url).status_code in (403, 405), (user, url)
    client.logout()
    assert client.get(reverse("supply:stock")).status_code == 302
    assert (Donation.objects.count(), Loan.objects.count(), StockMove.objects.count()) == (1, 1, 0)


def test_another_committees_rows_are_404(client, world):
    d, loan = _donation(world), _loan(world)
    as_user(client, world.staff_a2)
    for url in (reverse("supply:donation", args=[d.pk]), reverse("supply:donation_receipt", args=[d.pk])):
        assert client.get(url).status_code == 404
    assert client.post(reverse("supply:donation_allocate", args=[d.pk]),
                       {"line": d.lines.get().pk, "quantity": 1, "to": "stock"}).status_code == 404
    assert client.post(reverse("supply:loan_return", args=[loan.pk]),
                       {"quantity": 1, "returned_by": "x"}).status_code == 404
    assert not d.allocations.exists() and Loan.objects.get().returned == 0
    page = client.get(reverse("supply:donations")).content.decode()
    assert d.number not in page
    as_user(client, world.street_officer_b)
    assert client.get(reverse("supply:donation", args=[d.pk])).status_code == 404
    assert "张先生" not in client.get(reverse("supply:loans")).content.decode()


def test_lender_phone_in_full_only_to_the_committee(client, world):
    s.loan_record(actor=acting(world.staff_a1), committee=world.committee_a1, lender_name="张先生",
                  lender_phone="13812345678", item="体温枪", quantity=4, lent_to="采样点", due_on=timezone.localdate())
    as_user(client, world.staff_a1)
    assert "13812345678" in client.get(reverse("supply:loans")).content.decode()
    as_user(client, world.street_officer)
    page = client.get(reverse("supply:loans")).content.decode()
    assert "138****5678" in page and "13812345678" not in page


def test_committee_records_allocates_and_issues_through_the_pages(client, world):
    as_user(client, world.staff_a1)
    r = client.post(reverse("supply:donation_new"), {
        "unit": world.committee_a1.pk, "donor_kind": "person", "donor_name": "陈女士", "donor_phone": "13912345678",
        "kind": "goods", "item_0": "口罩", "quantity_0": "200", "unit_0": "只"})
    d = Donation.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("supply:donation", args=[d.pk])
    client.post(reverse("supply:donation_allocate", args=[d.pk]),
                {"line": d.lines.get().pk, "quantity": 150, "to": "stock"})
    item = StockItem.objects.get(committee=world.committee_a1, name="口罩")
    r = client.post(reverse("supply:stock_issue"), {"item": item.pk, "quantity": 200, "reason": "household",
                                                    "note": "5号302"}, follow=True)
    assert "库存不足:口罩只剩150只" in r.content.decode()
    r = client.post(reverse("supply:stock_issue"), {"item": item.pk, "quantity": 20, "reason": "household",
                                                    "note": "5号302"}, follow=True)
    assert "已出库:口罩 20只,现有130只" in r.content.decode()
    r = client.post(reverse("supply:stock_issue"), {"item": item.pk, "quantity": 2, "reason": "request",
                                                    "ticket": "12a"}, follow=True)
    assert "工单编号请填数字,可不填" in r.content.decode()
    client.post(reverse("supply:stock_issue"), {"item": item.pk, "quantity": 2, "reason": "request", "ticket": "12"})
    assert StockMove.objects.filter(reason="request").get().ref == "ticket:12"
    item.refresh_from_db()
    assert item.quantity == 128
    # The street sees the committee's stock and donations, with the donor's phone masked.
    as_user(client, world.street_officer)
    page = client.get(reverse("supply:donations")).content.decode()
    assert d.number in page and "139****5678" in page and "13912345678" not in page
    assert "国和一村居委会" in client.get(reverse("supply:stock")).content.decode()


def test_receipt_pdf_is_audited_and_renders(client, world, tmp_path):
    d = s.donation_record(actor=acting(world.staff_a1), unit=world.committee_a1, donor_name="国和超市",
                          donor_kind="organisation", kind="money", amount="12345.60")
    as_user(client, world.staff_a1)
    r = client.get(reverse("supply:donation_receipt", args=[d.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="donation_receipt_print", object_id=d.pk, actor=world.staff_a1).count() == 1
    if shutil.which("pdftotext") is None:
        pytest.skip("needs poppler-utils")
    (tmp_path / "r.pdf").write_bytes(r.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    for expected in ("捐赠收据", f"收据编号:{d.number}", "国和超市", "人民币 12,345.60 元",
                     "人民币壹万贰仟叁佰肆拾伍元陆角整", "国和一村居委会"):
        assert expected in text
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", str(tmp_path / "r.pdf"), str(tmp_path / "r")],
                   check=True)
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_overdue_loans_on_the_page_and_the_first_page(client, world):
    past = timezone.now() - dt.timedelta(days=5)
    late = s.loan_record(actor=acting(world.staff_a1), committee=world.committee_a1, lender_name="王建华",
                         item="体温枪", quantity=25, lent_to="采样点",
                         due_on=timezone.localdate() - dt.timedelta(days=1), now=past)
    _loan(world)
    part = next(p for p in home_parts() if p.name == "supply_stock")
    staff = acting(world.staff_a1)
    assert part.work(staff, staff.active_membership) == {"loans_overdue": 1}
    street = acting(world.street_officer_b)
    assert part.work(street, street.active_membership) == {"loans_overdue": 0}
    as_user(client, world.staff_a1)
    page = client.get(reverse("supply:loans")).content.decode()
    overdue = page[page.index('id="overdue"'):page.index("借用中")]
    assert f'id="loan-{late.pk}"' in overdue and "逾期未还 · 1" in overdue
    assert "借用物品逾期未还 1 笔" in client.get(reverse("home")).content.decode()
    client.post(reverse("supply:loan_return", args=[late.pk]), {"quantity": 25, "returned_by": "采样点"})
    r = client.post(reverse("supply:loan_return", args=[late.pk]), {"quantity": 1, "returned_by": "采样点"},
                    follow=True)
    assert "已全部归还,不能再登记归还" in r.content.decode()
    assert Loan.objects.get(pk=late.pk).returned == 25
    assert part.work(staff, staff.active_membership) == {"loans_overdue": 0}


def test_demo_part_seeds_once_with_one_overdue_loan(world):
    from xiuhua.accounts.roles import Role
    from xiuhua.core.registry import demo_parts
    from xiuhua.supply.selectors_stock import overdue_loans
    from xiuhua.testing import make_user

    make_user("committee", Role.COMMITTEE_STAFF, world.committee_a1)
    part = next(p for p in demo_parts() if p.name == "supply_stock")
    assert part.seed() == ["Supplies: 2 donations, 4 stock items, 2 loans (1 overdue) in 国和一村居委会."]
    assert part.seed() == []
    assert Donation.objects.count() == 2 and Loan.objects.count() == 2
    assert overdue_loans(acting(world.staff_a1)).count() == 1
    stock = dict(StockItem.objects.values_list("name", "quantity"))
    assert stock == {"口罩": 1490, "抗原试剂": 300, "体温计": 50, "消毒液": 80}


@pytest.mark.parametrize(("amount", "words"), [
    ("12345.60", "壹万贰仟叁佰肆拾伍元陆角整"), ("10005", "壹万零伍元整"), ("1010", "壹仟零壹拾元整"),
    ("100010.01", "壹拾万零壹拾元零壹分"), ("100000000", "壹亿元整"), ("0.05", "伍分"), ("800", "捌佰元整"),
])
def test_amount_in_capitals(amount, words):
    from decimal import Decimal

    from xiuhua.supply.receipts import yuan_in_capitals

    assert yuan_in_capitals(Decimal(amount)) == words


def test_the_receipts_qr_opens_where_the_donation_went_without_signing_in(client, world):
    d = s.donation_record(actor=acting(world.staff_a1), unit=world.committee_a1, donor_name="王建华",
                          donor_kind="person", donor_phone="13812345678", kind="goods", lines=[("口罩", 500, "只")])
    line = d.lines.get()
    s.donation_allocate(actor=acting(world.staff_a1), donation=d, line=line, quantity=300, to_stock=True,
                        committee=world.committee_a1)
    s.donation_allocate(actor=acting(world.staff_a1), donation=d, line=line, quantity=50, note="发给核酸采样点志愿者")
    as_user(client, world.staff_a1)
    pdf = client.get(reverse("supply:donation_receipt", args=[d.pk])).content
    [[(fmt, url)]] = qr_codes_in_pdf(pdf)
    assert fmt == "QRCode" and url.startswith("http")
    path = url[url.index("/supply/g/"):]
    client.logout()
    page = client.get(path)
    assert page.status_code == 200 and page["Cache-Control"] == "private, no-store"
    text = page.content.decode()
    assert "王**" in text and "王建华" not in text and "13812345678" not in text
    assert "口罩 300只 → 国和一村居委会物资库存" in text and "口罩 50只 · 发给核酸采样点志愿者" in text
    assert '<td data-label="剩余" class="left">150只</td>' in text
    wrong = path.replace(path.rstrip("/").rsplit("-", 1)[1], "ABCDEFGH")
    assert client.get(wrong).status_code == 404
