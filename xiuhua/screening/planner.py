"""The screening planner: which site each building goes to and when it is called, then a
discrete-event simulation (simpy) of that plan. Pure Python over plain data, no database, so the
service, the page and the benchmark share it and a street of 40,000 people plans in well under a
second.

How a plan is made:

1. Sites. A building goes to a site of its own committee (several sites share the committee's
   buildings in natural order, in proportion to their lines' rates); the compounds of a committee
   without a site go, whole, to the site with the least work per hour of capacity. A site calls
   its own committee's buildings first.
2. Phases. An order such as "4-2-3-1" splits each compound's buildings, in natural order, into
   4 consecutive groups of about the same number of people (phase 1 the lowest numbers), and a
   site calls phase 4 first, then 2, 3 and 1.
3. Times. A site serves sum(line rates) people an hour. Each building gets a slot as long as the
   site needs for its expected people (after no-shows), back to back, so people arrive as fast as
   the lines take them; the lines start sampling once the first calls have built a queue of
   (queue_min + queue_max) / 2 per line, and from then on the queue stays near that level. Slot
   bounds are whole minutes, rounded on the running total so no drift builds up. Work that does
   not fit a day goes on to the next day of the round; what does not fit the round is reported.
   Slots whose start falls in the same `batch_minutes` form one loudspeaker call (batch).
4. Simulation. Each building's people come with probability 1 - no_show, at a time uniform over
   the slot plus a normal jitter; each joins the shortest line of the site; each line serves one
   person at a time, its service time gamma-distributed around 3600 / rate seconds. The queue of
   each line (people waiting, not the one being sampled) is recorded at every change; in_bounds is
   the share of line working time (from the lines' start to the site's last sample of the day)
   with the queue within [queue_min, queue_max]. Seeded, so the same plan simulates the same way.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import defaultdict, deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import simpy

# Service times: gamma with shape 16 has a coefficient of variation of 0.25 (a swab takes about
# the same time for everyone; the spread is people, not the method).
SERVICE_SHAPE = 16.0
ARRIVAL_JITTER_MINUTES = 3.0
SERIES_STEP_MINUTES = 5
# How often a site lead calling by the queue looks at it.
CALL_CHECK_MINUTES = 1.0


class PlanError(ValueError):
    """Input the planner cannot plan with (an unreadable phase order, no site with a line)."""


@dataclass(frozen=True)
class BuildingIn:
    id: int
    committee_id: int
    compound_id: int
    sort_key: str
    people: int


@dataclass(frozen=True)
class SiteIn:
    id: int
    committee_id: int
    sort_key: str
    line_rates: tuple[tuple[int, int], ...]  # (line number, people per hour) of the active lines

    @property
    def rate(self) -> int:
        return sum(rate for _number, rate in self.line_rates)


@dataclass(frozen=True)
class Settings:
    days: int = 1  # how many days the round has
    day_start_minute: int = 7 * 60
    day_end_minute: int = 19 * 60
    queue_min: int = 30
    queue_max: int = 80
    min_open_lines: int = 3
    no_show_percent: int = 10
    batch_minutes: int = 30


@dataclass(frozen=True)
class Slot:
    building_id: int
    site_id: int
    day: int  # 0 = the round's first day
    start: int  # minutes from midnight of that day
    end: int
    people: int
    expected: int
    phase: int
    batch: int
    position: int


@dataclass
class Plan:
    slots: list[Slot]
    # (site id, day) -> minute the lines start sampling
    opens: dict[tuple[int, int], int]
    unplanned: list[int]  # building ids that did not fit the round's days
    warnings: list[str]  # codes with arguments, worded by the caller: ("few_lines", site id, lines)
    sites: dict[int, SiteIn]


@dataclass
class Simulation:
    in_bounds: float
    max_queue: int
    served: int
    # (site id, day) -> {line number: [queue sampled every SERIES_STEP_MINUTES from `start`]}
    series: dict[tuple[int, int], dict[int, list[int]]] = field(default_factory=dict)
    series_start: dict[tuple[int, int], int] = field(default_factory=dict)


def parse_phase_order(text: str) -> list[int]:
    """"4-2-3-1" (or "4,2,3,1", "4 2 3 1", "4231") as [4, 2, 3, 1]: a permutation of 1..n."""
    raw = (text or "").strip()
    if not raw:
        return []
    for sep in ",，、 /→>":
        raw = raw.replace(sep, "-")
    parts = [p for p in raw.split("-") if p]
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) > 1:
        parts = list(parts[0])
    if not all(p.isdigit() for p in parts):
        raise PlanError("phase_order")
    order = [int(p) for p in parts]
    if sorted(order) != list(range(1, len(order) + 1)) or len(order) > 20:
        raise PlanError("phase_order")
    return order


def _phases(buildings: list[BuildingIn], count: int) -> dict[int, int]:
    """Each building's phase (1..count): each compound's buildings in natural order, cut into
    `count` consecutive groups of about equal people."""
    phase: dict[int, int] = {}
    by_compound: dict[int, list[BuildingIn]] = defaultdict(list)
    for b in buildings:
        by_compound[b.compound_id].append(b)
    for members in by_compound.values():
        members.sort(key=lambda b: (b.sort_key, b.id))
        people = sum(b.people for b in members)
        total = people or len(members)
        running = 0
        for b in members:
            # A building's phase is where its first resident falls: the first building is in phase 1.
            phase[b.id] = min(count, int(running * count / total) + 1) if count > 1 else 1
            running += b.people if people else 1
    return phase


def _assign_sites(buildings: list[BuildingIn], sites: list[SiteIn]) -> dict[int, list[BuildingIn]]:
    """Site id -> its buildings (unordered yet); see the module's note, step 1."""
    working = [s for s in sites if s.rate > 0]
    if not working:
        raise PlanError("no_sites")
    working.sort(key=lambda s: (s.sort_key, s.id))
    by_committee: dict[int, list[SiteIn]] = defaultdict(list)
    for s in working:
        by_committee[s.committee_id].append(s)
    load = {s.id: 0.0 for s in working}
    assigned: dict[int, list[BuildingIn]] = {s.id: [] for s in working}
    strangers: dict[int, list[BuildingIn]] = defaultdict(list)
    own: dict[int, list[BuildingIn]] = defaultdict(list)
    for b in buildings:
        (own if b.committee_id in by_committee else strangers)[b.committee_id].append(b)
    for committee_id, members in own.items():
        members.sort(key=lambda b: (b.sort_key, b.id))
        committee_sites = by_committee[committee_id]
        total_rate = sum(s.rate for s in committee_sites)
        total = sum(b.people for b in members)
        # Cumulative cut points in proportion to each site's rate keep neighbours together.
        bounds, running = [], 0.0
        for s in committee_sites:
            running += total * s.rate / total_rate
            bounds.append(running)
        so_far = 0.0
        index = 0
        for b in members:
            middle = so_far + b.people / 2
            while index < len(bounds) - 1 and middle > bounds[index]:
                index += 1
            site = committee_sites[index]
            assigned[site.id].append(b)
            load[site.id] += b.people
            so_far += b.people
    rate = {s.id: s.rate for s in working}
    blocks: list[list[BuildingIn]] = []
    for members in strangers.values():
        by_compound: dict[int, list[BuildingIn]] = defaultdict(list)
        for b in members:
            by_compound[b.compound_id].append(b)
        blocks.extend(by_compound.values())
    # Biggest compounds first, so the small ones even out the load.
    blocks.sort(key=lambda block: (-sum(b.people for b in block), min(b.sort_key for b in block)))
    for block in blocks:
        target = min(working, key=lambda s: (load[s.id] / rate[s.id], s.sort_key, s.id))
        assigned[target.id].extend(block)
        load[target.id] += sum(b.people for b in block)
    return assigned


