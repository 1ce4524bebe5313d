"""Every write of the SMS gateway: queueing, delivery with retries, reports, inbound messages.

Outbound rows move only along OutboundSms.TRANSITIONS, with the row locked. The rows are their
own record of what happened (created, each attempt, sent, delivered or failed, with times), so
gateway traffic writes no audit events; a staff member's action (the simulated inbox) does.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.audit import audit
from xiuhua.core.crypto import mask_phone
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.scoping import active_membership
from xiuhua.places.models import Kind, OrgUnit

from . import handlers
from .backends import SmsPermanentError, SmsTemporaryError, get_backend, is_dev_backend
from .models import InboundSms, OutboundSms
from .texts import REPLY, render, scrub_params, segments

logger = logging.getLogger(__name__)

Status = OutboundSms.Status

# Wait after the 1st, 2nd, 3rd and 4th failed attempt; the 5th failure is final.
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(minutes=30))
MAX_ATTEMPTS = len(BACKOFF) + 1
# A message still "sending" this long after its attempt began lost its worker mid-send.
STALE_SENDING = dt.timedelta(minutes=10)
# A queued message this far past its time has lost its task (worker down, queue cleared).
LOST_TASK_GRACE = dt.timedelta(minutes=10)
# An inbound message still "received" this long after it was stored was never dispatched.
UNDISPATCHED_GRACE = dt.timedelta(minutes=1)

APOLOGY = "系统繁忙,您的短信未能处理,请稍后重发或联系居委会。"


def _enqueue(sms_id: int, run_after: dt.datetime | None = None) -> None:
    from .tasks import deliver_sms

    task = deliver_sms
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # sms_sweep picks it up when it is due
        task = task.using(run_after=run_after)
    task.enqueue(sms_id)


def sms_send(
    *,
    to: str,
    template: str,
    params: dict,
    purpose: str,
    idempotency_key: str,
    committee: OrgUnit | None = None,
) -> OutboundSms:
    """Queue one message; delivery happens in the task worker (deliver_sms).

    The same idempotency key returns the row queued first and queues nothing. Raises PhoneError
    for a number that is not a mobile, ValueError for an unknown template or missing parameter.
    """
    phone = normalise_mobile(to)
    if not phone:
        raise PhoneError(_("请填写手机号码"))
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValueError("idempotency_key must be 1-200 characters")
    params = {k: str(v) for k, v in params.items()}
    text = render(template, params)
    if segments(text) > 1:
        # Sent and billed as several parts that old phones may show out of order.
        logger.warning("SMS %s (%s) is %d characters: %d parts", template, purpose, len(text), segments(text))
    with transaction.atomic():
        existing = OutboundSms.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                sms = OutboundSms.objects.create(
                    phone=phone,
                    template=template,
                    params=params,
                    text=text,
                    purpose=purpose[:32],
                    committee=committee,
                    idempotency_key=idempotency_key,
                    next_attempt_at=timezone.now(),
                )
        except IntegrityError:
            # Queued a moment ago by a concurrent call with the same key.
            return OutboundSms.objects.get(idempotency_key=idempotency_key)
        pk = sms.pk
        transaction.on_commit(lambda: _enqueue(pk))
    return sms


def sms_send_staff(
    *, user, template: str, params: dict, purpose: str, idempotency_key: str, committee: OrgUnit | None = None
) -> bool:
    """sms_send to a member of staff's mobile on file (User.mobile): False, and nothing queued,
    when they have none or it is not a mobile. Work reminders and alerts go out this way."""
    mobile = getattr(user, "mobile", "")
    if not mobile:
        return False
    try:
        sms_send(to=mobile, template=template, params=params, purpose=purpose, idempotency_key=idempotency_key,
                 committee=committee)
    except PhoneError:
        return False
    return True


def _scrub(sms: OutboundSms) -> None:
    """Once a message is out (or never will be), its secrets need not be kept."""
    scrubbed = scrub_params(sms.template, sms.params)
    if scrubbed != sms.params:
        sms.params = scrubbed
        try:
            sms.text = render(sms.template, scrubbed)
        except ValueError:
            sms.text = ""


def sms_deliver(*, sms_id: int, now: dt.datetime | None = None) -> str:
    """One delivery attempt; returns the status the row is left in.

    The row is claimed (queued -> sending) under a lock before the backend is called, and the
    outcome recorded under the lock after, so two workers racing on one message send it once:
    the second finds it "sending" or "sent" and does nothing. The network call holds no lock.
    """
    now = now or timezone.now()
    with transaction.atomic():
        sms = OutboundSms.objects.select_for_update().filter(pk=sms_id).first()
        if sms is None:
            return "missing"
        if sms.status != Status.QUEUED or (sms.next_attempt_at is not None and sms.next_attempt_at > now):
            return sms.status
        sms.move(Status.SENDING)
        sms.attempts += 1
        sms.last_attempt_at = now
        sms.save(update_fields=["status", "attempts", "last_attempt_at"])

    provider_id = ""
    error = ""
    permanent = False
    try:
        provider_id = get_backend().send(sms)
    except SmsPermanentError as exc:
        error, permanent = str(exc), True
    except SmsTemporaryError as exc:
        error = str(exc)
    except Exception as exc:  # a backend bug must not leave the row "sending"
        logger.exception("SMS #%s: backend raised", sms_id)
        error = f"{type(exc).__name__}"

    with transaction.atomic():
        sms = OutboundSms.objects.select_for_update().get(pk=sms_id)
        if sms.status != Status.SENDING:
            return sms.status  # marked by sms_sweep as stale meanwhile
        fields = ["status", "last_error", "params", "text"]
        sms.last_error = error[:300]
        if not error:
            sms.move(Status.SENT)
            sms.provider_message_id = provider_id
            sms.sent_at = now
            fields += ["provider_message_id", "sent_at"]
            _scrub(sms)
        elif permanent or sms.attempts >= MAX_ATTEMPTS:
            sms.move(Status.FAILED)
            sms.failed_at = now
            fields.append("failed_at")
            _scrub(sms)
            logger.warning("SMS #%s failed after %s attempt(s): %s", sms.pk, sms.attempts, sms.last_error)
        else:
            sms.move(Status.QUEUED)
            sms.next_attempt_at = now + BACKOFF[sms.attempts - 1]
            fields.append("next_attempt_at")
            retry_at = sms.next_attempt_at
            transaction.on_commit(lambda: _enqueue(sms_id, run_after=retry_at))
        sms.save(update_fields=fields)
        return sms.status


# --- delivery reports ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    provider_message_id: str
    success: bool
    reported_at: dt.datetime
    error: str = ""


class UnknownMessage(Exception):
    pass


def sms_reports_apply(*, reports: list[DeliveryReport]) -> tuple[int, int]:
    """Apply delivery reports in one transaction; returns (applied, already recorded).

    A report for an unknown message id raises UnknownMessage and nothing is written (the
    provider retries later: the report may have overtaken our own record of the send).
    """
    applied = duplicates = 0
    with transaction.atomic():
        for report in reports:
            sms = (
                OutboundSms.objects.select_for_update()
                .filter(provider_message_id=report.provider_message_id)
                .exclude(provider_message_id="")
                .first()
            )
            if sms is None:
                raise UnknownMessage(report.provider_message_id)
            target = Status.DELIVERED if report.success else Status.FAILED
            if not sms.can_move(target):
                duplicates += 1
                continue
            sms.move(target)
            if report.success:
                sms.delivered_at = report.reported_at
                sms.save(update_fields=["status", "delivered_at"])
            else:
                sms.failed_at = report.reported_at
                sms.last_error = (report.error or "delivery failed")[:300]
                sms.save(update_fields=["status", "failed_at", "last_error"])
            applied += 1
    return applied, duplicates


# --- inbound ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingSms:
    phone: str
    text: str
    provider_message_id: str
    received_at: dt.datetime
    received_at_raw: str = ""
    source: str = InboundSms.Source.PROVIDER


def _stored_phone(raw: str) -> str:
    try:
        return normalise_mobile(raw) or raw.strip()[:20]
    except PhoneError:
        return "".join(ch for ch in raw if ch.isalnum() or ch == "+")[:20]


def inbound_store(*, messages: list[IncomingSms], committee: OrgUnit | None = None) -> tuple[list[InboundSms], int]:
    """Store new messages in one transaction; returns (stored, replays skipped).

    A message id seen before is skipped: the unique constraint decides, so two deliveries of
    one message at the same moment store it once.
    """
    stored: list[InboundSms] = []
    duplicates = 0
    with transaction.atomic():
        for message in messages:
            try:
                with transaction.atomic():
                    stored.append(
                        InboundSms.objects.create(
                            phone=_stored_phone(message.phone),
                            text=message.text,
                            provider_message_id=message.provider_message_id,
                            received_at=message.received_at,
                            received_at_raw=message.received_at_raw[:64],
                            source=message.source,
                            committee=committee,
                        )
                    )
            except IntegrityError:
                duplicates += 1
    return stored, duplicates


def _can_reply(phone: str) -> bool:
    try:
        return bool(normalise_mobile(phone))
    except PhoneError:
        return False


def _as_reply(result: handlers.HandlerResult) -> handlers.Reply | None:
    if result is None:
        return None
    if isinstance(result, str):
        return handlers.Reply(text=result) if result.strip() else None
    return result


def _queue_reply(inbound: InboundSms, reply: handlers.Reply, committee: OrgUnit | None) -> str:
    template, params = (reply.template, reply.params) if reply.template else (REPLY.code, {"content": reply.text})
    sms = sms_send(
        to=inbound.phone,
        template=template,
        params=params,
        purpose=reply.purpose or "reply",
        idempotency_key=f"reply:{inbound.pk}",
        committee=committee,
    )
    return render(sms.template, sms.params, masked=True)


def inbound_dispatch(*, inbound_id: int) -> InboundSms:
    """Hand a stored message to its keyword's handler and queue the reply, in one transaction.

    A message already dispatched is left alone. If the handler raises, its work is rolled
    back, the message is marked as an error and the sender gets an apology.
    """
    try:
        with transaction.atomic():
            inbound = InboundSms.objects.select_for_update().get(pk=inbound_id)
            if inbound.status != InboundSms.Status.RECEIVED:
                return inbound
            found = handlers.find_handler(inbound.text)
            if found is None:
                reply: handlers.Reply | None = handlers.Reply(text=handlers.help_text(unrecognised=True))
                inbound.status = InboundSms.Status.UNRECOGNISED
            else:
                entry, match = found
                message = handlers.InboundMessage(
                    sms=inbound,
                    phone=inbound.phone,
                    text=handlers.normalise_text(inbound.text),
                    compact=handlers.match_text(inbound.text),
                    match=match,
                    received_at=inbound.received_at,
                )
                reply = _as_reply(entry.handler(message))
                inbound.status = InboundSms.Status.HANDLED
                inbound.handler = entry.name[:100]
            if reply is not None and reply.committee is not None:
                inbound.committee = reply.committee
            if reply is not None and _can_reply(inbound.phone):
                inbound.reply = _queue_reply(inbound, reply, inbound.committee)
            elif reply is not None:
                inbound.error = "no reply: the sender is not a mobile number"
            inbound.handled_at = timezone.now()
            inbound.save(update_fields=["status", "handler", "reply", "error", "handled_at", "committee"])
            return inbound
    except Exception as exc:
        logger.exception("inbound SMS #%s: handling failed", inbound_id)
        with transaction.atomic():
            inbound = InboundSms.objects.select_for_update().get(pk=inbound_id)
            if inbound.status != InboundSms.Status.RECEIVED:
                return inbound
            inbound.status = InboundSms.Status.ERROR
            inbound.error = f"{type(exc).__name__}"[:300]
            inbound.handled_at = timezone.now()
            if _can_reply(inbound.phone):
                inbound.reply = _queue_reply(inbound, handlers.Reply(text=APOLOGY), inbound.committee)
            inbound.save(update_fields=["status", "error", "reply", "handled_at"])
            return inbound


def inbound_receive(
    *,
    phone: str,
    text: str,
    provider_message_id: str,
    received_at: dt.datetime,
    received_at_raw: str = "",
    source: str = InboundSms.Source.PROVIDER,
    committee: OrgUnit | None = None,
) -> InboundSms | None:
    """Store and dispatch one message: the path of the webhook, sms_receive and the staff
    page's simulated inbox. None if the message id was seen before."""
    stored, _duplicates = inbound_store(
        messages=[IncomingSms(phone, text, provider_message_id, received_at, received_at_raw, source)],
        committee=committee,
    )
    if not stored:
        return None
    return inbound_dispatch(inbound_id=stored[0].pk)


