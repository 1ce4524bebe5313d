"""Help requests by text message, for residents whose phone cannot scan a door card.

Grammar (full-width characters and spaces tolerated):

    求助 周三透析,需要车接送
    QZ 家里没有米了
    求助 急 老伴摔倒了

The sender's number must be a mobile on the roster: it places the request at the household (or,
when the number belongs to several households of one committee, at the committee) and the
provider vouches for it, so no code is needed. The category is read from the words (透析,
化疗, 药, 伤口, 生孩子/待产, 心理, 米/菜/吃, 老人, 孩子, 停水/电/燃气; otherwise other); a request
that says 急, or is about dialysis, chemotherapy, childbirth or a wound, is urgent, and an
urgent medical one is an emergency counted in hours. The order time is the provider's receive
time. One inbound message is one ticket (its submission key is the message); a number sends at
most 3 requests an hour and 6 a day. The reply gives the ticket number; the answer staff write
is later texted back in full, since such phones cannot open the follow-up link.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError

from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Household, Resident
from xiuhua.sms.handlers import InboundMessage, Reply

from . import services
from .models import Category, Source, Ticket, Urgency
from .notify import SMS_REPLY_PURPOSE

KEYWORD_PATTERN = r"(?:求助|QZ)"
_KEYWORD = re.compile(r"^\s*(?:求助|QZ)\s*[::,,]?\s*", re.IGNORECASE)
PER_HOUR, PER_DAY = 3, 6

# The first category whose words appear wins; medical ones come first.
CATEGORY_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (Category.DIALYSIS, ("透析",)),
    (Category.CHEMOTHERAPY, ("化疗", "放疗")),
    (Category.CHILDBIRTH, ("待产", "分娩", "生孩子", "临产", "羊水", "孕")),
    (Category.WOUND_CARE, ("伤口", "换药", "拆线")),
    (Category.MENTAL_HEALTH, ("心理", "情绪", "想不开", "抑郁")),
    (Category.MEDICINE, ("药", "配药", "胰岛素")),
    (Category.UTILITIES, ("停水", "停电", "断电", "燃气", "煤气", "水管", "漏水")),
    (Category.FOOD, ("米", "菜", "吃", "食物", "奶粉", "饭", "粮")),
    (Category.CHILD_CARE, ("孩子", "小孩", "儿童", "婴儿")),
    (Category.ELDERLY_CARE, ("老人", "老伴", "摔", "瘫痪", "失能")),
]
URGENT_CATEGORIES = {Category.DIALYSIS, Category.CHEMOTHERAPY, Category.CHILDBIRTH, Category.WOUND_CARE}


def guess_category(text: str) -> str:
    for category, words in CATEGORY_WORDS:
        if any(word in text for word in words):
            return category
    return Category.OTHER


def _place(phone: str) -> tuple[Household | None, OrgUnit | None]:
    """(household, committee) of a roster mobile: one household, or one committee of several."""
    household_ids = set(
        Resident.objects.filter(mobile=phone, household__isnull=False).values_list("household_id", flat=True)
    )
    households = list(Household.objects.filter(pk__in=household_ids).select_related("committee"))
    if len(households) == 1:
        return households[0], households[0].committee
    committees = {h.committee_id for h in households}
    if len(committees) == 1:
        return None, households[0].committee
    return None, None


def handle_help_sms(message: InboundMessage) -> Reply:
    description = _KEYWORD.sub("", message.text, count=1).strip()
    if not description:
        return Reply(text="请在“求助”后写明需要什么帮助,如:求助 周三透析需要车接送。", purpose=SMS_REPLY_PURPOSE)
    household, committee = _place(message.phone)
    if committee is None:
        return Reply(text="未能确认您的住址,请致电居委会或拨打12345;情况危急请拨打120。", purpose=SMS_REPLY_PURPOSE)
    key = f"sms-{message.sms.pk}"
    existing = Ticket.objects.filter(submission_key=key).first()
    if existing is not None:
        return _received(existing, committee)
    recent = Ticket.objects.filter(source=Source.SMS, requester_phone=message.phone)
    since = message.received_at
    if (recent.filter(received_at__gt=since - dt.timedelta(hours=1)).count() >= PER_HOUR
            or recent.filter(received_at__gt=since - dt.timedelta(days=1)).count() >= PER_DAY):
        return Reply(text="您的求助已收到多次,工作人员会尽快联系您;情况危急请拨打120。", committee=committee,
                     purpose=SMS_REPLY_PURPOSE)
    category = guess_category(description)
    urgent = "急" in description or category in URGENT_CATEGORIES
    try:
        # The same message handled twice at once gives the one ticket its key made.
        ticket, _token = services.ticket_create(
            actor=None, source=Source.SMS, category=category,
            urgency=Urgency.URGENT if urgent else Urgency.NORMAL, description=description[:2000],
            committee=committee, household=household, requester_phone=message.phone,
            now=message.received_at, send_sms=False,  # the reply below is the confirmation
            submission_key=key,
        )
    except ValidationError as exc:
        return Reply(text=f"未能登记:{''.join(exc.messages)}", committee=committee, purpose=SMS_REPLY_PURPOSE)
    return _received(ticket, committee)


def _received(ticket: Ticket, committee: OrgUnit) -> Reply:
    return Reply(
        text=f"已收到您的求助,编号{ticket.number}。工作人员会尽快联系您;情况危急请拨打120。",
        committee=committee, purpose=SMS_REPLY_PURPOSE,
    )


def register() -> None:
    from xiuhua.sms.handlers import register_inbound_handler

    register_inbound_handler(KEYWORD_PATTERN, handle_help_sms, keyword="求助", name="tickets.help")