def make_plan(buildings: list[BuildingIn], sites: list[SiteIn], settings: Settings,
              phase_order: list[int] | None = None) -> Plan:
    phase_order = phase_order or []
    phase_of = _phases(buildings, len(phase_order)) if phase_order else {b.id: 1 for b in buildings}
    rank = {p: i for i, p in enumerate(phase_order)} if phase_order else {1: 0}
    assigned = _assign_sites([b for b in buildings if b.people > 0], sites)
    site_by_id = {s.id: s for s in sites}
    keep = 1 - settings.no_show_percent / 100
    target_queue = (settings.queue_min + settings.queue_max) / 2
    slots: list[Slot] = []
    opens: dict[tuple[int, int], int] = {}
    unplanned: list[int] = []
    warnings: list[str] = []
    for site_id, members in sorted(assigned.items()):
        site = site_by_id[site_id]
        if len(site.line_rates) < settings.min_open_lines:
            warnings.append(f"few_lines:{site_id}:{len(site.line_rates)}")
        if not members:
            continue
        expected_here = sum(b.people * keep for b in members)
        if expected_here < settings.queue_min * len(site.line_rates):
            # Too few people for the lines: no queue reaches its lower bound, whatever the plan.
            warnings.append(f"thin:{site_id}:{round(expected_here)}")
        members.sort(key=lambda b: (b.committee_id != site.committee_id, rank[phase_of[b.id]], b.compound_id,
                                    b.sort_key, b.id))
        per_minute = site.rate / 60
        lines = len(site.line_rates)
        day, position = 0, 0
        queue = list(members)
        while queue and day < settings.days:
            remaining = sum(b.people * keep for b in queue)
            ramp = min(target_queue * lines, remaining) / per_minute
            start = settings.day_start_minute
            open_at = start + math.ceil(ramp)
            # The calls stop when what they bring cannot be sampled before the day ends.
            last_call = settings.day_end_minute - (open_at - start)
            opens[(site_id, day)] = open_at
            work = 0.0  # expected people called so far today, in minutes of the site's time
            called_today = 0
            while queue:
                b = queue[0]
                length = b.people * keep / per_minute
                if start + work + length > last_call and called_today:
                    break
                begin = start + round(work)
                work += length
                end = max(begin + 1, start + round(work))
                slots.append(Slot(
                    building_id=b.id, site_id=site_id, day=day, start=begin, end=end, people=b.people,
                    expected=round(b.people * keep), phase=phase_of[b.id],
                    batch=(begin - start) // settings.batch_minutes + 1, position=position,
                ))
                position += 1
                called_today += 1
                queue.pop(0)
            day += 1
        unplanned.extend(b.id for b in queue)
    if unplanned:
        warnings.append(f"unplanned:{len(unplanned)}")
    return Plan(slots=slots, opens=opens, unplanned=unplanned, warnings=warnings, sites=site_by_id)


