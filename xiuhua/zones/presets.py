"""The zone rules Shanghai published in 2022, as rule data (domain.md section 3): a district starts
a new version from one of them, the demo publishes them, and the tests hold the engine to them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .models import Level, SealUnit

# 11 April 2022: sealed = a positive in the last 7 days: 7 days indoors and 7 of home monitoring,
# released if no new positive and all negative on day 13; controlled = no positive in 7 days:
# released if all negative on day 6; precaution = none in 14 days. Any new positive resets.
APRIL_11 = {
    "name": _("三区划分(2022年4月11日)"),
    "seal_unit": SealUnit.COMPOUND,
    "compound_on_building_seal": Level.CONTROLLED,
    "sealed_days": 14,
    "sealed_to": Level.PRECAUTION,
    "sealed_test_day": 13,
    "controlled_days": 7,
    "controlled_test_day": 6,
    "explanation": _(
        "封控区:最近7天内有阳性。实行“7天封闭管理+7天居家健康监测”,期间足不出户、上门服务;"
        "14天内无新增阳性、且第13天全员核酸阴性的,解除封控。"
        "管控区:7天内无阳性。第6天全员核酸阴性的,第8天起转为防范区。"
        "新增任何一例阳性,重新计时。"),
}

# 22 May 2022: step-down. A sealed building with 7 days without a positive becomes controlled, and
# after 3 more days precaution; a positive seals its building (the rest of the compound is
# controlled) and starts the clock again.
MAY_22 = {
    "name": _("封控区降级(2022年5月22日)"),
    "seal_unit": SealUnit.BUILDING,
    "compound_on_building_seal": Level.CONTROLLED,
    "sealed_days": 7,
    "sealed_to": Level.CONTROLLED,
    "sealed_test_day": None,
    "controlled_days": 3,
    "controlled_test_day": None,
    "explanation": _(
        "出现阳性的楼栋划为封控区,小区其余部分划为管控区。"
        "封控区连续7天无新增阳性的,降为管控区;管控区再连续3天无新增阳性的,降为防范区。"
        "新增阳性的,重新计时。"),
}

PRESETS = {"april_11": APRIL_11, "may_22": MAY_22}
