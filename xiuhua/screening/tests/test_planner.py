"""The planner on plain data: sites, phases, times, the simulation's bounds and determinism."""

import random
import time

import pytest

from xiuhua.screening.planner import BuildingIn, PlanError, Settings, SiteIn, make_plan, parse_phase_order, simulate


def kangcheng(residents=40_000, buildings=286, sites=6, lines=4, seed=5):
    """A compound like 康城: `buildings` of 80-200 people each (scaled to `residents`), in six
    committees of one compound each, one site of `lines` lines per committee."""
    rng = random.Random(seed)
    sizes = [rng.randint(80, 200) for _ in range(buildings)]
    factor = residents / sum(sizes)
    sizes = [round(n * factor) for n in sizes]
    sizes[-1] += residents - sum(sizes)
    rows = [BuildingIn(id=i + 1, committee_id=100 + i * sites // buildings, compound_id=1000 + i * sites // buildings,
                       sort_key=f"{i:05d}", people=n) for i, n in enumerate(sizes)]
    site_rows = [SiteIn(id=s + 1, committee_id=100 + s, sort_key=f"{s}",
                        line_rates=tuple((n, 200) for n in range(1, lines + 1))) for s in range(sites)]
    return rows, site_rows


def test_phase_orders_are_read_in_the_forms_people_write_them():
    assert parse_phase_order("4-2-3-1") == [4, 2, 3, 1]
    assert parse_phase_order("4,2,3,1") == parse_phase_order("4 2 3 1") == parse_phase_order("4231") == [4, 2, 3, 1]
    assert parse_phase_order("4、2、3、1") == [4, 2, 3, 1]
    assert parse_phase_order("") == []
    for bad in ("1-1", "0-1", "2-3", "a-b", "1-2-x"):
        with pytest.raises(PlanError):
            parse_phase_order(bad)


def test_a_street_like_kangcheng_plans_and_simulates_within_the_bounds_quickly():
    buildings, sites = kangcheng()
    settings = Settings()
    started = time.perf_counter()
    plan = make_plan(buildings, sites, settings, [4, 2, 3, 1])
    sim = simulate(plan, settings, seed=1)
    seconds = time.perf_counter() - started
    assert len(plan.slots) == 286 and plan.unplanned == [] and plan.warnings == []
    assert sum(s.people for s in plan.slots) == 40_000
    assert sim.in_bounds >= 0.9
    assert sim.max_queue < 100
    assert seconds < 2
    # The lines start once the first calls have built (30 + 80) / 2 = 55 people a line: 220 people
    # at 800 an hour is 16.5 minutes, so sampling starts at 07:17.
    assert set(plan.opens.values()) == {7 * 60 + 17}


def test_slots_follow_each_other_within_the_day_and_each_building_is_called_once():
    buildings, sites = kangcheng(residents=8000, buildings=60, sites=2, lines=3)
    settings = Settings(day_start_minute=8 * 60, day_end_minute=18 * 60)
    plan = make_plan(buildings, sites, settings)
    assert sorted(s.building_id for s in plan.slots) == [b.id for b in buildings]
    for site in sites:
        mine = sorted((s for s in plan.slots if s.site_id == site.id), key=lambda s: s.position)
        assert mine[0].start == 8 * 60
        for before, after in zip(mine, mine[1:], strict=False):
            assert before.start <= after.start <= before.end  # back to back (a 1-minute slot may share)
        assert all(s.end <= 18 * 60 and s.end > s.start for s in mine)
        # 3 lines at 200 an hour take 10 people a minute; 90% of the site's people come.
        people = sum(b.people for b in buildings if b.committee_id == site.committee_id)
        assert mine[-1].end == 8 * 60 + round(people * 0.9 / 10)
        assert mine[0].batch == 1 and mine[-1].batch == (mine[-1].start - 8 * 60) // 30 + 1


def test_the_phase_order_decides_the_order_of_the_calls():
    buildings, sites = kangcheng(residents=4000, buildings=40, sites=1, lines=4)
    plan = make_plan(buildings, sites, Settings(), [4, 2, 3, 1])
    phases = [s.phase for s in sorted(plan.slots, key=lambda s: s.position)]
    rank = {4: 0, 2: 1, 3: 2, 1: 3}
    assert phases[0] == 4 and phases[-1] == 1
    assert [rank[p] for p in phases] == sorted(rank[p] for p in phases)
    # Phase 1 holds the lowest building numbers, phase 4 the highest, about a quarter each.
    first = [s.building_id for s in plan.slots if s.phase == 1]
    last = [s.building_id for s in plan.slots if s.phase == 4]
    assert max(first) < min(last) and 8 <= len(first) <= 12
    # Without an order, natural order and one phase.
    plain = make_plan(buildings, sites, Settings())
    assert [s.building_id for s in sorted(plain.slots, key=lambda s: s.position)] == [b.id for b in buildings]


def test_sites_serve_their_own_committee_first_and_share_the_rest_by_load():
    own = [BuildingIn(id=i, committee_id=1, compound_id=10, sort_key=f"{i:03d}", people=100) for i in range(1, 5)]
    near = [BuildingIn(id=i, committee_id=2, compound_id=20, sort_key=f"{i:03d}", people=100) for i in range(5, 9)]
    # Committee 3 has no site: its compounds go, whole, to the site with the least work per hour.
    far_big = [BuildingIn(id=i, committee_id=3, compound_id=30, sort_key=f"{i:03d}", people=300) for i in range(9, 11)]
    far_small = [BuildingIn(id=11, committee_id=3, compound_id=31, sort_key="011", people=50)]
    sites = [SiteIn(id=1, committee_id=1, sort_key="a", line_rates=((1, 200), (2, 200), (3, 200))),
             SiteIn(id=2, committee_id=2, sort_key="b", line_rates=((1, 200), (2, 200), (3, 200), (4, 200)))]
    plan = make_plan(own + near + far_big + far_small, sites, Settings())
    site_of = {s.building_id: s.site_id for s in plan.slots}
    assert {site_of[b.id] for b in own} == {1} and {site_of[b.id] for b in near} == {2}
    # 400/600 < 400/800? No: 0.667 > 0.5, so the big compound goes to site 2 (1000 people / 800 an
    # hour = 1.25), and the small one then to site 1 (400 / 600 = 0.67).
    assert {site_of[b.id] for b in far_big} == {2} and site_of[11] == 1
    order = [s.building_id for s in sorted(plan.slots, key=lambda s: s.position) if s.site_id == 2]
    assert order[:4] == [5, 6, 7, 8]  # its own committee first


