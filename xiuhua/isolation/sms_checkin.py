"""Check-ins by SMS: at each contact time the person in isolation gets a message asking for their
temperature, and their reply is recorded as that contact.

Reply grammar (full-width characters, spaces and a leading 体温 or TW tolerated):

    36.5            well, 36.5 ℃
    体温 36.8       well
    37.6 咳嗽       unwell: a fever and a symptom; the alert goes to the committee
    36.4 乏力       unwell: a symptom without fever

The reply is matched to the sender's open case (by the phone registered on arrival) and recorded
on the latest contact that is due (or due within the next 3 hours) and not yet recorded; the
order time is the provider's receive time. A reply from a phone with no open case is told to
call the committee; nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from xiuhua.sms.handlers import InboundMessage, Reply
from xiuhua.sms.services import sms_send
from xiuhua.sms.texts import register_purpose, register_template

from .models import CaseStatus, Contact, ContactOutcome, ContactVia, IsolationCase
from .services import contact_record

CHECKIN_PURPOSE = register_purpose("isolation_checkin", gettext_lazy("居家隔离每日测温提醒"))
REPLY_PURPOSE = register_purpose("isolation_reply", gettext_lazy("居家隔离短信回复"))
CHECKIN = register_template("XH_CHECKIN", "{name}您好,请回复现在的体温,如36.5;如有不适请一并写上,如37.6 咳嗽。")
KEYWORD_PATTERN = r"(?:体温|TW)?[:]?(?:3[4-9]|4[0-3])(?:\.[0-9])?(?![0-9])"
_READING = re.compile(r"^(?:体温|TW)?\s*[::]?\s*((?:3[4-9]|4[0-3])(?:\.[0-9])?)(?![0-9])\s*(?:℃|度|C)?\s*(.*)$", re.I)
_EDGE_PUNCTUATION = re.compile(r"^[\s,,。;;]+|[\s,,。;;]+$")
EARLY = dt.timedelta(hours=3)


def send_due_checkins(*, now: dt.datetime | None = None) -> int:
    """Queue the check-in SMS of every contact that is due and has none yet; returns how many."""
    now = now or timezone.now()
    due = (
        Contact.objects.filter(outcome="", checkin_sent_at__isnull=True, due_at__lte=now, case__status=CaseStatus.OPEN)
        .filter(due_at__gte=now - dt.timedelta(hours=6))  # not for contacts long past (the sweep marks them)
        .select_related("case__arrival")
    )
    sent = 0
    for contact in due:
        arrival = contact.case.arrival
        sms_send(
            to=arrival.phone, template=CHECKIN.code, params={"name": arrival.name}, purpose=CHECKIN_PURPOSE,
            idempotency_key=f"isolation-checkin:{contact.pk}",
        )
        Contact.objects.filter(pk=contact.pk).update(checkin_sent_at=now)
        sent += 1
    return sent


def parse_reading(text: str) -> tuple[str, str] | None:
    """(temperature, symptoms) from a reply, or None when it is not a reading."""
    found = _READING.match((text or "").strip())
    if found is None:
        return None
    return found[1], _EDGE_PUNCTUATION.sub("", found[2])[:200]


def handle_checkin_sms(message: InboundMessage) -> Reply:
    reading = parse_reading(message.text)
    if reading is None:
        return Reply(text="未能识别,请只回复体温数字,如36.5;如有不适请写上,如37.6 咳嗽。", purpose=REPLY_PURPOSE)
    temperature, symptoms = reading
    case = (
        IsolationCase.objects.filter(arrival__phone=message.phone, status=CaseStatus.OPEN)
        .select_related("rule").order_by("-starts_on", "-pk").first()
    )
    if case is None:
        return Reply(text="未找到您的居家隔离记录,如需帮助请联系居委会。", purpose=REPLY_PURPOSE)
    contact = (
        Contact.objects.filter(case=case, outcome="", due_at__lte=message.received_at + EARLY)
        .filter(Q(due_at__gte=message.received_at - dt.timedelta(hours=12)))
        .order_by("-due_at").first()
    )
    if contact is None:
        return Reply(text="已收到。下次联系时会再发短信提醒您。", committee=case.committee, purpose=REPLY_PURPOSE)
    fever = float(temperature) >= float(case.rule.fever_celsius)
    outcome = ContactOutcome.UNWELL if fever or symptoms else ContactOutcome.WELL
    try:
        contact_record(
            actor=None, contact=contact, outcome=outcome, temperature=temperature, symptoms=symptoms,
            via=ContactVia.SMS, now=message.received_at,
        )
    except ValidationError as exc:
        return Reply(text=f"未能记录:{''.join(exc.messages)}", committee=case.committee, purpose=REPLY_PURPOSE)
    if outcome == ContactOutcome.UNWELL:
        text = f"已记录体温{temperature}℃。居委会和社区卫生服务中心会尽快与您联系,请勿自行外出就医。"
    else:
        text = f"已记录体温{temperature}℃,谢谢配合。"
    return Reply(text=text, committee=case.committee, purpose=REPLY_PURPOSE)


def register() -> None:
    from xiuhua.sms.handlers import register_inbound_handler

    register_inbound_handler(KEYWORD_PATTERN, handle_checkin_sms, name="isolation.checkin")
