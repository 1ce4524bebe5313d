"""A collector on a 360 px phone scans 25 people into 3 tubes; the network is cut (Chromium's
offline emulation), 10 more scans are taken, the page reloads, the network returns, and the
server holds exactly the 35 scans, once each."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from xiuhua.screening.models import SamplingCode, StationBatch, Tube, TubeMember
from xiuhua.screening.tests.fixtures import build_screening

from .conftest import login, screenshot, wait_for, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ONLINE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0}


class WorkerNetwork:
    """Offline emulation for the page's service worker too. Chromium emulates network conditions
    per DevTools target, and a request of a page that a service worker controls goes out from the
    worker's target (as DevTools' own 'Offline' box in the Application panel knows): the same
    Network.emulateNetworkConditions is sent to the worker over the browser's DevTools socket,
    which stays open while it should hold."""

    def __init__(self, driver):
        import json
        import urllib.request

        import websocket

        address = driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
        with urllib.request.urlopen(f"http://{address}/json/version") as answer:
            url = json.load(answer)["webSocketDebuggerUrl"]
        self.socket = websocket.create_connection(url, timeout=10, suppress_origin=True)
        self.json = json
        self.next_id = 0
        targets = self.call("Target.getTargets")["targetInfos"]
        workers = [t for t in targets
                   if t["type"] == "service_worker" and t["url"].endswith("/screening/station/sw.js")]
        assert workers, targets
        self.sessions = [self.call("Target.attachToTarget", targetId=t["targetId"], flatten=True)["sessionId"]
                         for t in workers]
        for session in self.sessions:
            self.call("Network.enable", session=session)

    def call(self, method, session=None, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(self.json.dumps(message))
        while True:
            answer = self.json.loads(self.socket.recv())
            if answer.get("id") == self.next_id:
                assert "error" not in answer, answer
                return answer.get("result", {})

    def emulate(self, conditions):
        for session in self.sessions:
            self.call("Network.emulateNetworkConditions", session=session, **conditions)

    def close(self):
        self.socket.close()


def offline(driver, worker, conditions):
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", conditions)
    worker.emulate(conditions)


def pending(driver) -> int:
    return int(driver.find_element(By.ID, "station-pending").get_attribute("data-count") or -1)


def wait_pending(driver, count: int, timeout: float = 30) -> None:
    WebDriverWait(driver, timeout).until(lambda d: pending(d) == count)


def fresh_station(driver, live_server, user) -> None:
    """Logged in, with no station state left on this browser by an earlier test (ids repeat)."""
    login(driver, live_server, user.username)
    driver.execute_script("localStorage.clear(); indexedDB.deleteDatabase('xiuhua-station');")


def scan(driver, text: str) -> None:
    field = driver.find_element(By.ID, "station-input")
    field.send_keys(text + Keys.ENTER)


def test_a_station_keeps_scanning_offline_and_the_server_gets_every_scan_once(phone, live_server, world):
    screening = build_screening(world)
    codes = [SamplingCode.objects.create(
        round=screening.round, reference=f"ST{n:06d}", committee=world.committee_a1, building=world.building_a1,
        walk_in=True, walk_in_name=f"访客{n}", name_masked=f"访*{n}") for n in range(35)]
    fresh_station(phone, live_server, world.volunteer)
    station = f"{live_server.url}/screening/station/{screening.site_a1.pk}/"
    phone.get(station)
    wait_for(phone, "#station[data-ready='1']")
    WebDriverWait(phone, 20).until(lambda d: d.find_element(By.ID, "station").get_attribute("data-offline-ready"))
    # The camera's decoder is in the worker's cache before the camera was ever started.
    WebDriverWait(phone, 20).until(lambda d: d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "caches.match(new URL(document.querySelector('script[data-wasm-url]').dataset.wasmUrl, location.href).href)"
        ".then(found => done(Boolean(found)), () => done(false));"))

    # 25 people into 3 tubes: 10, 10 (each closes itself when full), then 5 into the third.
    people = iter(codes)
    for tube, size in (("T0001", 10), ("T0002", 10), ("T0003", 5)):
        scan(phone, tube)
        for _ in range(size):
            scan(phone, next(people).reference)
    wait_pending(phone, 0)
    assert TubeMember.objects.count() == 25
    assert phone.find_element(By.ID, "station-tube-count").text == "5"
    wait_text(phone, "#station-log", "访*24")
    screenshot(phone, "screening_station_online", scroll_to="#station-tube")
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 360

    # The network is cut: 10 more scans wait on the phone, counted on the screen.
    worker = WorkerNetwork(phone)
    offline(phone, worker, OFFLINE)
    try:
        for _ in range(5):
            scan(phone, next(people).reference)  # T0003 reaches 10
        scan(phone, "T0004")
        for _ in range(5):
            scan(phone, next(people).reference)
        wait_pending(phone, 11)
        wait_text(phone, "#station-pending", "待上传:11 条")
        wait_text(phone, "#station-net", "离线")
        screenshot(phone, "screening_station_offline", scroll_to="#station-pending")
        assert TubeMember.objects.count() == 25

        # A reload while offline: the page comes from the service worker's cache, the scans from IndexedDB.
        phone.refresh()
        wait_for(phone, "#station[data-ready='1']")
        wait_pending(phone, 11)
        assert TubeMember.objects.count() == 25
    finally:  # the network returns (also for the next tests, which share the browser)
        offline(phone, worker, ONLINE)
        worker.close()
    # Everything is sent, once.
    wait_pending(phone, 0, timeout=40)
    assert TubeMember.objects.count() == 35
    assert TubeMember.objects.values("code").distinct().count() == 35
    assert sorted(Tube.objects.values_list("barcode", "status")) == [
        ("T0001", "closed"), ("T0002", "closed"), ("T0003", "closed"), ("T0004", "open")]
    assert sum(len(b.answer["results"]) for b in StationBatch.objects.all()) == 35 + 4
    assert all(b.answer["refused"] == 0 for b in StationBatch.objects.all())
    wait_text(phone, "#station-pending", "待上传:0 条")
    screenshot(phone, "screening_station_synced", scroll_to="#station-pending")

    # The full tubes go into a transport box, which is handed over.
    phone.find_element(By.ID, "station-box").click()
    wait_text(phone, "#station-mode", "请扫描转运箱编号")
    scan(phone, "BOX-01")
    for tube in ("T0001", "T0002", "T0003"):
        scan(phone, tube)
    phone.find_element(By.ID, "station-hand-over").click()
    wait_pending(phone, 0)
    wait_text(phone, "#station-log", "转运箱 BOX-01 已交接(3 管)")
    assert sorted(Tube.objects.values_list("barcode", "status", "box__barcode")) == [
        ("T0001", "handed_over", "BOX-01"), ("T0002", "handed_over", "BOX-01"), ("T0003", "handed_over", "BOX-01"),
        ("T0004", "open", None)]


def test_a_refusal_is_shown_in_large_text(phone, live_server, world):
    screening = build_screening(world)
    code = SamplingCode.objects.create(round=screening.round, reference="ST000001", committee=world.committee_a1,
                                       building=world.building_a1, walk_in=True, name_masked="访*1")
    fresh_station(phone, live_server, world.volunteer)
    phone.get(f"{live_server.url}/screening/station/{screening.site_a1.pk}/")
    wait_for(phone, "#station[data-ready='1']")
    scan(phone, "T0100")
    scan(phone, code.reference)
    scan(phone, code.reference)
    wait_text(phone, "#station-alert", "该居民本轮已采样(试管 T0100),不能重复采样", timeout=20)
    assert phone.find_element(By.ID, "station-alert").is_displayed()
    screenshot(phone, "screening_station_refusal", scroll_to="#station-alert")
    assert TubeMember.objects.count() == 1
