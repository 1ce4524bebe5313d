"""Running the periodic sweeps the apps register (core.registry.Sweep) from one process.

    python manage.py run_periodic          # loops: each sweep when it is due
    python manage.py run_periodic --once   # each sweep once, now (for cron or a test)

A sweep is taken with one conditional UPDATE of its `SweepRun` row ("not running, or its run
outlived its timeout", and for the loop "due"), which the database makes atomic on PostgreSQL
and SQLite alike: of two run_periodic processes, on one machine or several, exactly one runs a
given sweep, and the other skips it. A sweep that fails is logged (its class of error, never its
message on the row) and the others still run; it is due again after its interval.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import SweepRun
from .registry import Sweep, sweeps

logger = logging.getLogger("xiuhua.periodic")


def holder_name() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def dead_holders_release(*, now: dt.datetime) -> int:
    """Free the sweeps held by processes of this machine that have died (a demo stopped with
    Ctrl-C mid-sweep), so they run again at once rather than after their timeout. Holders on
    other machines are left to their timeout."""
    host = f"{socket.gethostname()[:80]}:"
    released = 0
    for name, holder in SweepRun.objects.filter(running_until__gte=now, holder__startswith=host).values_list(
            "name", "holder"):
        pid = holder[len(host):]
        if pid.isdigit() and not _alive(int(pid)):
            released += SweepRun.objects.filter(name=name, holder=holder).update(running_until=None, holder="")
    return released


@dataclass(frozen=True)
class SweepResult:
    name: str
    ran: bool  # False: another process holds it (or, in the loop, it is not due)
    failed: bool = False
    output: str = ""


def sweep_claim(sweep: Sweep, *, holder: str, now: dt.datetime, due_only: bool) -> bool:
    """Take the sweep for `holder` if nobody runs it now (and, with due_only, it is due)."""
    try:
        with transaction.atomic():
            SweepRun.objects.get_or_create(name=sweep.name, defaults={"due_at": now})
    except IntegrityError:  # another process made the row first
        pass
    free = Q(running_until__isnull=True) | Q(running_until__lt=now)
    rows = SweepRun.objects.filter(free, name=sweep.name)
    if due_only:
        rows = rows.filter(due_at__lte=now)
    return bool(rows.update(running_until=now + dt.timedelta(seconds=sweep.timeout), holder=holder, last_started=now))


def sweep_release(sweep: Sweep, *, holder: str, started: dt.datetime, error: str = "") -> None:
    SweepRun.objects.filter(name=sweep.name, holder=holder).update(
        running_until=None, holder="", due_at=started + dt.timedelta(seconds=sweep.every),
        last_finished=timezone.now(), last_failed=bool(error), last_error=error[:120],
    )


def sweep_run(sweep: Sweep, *, holder: str, due_only: bool,
              run: Callable[..., object] | None = None) -> SweepResult:
    """Run one sweep if this process can take it; its failure is logged and returned, not raised."""
    started = timezone.now()
    if not sweep_claim(sweep, holder=holder, now=started, due_only=due_only):
        return SweepResult(sweep.name, ran=False)
    out = io.StringIO()
    try:
        (run or call_command)(sweep.command, stdout=out, stderr=out)
    except Exception as exc:  # noqa: BLE001 - one sweep's failure must not stop the others
        logger.exception("periodic sweep %s failed (%s)", sweep.name, type(exc).__name__)
        sweep_release(sweep, holder=holder, started=started, error=type(exc).__name__)
        return SweepResult(sweep.name, ran=True, failed=True)
    sweep_release(sweep, holder=holder, started=started)
    output = " ".join(out.getvalue().split())
    logger.info("periodic sweep %s done: %s", sweep.name, output)
    return SweepResult(sweep.name, ran=True, output=output)


def sweeps_run(*, holder: str, due_only: bool, run: Callable[..., object] | None = None) -> list[SweepResult]:
    """Each registered sweep in name order (due_only: only those due now)."""
    dead_holders_release(now=timezone.now())
    return [sweep_run(sweep, holder=holder, due_only=due_only, run=run) for sweep in sweeps()]


def next_due(*, now: dt.datetime) -> dt.datetime | None:
    """When the earliest registered sweep is due (now for one that never ran)."""
    names = [sweep.name for sweep in sweeps()]
    if not names:
        return None
    known = dict(SweepRun.objects.filter(name__in=names).values_list("name", "due_at"))
    if len(known) < len(names):
        return now
    return min(known.values())
