"""Residents' own channels into the mask queue: the SMS keyword 口罩/KZ, and the per-phone limit
that the online pages share with it.

SMS grammar (documented on every committee page too)::

    口罩 姓名 证件号 小区 楼号 室号          e.g.  口罩 张三 310110198005170011 国和一村 5号楼 302
    口罩 居委会代码 姓名 证件号 [小区] 楼号 室号   (the committee's 12-digit code, from its page)

- the keyword is 口罩 or KZ (any case, full-width letters too);
- fields are separated by spaces (full-width or half-width, any number), 、 , or ,;
- the building may be written 5, 5号, 5号楼, 5幢, 5栋 or 5楼; the room 302 or 302室;
- the compound is found by name among all compounds; when the name is unknown or belongs to
  several committees, the reply asks for the committee's short form (its code) or a call;
- identity type follows from the number: 18 characters is a resident ID (81/82/83...: the
  HK/Macau/Taiwan residence permit, 9...: the foreign permanent residence card), H/M and digits
  an HK/Macau permit, 8 or 10 digits a Taiwan permit, anything else a passport.

The order time is the provider's receive time (InboundSms.received_at), never the time the
message was processed. The reply is one SMS (under 70 characters where possible).

Per-phone limit (against bots and resale, for both online and SMS): one phone may hold at most
PHONE_ROUND_LIMIT live reservations in a round: the resident's own and one more (typically an
elderly parent without a mobile phone). Each takes a numbered slot under a unique index, so
parallel requests cannot pass the limit together (services.reservations); the same person
sending again always gets their existing reservation back, limit or not.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from xiuhua.core.idnumbers import guess_id_type
from xiuhua.core.lookups import LookupThrottled
from xiuhua.places.addresses import building_key, room_key
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.selectors import find_building, find_household
from xiuhua.sms.handlers import InboundMessage, Reply
from xiuhua.sms.texts import register_purpose

from .models import Channel, MaskRound, ReservationStatus, RoundStatus
from .services.reservations import reservation_submit_resident

REPLY_PURPOSE = register_purpose("masks_reply", gettext_lazy("口罩短信预约回复"))
KEYWORD_PATTERN = r"(?:口罩|KZ)"


# --- shared by the online pages and SMS ---------------------------------------------------


def rounds_for(committee: OrgUnit):
    """Non-draft rounds whose scope covers the committee, the current one first."""
    ancestors = [int(p) for p in committee.path.strip("/").split("/") if p]
    qs = MaskRound.objects.filter(scope_id__in=ancestors).exclude(status=RoundStatus.DRAFT)
    return qs.order_by("-opens_at", "-pk")


def current_round(committee: OrgUnit, *, at: dt.datetime) -> MaskRound | None:
    """The round open at `at` for the committee; else the latest one (so that the service can
    say it has closed or not begun); None when the committee has never had one."""
    rounds = list(rounds_for(committee))
    for r in rounds:
        if r.status in (RoundStatus.OPEN, RoundStatus.CLOSED) and r.opens_at <= at < r.closes_at:
            return r
    return rounds[0] if rounds else None


# --- SMS ----------------------------------------------------------------------------------

VERIFYING_REPLY = gettext_lazy("已收到登记,需居委会核实后生效。如有疑问请致电居委会。")
FORMAT_HELP = gettext_lazy("格式:口罩 姓名 证件号 小区 楼号 室号,如:口罩 张三 证件号 国和一村 5号楼 302")
_SEPARATORS = re.compile(r"[、,,;;/]+")
_KEYWORD = re.compile(r"^\s*(?:口罩|KZ)\s*", re.IGNORECASE)


@dataclass
class ParsedSms:
    name: str
    id_number: str
    address: str  # compound building room, as sent (spaces kept)
    committee_code: str = ""


def parse_sms(text: str) -> ParsedSms | None:
    """Split an SMS into its fields; None when it does not follow the grammar."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _KEYWORD.sub("", text, count=1)
    text = _SEPARATORS.sub(" ", text)
    text = re.sub(r"[。.!]+\s*$", "", text)
    tokens = text.split()
    code = ""
    if tokens and re.fullmatch(r"[0-9]{12}", tokens[0]):
        code = tokens.pop(0)
    if len(tokens) < 3:
        return None
    name, id_number, rest = tokens[0], tokens[1].upper(), tokens[2:]
    if not re.search(r"[0-9]", id_number):  # a name of two parts, "张 三"?
        if len(tokens) >= 4 and re.search(r"[0-9]", tokens[2]):
            name, id_number, rest = tokens[0] + tokens[1], tokens[2].upper(), tokens[3:]
        else:
            return None
    return ParsedSms(name=name, id_number=id_number, address=" ".join(rest), committee_code=code)