def simulated_message_id() -> str:
    import uuid

    return f"sim-{uuid.uuid4().hex}"


def inbound_simulate(*, actor, phone: str, text: str) -> InboundSms:
    """The simulated inbox (dev backend only): a resident's SMS, played by the system
    administrator. It acts as the sender, so committee staff may not: they could file a help
    request or a reservation as another committee's resident."""
    membership = active_membership(actor)
    if membership is None or not membership.has(Cap.SIMULATE_SMS) or not is_dev_backend():
        raise PermissionDenied
    errors = {}
    try:
        phone = normalise_mobile(phone)
        if not phone:
            errors["phone"] = _("请填写手机号码")
    except PhoneError as exc:
        errors["phone"] = str(exc)
    text = (text or "").strip()
    if not text:
        errors["text"] = _("请填写短信内容")
    elif len(text) > 500:
        errors["text"] = _("短信内容不能超过500字")
    if errors:
        raise ValidationError(errors)
    committee = membership.org_unit if membership.org_unit.kind == Kind.COMMITTEE else None
    with transaction.atomic():
        inbound = inbound_receive(
            phone=phone,
            text=text,
            provider_message_id=simulated_message_id(),
            received_at=timezone.now(),
            source=InboundSms.Source.SIMULATED,
            committee=committee,
        )
        assert inbound is not None  # a fresh id is never a replay
        audit(
            actor=actor,
            action="sms_simulate_inbound",
            obj=inbound,
            committee_id=inbound.committee_id,
            subject_label=mask_phone(phone),
            detail={"status": inbound.status},
        )
    return inbound