def test_several_sites_of_a_committee_share_its_buildings_by_their_rates_keeping_neighbours_together():
    buildings = [BuildingIn(id=i, committee_id=1, compound_id=10, sort_key=f"{i:03d}", people=100)
                 for i in range(1, 13)]
    sites = [SiteIn(id=1, committee_id=1, sort_key="1", line_rates=((1, 200), (2, 200), (3, 200), (4, 200))),
             SiteIn(id=2, committee_id=1, sort_key="2", line_rates=((1, 200), (2, 200)))]
    plan = make_plan(buildings, sites, Settings())
    site_of = {s.building_id: s.site_id for s in plan.slots}
    assert [site_of[i] for i in range(1, 13)] == [1] * 8 + [2] * 4


def test_work_beyond_a_day_goes_on_the_next_and_beyond_the_round_is_reported():
    buildings = [BuildingIn(id=i, committee_id=1, compound_id=10, sort_key=f"{i:03d}", people=600)
                 for i in range(1, 13)]
    sites = [SiteIn(id=1, committee_id=1, sort_key="1", line_rates=((1, 200), (2, 200), (3, 200)))]
    # 540 expected people a building at 600 an hour: 54 minutes each. The lines start 16.5 minutes
    # after the first call (55 people a line), so the calls stop 17 minutes before 12:00: a
    # 07:00-12:00 day calls 5 buildings (270 minutes of the 283).
    settings = Settings(days=2, day_start_minute=7 * 60, day_end_minute=12 * 60)
    plan = make_plan(buildings, sites, settings)
    days = [s.day for s in sorted(plan.slots, key=lambda s: s.position)]
    assert days == [0] * 5 + [1] * 5
    assert plan.unplanned == [11, 12] and plan.warnings == ["unplanned:2"]
    assert plan.opens == {(1, 0): 7 * 60 + 17, (1, 1): 7 * 60 + 17}
    assert all(s.end <= 12 * 60 for s in plan.slots)


def test_a_site_with_fewer_lines_than_the_rule_is_warned_about():
    buildings = [BuildingIn(id=1, committee_id=1, compound_id=10, sort_key="1", people=500)]
    sites = [SiteIn(id=7, committee_id=1, sort_key="1", line_rates=((1, 200), (2, 200)))]
    plan = make_plan(buildings, sites, Settings())
    assert plan.warnings == ["few_lines:7:2"]
    with pytest.raises(PlanError):
        make_plan(buildings, [SiteIn(id=8, committee_id=1, sort_key="1", line_rates=())], Settings())


def test_the_simulation_is_deterministic_for_a_seed():
    buildings, sites = kangcheng(residents=6000, buildings=40, sites=2, lines=3)
    settings = Settings()
    plan = make_plan(buildings, sites, settings, [2, 1])
    first, again = simulate(plan, settings, seed=3), simulate(plan, settings, seed=3)
    other = simulate(plan, settings, seed=4)
    assert (first.in_bounds, first.max_queue, first.series) == (again.in_bounds, again.max_queue, again.series)
    assert first.series != other.series
    assert 5000 < first.served < 6000  # about 90% of 6,000 come
    # The series start when the lines open, sampled every five minutes, one per line.
    key = (1, 0)
    assert first.series_start[key] == plan.opens[key]
    assert sorted(first.series[key]) == [1, 2, 3]
    assert max(max(q) for q in first.series[key].values()) <= first.max_queue


def test_calling_by_the_queue_holds_it_in_bounds_when_more_or_fewer_people_come_than_expected():
    buildings, sites = kangcheng(residents=12_000, buildings=90, sites=2, lines=4)
    settings = Settings()  # the plan expects 10% to stay away
    plan = make_plan(buildings, sites, settings)
    for share in (0, 20):
        by_clock = simulate(plan, settings, seed=2, no_show_percent=share)
        by_queue = simulate(plan, settings, seed=2, no_show_percent=share, adaptive=True)
        assert by_clock.in_bounds < 0.5 and by_queue.in_bounds >= 0.9, share
        assert by_queue.served == pytest.approx(12_000 * (1 - share / 100), rel=0.02)
    # As expected, calling by the queue changes little.
    assert simulate(plan, settings, seed=2, adaptive=True).in_bounds >= 0.9


def test_a_site_with_too_few_people_for_its_lines_is_warned_about():
    # 50 people, 45 expected, at three lines: no line's queue can reach 30.
    buildings = [BuildingIn(id=1, committee_id=1, compound_id=10, sort_key="1", people=50)]
    sites = [SiteIn(id=7, committee_id=1, sort_key="1", line_rates=((1, 200), (2, 200), (3, 200)))]
    assert make_plan(buildings, sites, Settings()).warnings == ["thin:7:45"]
    # Enough people (90 a line expected) for three lines: no warning.
    buildings = [BuildingIn(id=1, committee_id=1, compound_id=10, sort_key="1", people=300)]
    assert make_plan(buildings, sites, Settings()).warnings == []