_COMPACT = re.compile(r"([0-9A-Z]+(?:号楼|号|幢|栋|楼|座)?)-?([0-9A-Z-]+(?:室|号|房)?)")
_PLAIN_KEY = re.compile(r"[0-9A-Z]*[0-9][0-9A-Z]*(?:-[0-9A-Z]+)*")


def _after_compound(address: str, compound_name: str) -> str:
    """What follows the compound's name in the address (spaces inside the name skipped)."""
    i = 0
    for ch in compound_name:
        while i < len(address) and address[i] == " ":
            i += 1
        if i < len(address) and address[i] == ch:
            i += 1
    return address[i:]


def _is_building(token: str) -> bool:
    return bool(_PLAIN_KEY.fullmatch(building_key(token)))


def _is_room(token: str) -> bool:
    return bool(_PLAIN_KEY.fullmatch(room_key(token)))


def _split_address(address: str, compound_name: str) -> tuple[str, str] | None:
    """(building, room) from what follows the compound name; None when either is missing.

    People sign their messages: anything after a complete address (a name, 谢谢, a phone) is
    ignored, and never read as part of the address. A building or room is a token whose key is
    made of digits and letters (5, 5号楼, 第5幢, 五号楼; 302, 302室, 3楼302, 三〇二)."""
    tokens = _after_compound(address, compound_name).split()
    if not tokens:
        return None
    if len(tokens) >= 2 and _is_building(tokens[0]) and _is_room(tokens[1]):
        return tokens[0], tokens[1]
    first = tokens[0].upper()
    whole = _COMPACT.fullmatch(first)
    if whole:
        return whole.group(1), whole.group(2)
    # "5号楼302室谢谢": a building and room written together, words right after them.
    head = _COMPACT.match(first)
    if head and not re.match(r"[0-9A-Z-]", first[head.end():]):
        return head.group(1), head.group(2)
    return None


def _compounds_named(address: str, committee: OrgUnit | None):
    """Compounds whose name is the longest prefix of the address."""
    compact = address.replace(" ", "")
    prefixes = [compact[:i] for i in range(2, min(len(compact), 100) + 1)]
    qs = OrgUnit.objects.filter(kind=Kind.COMPOUND, name__in=prefixes)
    if committee is not None:
        qs = qs.filter(committee=committee)
    found = list(qs.select_related("committee"))
    if not found:
        return []
    longest = max(len(c.name) for c in found)
    return [c for c in found if len(c.name) == longest]


