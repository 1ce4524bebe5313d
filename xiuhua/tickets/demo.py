"""Demo work orders for `seed_demo`: the departments of 长海路街道, its routing rules and 30 orders
of the last two weeks in every state, each played through the services with explicit times, so
the boards, the histories and the reminders agree.

- departments: 社区卫生服务中心 (members `dept` and `dept_head`, the head) and 城运中心 (`dept2`,
  member and head); medical categories go to the health centre, water/power/gas to 城运中心, the
  rest stays with the requester's committee;
- orders: urgent dialysis and other medical requests from door QR codes (emergencies, 4 hours),
  calls and visits taken by the committees, 12345 orders with their external numbers; one overdue
  (a 12345 consultation left unanswered for two weeks, long overdue even across a week-long
  holiday, so the sweep reports it to the street), one emergency due within the hour, one
  reopened after a poor call-back, one complex order with an extension request waiting for the
  street and one whose extension was approved, closed ones with call-backs;
- the escalation sweep runs once at the end, as cron would have.

Times are counted back from the moment of seeding. Requesters' and staff mobiles are set only
with the development SMS backend, whose outbox sends nothing. Idempotent: departments, members,
heads and rules are added only when missing, and orders only when the street has none.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Role
from xiuhua.places.demo_data import STREET_CODE, AccountSpec
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import Household, Relation

from . import departments as dept_services
from . import services
from .calendar import DeadlineClass
from .escalation import tickets_escalate
from .models import MEDICAL_CATEGORIES, Category, Department, RoutingRule, Ticket

HEALTH = "社区卫生服务中心"
CITY_OPS = "城运中心"
# username, display name, department, head of it
DEPARTMENT_ACCOUNTS = [
    ("dept", "钱卫华", HEALTH, False),
    ("dept_head", "沈国华", HEALTH, True),
    ("dept2", "陆建平", CITY_OPS, True),
]
RULES = [(category, HEALTH) for category in sorted(MEDICAL_CATEGORIES)] + [(Category.UTILITIES, CITY_OPS)]
# Mobiles of demo staff (development SMS backend only), where reminders of late orders go.
STAFF_MOBILES = {
    "street": "13900210001", "committee": "13900210002", "committee2": "13900210003",
    "dept": "13900210004", "dept_head": "13900210005", "dept2": "13900210006",
}


def ticket_account_specs() -> list[AccountSpec]:
    """The department accounts, all at the street (where department staff are members)."""
    street = OrgUnit.objects.get(code=STREET_CODE)
    return [AccountSpec(username, name, Role.DEPARTMENT_STAFF, street) for username, name, _d, _h in
            DEPARTMENT_ACCOUNTS]


def dev_sms() -> bool:
    return str(getattr(settings, "SMS_BACKEND", "")).endswith(".DevBackend")


def _acting(username: str) -> User:
    user = User.objects.get(username=username)
    user.active_membership = user.memberships.select_related("org_unit").get()  # type: ignore[attr-defined]
    return user


# ---------------------------------------------------------------------------------------------
# The orders
# ---------------------------------------------------------------------------------------------

Ago = tuple[str, int]  # ("ago", minutes before the seeding)
Day = tuple[str, int, int, int]  # ("day", days ago, hour, minute), Asia/Shanghai
# (action, minutes after receipt or ago(minutes), keyword arguments of the service)
Step = tuple[str, Any, dict]


def ago(minutes: int) -> Ago:
    return ("ago", minutes)


def ago_today(minutes: int) -> Ago:
    """`minutes` before the seeding, but not before today's midnight: an order whose working-day
    deadline counts from the day it came in stays not yet due when the demo is made just after
    midnight."""
    return ("ago_today", minutes)


def day(days: int, hour: int, minute: int = 0) -> Day:
    return ("day", days, hour, minute)


@dataclass(frozen=True)
class Order:
    committee: int  # index among the street's committees by code (0: `committee`, 1: `committee2`)
    source: str
    category: str
    urgency: str
    received: Ago | Day
    description: str
    # (action, minutes after receipt or ago(minutes), extra): accept, dispatch, start, reply, close,
    # call_back, reopen, ext_request, ext_approve.
    steps: tuple[Step, ...] = ()
    deadline_class: str | None = None
    household: int | None = None  # index among the committee's households (door codes, calls)
    external: str = ""  # 12345 order number suffix
    phone: bool = True


def _flow(*steps: Step) -> tuple[Step, ...]:
    return tuple(steps)


ACCEPT: Step = ("accept", 5, {})
DISPATCH: Step = ("dispatch", 10, {})


def _reply(minutes: int, text: str) -> Step:
    return ("reply", minutes, {"reply": text})


ORDERS: list[Order] = [
    # Door QR codes: urgent medical requests are emergencies of four hours.
    Order(0, "door_qr", "dialysis", "urgent", ago(210), "明早透析,家属被隔离在外,需要车辆接送去市东医院", household=3,
          steps=_flow(ACCEPT, DISPATCH, ("start", 25, {}))),  # due within the hour
    Order(0, "door_qr", "dialysis", "urgent", day(6, 7, 40), "周一透析,小区封控出不去,需要车辆", household=11,
          steps=_flow(ACCEPT, DISPATCH, ("start", 20, {}), _reply(95, "已安排120转运车辆,明早6:30在楼下等候"),
                      ("close", 120, {}), ("call_back", 1500, {"satisfaction": 5}))),
    Order(1, "door_qr", "medicine", "urgent", ago(40), "降压药只剩一天,社区医院配不到", household=5),
    Order(2, "door_qr", "wound_care", "urgent", day(2, 9, 15), "术后伤口需要换药,出不了门", household=2,
          steps=_flow(ACCEPT, DISPATCH, ("start", 30, {}), _reply(150, "家庭医生已上门换药,三天后再来"),
                      ("close", 180, {}), ("call_back", 1440, {"satisfaction": 5}))),
    Order(0, "door_qr", "chemotherapy", "urgent", ago(125), "化疗后发热38.6度,需要就医", household=21,
          steps=_flow(ACCEPT, DISPATCH, ("start", 20, {}), _reply(60, "已联系定点医院发热门诊,救护车接送"))),
    Order(1, "door_qr", "childbirth", "urgent", day(4, 2, 30), "孕39周,见红,需要去妇幼保健院", household=8,
          steps=_flow(ACCEPT, DISPATCH, ("start", 10, {}), _reply(40, "120已送至妇幼保健院,母子平安"),
                      ("close", 90, {}), ("call_back", 2880, {"satisfaction": 5}))),
    Order(3, "door_qr", "dialysis", "urgent", ago(300), "血透患者,今天下午要透析,需要通行证和车辆", household=4,
          steps=_flow(ACCEPT, DISPATCH, ("start", 15, {}), _reply(75, "已开具通行证,志愿者车辆已送达医院"),
                      ("close", 100, {}))),
    Order(4, "door_qr", "medicine", "normal", day(2, 19, 5), "胰岛素快用完,想请人帮忙配药", household=6,
          steps=_flow(ACCEPT, DISPATCH, ("start", 900, {}), _reply(1000, "已代配胰岛素两盒,明天上午送到"))),
    Order(1, "door_qr", "dialysis", "urgent", day(3, 6, 50), "今天透析,家里没人能送", household=14,
          steps=_flow(ACCEPT, DISPATCH, ("start", 15, {}), _reply(70, "已安排车辆往返接送"),
                      ("close", 90, {}), ("call_back", 1440, {"satisfaction": 5}))),
    # Calls and visits, taken by the committee (or the street desk for the other committees).
    Order(0, "call", "food", "normal", day(2, 9, 10), "独居老人,家里米和蔬菜没有了", household=30,
          steps=_flow(ACCEPT, DISPATCH, ("start", 40, {}))),
    Order(0, "call", "elderly_care", "normal", day(1, 10, 30), "老人卧床,保姆进不了小区,需要上门照护",
          household=41, steps=_flow(ACCEPT)),
    Order(1, "call", "medicine", "normal", day(3, 14, 0), "慢性病长处方药需要代配", household=17,
          steps=_flow(ACCEPT, DISPATCH, ("start", 120, {}))),
    Order(1, "call", "food", "normal", ago(65), "团购的菜三天没送到,家里断粮", household=25),
    Order(0, "call", "mental_health", "normal", day(5, 20, 20), "隔离在家情绪很差,睡不着", household=52,
          steps=_flow(ACCEPT, DISPATCH, ("start", 60, {}), _reply(180, "心理热线已回电,约好每天通话一次"),
                      ("close", 200, {}), ("call_back", 2880, {"satisfaction": 4}))),
    Order(4, "call", "food", "normal", day(3, 11, 0), "家中两位老人,需要代购食品", household=9,
          steps=_flow(ACCEPT, DISPATCH)),
    Order(0, "walk_in", "child_care", "normal", day(4, 15, 30), "父母都在方舱,孩子一人在家需要照看",
          household=63, steps=_flow(ACCEPT, DISPATCH, ("start", 30, {}), _reply(240, "已安排居委干部和志愿者轮流照看"),
                                    ("close", 300, {}))),
    Order(1, "walk_in", "other", "normal", day(6, 10, 0), "快递包裹堆在门口,请帮忙消杀后送上楼",
          household=33, steps=_flow(ACCEPT, DISPATCH, ("start", 30, {}), _reply(120, "志愿者已消杀并送到门口"),
                                    ("close", 130, {}), ("call_back", 1500, {"satisfaction": 5}))),
    Order(0, "walk_in", "medicine", "normal", day(6, 9, 30), "替父亲来问能否代配治疗帕金森的药", household=71,
          steps=_flow(ACCEPT, DISPATCH, ("start", 45, {}), _reply(600, "家庭医生已开处方,药品送到门卫"),
                      ("close", 700, {}), ("call_back", 2000, {"satisfaction": 5}))),
    # 12345 hotline orders, taken in by the street with their external numbers.
    Order(0, "hotline", "utilities", "normal", day(6, 16, 0), "楼道水管爆裂,家里停水", external="0001",
          deadline_class=DeadlineClass.COMPLAINT,
          steps=_flow(ACCEPT, DISPATCH, ("start", 60, {}), _reply(1500, "自来水公司已抢修,恢复供水"),
                      ("close", 1560, {}), ("call_back", 2900, {"satisfaction": 3}))),
    Order(1, "hotline", "utilities", "normal", day(14, 11, 20), "咨询封控期间电费能否缓缴", external="0002",
          deadline_class=DeadlineClass.CONSULTATION,
          steps=_flow(ACCEPT, DISPATCH, ("start", 120, {}))),  # the overdue one
    Order(2, "hotline", "utilities", "normal", day(2, 10, 45), "小区燃气表异味,物业不处理", external="0003",
          deadline_class=DeadlineClass.SUPERVISION, steps=_flow(ACCEPT, DISPATCH, ("start", 90, {}))),
    Order(0, "hotline", "utilities", "normal", day(8, 9, 0), "老旧小区二次供水改造后水压不足,多户反映",
          external="0004", deadline_class=DeadlineClass.COMPLEX,
          steps=_flow(ACCEPT, DISPATCH, ("start", 240, {}),
                      ("ext_request", ago(1200), {"days": 10, "reason": "需水务公司勘察并协调施工,材料到货约两周"}))),
    Order(5, "hotline", "other", "normal", day(3, 15, 10), "投诉小区门岗拦住送药人员", external="0005",
          deadline_class=DeadlineClass.COMPLAINT, steps=_flow(ACCEPT, DISPATCH)),
    Order(1, "hotline", "food", "normal", day(7, 13, 0), "保供物资未收到,多次联系无人回复", external="0006",
          deadline_class=DeadlineClass.HELP,
          steps=_flow(ACCEPT, DISPATCH, ("start", 60, {}), _reply(1440, "已核实名单,补发保供物资"),
                      ("close", 1500, {}), ("call_back", 4320, {"satisfaction": 2}),
                      ("reopen", ago(150), {"note": "回访不满意:补发的物资仍未送到"}))),
    Order(6, "hotline", "medicine", "normal", ago_today(200), "咨询异地医保卡能否在社区医院配药",
          external="0007", deadline_class=DeadlineClass.CONSULTATION,
          steps=_flow(ACCEPT, DISPATCH, ("start", 90, {}))),
    Order(7, "hotline", "utilities", "normal", day(4, 8, 30), "路灯不亮,晚上核酸排队看不见", external="0008",
          deadline_class=DeadlineClass.HELP,
          steps=_flow(ACCEPT, DISPATCH, ("start", 120, {}), _reply(1440, "路灯已修复"),
                      ("close", 1500, {}), ("call_back", 2900, {"satisfaction": 5}))),
    Order(0, "hotline", "elderly_care", "normal", day(5, 9, 40), "督办:独居老人三天未见人", external="0009",
          deadline_class=DeadlineClass.SUPERVISION,
          steps=_flow(ACCEPT, DISPATCH, ("start", 20, {}), _reply(90, "已上门,老人平安,已登记每日电话联系"),
                      ("close", 120, {}), ("call_back", 1440, {"satisfaction": 4}))),
    Order(1, "hotline", "utilities", "normal", day(1, 16, 30), "小区停电,冰箱药品需要冷藏", external="0010",
          deadline_class=DeadlineClass.COMPLAINT, steps=_flow(ACCEPT)),
    Order(0, "hotline", "other", "normal", day(10, 10, 0), "小区围墙破损,要求修复并加装门禁", external="0011",
          deadline_class=DeadlineClass.COMPLEX,
          steps=_flow(ACCEPT, DISPATCH, ("start", 120, {}),
                      ("ext_request", 4320, {"days": 5, "reason": "需产权单位出资,等待审批"}),
                      ("ext_approve", 5760, {}))),
    Order(3, "hotline", "utilities", "normal", ago(130), "整栋楼没有热水", external="0012",
          deadline_class=DeadlineClass.HELP, phone=False),
]


@contextmanager
def _quiet_sms_warnings() -> Iterator[None]:
    """The confirmation text (with its link) is two SMS parts; the seed need not say so 20 times."""
    logger = logging.getLogger("xiuhua.sms.services")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class _Player:
    def __init__(self, street: OrgUnit, now: dt.datetime):
        self.street = street
        self.now = now
        self.committees = list(OrgUnit.objects.filter(parent=street, kind=Kind.COMMITTEE).order_by("code"))
        self.officer = _acting("street")
        self.staff = {self.committees[0].pk: _acting("committee"), self.committees[1].pk: _acting("committee2")}
        self.department_handlers = {HEALTH: _acting("dept"), CITY_OPS: _acting("dept2")}
        self.phones = dev_sms()

    def when(self, spec: Ago | Day, base: dt.datetime | None = None) -> dt.datetime:
        if isinstance(spec, int):
            assert base is not None
            return base + dt.timedelta(minutes=spec)
        if spec[0] == "ago":
            return self.now - dt.timedelta(minutes=spec[1])
        if spec[0] == "ago_today":
            midnight = dt.datetime.combine(timezone.localdate(self.now), dt.time(),
                                           tzinfo=timezone.get_current_timezone())
            return max(self.now - dt.timedelta(minutes=spec[1]), midnight)
        _kind, days, hour, minute = spec  # type: ignore[misc]
        date = timezone.localdate(self.now) - dt.timedelta(days=days)
        return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())

    def office(self, committee: OrgUnit) -> User:
        """Who takes in, accepts, dispatches, closes and calls back: the committee's demo account,
        or the street desk for committees without one."""
        return self.staff.get(committee.pk, self.officer)

    def handler(self, ticket: Ticket) -> User:
        if ticket.department is not None:
            return self.department_handlers[ticket.department.name]
        held = ticket.assigned_committee_id or ticket.committee_id
        return self.staff.get(held, self.officer)

    def play(self, index: int, order: Order) -> Ticket:
        committee = self.committees[order.committee]
        received = self.when(order.received)
        household = None
        name = phone = ""
        if order.household is not None:
            household = (Household.objects.filter(committee=committee).order_by("pk")
                         .prefetch_related("residents")[order.household])
            head = next((r for r in household.residents.all() if r.relation == Relation.HEAD), None)
            if head is not None:
                name, phone = head.name, head.mobile
        if not order.phone or not self.phones:
            phone = ""
        office = self.office(committee)
        if order.source == "door_qr":
            actor = None
        elif order.source == "hotline":
            actor = self.officer
        else:
            actor = office
        external = f"12345-{timezone.localtime(received):%Y%m%d}-{order.external}" if order.external else ""
        ticket, _token = services.ticket_create(
            actor=actor, source=order.source, category=order.category, urgency=order.urgency,
            description=order.description, committee=committee, household=household if order.source != "hotline"
            else None, requester_name=name, requester_phone=phone, external_number=external,
            deadline_class=order.deadline_class, now=received,
        )
        previous = received
        for action, offset, extra in order.steps:
            at = self.when(offset, received)
            # Never in the future nor before the step before (a step's time is its history's order).
            at = max(min(at, self.now - dt.timedelta(minutes=1)), previous + dt.timedelta(seconds=1))
            previous = at
            if action == "ext_request":
                ticket = services.ticket_extension_request(actor=self.handler(ticket), ticket=ticket, now=at, **extra)
            elif action == "ext_approve":
                ticket = services.ticket_extension_decide(actor=self.officer, ticket=ticket, approve=True, now=at,
                                                          note=extra.get("note", ""))
            else:
                actor = self.handler(ticket) if action in ("start", "reply") else office
                if action in ("accept", "dispatch") and order.source == "hotline":
                    actor = self.officer
                ticket = services.ticket_move(actor=actor, ticket=ticket, action=action, now=at, **extra)
        return ticket


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _ensure_departments(street: OrgUnit) -> dict[str, Department]:
    officer = _acting("street")
    made: dict[str, Department] = {}
    for _username, _name, dept_name, _head in DEPARTMENT_ACCOUNTS:
        if dept_name not in made:
            existing = Department.objects.filter(street=street, name=dept_name).first()
            made[dept_name] = existing or dept_services.department_create(actor=officer, street=street,
                                                                          name=dept_name)
    for username, _name, dept_name, head in DEPARTMENT_ACCOUNTS:
        department = made[dept_name]
        membership = Membership.objects.get(user__username=username, org_unit=street, role=Role.DEPARTMENT_STAFF)
        if not department.members.filter(pk=membership.pk).exists():
            department = dept_services.department_member_add(actor=officer, department=department,
                                                              membership=membership)
        if head and department.head_id != membership.pk:
            department = dept_services.department_head_set(actor=officer, department=department, head=membership)
        made[dept_name] = department
    for category, dept_name in RULES:
        if not RoutingRule.objects.filter(street=street, category=category, committee__isnull=True).exists():
            services.routing_rule_set(actor=officer, street=street, category=category, department=made[dept_name])
    return made


def _ensure_staff_mobiles() -> None:
    if not dev_sms():
        return
    for username, mobile in STAFF_MOBILES.items():
        User.objects.filter(username=username, mobile="").update(mobile=mobile)


@dataclass(frozen=True)
class DemoTickets:
    created: int
    escalated: dict[str, int]


def ensure_demo_tickets(*, now: dt.datetime | None = None) -> DemoTickets | None:
    """Departments, rules and the demo orders; None when the demo accounts are missing."""
    try:
        street = OrgUnit.objects.get(code=STREET_CODE)
        _acting("street")
        _acting("committee")
        _acting("committee2")
        for username, *_rest in DEPARTMENT_ACCOUNTS:
            _acting(username)
    except (OrgUnit.DoesNotExist, User.DoesNotExist, Membership.DoesNotExist, Membership.MultipleObjectsReturned):
        return None
    now = now or timezone.now()
    with transaction.atomic():
        _ensure_departments(street)
        _ensure_staff_mobiles()
        if Ticket.objects.filter(committee__parent=street).exists():
            return DemoTickets(0, {})
        player = _Player(street, now)
        with _quiet_sms_warnings():
            for index, order in enumerate(ORDERS):
                player.play(index, order)
    # As the five-minute cron would have done by now: the overdue order goes to the street, the
    # emergency due within the hour to the health centre's members.
    with _quiet_sms_warnings():
        escalated = tickets_escalate(now=now)
    return DemoTickets(len(ORDERS), escalated)
