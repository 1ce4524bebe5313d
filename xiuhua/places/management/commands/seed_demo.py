"""`manage.py seed_demo`: the demo street (长海路街道) with ~20,000 residents, one account per role
(and the accounts the domain apps add, such as departments' staff), then each domain app's demo
data (tracing, isolation, work orders: their parts in core.registry, in order). Idempotent: a
second run writes nothing. See docs/demo-accounts.md."""

import time

from django.core.management.base import BaseCommand

from xiuhua.core.registry import demo_parts
from xiuhua.places.demo_data import (
    DEMO_PASSWORD,
    SEED,
    accounts_table,
    build_demo_places,
    demo_account_specs,
    ensure_accounts,
)


class Command(BaseCommand):
    help = "Create the demo street, its residents and one account per role (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD,
                            help=f"password of new demo accounts (default {DEMO_PASSWORD})")
        parser.add_argument("--reset-passwords", action="store_true",
                            help="also set the password of demo accounts that already exist")
        parser.add_argument("--seed", type=int, default=SEED, help="random seed (default fixed)")

    def handle(self, *args, **options):
        started = time.monotonic()
        result = build_demo_places(seed=options["seed"])
        if result.created:
            c = result.counts
            self.stdout.write(
                f"Created 长海路街道: {c['committee']} committees, {c['compound']} compounds, "
                f"{c['building']} buildings, {c['household']} households, {c['resident']} residents, "
                f"{c['grid']} grids, {c['micro_grid']} micro-grids."
            )
            total = c["resident"] or 1
            bands = " ".join(f"{band * 10}s:{n / total:.0%}" for band, n in sorted(result.ages.items()))
            self.stdout.write(f"Ages: {bands}")
            shares = ", ".join(
                f"{key}={c[key] / total:.2%}" for key in (
                    "here", "away", "moved_out", "deceased", "elderly_alone", "pregnant", "dialysis",
                    "chemotherapy", "disabled", "low_income", "no_smartphone", "foreign_national",
                    "medical_professional", "other_skills")
            )
            self.stdout.write(f"Shares: {shares}")
        else:
            self.stdout.write("The demo street already has compounds: places and residents left as they are.")
        parts = demo_parts()
        specs = demo_account_specs() + [spec for part in parts for spec in part.accounts()]
        rows = ensure_accounts(specs, options["password"], reset_passwords=options["reset_passwords"])
        self.stdout.write("")
        self.stdout.write(accounts_table(rows))
        for part in parts:
            for line in part.seed():
                self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s.")
