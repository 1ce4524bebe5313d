"""Nothing acknowledged is lost and nothing is made twice when a process dies mid-burst.

Real processes: gunicorn (the production worker, gthread refusing at the door) serving the
test database, clients in threads that retry every answer but 2xx (503, 500, a dropped
connection) with backoff and jitter, with the same body, as the resident page and the apps do.
Meanwhile a worker is killed with SIGKILL, or PostgreSQL itself is restarted. Then every 2xx
number is in the database once, for the person it was made for, and every person holds exactly
one reservation.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from xiuhua.masks import phone_tokens
from xiuhua.masks.models import Reservation

from .fixtures import build_masks, new_household

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
PEOPLE = 48
CLIENTS = 12


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Server:
    def __init__(self, tmp_path: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ, DATABASE_URL=_database_url(), SECRET_KEY=settings.SECRET_KEY,
                   XIUHUA_DATA_KEY=settings.DATA_KEY, DEBUG="0", HTTPS="0", XIUHUA_VAR_DIR=str(tmp_path))
        self.log = (tmp_path / "gunicorn.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
             "--worker-class", "config.gunicorn_worker.DoorThreadWorker", "--threads", "8", "--no-control-socket",
             "--graceful-timeout", "2"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, process_group=0,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(self.workers()) == 2:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError("gunicorn did not start")

    def workers(self) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in found.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def reserve_until_acknowledged(port: int, data: dict, token: str, answers: list, stop_at: float) -> None:
    """POST the same reservation until a 2xx, backing off with full jitter (50 ms doubling to 1 s)."""
    payload = json.dumps(data).encode()
    attempt = 0
    while time.monotonic() < stop_at:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/masks/api/reservations", payload,
                         {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            response = conn.getresponse()
            status, body = response.status, response.read()
            conn.close()
        except (OSError, http.client.HTTPException):
            status, body = 0, b""
        if status in (200, 201):
            answers.append((data["id_number"], status, json.loads(body)["number"]))
            return
        attempt += 1
        time.sleep(random.uniform(0, min(1.0, 0.05 * 2 ** attempt)))
    answers.append((data["id_number"], None, None))


def burst(world, masks, server: Server, disrupt) -> tuple[list, list]:
    people = [new_household(world, name=f"居民{k}") for k in range(PEOPLE)]
    work = [
        ({"round": masks.round.pk, "committee": world.committee_a1.code, "name": p.name, "id_type": "resident_id",
          "id_number": p.plain_id}, phone_tokens.issue(f"1390000{k:04d}"))
        for k, p in enumerate(people)
    ]
    answers: list = []
    stop_at = time.monotonic() + 120

    def client(share):
        for data, token in share:
            reserve_until_acknowledged(server.port, data, token, answers, stop_at)

    threads = [threading.Thread(target=client, args=(work[k::CLIENTS],)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    while len(answers) < PEOPLE // 4 and time.monotonic() < stop_at:
        time.sleep(0.01)
    disrupt()
    for t in threads:
        t.join()
    return people, answers


def check(people, answers) -> None:
    assert all(status in (200, 201) for _id, status, _n in answers), answers
    assert len(answers) == PEOPLE
    rows = list(Reservation.objects.values_list("number", "person_hash", "resident__id_hash"))
    assert len(rows) == PEOPLE  # one reservation per person, none twice
    numbers = {number for number, _h, _r in rows}
    assert len(numbers) == PEOPLE and {n for _id, _s, n in answers} == numbers  # every 2xx is there, once
    assert all(person_hash == resident_hash for _n, person_hash, resident_hash in rows)


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


def test_a_worker_killed_mid_burst_loses_and_doubles_nothing(world, server):
    masks = build_masks(world)
    killed = []

    def kill_a_worker():
        pid = server.workers()[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    people, answers = burst(world, masks, server, kill_a_worker)
    check(people, answers)
    assert killed and killed[0] not in server.workers()  # it died; the master started another


PG_CTLCLUSTER = shutil.which("pg_ctlcluster")


@pytest.mark.skipif(
    not (PG_CTLCLUSTER and os.geteuid() == 0 and Path("/etc/postgresql").is_dir()),
    reason="restarts the local PostgreSQL: needs root and pg_ctlcluster (as on the CI machine)",
)
def test_a_database_restart_mid_burst_loses_and_doubles_nothing(world, server):
    masks = build_masks(world)

    def restart_postgres():
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run([PG_CTLCLUSTER, "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
                       check=True, capture_output=True, timeout=60)

    people, answers = burst(world, masks, server, restart_postgres)
    connection.close()  # this process's own connection died with the restart
    check(people, answers)
