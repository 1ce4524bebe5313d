"""Donations, stock and loans in a real browser: a committee worker on a desktop records a
donation, prints its receipt, puts it into stock, issues from stock, and records a loan that goes
overdue and is returned."""

import datetime as dt

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from xiuhua.supply.models_stock import Donation, Loan, StockItem

from .conftest import login, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FETCH = (
    "const done = arguments[arguments.length - 1];"
    "fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done("
    "[r.status, r.headers.get('content-type'), new TextDecoder().decode(b.slice(0, 5))])));"
)


def fill(form, name: str, value: str) -> None:
    field = form.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def test_committee_worker_donation_stock_and_loan(desktop, live_server, world):
    d = desktop
    login(d, live_server, "staff_a1")
    d.get(f"{live_server.url}/supply/donations/")
    form = wait_for(d, "#donation-form")
    Select(form.find_element(By.NAME, "donor_kind")).select_by_value("organisation")
    fill(form, "donor_name", "国和超市")
    fill(form, "donor_phone", "13912345678")
    fill(form, "item_0", "口罩")
    fill(form, "quantity_0", "500")
    fill(form, "unit_0", "只")
    fill(form, "item_1", "抗原试剂")
    fill(form, "quantity_1", "40")
    fill(form, "unit_1", "盒")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(d, ".messages", "已登记捐赠,收据编号")
    donation = Donation.objects.get()
    assert d.current_url == f"{live_server.url}/supply/donations/{donation.pk}/"
    assert "13912345678" in d.find_element(By.ID, "donation").text
    screenshot(d, "supply_donation_recorded")

    # The receipt: the link the worker clicks answers a PDF.
    href = d.find_element(By.ID, "receipt").get_attribute("href")
    assert href == f"{live_server.url}/supply/donations/{donation.pk}/receipt.pdf"
    assert d.execute_async_script(FETCH, href) == [200, "application/pdf", "%PDF-"]

    # Into stock: 300 masks of the 500.
    form = d.find_element(By.ID, "allocate-form")
    Select(form.find_element(By.NAME, "line")).select_by_visible_text("口罩(剩500只)")
    fill(form, "quantity", "300")
    Select(form.find_element(By.NAME, "to")).select_by_value("stock")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(d, ".messages", "已登记去向")
    masks_line = donation.lines.get(item="口罩")
    assert d.find_element(By.ID, f"line-{masks_line.pk}").text.split()[-3:] == ["500只", "300只", "200只"]
    assert "口罩 300只 → 国和一村居委会物资库存" in d.find_element(By.ID, "allocations").text
    screenshot(d, "supply_donation_allocated", scroll_to="#balance")

    # Issue from stock: too many is refused, then 20 to a household.
    d.find_element(By.LINK_TEXT, "物资库存").click()
    form = wait_for(d, "#issue-form")
    item = StockItem.objects.get(committee=world.committee_a1, name="口罩")
    assert d.find_element(By.CSS_SELECTOR, f"#item-{item.pk} .qty").text == "300 只"
    fill(form, "quantity", "301")
    fill(form, "note", "5号楼302室")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(d, ".messages", "库存不足:口罩只剩300只")
    form = d.find_element(By.ID, "issue-form")
    fill(form, "quantity", "20")
    fill(form, "note", "5号楼302室")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(d, ".messages", "已出库:口罩 20只,现有280只")
    assert d.find_element(By.CSS_SELECTOR, f"#item-{item.pk} .qty").text == "280 只"
    assert "发放到户 · 5号楼302室" in d.find_element(By.ID, "moves").text
    # Ten masks in each home-isolation kit, drawn at the door visit.
    kit = d.find_element(By.CSS_SELECTOR, f"#item-{item.pk} form.kit")
    fill(kit, "kit_quantity", "10")
    kit.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(d, ".messages", "防疫包:每份口罩 10只")
    assert StockItem.objects.get(pk=item.pk).kit_quantity == 10
    screenshot(d, "supply_stock")

    # A loan of thermometer guns, due today.
    d.find_element(By.LINK_TEXT, "借用物品").click()
    form = wait_for(d, "#loan-form")
    fill(form, "lender_name", "王建华")
    fill(form, "item", "体温枪")
    fill(form, "quantity", "41")
    fill(form, "lent_to", "国和一村采样点")
    d.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, "due_on"),
                     timezone.localdate().isoformat())
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(d, ".messages", "已登记借用:体温枪 41件")
    loan = Loan.objects.get()
    assert "逾期未还 · 0" in d.find_element(By.ID, "overdue").text

    # Two days later it is overdue: on the loans page and on the first page.
    Loan.objects.filter(pk=loan.pk).update(due_on=timezone.localdate() - dt.timedelta(days=2))
    d.get(f"{live_server.url}/")
    wait_text(d, "#work-loans-overdue", "借用物品逾期未还 1 笔")
    d.find_element(By.CSS_SELECTOR, "#work-loans-overdue a").click()
    wait_text(d, "#overdue", "逾期未还 · 1")
    row = d.find_element(By.CSS_SELECTOR, f"#overdue #loan-{loan.pk}")
    assert "逾期" in row.text and "0/41" in row.text
    screenshot(d, "supply_loan_overdue", scroll_to="#overdue")

    # Returned in two parts.
    fill(row, "quantity", "40")
    fill(row, "returned_by", "采样点负责人")
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(d, ".messages", "已登记归还")
    row = d.find_element(By.CSS_SELECTOR, f"#overdue #loan-{loan.pk}")
    assert "40/41" in row.text
    fill(row, "returned_by", "志愿者小李")  # the remaining 1 is filled in
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(d, "#overdue", "逾期未还 · 0")  # the page before showed the first return's message too
    assert Loan.objects.get().returned == 41
    screenshot(d, "supply_loan_returned")


def test_street_sees_all_committees_stock_and_donations(desktop, live_server, world):
    from xiuhua.supply import services_stock as s
    from xiuhua.testing import acting

    for user, committee in ((world.staff_a1, world.committee_a1), (world.staff_a2, world.committee_a2)):
        staff = acting(user)
        item = s.stock_item_add(actor=staff, committee=committee, name="口罩", unit="只")
        s.stock_receive(actor=staff, committee=committee, item=item, quantity=100 if user == world.staff_a1 else 40)
        s.donation_record(actor=staff, unit=committee, donor_name="陈女士", donor_kind="person",
                          donor_phone="13912345678", kind="money", amount="500")
    d = desktop
    login(d, live_server, "street_a")
    d.get(f"{live_server.url}/supply/stock/")
    rows = wait_for(d, "#items").text
    assert "国和一村居委会 口罩 100 只" in rows and "国和二村居委会 口罩 40 只" in rows
    screenshot(d, "supply_street_stock")
    d.find_element(By.LINK_TEXT, "捐赠").click()
    table = wait_for(d, "#donations").text
    assert table.count("139****5678") == 2 and "13912345678" not in table
    screenshot(d, "supply_street_donations")
