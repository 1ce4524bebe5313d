"""Text messages of the work-order module: the resident's confirmation (with the follow-up link)
and answer, and the reminders sent to staff as orders near or pass their deadline. All go
through the SMS queue, so the task worker sends them and retries; nothing is sent in a request."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.sms.services import sms_send, sms_send_staff
from xiuhua.sms.texts import register_purpose, register_template

from .models import Category, Ticket

# The token is a secret: it is dropped from the outbox once the message is out.
RECEIVED = register_template(
    "XH_TICKET_RECEIVED", "您的求助已登记,编号{number}。查看进度:{base}/help/t/{token}", secret_params=("token",)
)
REPLIED = register_template("XH_TICKET_REPLIED", "您的求助{number}已有答复,请点登记短信中的链接查看。")
# A request sent by SMS (often from a phone that cannot open links) gets the answer itself.
REPLIED_TEXT = register_template("XH_TICKET_REPLY_TEXT", "您的求助{number}答复:{reply}")
WAITING = register_template("XH_TICKET_WAITING", "紧急求助{number}({category})已等待{minutes}分钟未受理,请立即处理。")
URGE = register_template("XH_TICKET_URGE", "工单{number}催办:{note}")
REMINDER = register_template("XH_TICKET_REMIND", "工单{number}({category}){state},时限{deadline},请尽快办理。")


# What each message is for, in words on the staff SMS page (sms.texts.register_purpose).
RECEIVED_PURPOSE = register_purpose("ticket_received", _("求助登记回执"))
REPLIED_PURPOSE = register_purpose("ticket_replied", _("求助答复通知"))
REMINDER_PURPOSE = register_purpose("ticket_reminder", _("工单督办提醒"))
URGE_PURPOSE = register_purpose("ticket_urge", _("工单催办"))
WAITING_PURPOSE = register_purpose("ticket_waiting", _("紧急求助未受理提醒"))
SMS_REPLY_PURPOSE = register_purpose("tickets_reply", _("短信求助回复"))


def is_mobile(stored_phone: str) -> bool:
    """Stored phones are a mainland mobile (1...), a foreign one in E.164 (+...), or a landline
    taken by staff (0...-..., or the local number alone), which cannot receive texts."""
    return stored_phone[:1] in ("1", "+")


def follow_path(token: str) -> str:
    return f"/help/t/{token}/"


def public_base_url() -> str:
    return str(getattr(settings, "PUBLIC_BASE_URL", "")).rstrip("/")


def send_confirmation(ticket: Ticket, token: str, sequence: int = 0) -> bool:
    """Text the requester the ticket number and the follow-up link (queued; False without a
    mobile). `sequence` numbers a re-issued link, which is a new message."""
    if not is_mobile(ticket.requester_phone) or not token:
        return False
    sms_send(
        to=ticket.requester_phone, template=RECEIVED.code,
        params={"number": ticket.number, "base": public_base_url(), "token": token},
        purpose=RECEIVED_PURPOSE, committee=ticket.committee,
        idempotency_key=f"ticket-received-{ticket.pk}" + (f"-{sequence}" if sequence else ""),
    )
    return True


def send_replied(ticket: Ticket, reply_count: int) -> bool:
    if not is_mobile(ticket.requester_phone):
        return False
    if ticket.source == "sms":
        template, params = REPLIED_TEXT.code, {"number": ticket.number, "reply": ticket.reply_text[:120]}
    else:
        template, params = REPLIED.code, {"number": ticket.number}
    sms_send(
        to=ticket.requester_phone, template=template, params=params,
        purpose=REPLIED_PURPOSE, idempotency_key=f"ticket-replied-{ticket.pk}-{reply_count}",
        committee=ticket.committee,
    )
    return True


def send_reminder(ticket: Ticket, user, level: int, state: str) -> bool:
    """One reminder to one member of staff; False when they have no usable mobile."""
    deadline = timezone.localtime(ticket.deadline_at).strftime("%m-%d %H:%M")
    return sms_send_staff(
        user=user, template=REMINDER.code,
        params={"number": ticket.number, "category": str(Category(ticket.category).label), "state": state,
                "deadline": deadline},
        purpose=REMINDER_PURPOSE,
        # Per deadline: after an approved extension the same level may be reached again.
        idempotency_key=f"ticket-remind-{ticket.pk}-{level}-{user.pk}-{ticket.deadline_at:%Y%m%d%H%M}",
        committee=ticket.committee,
    )


def send_urge(ticket: Ticket, user, note: str, sequence: int) -> bool:
    """The street's 催办 note to one of the order's handlers; False without a usable mobile."""
    return sms_send_staff(
        user=user, template=URGE.code, params={"number": ticket.number, "note": note[:60]},
        purpose=URGE_PURPOSE, idempotency_key=f"ticket-urge-{ticket.pk}-{sequence}-{user.pk}",
        committee=ticket.committee,
    )


def send_waiting(ticket: Ticket, user, minutes: int) -> bool:
    """An urgent request nobody has accepted yet, to one of the committee's staff."""
    return sms_send_staff(
        user=user, template=WAITING.code,
        params={"number": ticket.number, "category": str(Category(ticket.category).label), "minutes": minutes},
        purpose=WAITING_PURPOSE, idempotency_key=f"ticket-waiting-{ticket.pk}-{user.pk}",
        committee=ticket.committee,
    )
