"""A collector on a 360 px phone scans with the camera, no handheld scanner: a tube's Code 128
barcode, then a person's code as the thermal label prints it. Chromium's fake camera plays a
picture of each (a Y4M file, one code per camera: the browser is started again on the same
profile, as the collector turns the phone to the next code), and the page's own decoder reads it."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from xiuhua.screening.labels import LabelSheet, labels_pdf
from xiuhua.screening.models import SamplingCode, Tube, TubeMember
from xiuhua.screening.tests.fixtures import build_screening

from .conftest import launch_chromium, login, needs_chromium, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 640, 480


def write_y4m(path: Path, picture: Image.Image) -> None:
    """A one-frame Y4M video (4:2:0, full range) of the picture centred on white, as Chromium's
    --use-file-for-fake-video-capture plays it, looping."""
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    picture = picture.convert("RGB")
    picture.thumbnail((int(WIDTH * 0.8), int(HEIGHT * 0.8)))
    frame.paste(picture, ((WIDTH - picture.width) // 2, (HEIGHT - picture.height) // 2))
    luma, blue, red = frame.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        out.write(b"FRAME\n")
        out.write(luma.tobytes() + blue.resize(half).tobytes() + red.resize(half).tobytes())


def tube_picture(barcode: str) -> Image.Image:
    import zxingcpp

    pixels = memoryview(zxingcpp.create_barcode(barcode, zxingcpp.BarcodeFormat.Code128)
                        .to_image(scale=3, add_quiet_zones=True))
    return Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), bytes(pixels))


def label_picture(code: SamplingCode, round_name: str, folder: Path) -> Image.Image:
    """The code's 40x30 mm thermal label, printed (the PDF, rendered at 200 dpi by pdftoppm)."""
    pdf = labels_pdf([LabelSheet(title="1号楼", building="1号楼", codes=[code], title_label=False)],
                     layout="40x30", round_name=round_name)
    (folder / "label.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", str(folder / "label.pdf"), str(folder / "label")],
                   check=True)
    return Image.open(folder / "label.png")


def camera_phone(profile: str, video: Path):
    driver = launch_chromium(profile, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                             f"--use-file-for-fake-video-capture={video}")
    driver.set_window_size(360, 740)
    return driver


def start_camera(driver) -> None:
    wait_for(driver, "#station[data-ready='1']")
    driver.find_element(By.ID, "station-camera").click()
    wait_text(driver, "#station-camera", "关闭摄像头")


def reads(driver) -> int:
    return int(driver.find_element(By.ID, "station-camera").get_attribute("data-reads") or 0)


def test_a_collector_scans_a_tube_and_a_printed_label_with_the_phone_camera(live_server, world):
    needs_chromium()
    screening = build_screening(world)
    code = SamplingCode.objects.create(
        round=screening.round, reference="CAM000001", committee=world.committee_a1, building=world.building_a1,
        walk_in=True, walk_in_name="王秀兰", name_masked="王*兰")
    folder = Path(tempfile.mkdtemp(prefix="xiuhua-camera-"))
    profile = str(folder / "profile")
    write_y4m(folder / "tube.y4m", tube_picture("T7001"))
    write_y4m(folder / "label.y4m", label_picture(code, screening.round.name, folder))
    station = f"{live_server.url}/screening/station/{screening.site_a1.pk}/"
    try:
        phone = camera_phone(profile, folder / "tube.y4m")
        try:
            login(phone, live_server, world.volunteer.username)
            phone.get(station)
            start_camera(phone)
            wait_text(phone, "#station-mode", "请扫描采样码(试管 T7001)", timeout=20)
            WebDriverWait(phone, 20).until(lambda d: Tube.objects.filter(barcode="T7001").exists())
            screenshot(phone, "screening_station_camera_tube", scroll_to="#station-video")
            assert phone.execute_script("return document.documentElement.scrollWidth") <= 360
        finally:
            phone.quit()

        # The same phone, its camera now on the printed label: the tube is still the open one (the
        # restarted browser kept the page's storage, not its session: the collector signs in again).
        phone = camera_phone(profile, folder / "label.y4m")
        try:
            login(phone, live_server, world.volunteer.username)
            phone.get(station)
            wait_text(phone, "#station-mode", "请扫描采样码(试管 T7001)")
            start_camera(phone)
            WebDriverWait(phone, 20).until(lambda d: TubeMember.objects.filter(code=code).exists())
            wait_text(phone, "#station-log", "王*兰")
            wait_text(phone, "#station-tube-count", "1")
            # The label stays in front of the camera: it was read once, and nothing was refused.
            WebDriverWait(phone, 20).until(lambda d: d.execute_script(
                "return document.getElementById('station-pending').dataset.count") == "0")
            assert reads(phone) == 1
            assert not phone.find_elements(By.CSS_SELECTOR, "#station-log li.refused")
            screenshot(phone, "screening_station_camera_label", scroll_to="#station-video")
            phone.find_element(By.ID, "station-camera").click()
            wait_text(phone, "#station-camera", "用摄像头扫码")
            assert not phone.find_element(By.ID, "station-video").is_displayed()
        finally:
            phone.quit()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert list(TubeMember.objects.values_list("tube__barcode", "code__reference")) == [("T7001", "CAM000001")]
    assert Tube.objects.get(barcode="T7001").status == "open"
