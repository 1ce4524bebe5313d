"""Roles and what each may do. Place scope comes from the membership, not from here."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_OFFICER = "district_officer", _("区防控办")
    STREET_OFFICER = "street_officer", _("街道防控办")
    COMMITTEE_STAFF = "committee_staff", _("居委会工作人员")
    GRID_WORKER = "grid_worker", _("网格员/楼组长")
    HEALTH_CENTRE = "health_centre", _("社区卫生服务中心")
    DEPARTMENT_STAFF = "department_staff", _("职能部门工作人员")
    VOLUNTEER = "volunteer", _("志愿者")
    PHARMACY_CLERK = "pharmacy_clerk", _("指定药店店员")
    GROUPBUY_LEADER = "groupbuy_leader", _("团长")
    BUSINESS_CONTACT = "business_contact", _("企业联络员")
    LAB = "lab", _("检测机构")
    SYSADMIN = "sysadmin", _("系统管理员")


class Cap(models.TextChoices):
    VIEW_PLACES = "view_places", _("查看地点")
    VIEW_RESIDENTS = "view_residents", _("查看居民")
    EDIT_RESIDENTS = "edit_residents", _("编辑居民")
    IMPORT_ROSTER = "import_roster", _("导入花名册")
    EXPORT_ROSTER = "export_roster", _("导出花名册(证件号遮蔽)")
    REVEAL_ID = "reveal_id", _("查看完整证件号")
    VIEW_AUDIT = "view_audit", _("查看个人信息访问记录")
    USE_API = "use_api", _("使用接口")
    VIEW_SMS = "view_sms", _("查看短信收发记录")
    SIMULATE_SMS = "simulate_sms", _("模拟接收短信(演示)")
    MANAGE_ROUNDS = "manage_rounds", _("管理口罩预约轮次和药店")
    VIEW_MASKS = "view_masks", _("查看口罩预约")
    RESERVE_FOR_RESIDENT = "reserve_for_resident", _("代居民登记口罩预约")
    VERIFY_RESERVATION = "verify_reservation", _("核实口罩预约")
    RECORD_DELIVERY = "record_delivery", _("登记药店到货")
    REDEEM_VOUCHER = "redeem_voucher", _("核销购买凭证")
    VIEW_TRACING = "view_tracing", _("查看大数据清单")
    IMPORT_TRACING = "import_tracing", _("导入大数据清单并分派")
    REPORT_TRACING = "report_tracing", _("反馈清单人员落实情况")
    VIEW_ISOLATION = "view_isolation", _("查看来沪人员和居家隔离")
    MANAGE_ISOLATION = "manage_isolation", _("登记来沪人员、管理居家隔离")
    RECORD_CONTACT = "record_contact", _("记录每日联系")
    VIEW_TICKETS = "view_tickets", _("查看工单")
    RECORD_TICKET = "record_ticket", _("登记、受理、派单、办结和回访工单")
    HANDLE_TICKET = "handle_ticket", _("办理和答复工单")
    VIEW_SCREENING = "view_screening", _("查看核酸筛查")
    MANAGE_SCREENING = "manage_screening", _("组织核酸筛查(轮次、采样点、排班)")
    ISSUE_CODES = "issue_codes", _("生成和打印采样码、登记非花名册人员")
    COLLECT_SAMPLES = "collect_samples", _("采样点扫码采样、封管、装箱和转运")
    RECORD_RESULTS = "record_results", _("接收样本、录入检测结果")
    VIEW_ZONES = "view_zones", _("查看风险区域")
    MANAGE_ZONES = "manage_zones", _("录入阳性、划定和调整风险区域")
    MANAGE_ZONE_RULES = "manage_zone_rules", _("制定和发布风险区域规则")
    VIEW_ANTIGEN = "view_antigen", _("查看抗原自测上报")
    RECORD_ANTIGEN = "record_antigen", _("代居民上报抗原结果")
    CONFIRM_ANTIGEN = "confirm_antigen", _("处理抗原阳性(核实、安排核酸复核)")
    VIEW_PASSPORT = "view_passport", _("查看家园护照")
    STAMP_PASSPORT = "stamp_passport", _("家园护照盖章(疫苗、志愿服务、便民服务)")
    VIEW_SUPPLY = "view_supply", _("查看团购报备和保供物资")
    REVIEW_GROUPBUY = "review_groupbuy", _("审核团长、团购报备,处理投诉")
    SET_REFERENCE_PRICES = "set_reference_prices", _("维护参考价格")
    MANAGE_DONATIONS = "manage_donations", _("登记捐赠、借用物品和物资库存")
    RUN_GROUPBUY = "run_groupbuy", _("组织团购投票和接龙,到货核对、消杀和分拣")
    ORDER_FOR_RESIDENT = "order_for_resident", _("代居民团购下单和投票(楼组长、电话)")
    DELIVER_ORDERS = "deliver_orders", _("扫码送货到户")
    VIEW_VOLUNTEERS = "view_volunteers", _("查看志愿者、社区能人和排班")
    MANAGE_VOLUNTEERS = "manage_volunteers", _("登记志愿者、确认资质、设岗排班、派任务给志愿者")
    MUTUAL_AID = "mutual_aid", _("发布和认领互助任务")
    MANAGE_PAIRING = "manage_pairing", _("设置AB角结对和互助池、标记居委会无法履职、派驻第二书记")


_STAFF = {Cap.VIEW_PLACES, Cap.VIEW_RESIDENTS, Cap.USE_API}
_STAFF |= {Cap.VIEW_SMS}  # the SMS outbox: district and street officers, committee staff

_MASKS_OFFICER = {Cap.VIEW_MASKS, Cap.RECORD_DELIVERY}
_TRACING_STREET = {Cap.VIEW_TRACING, Cap.IMPORT_TRACING}
_TRACING_COMMITTEE = {Cap.VIEW_TRACING, Cap.REPORT_TRACING}
_ISOLATION_COMMITTEE = {Cap.VIEW_ISOLATION, Cap.MANAGE_ISOLATION, Cap.RECORD_CONTACT}
_TICKETS_OFFICE = {Cap.VIEW_TICKETS, Cap.RECORD_TICKET}
_TICKETS_COMMITTEE = {Cap.VIEW_TICKETS, Cap.RECORD_TICKET, Cap.HANDLE_TICKET}
_MASKS_COMMITTEE = {Cap.VIEW_MASKS, Cap.RESERVE_FOR_RESIDENT, Cap.VERIFY_RESERVATION}
# The street plans and runs screening rounds and records the lab's results; committees issue
# codes, work their sites and follow coverage; volunteers and the health centre scan at stations.
_SCREENING_STREET = {Cap.VIEW_SCREENING, Cap.MANAGE_SCREENING, Cap.ISSUE_CODES, Cap.COLLECT_SAMPLES,
                     Cap.RECORD_RESULTS}
_SCREENING_COMMITTEE = {Cap.VIEW_SCREENING, Cap.ISSUE_CODES, Cap.COLLECT_SAMPLES}
# Zones: the district writes the rules, the street enters positives and runs its zones, the rest
# see them. Antigen: households report; building leads and grid workers report for those without
# phones; the committee follows up a positive. The passport: committees and grid workers stamp.
_ZONES_STREET = {Cap.VIEW_ZONES, Cap.MANAGE_ZONES, Cap.VIEW_ANTIGEN, Cap.VIEW_PASSPORT}
_ZONES_COMMITTEE = {Cap.VIEW_ZONES, Cap.VIEW_ANTIGEN, Cap.RECORD_ANTIGEN, Cap.CONFIRM_ANTIGEN, Cap.VIEW_PASSPORT,
                    Cap.STAMP_PASSPORT}
_ZONES_GRID = {Cap.VIEW_ZONES, Cap.VIEW_ANTIGEN, Cap.RECORD_ANTIGEN, Cap.VIEW_PASSPORT, Cap.STAMP_PASSPORT}
# Supplies: the street keeps reference prices and sees every committee's buys, bans and stock; the
# committee vets leaders and filings and keeps donations, loans and stock.
_SUPPLY_STREET = {Cap.VIEW_SUPPLY, Cap.SET_REFERENCE_PRICES, Cap.MANAGE_DONATIONS}
_SUPPLY_COMMITTEE = {Cap.VIEW_SUPPLY, Cap.REVIEW_GROUPBUY, Cap.MANAGE_DONATIONS, Cap.RUN_GROUPBUY,
                     Cap.ORDER_FOR_RESIDENT, Cap.DELIVER_ORDERS}
# A building lead orders and votes for the households without phones in their grid, and carries
# orders to the door; a volunteer carries them too.
_SUPPLY_GRID = {Cap.ORDER_FOR_RESIDENT, Cap.DELIVER_ORDERS}
# Volunteers: the committee signs them up, confirms qualifications, runs its duty tables and hands
# them tasks; the street sees them all. Committees post and claim mutual-aid tasks; the street
# pairs committees (AB角), forms pools, marks a committee unable to act and seconds officers.
_VOLUNTEERS_STREET = {Cap.VIEW_VOLUNTEERS, Cap.MUTUAL_AID, Cap.MANAGE_PAIRING}
_VOLUNTEERS_COMMITTEE = {Cap.VIEW_VOLUNTEERS, Cap.MANAGE_VOLUNTEERS, Cap.MUTUAL_AID}

ROLE_CAPS: dict[str, frozenset[str]] = {
    Role.DISTRICT_OFFICER: frozenset(
        _STAFF | _MASKS_OFFICER
        | {Cap.EXPORT_ROSTER, Cap.VIEW_AUDIT, Cap.MANAGE_ROUNDS, Cap.VIEW_TRACING, Cap.VIEW_ISOLATION, Cap.VIEW_TICKETS}
        | {Cap.VIEW_SCREENING, Cap.MANAGE_SCREENING}
        | _ZONES_STREET | {Cap.MANAGE_ZONE_RULES}
    ),
    # A street officer opens rounds for their own street and sets up its designated pharmacies
    # (the round's and the pharmacy's scope is checked against the membership's unit).
    Role.STREET_OFFICER: frozenset(
        _STAFF | _MASKS_OFFICER | {Cap.MANAGE_ROUNDS} | _TRACING_STREET | _TICKETS_OFFICE
        | {Cap.EXPORT_ROSTER, Cap.REVEAL_ID, Cap.VIEW_AUDIT, Cap.IMPORT_ROSTER, Cap.VIEW_ISOLATION}
        | _SCREENING_STREET | _ZONES_STREET | _SUPPLY_STREET | _VOLUNTEERS_STREET
    ),
    Role.COMMITTEE_STAFF: frozenset(
        _STAFF | _MASKS_COMMITTEE | _TRACING_COMMITTEE | _ISOLATION_COMMITTEE | _TICKETS_COMMITTEE
        | {Cap.EDIT_RESIDENTS, Cap.IMPORT_ROSTER, Cap.EXPORT_ROSTER, Cap.REVEAL_ID}
        | _SCREENING_COMMITTEE | _ZONES_COMMITTEE | _SUPPLY_COMMITTEE | _VOLUNTEERS_COMMITTEE
    ),
    Role.GRID_WORKER: frozenset(
        {Cap.VIEW_PLACES, Cap.VIEW_RESIDENTS, Cap.EDIT_RESIDENTS, Cap.VIEW_ISOLATION, Cap.RECORD_CONTACT,
         Cap.VIEW_SCREENING} | _ZONES_GRID | _SUPPLY_GRID
    ),
    # The community health centre joins the door visit and follows alerts of the people in home
    # isolation in its street; it records its own contacts, and sees no roster.
    Role.HEALTH_CENTRE: frozenset({Cap.VIEW_ISOLATION, Cap.RECORD_CONTACT, Cap.VIEW_SCREENING, Cap.COLLECT_SAMPLES}),
    # A department of the street (城运中心, 社区卫生服务中心, 房管所 …) handles the orders dispatched
    # to it, and sees no roster.
    Role.DEPARTMENT_STAFF: frozenset({Cap.VIEW_TICKETS, Cap.HANDLE_TICKET}),
    # The roles below see no roster: a pharmacy clerk sees only vouchers presented at their
    # pharmacy; the others work in later modules; the system administrator manages units and
    # accounts, not people.
    # A volunteer scans at a sampling station (the station shows masked names only)
    # and carries group-buy orders to the door (the door page shows the room and the items only).
    Role.VOLUNTEER: frozenset({Cap.VIEW_SCREENING, Cap.COLLECT_SAMPLES, Cap.DELIVER_ORDERS}),
    Role.PHARMACY_CLERK: frozenset({Cap.RECORD_DELIVERY, Cap.REDEEM_VOUCHER}),
    Role.GROUPBUY_LEADER: frozenset(),
    Role.BUSINESS_CONTACT: frozenset(),
    # A testing lab records results of the rounds of the street (or district) it serves, from its
    # file or over the API, and sees no person: barcodes in, counts out.
    Role.LAB: frozenset({Cap.RECORD_RESULTS, Cap.USE_API}),
    # Playing an inbound SMS acts as its sender (a help request filed as that resident), so only
    # the system administrator may do it, and only with the dev backend (demos, training).
    Role.SYSADMIN: frozenset({Cap.VIEW_PLACES, Cap.SIMULATE_SMS}),
}


def role_has(role: str, cap: str) -> bool:
    return cap in ROLE_CAPS.get(role, frozenset())
