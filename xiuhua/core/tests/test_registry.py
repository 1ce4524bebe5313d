"""The parts the domain apps register for core's first page and seed_demo, in their order."""

import pytest

from xiuhua.core.registry import HomePart, demo_parts, home_parts, register


def test_the_first_page_shows_the_domains_waiting_work_in_a_fixed_order():
    assert [part.name for part in home_parts()] == [
        "tickets_urgent", "isolation", "tracing", "tickets", "screening", "antigen", "zones", "groupbuy",
        "groupbuy_orders", "passport", "supply_stock", "mutual_aid", "volunteers"]


def test_seed_demo_seeds_the_domains_in_a_fixed_order():
    assert [part.name for part in demo_parts()] == [
        "tracing", "isolation", "tickets", "masks", "screening", "antigen", "zones", "groupbuy", "groupbuy_orders",
        "groupbuy_delivery", "passport", "supply_stock", "volunteers", "mutual_aid"]


def test_an_order_taken_by_another_part_is_refused():
    taken = home_parts()[0]
    with pytest.raises(ValueError, match="is taken by"):
        register(HomePart("another", order=taken.order, work=lambda user, membership: None, template=""))
    assert [part.name for part in home_parts()].count("another") == 0