def simulate(plan: Plan, settings: Settings, *, seed: int = 1, no_show_percent: float | None = None,
             adaptive: bool = False) -> Simulation:
    """Run the plan through a discrete-event simulation (see the module's note, step 4). The
    people stay away at the rule's no-show share, or at `no_show_percent` to see how the plan
    stands when fewer or more come than the rule expected. With `adaptive`, each site's lead
    calls by the queue as well as by the clock (step 5 of the note)."""
    keep = 1 - (settings.no_show_percent if no_show_percent is None else no_show_percent) / 100
    rng = random.Random(seed)
    by_site_day: dict[tuple[int, int], list[Slot]] = defaultdict(list)
    for slot in plan.slots:
        by_site_day[(slot.site_id, slot.day)].append(slot)
    in_time = work_time = 0.0
    max_queue = served = 0
    result = Simulation(in_bounds=0.0, max_queue=0, served=0)
    for key in sorted(by_site_day):
        site = plan.sites[key[0]]
        if adaptive:
            outcome = _simulate_site(site, plan.opens[key], settings, rng,
                                     _called_by_queue(by_site_day[key], keep, settings, plan.opens[key], rng,
                                                      len(site.line_rates)))
        else:
            arrivals: list[float] = []
            for slot in by_site_day[key]:
                width = slot.end - slot.start
                for _person in range(slot.people):
                    if rng.random() < keep:
                        arrivals.append(slot.start + width * rng.random() + rng.gauss(0, ARRIVAL_JITTER_MINUTES))
            arrivals.sort()
            outcome = _simulate_site(site, plan.opens[key], settings, rng, _called_by_clock(arrivals))
        in_time += outcome.in_bounds
        work_time += outcome.work
        max_queue = max(max_queue, outcome.max_queue)
        served += outcome.served
        result.series[key] = outcome.series
        result.series_start[key] = outcome.series_start
    result.in_bounds = in_time / work_time if work_time else 1.0
    result.max_queue = max_queue
    result.served = served
    return result


@dataclass
class _SiteOutcome:
    in_bounds: float
    work: float
    max_queue: int
    series: dict[int, list[int]]
    series_start: int
    served: int


# A feed is a simpy process that brings people: feed(env, join, waiting_per_line), where join()
# puts one person in the shortest line now and waiting_per_line() is the site's queue per line.
Feed = Callable[[simpy.Environment, Callable[[], None], Callable[[], float]], Generator]


def _called_by_clock(arrivals: list[float]) -> Feed:
    """People come at the planned times (sorted minutes), whatever the queue."""

    def feed(env, join, _waiting):
        for at in arrivals:
            if at > env.now:
                yield env.timeout(at - env.now)
            join()

    return feed


