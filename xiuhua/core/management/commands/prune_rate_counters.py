from django.core.management.base import BaseCommand

from xiuhua.core.ratelimit import rate_prune


class Command(BaseCommand):
    help = "Forget rate-limit counters of windows that ended more than two days ago (run daily)."

    def handle(self, *args, **options):
        self.stdout.write(f"deleted={rate_prune()}")