# --- housekeeping (cron: manage.py sms_sweep) ----------------------------------------------


def sms_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Repair what a stopped worker or a lost task left behind.

    - queued messages long past their time get a new delivery task (a duplicate task is
      harmless: delivery claims the row under a lock);
    - messages "sending" for longer than STALE_SENDING are failed, not resent: the provider
      may have them, and a message must not go out twice;
    - inbound messages stored but never dispatched are dispatched.
    """
    now = now or timezone.now()
    counts = {"requeued": 0, "stale_failed": 0, "dispatched": 0}
    for sms_id in OutboundSms.objects.filter(
        status=Status.QUEUED, next_attempt_at__lte=now - LOST_TASK_GRACE
    ).values_list("pk", flat=True)[:1000]:
        transaction.on_commit(partial(_enqueue, sms_id))
        counts["requeued"] += 1
    stale = OutboundSms.objects.filter(status=Status.SENDING, last_attempt_at__lte=now - STALE_SENDING)
    for sms_id in stale.values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            sms = OutboundSms.objects.select_for_update().get(pk=sms_id)
            if sms.status != Status.SENDING:
                continue
            sms.move(Status.FAILED)
            sms.failed_at = now
            sms.last_error = "worker stopped while sending; outcome unknown, not resent"
            _scrub(sms)
            sms.save(update_fields=["status", "failed_at", "last_error", "params", "text"])
            counts["stale_failed"] += 1
    undispatched = InboundSms.objects.filter(
        status=InboundSms.Status.RECEIVED, stored_at__lte=now - UNDISPATCHED_GRACE
    ).order_by("received_at", "pk")
    for inbound_id in undispatched.values_list("pk", flat=True)[:1000]:
        inbound_dispatch(inbound_id=inbound_id)
        counts["dispatched"] += 1
    return counts
