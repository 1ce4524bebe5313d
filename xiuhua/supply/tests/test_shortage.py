"""The sharing rules of a short delivery, with exact figures (shortage.py, pure)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiuhua.supply.models_orders import ShortRule
from xiuhua.supply.shortage import share

P, E, F = ShortRule.PROPORTIONAL, ShortRule.ONE_EACH_FIRST, ShortRule.FIRST_ORDERED
WANTS = [(11, 3), (12, 1), (13, 2), (14, 2)]  # in the order placed; total 8


@pytest.mark.parametrize("rule", [P, E, F])
@pytest.mark.parametrize("received", [8, 9, 100])
def test_enough_gives_every_order_what_it_ordered_whatever_the_rule(rule, received):
    assert share(rule, received, WANTS) == {11: 3, 12: 1, 13: 2, 14: 2}


@pytest.mark.parametrize("rule", [P, E, F])
def test_nothing_came_gives_nothing(rule):
    assert share(rule, 0, WANTS) == {11: 0, 12: 0, 13: 0, 14: 0}


def test_proportional_rounds_down_and_gives_the_remainder_by_order_time():
    # 3*5/8=1.875 -> 1, 1*5/8 -> 0, 2*5/8=1.25 -> 1, 2*5/8 -> 1: 3 given, 2 left for 11 and 12.
    assert share(P, 5, WANTS) == {11: 2, 12: 1, 13: 1, 14: 1}
    # Equal orders: 10 of 12 -> 2 each (8), the 2 left to the first two placed.
    assert share(P, 10, [(1, 3), (2, 3), (3, 3), (4, 3)]) == {1: 3, 2: 3, 3: 2, 4: 2}
    # The remainder skips an order that has all it ordered.
    assert share(P, 4, [(1, 1), (2, 5), (3, 2)]) == {1: 1, 2: 2, 3: 1}
    assert share(P, 1, WANTS) == {11: 1, 12: 0, 13: 0, 14: 0}


def test_one_each_first_then_by_order_time():
    assert share(E, 5, WANTS) == {11: 2, 12: 1, 13: 1, 14: 1}
    assert share(E, 3, WANTS) == {11: 1, 12: 1, 13: 1, 14: 0}
    assert share(E, 7, WANTS) == {11: 3, 12: 1, 13: 2, 14: 1}


def test_first_ordered_gives_whole_orders_and_what_is_left_to_the_next():
    assert share(F, 5, WANTS) == {11: 3, 12: 1, 13: 1, 14: 0}
    assert share(F, 4, WANTS) == {11: 3, 12: 1, 13: 0, 14: 0}
    assert share(F, 2, WANTS) == {11: 2, 12: 0, 13: 0, 14: 0}


def test_no_orders_and_bad_input():
    assert share(P, 5, []) == {}
    with pytest.raises(ValueError):
        share(P, -1, WANTS)
    with pytest.raises(ValueError):
        share("lottery", 1, WANTS)


@given(rule=st.sampled_from([P, E, F]), received=st.integers(0, 60),
       quantities=st.lists(st.integers(1, 9), max_size=12))
def test_every_rule_gives_out_exactly_what_came_and_never_more_than_ordered(rule, received, quantities):
    wants = list(enumerate(quantities))
    given_out = share(rule, received, wants)
    assert sum(given_out.values()) == min(received, sum(quantities))
    assert all(0 <= given_out[order] <= quantity for order, quantity in wants)
