"""The site's menu, once: each entry is shown only to a membership whose role holds one of its
capabilities, so nobody is offered a page that answers 403. The header shows the entries' short
labels; the first page lists them with what each is for, so a role with few pages (a pharmacy
clerk, a department) finds its work there."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import ROLE_CAPS, Cap, Role


@dataclass(frozen=True)
class MenuEntry:
    key: str
    label: str  # in the header; "" for an entry only on the first page
    url_name: str
    caps: frozenset[str]  # any one of them opens it
    description: str  # on the first page
    anchor: str = ""
    # What the page is to a role whose work there is narrower (a department's orders).
    for_role: tuple[tuple[str, str], ...] = ()

    @property
    def url(self) -> str:
        return reverse(self.url_name) + (f"#{self.anchor}" if self.anchor else "")

    def described_for(self, role: str) -> MenuEntry:
        description = dict(self.for_role).get(role, self.description)
        return self if description == self.description else replace(self, description=description)


def _entry(key, label, url_name, caps, description, anchor="", for_role=None) -> MenuEntry:
    return MenuEntry(key, label, url_name, frozenset(caps), description, anchor, tuple((for_role or {}).items()))


ENTRIES: tuple[MenuEntry, ...] = (
    _entry("places", _("地点"), "places:tree", {Cap.VIEW_PLACES}, _("按地点浏览:街道、居委会、小区、楼栋、户")),
    _entry("residents", _("居民查询"), "residents:search", {Cap.VIEW_RESIDENTS},
           _("居民查询(姓名、手机号、证件号后四位、地址)")),
    _entry("roster", _("花名册"), "residents:roster", {Cap.IMPORT_ROSTER, Cap.EXPORT_ROSTER}, _("花名册导入与导出")),
    _entry("masks", _("口罩预约"), "masks:staff_home", {Cap.VIEW_MASKS, Cap.REDEEM_VOUCHER, Cap.RECORD_DELIVERY},
           ""),
    _entry("rounds", "", "masks:staff_rounds", {Cap.VIEW_MASKS}, _("口罩预约:轮次、登记、核实与发放")),
    _entry("redeem", "", "masks:staff_redeem", {Cap.REDEEM_VOUCHER}, _("核销购买凭证(扫码或输入凭证号)")),
    _entry("deliveries", "", "masks:staff_deliveries", {Cap.RECORD_DELIVERY}, _("登记药店到货")),
    _entry("tracing", _("大数据清单"), "tracing:home", {Cap.VIEW_TRACING}, _("大数据清单:导入、分派与落实")),
    _entry("isolation", _("居家隔离"), "isolation:home", {Cap.VIEW_ISOLATION},
           _("居家隔离:待联系、预警、来沪人员登记"),
           for_role={Role.HEALTH_CENTRE: _("本街道居家隔离人员:每日联系"),
                     Role.GRID_WORKER: _("本网格居家隔离人员:每日联系")}),
    _entry("isolation_alerts", "", "isolation:home", {Cap.RECORD_CONTACT},
           _("居家隔离预警:发热、症状、连续未联系上"), anchor="alerts"),
    _entry("tickets", _("工单"), "tickets:board", {Cap.VIEW_TICKETS}, _("工单:受理、办理、答复和回访"),
           for_role={Role.DEPARTMENT_STAFF: _("派给本部门的工单:办理和答复")}),
    _entry("screening", _("核酸筛查"), "screening:rounds", {Cap.VIEW_SCREENING},
           _("核酸筛查:轮次、采样点、排班、采样码、采样点扫码"),
           for_role={Role.VOLUNTEER: _("核酸筛查:采样点扫码"), Role.HEALTH_CENTRE: _("核酸筛查:采样点扫码")}),
    _entry("station", "", "screening:station_index", {Cap.COLLECT_SAMPLES, Cap.VIEW_SCREENING},
           _("采样点:扫码采样、封管装箱交接(断网也能用),现场各采样台进度")),
    _entry("codes", "", "screening:codes_rounds", {Cap.ISSUE_CODES},
           _("采样码:批量生成、打印标签、登记非花名册人员")),
    _entry("results", "", "screening:results", {Cap.RECORD_RESULTS},
           _("核酸检测结果:导入实验室结果、超时未出结果、阳性人员")),
    _entry("reviews", "", "screening:reviews", {Cap.VIEW_SCREENING}, _("核酸待复核人员:居家等待、上门单管采样")),
    _entry("antigen", "", "antigen:coverage", {Cap.VIEW_ANTIGEN},
           _("抗原自测:今日上报进度、未上报名单、代为上报"),
           for_role={Role.GRID_WORKER: _("本网格抗原自测:未上报名单、代为上报")}),
    _entry("antigen_positives", "", "antigen:positives", {Cap.CONFIRM_ANTIGEN},
           _("抗原阳性跟进:核实、安排核酸单管复核、短信提醒时间")),
    # On the first page only: with one more header entry the office header wraps on a desktop.
    _entry("zones", "", "zones:board", {Cap.VIEW_ZONES},
           _("风险区域:封控区、管控区的计时和预计解除,登记阳性,小区门口公示码")),
    _entry("zone_rules", "", "zones:rules", {Cap.VIEW_ZONES},
           _("风险区域规则:各版本、生效日期和给居民的说明(区防控办制定,发布前预览)")),
    _entry("passport", "", "passport:home", {Cap.VIEW_PASSPORT},
           _("家园护照:各网格、微网格各户核酸、疫苗、志愿服务、便民服务盖章情况,打印护照卡"),
           for_role={Role.GRID_WORKER: _("家园护照:本网格各户盖章情况,上门盖章")}),
    _entry("groupbuy_filings", "", "supply:filings", {Cap.VIEW_SUPPLY},
           _("团购报备:审核团长报备的供货商、证件、商品和价格(超参考价标红)")),
    _entry("groupbuy_leaders", "", "supply:leaders", {Cap.VIEW_SUPPLY}, _("团长:审核居民当团长的申请")),
    _entry("groupbuy_complaints", "", "supply:complaints", {Cap.VIEW_SUPPLY}, _("团购投诉:价格、分量、质量、未送达")),
    _entry("groupbuy_bans", "", "supply:bans", {Cap.VIEW_SUPPLY}, _("团购禁入名单:全街道的团长和供货商禁入")),
    _entry("groupbuy_prices", "", "supply:prices", {Cap.VIEW_SUPPLY, Cap.SET_REFERENCE_PRICES},
           _("团购参考价格:各商品参考单价及历史,允许高出的比例")),
    _entry("groupbuy_polls", "", "supply:polls", {Cap.VIEW_SUPPLY},
           _("团购投票:同一品类几家团购交居民投票,每户一票,截止后得票最多的开团")),
    _entry("groupbuy_offers", "", "supply:offers", {Cap.VIEW_SUPPLY},
           _("团购接龙:开团、各商品已订和剩余份数、各楼栋订单、导出订单")),
    _entry("groupbuy_for_residents", "", "supply:for_residents", {Cap.ORDER_FOR_RESIDENT},
           _("代居民团购:为没有手机的住户投票、下单(楼组长代下单、电话代下单)")),
    _entry("groupbuy_deliveries", "", "supply:deliveries", {Cap.VIEW_SUPPLY},
           _("团购到货与配送:到货核对、缺货分配、消杀、分拣单和标签")),
    _entry("groupbuy_to_deliver", "", "supply:to_deliver", {Cap.DELIVER_ORDERS},
           _("团购送货上门:各楼待送清单,扫标签二维码确认送达")),
    _entry("supply_stock", "", "supply:stock", {Cap.VIEW_SUPPLY},
           _("物资库存:口罩、抗原试剂、体温计等的入库、发放和出入库记录")),
    _entry("supply_donations", "", "supply:donations", {Cap.VIEW_SUPPLY},
           _("捐赠:登记捐赠物资和资金、打印收据、登记去向")),
    _entry("supply_loans", "", "supply:loans", {Cap.VIEW_SUPPLY}, _("借用物品:出借人、借给谁、归还日期、逾期未还")),
    _entry("volunteers", "", "volunteers:directory", {Cap.VIEW_VOLUNTEERS},
           _("志愿者与社区能人:按技能、专科、语言查找,确认资质,代为登记")),
    _entry("volunteer_duty", "", "volunteers:day", {Cap.VIEW_VOLUNTEERS},
           _("志愿者岗位与值班表:设岗排班、缺员和时间重叠、岗位签到码、打印当日值班表")),
    _entry("mutual_aid", "", "volunteers:aid", {Cap.MUTUAL_AID},
           _("居委会互助:发布和认领求助(先到先得),AB角结对、互助池、临时代管和第二书记")),
    _entry("sms", _("短信"), "sms:outbox", {Cap.VIEW_SMS, Cap.SIMULATE_SMS}, _("短信收发记录")),
    _entry("simulate_sms", _("模拟短信"), "sms:simulate", {Cap.SIMULATE_SMS}, _("模拟居民发来的短信(演示、培训)")),
    _entry("audit", _("访问记录"), "accounts:audit", {Cap.VIEW_AUDIT}, _("个人信息访问记录")),
    _entry("api_tokens", "", "accounts:api_tokens", {Cap.USE_API},
           _("接口令牌:供其他系统(检测机构、12345平台等)以本身份调用接口")),
)


def menu_for(role: str | None) -> list[MenuEntry]:
    """The entries the role may open, in menu order (none without a membership)."""
    caps = ROLE_CAPS.get(role, frozenset()) if role else frozenset()
    return [entry.described_for(role) for entry in ENTRIES if role and entry.caps & caps]
