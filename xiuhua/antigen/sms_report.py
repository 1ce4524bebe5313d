"""Antigen results by text message, for phones that cannot open the page.

Grammar (full-width characters and spaces tolerated):

    抗原 阴性             the sender: the one living resident whose own mobile this is
    抗原 阳性 张三         the named member of the sender's household (full name as on the roster)
    抗原 阴性 全家         every living member of the sender's household(s)
    KY 阴性               the same, for phones without Chinese input

Without a name the report is the sender's own; when several living residents share the number
(an elderly couple with one phone) that is ambiguous and the reply asks for the name or 全家, so
nothing is ever reported for a person the sender did not name. The sender's number is vouched for
by the provider; the household comes from the roster (core of antigen_report_household).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from xiuhua.sms.handlers import InboundMessage, Reply

from .models import Channel, Result
from .notify import REPLY_PURPOSE
from .services import antigen_report_household, parse_result, phone_members

KEYWORD_PATTERN = r"(?:抗原|KY)"
_KEYWORD = re.compile(r"^\s*(?:抗原|KY)\s*[::,,]?\s*", re.IGNORECASE)
WHOLE_HOUSEHOLD = ("全家", "全部", "家人")
USAGE = "请按格式回复:抗原 阴性(本人),抗原 阳性 张三(家庭成员),或 抗原 阴性 全家。"


def handle_antigen_sms(message: InboundMessage) -> Reply:
    words = _KEYWORD.sub("", message.text, count=1).split()
    result = parse_result(words[0]) if words else ""
    if not result:
        return Reply(text=USAGE, purpose=REPLY_PURPOSE)
    name = "".join(words[1:]).strip()
    members = list(phone_members(message.phone))
    if not members:
        return Reply(text="未能确认您的住址:本手机号不在居委会花名册上,请联系居委会或楼组长代为上报。",
                     purpose=REPLY_PURPOSE)
    committee = members[0].household.committee if len({m.committee_id for m in members}) == 1 else None
    if name in WHOLE_HOUSEHOLD:
        chosen = members
    elif name:
        chosen = [m for m in members if m.name == name]
        if not chosen:
            return Reply(text=f"您家中没有登记名为“{name[:10]}”的在住人员,请核对姓名后重发。", committee=committee,
                         purpose=REPLY_PURPOSE)
    else:
        chosen = [m for m in members if m.mobile == message.phone]
        if len(chosen) != 1:
            return Reply(text="本手机号登记了多位家庭成员,请写明姓名,如:抗原 阴性 张三,或 抗原 阴性 全家。",
                         committee=committee, purpose=REPLY_PURPOSE)
    try:
        outcome = antigen_report_household(phone=message.phone, reports=[(m.pk, result) for m in chosen],
                                           channel=Channel.SMS, now=message.received_at)
    except ValidationError as exc:
        return Reply(text=f"未能上报:{''.join(exc.messages)}", committee=committee, purpose=REPLY_PURPOSE)
    label = Result(result).label
    text = f"已收到{len(chosen)}人今日抗原结果({label})。"
    if outcome.positives:
        text += "请全家留在家中不要外出,居委会将联系您并安排上门核酸单管复核。"
    return Reply(text=text, committee=committee, purpose=REPLY_PURPOSE)


def register() -> None:
    from xiuhua.sms.handlers import register_inbound_handler

    register_inbound_handler(KEYWORD_PATTERN, handle_antigen_sms, keyword="抗原", name="antigen.report")
