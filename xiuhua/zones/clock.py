"""The zone clock, as plain functions of rules and days (no database): the services, the pages,
the preview of a new rule and the benchmark all ask it.

A zone's clock starts on day 1 (`clock_start`): the day of its last positive, or the day it
stepped down into its level. On each day d the rule in force on d decides: once the level's days
have passed without a positive (d ≥ clock_start + days) and, where the rule asks for it, everyone
tested negative on the test day (or later), the zone steps down on d and its clock starts again
on d. A rule therefore applies from its own date and never to the days before it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .models import Level, ZoneRule

# The furthest a projection looks ahead: no rule keeps a zone longer than this without a positive.
HORIZON_DAYS = 120

# (first day, last day) -> the day it was known that everyone sampled in those days was negative
# (their last result came in), or None: not so, or not known yet.
TestedNegative = Callable[[dt.date, dt.date], "dt.date | None"]


class Rules:
    """The rules that govern one zone, in order of their dates: `at(day)` is the one in force."""

    def __init__(self, rules: Iterable[ZoneRule]):
        ordered = sorted(rules, key=lambda r: (r.effective_from, r.scope.path.count("/"), r.pk or 0))
        self.rules = ordered
        self.days = [r.effective_from for r in ordered]

    def at(self, day: dt.date) -> ZoneRule | None:
        index = bisect.bisect_right(self.days, day) - 1
        return self.rules[index] if index >= 0 else None

    def with_rule(self, rule: ZoneRule) -> Rules:
        return Rules([*self.rules, rule])


@dataclass(frozen=True)
class Step:
    day: dt.date
    from_level: str
    to_level: str
    rule: ZoneRule


@dataclass(frozen=True)
class Walk:
    """Where a zone stands after the days walked: its level and clock, the steps taken, and why it
    waits past its day when it does (the test day's results)."""

    level: str
    clock_start: dt.date | None
    steps: tuple[Step, ...]
    held_since: dt.date | None = None
    held_test_day: dt.date | None = None


def due_day(rule: ZoneRule, level: str, clock_start: dt.date) -> dt.date | None:
    days = rule.days_in(level)
    return None if days is None else clock_start + dt.timedelta(days=days)


def test_date(rule: ZoneRule, level: str, clock_start: dt.date) -> dt.date | None:
    day = rule.test_day(level)
    return None if day is None else clock_start + dt.timedelta(days=day - 1)


def walk(level: str, clock_start: dt.date | None, rules: Rules, until: dt.date,
         tested: TestedNegative | None = None, precaution_from: dt.date | None = None) -> Walk:
    """The zone's steps from the day after `clock_start` to `until`, with no new positive. Without
    `tested`, every test is taken to come back negative (a projection). `precaution_from` keeps a
    compound from reaching precaution before that day (a building of it is still sealed)."""
    steps: list[Step] = []
    held_since = held_test = None
    if clock_start is None or level == Level.PRECAUTION:
        return Walk(level, clock_start, ())
    day = clock_start + dt.timedelta(days=1)
    while day <= until and level != Level.PRECAUTION:
        rule = rules.at(day)
        due = due_day(rule, level, clock_start) if rule is not None else None
        if rule is None or due is None or day < due:
            # Jump to the next day something can happen: the due day, or the next rule's date.
            upcoming = [d for d in (due, _next_rule_day(rules, day)) if d is not None and d > day]
            if not upcoming:
                break
            day = min(upcoming)
            continue
        test_on = test_date(rule, level, clock_start)
        if test_on is not None and tested is not None:
            known = tested(test_on, day)
            if known is None or known > day:
                # Not negative, or not known on this day: the zone waits (a step is never dated
                # before its test's results were in).
                held_since = held_since or day
                held_test = test_on
                day = known if known is not None and known <= until else day + dt.timedelta(days=1)
                continue
        target = rule.next_level(level) or Level.PRECAUTION
        if target == Level.PRECAUTION and precaution_from is not None and day < precaution_from:
            day = precaution_from
            continue
        steps.append(Step(day, level, target, rule))
        level, clock_start = target, day
        held_since = held_test = None
        day += dt.timedelta(days=1)
    if level == Level.PRECAUTION:
        clock_start = None
    return Walk(level, clock_start, tuple(steps), held_since, held_test)


def _next_rule_day(rules: Rules, day: dt.date) -> dt.date | None:
    index = bisect.bisect_right(rules.days, day)
    return rules.days[index] if index < len(rules.days) else None


def projection(level: str, clock_start: dt.date | None, rules: Rules, today: dt.date,
               precaution_from: dt.date | None = None) -> Walk:
    """The steps still to come if no positive arrives and every test comes back negative."""
    return walk(level, clock_start, rules, today + dt.timedelta(days=HORIZON_DAYS),
                precaution_from=precaution_from)


def release_of(ahead: Walk) -> dt.date | None:
    """The day a projection reaches precaution (防范区)."""
    return ahead.steps[-1].day if ahead.steps and ahead.level == Level.PRECAUTION else None


def release_day(level: str, clock_start: dt.date | None, rules: Rules, today: dt.date,
                precaution_from: dt.date | None = None) -> dt.date | None:
    """The day the zone is projected to reach precaution; None when it is there already."""
    if level == Level.PRECAUTION:
        return None
    return release_of(projection(level, clock_start, rules, today, precaution_from))


def out_of_sealed(level: str, clock_start: dt.date | None, rules: Rules, today: dt.date) -> dt.date | None:
    """The day a sealed zone is projected to leave sealed; None when it is not sealed."""
    if level != Level.SEALED:
        return None
    ahead = projection(level, clock_start, rules, today)
    return ahead.steps[0].day if ahead.steps else today + dt.timedelta(days=HORIZON_DAYS)