def _short(text: str, limit: int = 66) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def handle_mask_sms(message: InboundMessage) -> Reply:
    """Reserve masks by SMS: `口罩 姓名 证件号 小区 楼号 室号` (see the module docstring).

    Full-width characters, extra spaces and 、,, separators are tolerated; the building may be
    5, 5号, 5号楼, 5幢 or 5栋. The order time is message.received_at. Replies (Chinese, one SMS):
    the reservation number; one fixed "waiting for verification" text, without a number, for
    every entry not matched to the roster (number not on it, or name or committee not the
    roster's); the existing number for a repeat; otherwise the reason, and nothing is written.
    """
    parsed = parse_sms(message.text)
    if parsed is None:
        return Reply(text="未能识别。" + FORMAT_HELP, purpose=REPLY_PURPOSE)
    committee: OrgUnit | None = None
    if parsed.committee_code:
        committee = OrgUnit.objects.filter(kind=Kind.COMMITTEE, code=parsed.committee_code).first()
        if committee is None:
            return Reply(text="居委会代码不正确,请核对居委会公布的代码,或致电居委会。", purpose=REPLY_PURPOSE)
    compounds = _compounds_named(parsed.address, committee)
    if committee is not None and not compounds:
        only = list(OrgUnit.objects.filter(kind=Kind.COMPOUND, committee=committee)[:2])
        compounds = only if len(only) == 1 else []
        compound_name = ""
    else:
        compound_name = compounds[0].name if compounds else ""
    if not compounds:
        return Reply(
            text=_short("未找到该小区。请核对小区名,或按居委会公布的短格式(含居委会代码)发送,或致电居委会。"),
            committee=committee,
            purpose=REPLY_PURPOSE,
        )
    if len({c.committee_id for c in compounds}) > 1:
        return Reply(
            text=_short(f"“{compound_name}”有重名,请按居委会公布的短格式(含居委会代码)发送,或致电居委会。"),
            purpose=REPLY_PURPOSE,
        )
    compound = compounds[0]
    committee = compound.committee
    assert committee is not None
    parts = _split_address(parsed.address, compound_name)
    if parts is None:
        return Reply(text=_short("地址不完整。" + FORMAT_HELP), committee=committee, purpose=REPLY_PURPOSE)
    building = find_building(compound, parts[0])
    if building is None:
        return Reply(
            text=_short(f"{compound.name}没有{parts[0]}这个楼号,请核对后重发,或致电居委会。"),
            committee=committee,
            purpose=REPLY_PURPOSE,
        )
    room = room_key(parts[1])
    household = find_household(building, parts[1])
    mask_round = current_round(committee, at=message.received_at)
    if mask_round is None:
        return Reply(text="目前没有进行中的口罩预约。", committee=committee, purpose=REPLY_PURPOSE)
    try:
        outcome = reservation_submit_resident(
            round=mask_round,
            phone=message.phone,
            channel=Channel.SMS,
            name=parsed.name,
            id_type=guess_id_type(parsed.id_number),
            id_number=parsed.id_number,
            committee=committee,
            household=household,
            address_text=f"{compound.name}{building.name}{room}室",
            received_at=message.received_at,
        )
    except ValidationError as exc:
        reason = "".join(exc.messages)
        return Reply(text=_short(f"预约未成功:{reason}"), committee=committee, purpose=REPLY_PURPOSE)
    except LookupThrottled as exc:
        return Reply(text=_short(exc.message), committee=committee, purpose=REPLY_PURPOSE)
    r = outcome.reservation
    if r.status == ReservationStatus.VERIFYING:
        # The same reply for every entry that waits (not on the roster, or a name or committee that
        # is not the roster's), without its number: nothing in it tells them apart.
        text = str(VERIFYING_REPLY)
    elif not outcome.own:
        text = "该证件本轮已由其他手机号预约,请用登记时的手机号查询,或致电居委会。"
    elif not outcome.created:
        text = f"您本轮已预约,预约号{r.number},无需重复发送。"
    else:
        text = f"口罩预约成功,预约号{r.number}。到货后将短信通知您到指定药店购买。"
    return Reply(text=_short(text), committee=committee, purpose=REPLY_PURPOSE)


def register() -> None:
    from xiuhua.sms.handlers import register_inbound_handler

    # Listed in the generic help reply; a bare "口罩" gets this handler's format reply.
    register_inbound_handler(KEYWORD_PATTERN, handle_mask_sms, keyword="口罩", name="masks.reserve")


__all__ = [
    "current_round",
    "handle_mask_sms",
    "parse_sms",
    "register",
]
