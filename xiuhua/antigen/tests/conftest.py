import datetime as dt
import io

import pytest
from PIL import Image

from xiuhua.residents.models import Relation
from xiuhua.testing import make_resident


@pytest.fixture
def family(world):
    """household_a1 (5号 302, grid 第一网格): 张秀英 (13812345678) with her son and grandson; the
    son has his own phone, the grandson none."""
    world.son_a1 = make_resident(world.household_a1, "张三", relation=Relation.CHILD, mobile="13912340001",
                                 birth=dt.date(1975, 1, 2))
    world.grandson_a1 = make_resident(world.household_a1, "张小明", relation=Relation.GRANDCHILD,
                                      birth=dt.date(2010, 6, 1))
    world.staff_a1.mobile = "13700009999"
    world.staff_a1.save(update_fields=["mobile"])
    return world


def png_bytes(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()
