"""Housekeeping for the SMS gateway; run every few minutes from cron or a systemd timer."""

from django.core.management.base import BaseCommand

from xiuhua.sms.otp import otp_prune
from xiuhua.sms.services import sms_sweep


class Command(BaseCommand):
    help = (
        "Enqueue delivery for overdue SMS, ask the provider about ones a dead worker left sending "
        "(mark sent or send again), dispatch stranded "
        "inbound SMS, prune old one-time codes."
    )

    def handle(self, *args, **options):
        counts = sms_sweep()
        counts["otp_pruned"] = otp_prune()
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
