"""The isolation pledge signed with a finger on the staff member's phone (door visit, step 3)."""

import datetime as dt

import pytest
from django.utils import timezone
from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions import interaction
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.pointer_input import PointerInput
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from xiuhua.core.idnumbers import make_resident_id
from xiuhua.isolation import services
from xiuhua.isolation.models import CaseStep, PledgeKind, Step
from xiuhua.testing import acting

from .conftest import login, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 360
# Points of a stroke, as offsets from the canvas's centre in CSS pixels (the pad is ~300x150).
STROKE = [(-110, 20), (-70, -30), (-30, 25), (10, -35), (50, 30), (100, -10)]


def fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def inked(driver) -> bool:
    return driver.execute_script("return document.getElementById('signature-pad').dataset.inked === '1'")


def wait_inked(driver, value: bool = True) -> None:
    WebDriverWait(driver, 10).until(lambda d: inked(d) is value)


def into_view(driver, element) -> None:
    # Pointer actions do not scroll: the pad must be on screen before the finger touches it.
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)


def draw_with_finger(driver, pad) -> None:
    into_view(driver, pad)
    finger = PointerInput(interaction.POINTER_TOUCH, "finger")
    actions = ActionBuilder(driver, mouse=finger)
    x, y = STROKE[0]
    actions.pointer_action.move_to(pad, x, y).pointer_down()
    for x, y in STROKE[1:]:
        actions.pointer_action.move_to(pad, x, y)
    actions.pointer_action.pointer_up()
    actions.perform()


def draw_with_mouse(driver, pad) -> None:
    into_view(driver, pad)
    chain = ActionChains(driver).move_to_element_with_offset(pad, *STROKE[0]).click_and_hold()
    previous = STROKE[0]
    for point in STROKE[1:]:
        chain.move_by_offset(point[0] - previous[0], point[1] - previous[1])
        previous = point
    chain.release().perform()


def test_the_person_signs_the_pledge_on_the_staff_members_phone(phone, live_server, world):
    w = world
    staff = acting(w.staff_a1)
    arrival = services.arrival_register(
        actor=staff, household=w.household_a1, name="周来沪", id_type="resident_id",
        id_number=make_resident_id("420102", dt.date(1985, 4, 2), 321), phone="13911112222",
        origin_text="湖北省武汉市", transport="train", arrival_date=timezone.localdate(),
    )
    case = services.case_open(actor=staff, arrival=arrival)

    login(phone, live_server, "staff_a1")
    phone.get(f"{live_server.url}/isolation/cases/{case.pk}/")
    pad = wait_for(phone, "#step-door_visit canvas#signature-pad")
    # With the script: the pad is shown (signature chosen), the photo input hidden until chosen.
    WebDriverWait(phone, 10).until(lambda d: pad.is_displayed())
    photo = phone.find_element(By.ID, "door_visit_pledge_photo")
    assert not photo.is_displayed()
    text = phone.find_element(By.ID, "pledge-text").text
    assert "本人承诺居家隔离14天" in text and case.ends_on.isoformat() in text and "不外出" in text
    width = pad.size["width"]
    assert 250 <= width <= PHONE_WIDTH and abs(pad.size["height"] * 2 - width) <= 2
    assert fits_the_phone(phone)

    # Choosing the photo shows the upload and hides the pad; back again.
    form = phone.find_element(By.CSS_SELECTOR, "#step-door_visit form")
    form.find_element(By.CSS_SELECTOR, "input[name=pledge_mode][value=photo]").click()
    assert photo.is_displayed() and not pad.is_displayed()
    form.find_element(By.CSS_SELECTOR, "input[name=pledge_mode][value=signature]").click()
    assert pad.is_displayed() and not photo.is_displayed()

    for name in ("health_form", "pledge_signed", "kit_given"):
        form.find_element(By.NAME, name).click()
    # A mouse works too; "重写" wipes the drawing; a blank pad is refused with a clear message.
    draw_with_mouse(phone, pad)
    wait_inked(phone)
    phone.find_element(By.ID, "signature-clear").click()
    wait_inked(phone, False)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(phone, "#step-door_visit", "签名区是空白的,请本人在框内签名")
    assert not CaseStep.objects.get(case=case, step=Step.DOOR_VISIT).done_at
    assert fits_the_phone(phone)

    # The ticks are kept; the person signs with a finger and the step is done.
    pad = wait_for(phone, "#step-door_visit canvas#signature-pad")
    form = phone.find_element(By.CSS_SELECTOR, "#step-door_visit form")
    assert all(form.find_element(By.NAME, n).is_selected() for n in ("health_form", "pledge_signed", "kit_given"))
    draw_with_finger(phone, pad)
    wait_inked(phone)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_text(phone, ".messages", "已完成:三人小组上门")
    assert phone.find_element(By.ID, "pledge-photo").text == "查看本人屏幕签名"
    assert fits_the_phone(phone)

    step = CaseStep.objects.get(case=case, step=Step.DOOR_VISIT)
    assert (step.done_by, step.pledge_kind, step.pledge_signed) == (w.staff_a1, PledgeKind.SIGNATURE, True)
    with step.pledge_photo.open("rb") as f, Image.open(f) as stored:
        assert (stored.format, stored.size) == ("JPEG", (800, 400))
        grey = stored.convert("L")
        ink = grey.point(lambda level: 255 if level < 160 else 0)
        left, top, right, bottom = ink.getbbox()
        # The stroke crossed most of the pad (it was drawn over ~210 of its ~300 CSS pixels).
        assert right - left > 400 and bottom - top > 100
        assert grey.getpixel((2, 2)) > 245  # flattened onto white
