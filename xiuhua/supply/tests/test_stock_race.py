"""Parallel issues of the last units of stock never take it below zero (PostgreSQL)."""

import pytest
from django.core.exceptions import ValidationError

from xiuhua.supply import services_stock as s
from xiuhua.supply.models_stock import MoveReason, StockItem, StockMove
from xiuhua.testing import acting, build_world, run_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_parallel_issues_of_the_last_units():
    w = build_world()
    staff = acting(w.staff_a1)
    item = s.stock_item_add(actor=staff, committee=w.committee_a1, name="体温枪", unit="把")
    s.stock_receive(actor=staff, committee=w.committee_a1, item=item, quantity=5)

    def issue(i):
        from xiuhua.accounts.models import User

        actor = acting(User.objects.get(pk=w.staff_a1.pk))
        return s.stock_issue(actor=actor, committee=w.committee_a1, item=StockItem.objects.get(pk=item.pk),
                             quantity=2, reason=MoveReason.REQUEST, ref=f"ticket:{i}")

    results = run_parallel(issue, 8)
    done = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(done), len(refused)) == (2, 6)
    item.refresh_from_db()
    assert item.quantity == 1
    moves = StockMove.objects.filter(item=item).order_by("pk")
    assert sum(m.delta for m in moves) == 1
    assert sorted(m.balance for m in moves if m.delta < 0) == [1, 3]
