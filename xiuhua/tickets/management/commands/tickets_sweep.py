"""`manage.py tickets_sweep`: text the committee about urgent requests not accepted within 15
minutes; flag work orders near or past their deadline and queue the
reminders (handlers, then the department head, then the street). Run every 5 minutes (cron or a
systemd timer); the task worker sends the messages. Also forgets door requests' hashed client
addresses after a day."""

from django.core.management.base import BaseCommand

from xiuhua.tickets.door_requests import client_hashes_prune
from xiuhua.tickets.escalation import tickets_escalate, unaccepted_remind


class Command(BaseCommand):
    help = "Escalate work orders near or past their deadline."

    def handle(self, *args, **options):
        counts = tickets_escalate()
        waiting = unaccepted_remind()
        counts["unaccepted"], counts["messages"] = waiting["waiting"], counts["messages"] + waiting["messages"]
        counts["addresses_forgotten"] = client_hashes_prune()
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
