"""`manage.py run_periodic`: run the apps' periodic sweeps (core.registry.Sweep) as they fall due,
for the embedded default and `make demo`; `--once` runs each once and exits (cron, tests).

In production the same commands can run from cron or systemd timers instead; either way two
runners never run one sweep at the same time (core.periodic)."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone

from xiuhua.core.periodic import holder_name, next_due, sweeps_run
from xiuhua.core.registry import sweeps


class Command(BaseCommand):
    help = "Run the periodic sweeps when due (isolation contacts, work-order reminders, voucher expiry, SMS, pruning)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every sweep once now, then exit.")
        parser.add_argument("--tick", type=float, default=30.0,
                            help="Longest wait in seconds between two looks at what is due (default 30).")

    def handle(self, *args, **options):
        holder = holder_name()
        if options["once"]:
            results = sweeps_run(holder=holder, due_only=False)
            for result in results:
                state = "failed" if result.failed else ("done" if result.ran else "skipped: running elsewhere")
                self.stdout.write(f"{result.name}: {state}{' ' + result.output if result.output else ''}")
            failed = [r.name for r in results if r.failed]
            if failed:
                raise CommandError(f"failed: {', '.join(failed)}")
            return
        names = ", ".join(f"{s.name} every {s.every // 60} min" for s in sweeps())
        self.stdout.write(f"Periodic sweeps: {names}.")
        try:
            while True:
                close_old_connections()
                sweeps_run(holder=holder, due_only=True)
                due = next_due(now=timezone.now())
                close_old_connections()
                wait = options["tick"] if due is None else (due - timezone.now()).total_seconds()
                time.sleep(min(max(wait, 1.0), options["tick"]))
        except KeyboardInterrupt:
            return
