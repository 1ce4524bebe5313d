"""`manage.py run_periodic`: every registered sweep runs, one failing leaves the others running,
and two runners never run one sweep at once."""

import datetime as dt
import io
import logging
import os
import socket
import subprocess
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from xiuhua.core import periodic, registry
from xiuhua.core.models import SweepRun
from xiuhua.core.registry import Sweep

SWEEPS = {
    "antigen_sweep": 300,
    "expire_vouchers": 600,
    "groupbuy_orders_sweep": 60,
    "groupbuy_sweep": 300,
    "isolation_sweep": 300,
    "mutual_aid_sweep": 60,
    "prune_rate_counters": 86400,
    "prune_rosters": 86400,
    "screening_sweep": 300,
    "sms_sweep": 60,
    "tickets_sweep": 300,
    "volunteer_duty_sms": 600,
    "zones_sweep": 3600,
}


class Recorder:
    def __init__(self, failing: tuple[str, ...] = (), pause: float = 0.0):
        self.calls: list[str] = []
        self.failing = failing
        self.pause = pause
        self.lock = threading.Lock()

    def __call__(self, command, stdout=None, stderr=None):
        with self.lock:
            self.calls.append(command)
        if self.pause:
            time.sleep(self.pause)
        if command in self.failing:
            raise RuntimeError("boom for 13812345678")
        stdout.write(f"{command} ok\n")


@pytest.fixture
def recorder(monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(periodic, "call_command", rec)
    return rec


def test_each_app_registers_its_periodic_commands_with_their_intervals():
    assert {sweep.name: sweep.every for sweep in registry.sweeps()} == SWEEPS


@pytest.mark.django_db
def test_once_runs_every_registered_sweep_exactly_once(recorder):
    call_command("run_periodic", "--once", stdout=(out := io.StringIO()))
    assert recorder.calls == sorted(SWEEPS)
    assert out.getvalue().splitlines() == [f"{name}: done {name} ok" for name in sorted(SWEEPS)]
    runs = {run.name: run for run in SweepRun.objects.all()}
    assert sorted(runs) == sorted(SWEEPS)
    for name, run in runs.items():
        assert run.running_until is None and run.holder == "" and not run.last_failed
        assert run.due_at == run.last_started + dt.timedelta(seconds=SWEEPS[name])


@pytest.mark.django_db
def test_the_real_commands_all_run_on_an_empty_database():
    out = io.StringIO()
    call_command("run_periodic", "--once", stdout=out)
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == sorted(SWEEPS)
    assert all(": done" in line for line in out.getvalue().splitlines()), out.getvalue()
    assert SweepRun.objects.filter(last_failed=False, last_finished__isnull=False).count() == len(SWEEPS)


@pytest.mark.django_db
def test_a_failing_sweep_is_logged_and_the_others_still_run(monkeypatch, caplog):
    rec = Recorder(failing=("isolation_sweep",))
    monkeypatch.setattr(periodic, "call_command", rec)
    with caplog.at_level(logging.INFO, logger="xiuhua.periodic"), \
            pytest.raises(CommandError, match="^failed: isolation_sweep$"):
        call_command("run_periodic", "--once", stdout=io.StringIO())
    assert rec.calls == sorted(SWEEPS)
    failed = SweepRun.objects.get(name="isolation_sweep")
    assert (failed.last_failed, failed.last_error, failed.running_until) == (True, "RuntimeError", None)
    assert SweepRun.objects.filter(last_failed=False).count() == len(SWEEPS) - 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["periodic sweep isolation_sweep failed (RuntimeError)"]


@pytest.mark.django_db
def test_a_sweep_another_runner_holds_is_skipped_until_its_run_times_out(recorder):
    now = timezone.now()
    SweepRun.objects.create(name="tickets_sweep", due_at=now, running_until=now + dt.timedelta(minutes=5),
                            holder="other-host:1")
    out = io.StringIO()
    call_command("run_periodic", "--once", stdout=out)
    assert recorder.calls == sorted(set(SWEEPS) - {"tickets_sweep"})
    assert "tickets_sweep: skipped: running elsewhere" in out.getvalue().splitlines()
    assert SweepRun.objects.get(name="tickets_sweep").holder == "other-host:1"

    # The other runner died: once its run outlived the sweep's timeout, the sweep is taken again.
    SweepRun.objects.filter(name="tickets_sweep").update(running_until=now - dt.timedelta(seconds=1))
    recorder.calls.clear()
    call_command("run_periodic", "--once", stdout=io.StringIO())
    assert recorder.calls == sorted(SWEEPS)


@pytest.mark.django_db
def test_a_sweep_held_by_a_dead_process_of_this_machine_runs_again_at_once(recorder):
    dead = subprocess.Popen(["true"])
    dead.wait()
    now = timezone.now()
    SweepRun.objects.create(name="sms_sweep", due_at=now, running_until=now + dt.timedelta(minutes=30),
                            holder=f"{socket.gethostname()}:{dead.pid}")
    SweepRun.objects.create(name="tickets_sweep", due_at=now, running_until=now + dt.timedelta(minutes=30),
                            holder=f"{socket.gethostname()}:{os.getpid()}")  # alive: this very process
    call_command("run_periodic", "--once", stdout=io.StringIO())
    assert recorder.calls == sorted(set(SWEEPS) - {"tickets_sweep"})


@pytest.mark.django_db
def test_the_loop_runs_a_sweep_again_only_when_its_interval_has_passed(recorder):
    assert [r.name for r in periodic.sweeps_run(holder="a:1", due_only=True) if r.ran] == sorted(SWEEPS)
    recorder.calls.clear()
    assert [r for r in periodic.sweeps_run(holder="a:1", due_only=True) if r.ran] == []
    assert recorder.calls == []
    SweepRun.objects.filter(name="sms_sweep").update(due_at=timezone.now() - dt.timedelta(seconds=1))
    assert [r.name for r in periodic.sweeps_run(holder="b:2", due_only=True) if r.ran] == ["sms_sweep"]
    assert recorder.calls == ["sms_sweep"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runners_at_the_same_instant_run_a_sweep_once():
    sweep = Sweep("race_sweep", every=300)
    rec = Recorder(pause=0.3)
    n = 8
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = periodic.sweep_run(sweep, holder=f"host:{i}", due_only=True, run=rec)
        except Exception as exc:  # collected for the assertion
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rec.calls == ["race_sweep"]
    assert sorted(r.ran for r in results) == [False] * (n - 1) + [True], results
