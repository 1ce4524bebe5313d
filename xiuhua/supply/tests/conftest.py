"""Group-buy fixtures on build_world: 李建国 (国和一村 6号 101, 13812340000) is the leader."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from xiuhua.supply import services
from xiuhua.supply.models import DocKind, Leader
from xiuhua.testing import acting

NOW = dt.datetime(2022, 4, 20, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
LEADER_PHONE = "13812340000"


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def leader(world) -> Leader:
    applied = services.leader_apply(actor=None, resident=world.resident_a1b, phone=LEADER_PHONE)
    return services.leader_decide(actor=acting(world.staff_a1), leader=applied, action="approve")


def add_documents(leader: Leader, now=NOW, driver="王师傅", taken=dt.timedelta(hours=6)):
    services.document_add(actor=None, phone=LEADER_PHONE, leader=leader, kind=DocKind.DRIVER_TEST, number="HS001",
                          holder=driver, taken_at=now - taken, now=now)
    for kind, number in ((DocKind.FOOD_PERMIT, "JY131"), (DocKind.EPIDEMIC_PERMIT, "BG002"),
                         (DocKind.VEHICLE_PASS, "TX-88")):
        services.document_add(actor=None, phone=LEADER_PHONE, leader=leader, kind=kind, number=number,
                              holder="沪A12345" if kind == DocKind.VEHICLE_PASS else "上海鲜达食品有限公司",
                              valid_until=(now + dt.timedelta(days=200)).date(), now=now)


@pytest.fixture
def documented(leader) -> Leader:
    add_documents(leader)
    return leader


def filing_data(now=NOW, **overrides):
    data = {
        "supplier": "上海鲜达食品有限公司", "supplier_licence": "JY131", "driver_name": "王师傅",
        "driver_phone": "13900001234", "vehicle_plate": "沪A12345",
        "window_start": now + dt.timedelta(hours=4), "window_end": now + dt.timedelta(hours=6),
        "items": [
            {"name": "鸡蛋", "unit": "枚", "pack_quantity": "30", "price": "36"},
            {"name": "蔬菜套餐", "unit": "份", "pack_quantity": "1", "price": "88",
             "contents": "土豆 1kg\n青菜 500g\n胡萝卜 1kg"},
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def prices(world):
    """Street A: eggs 1.00 yuan each from 1 April, share 10%."""
    street = acting(world.street_officer)
    services.reference_price_set(actor=street, street=world.street_a, name="鸡蛋", unit="枚", price="1.00",
                                 effective_from=dt.date(2022, 4, 1))
    return world


__all__ = ["Decimal", "timezone"]