def _called_by_queue(slots: list[Slot], keep: float, settings: Settings, open_at: int, rng: random.Random,
                     line_count: int) -> Feed:
    """The site lead calls the buildings in the plan's order, at their planned time, except that
    once the lines run they call the next building early when the queue, with the people still
    to come from the buildings called, falls below the middle of its lower half, and hold a call
    while the queue is above the middle of its upper half. A building's
    people then come over its slot's length from the call."""
    target = (settings.queue_min + settings.queue_max) / 2
    low, high = (settings.queue_min + target) / 2, (target + settings.queue_max) / 2
    ordered = sorted(slots, key=lambda s: s.position)

    # (called at, slot length, people expected) of the buildings called whose slot has not ended.
    active: list[tuple[float, float, int]] = []

    def building(env, join, slot: Slot):
        width = slot.end - slot.start
        start = env.now
        times = sorted(start + width * rng.random() + rng.gauss(0, ARRIVAL_JITTER_MINUTES)
                       for _person in range(slot.people) if rng.random() < keep)
        for at in times:
            if at > env.now:
                yield env.timeout(at - env.now)
            join()

    def feed(env, join, waiting):
        # The lead reckons who is still to come from the buildings called (their expected people
        # over what is left of their slots), so one short queue does not call every building at
        # once; a building whose slot is over is not waited for, however many stayed away.
        def coming() -> float:
            now = env.now
            active[:] = [a for a in active if a[0] + a[1] > now]
            still = sum(expected * (at + width - now) / width for at, width, expected in active)
            return waiting() + still / line_count

        offset = 0.0
        for slot in ordered:
            due = slot.start + offset
            while env.now < due:
                if env.now >= open_at and coming() < low:
                    break
                yield env.timeout(min(CALL_CHECK_MINUTES, due - env.now))
            while env.now >= open_at and waiting() > high:
                yield env.timeout(CALL_CHECK_MINUTES)
            offset = env.now - slot.start
            active.append((env.now, max(1.0, slot.end - slot.start), slot.expected))
            env.process(building(env, join, slot))

    return feed


def _simulate_site(site: SiteIn, open_at: int, settings: Settings, rng: random.Random, feed: Feed) -> _SiteOutcome:
    """One site on one day: the feed brings people, each joins the shortest line; the lines
    start at `open_at`. Returns the line-minutes in bounds and worked, and the series."""
    env = simpy.Environment(initial_time=0)
    numbers = [number for number, _rate in site.line_rates]
    count = len(numbers)
    waiting: list[deque] = [deque() for _ in range(count)]
    busy = [False] * count
    wake: list[simpy.Event | None] = [None] * count
    # Each line's queue over time, as (minute, length) at every change.
    history: list[list[tuple[float, int]]] = [[(env.now, 0)] for _ in range(count)]
    means = [60.0 / rate for _number, rate in site.line_rates]
    scale = [mean / SERVICE_SHAPE for mean in means]
    gamma = rng.gammavariate
    done = {"last": float(open_at)}
    joined = [0]

    def line(i: int):
        if env.now < open_at:
            yield env.timeout(open_at - env.now)
        while True:
            if not waiting[i]:
                wake[i] = env.event()
                yield wake[i]
                wake[i] = None
            waiting[i].popleft()
            history[i].append((env.now, len(waiting[i])))
            busy[i] = True
            yield env.timeout(gamma(SERVICE_SHAPE, scale[i]))
            busy[i] = False
            done["last"] = env.now

    def join() -> None:
        # The shortest line, counting the person being sampled; the first such line on a tie.
        best, best_len = 0, len(waiting[0]) + busy[0]
        for i in range(1, count):
            length = len(waiting[i]) + busy[i]
            if length < best_len:
                best, best_len = i, length
        waiting[best].append(env.now)
        history[best].append((env.now, len(waiting[best])))
        joined[0] += 1
        event = wake[best]
        if event is not None and not event.triggered and env.now >= open_at:
            event.succeed()

    def waiting_per_line() -> float:
        return sum(len(q) for q in waiting) / count

    for i in range(count):
        env.process(line(i))
    env.process(feed(env, join, waiting_per_line))
    env.run()
    end = max(done["last"], float(open_at))
    low, high = settings.queue_min, settings.queue_max
    in_bounds = 0.0
    top = 0
    steps = max(0, math.ceil((end - open_at) / SERIES_STEP_MINUTES)) + 1
    series: dict[int, list[int]] = {}
    for i in range(count):
        points = history[i]
        times = [at for at, _length in points]
        for index, (at, length) in enumerate(points):
            until = points[index + 1][0] if index + 1 < len(points) else end
            lo, hi = max(at, open_at), min(until, end)
            if hi > lo:
                top = max(top, length)
                if low <= length <= high:
                    in_bounds += hi - lo
        # The queue as it stood at each step (the last change at or before that minute).
        series[numbers[i]] = [
            points[max(0, bisect.bisect_right(times, open_at + k * SERIES_STEP_MINUTES) - 1)][1]
            for k in range(steps)
        ]
    return _SiteOutcome(in_bounds=in_bounds, work=(end - open_at) * count, max_queue=top, series=series,
                        series_start=open_at, served=joined[0])


__all__ = ["BuildingIn", "Plan", "PlanError", "Settings", "Simulation", "SiteIn", "Slot", "make_plan",
           "parse_phase_order", "simulate"]
