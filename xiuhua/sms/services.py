"""Every write of the SMS gateway: queueing, delivery with retries, reports, inbound messages.

Every status change is a declared action of workflows.py, moved by core.workflow.move: the row
locked, the table checked, one audit event written (named by template and id, never by phone
or text). A staff member's action (the simulated inbox) writes its own audit event too.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import require
from xiuhua.core.audit import audit
from xiuhua.core.crypto import mask_phone
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.workflow import move, move_many
from xiuhua.places.models import Kind, OrgUnit

from . import handlers
from .backends import SmsBackend, SmsPermanentError, SmsTemporaryError, get_backend, is_dev_backend
from .models import InboundSms, OutboundSms
from .texts import REPLY, render, scrub_params, segments

logger = logging.getLogger(__name__)

Status = OutboundSms.Status

# Wait after the 1st, 2nd, 3rd and 4th failed attempt; the 5th failure is final.
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(minutes=30))
MAX_ATTEMPTS = len(BACKOFF) + 1
# A worker starts a claimed message's request only this soon after claiming it (a batch takes
# well under a second per chunk); a message still "sending" later than this plus the provider
# timeout lost its worker, and the sweep asks the provider whether it has it (RECONCILE_MARGIN
# covers clocks a little apart between machines).
CLAIM_SEND_WINDOW = dt.timedelta(seconds=20)
RECONCILE_MARGIN = dt.timedelta(seconds=10)
# A message still "sending" this long, whose provider cannot be asked (or cannot answer), is
# failed and not resent: the provider may have it.
STALE_SENDING = dt.timedelta(minutes=10)
# A queued message this far past its time has lost its task (worker down, queue cleared).
LOST_TASK_GRACE = dt.timedelta(minutes=1)
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


def _batch_size() -> int:
    return max(1, int(getattr(settings, "SMS_BATCH_SIZE", 100)))


def _enqueue_drains(count: int, run_after: dt.datetime | None = None) -> None:
    """`count` batch tasks (deliver_due_sms), each sending due messages until none are left."""
    from .tasks import deliver_due_sms

    task = deliver_due_sms
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # sms_sweep picks them up when they are due
        task = task.using(run_after=run_after)
    for _n in range(count):
        task.enqueue()


def _drains_for(messages: int) -> int:
    """As many batch tasks as there are workers to run them (SMS_DELIVERY_TASKS), fewer for a
    handful of messages."""
    return max(1, min(int(getattr(settings, "SMS_DELIVERY_TASKS", 4)), math.ceil(messages / _batch_size())))


@dataclass(frozen=True)
class BulkMessage:
    to: str
    params: dict
    idempotency_key: str
    committee_id: int | None = None
    # Not sent before this time (a notice timed to its slot); None: at once. The sweep hands a
    # message that came due to a delivery task within about a minute (LOST_TASK_GRACE).
    send_at: dt.datetime | None = None


def sms_send_many(*, template: str, purpose: str, messages: list[BulkMessage], batch_size: int = 2000) -> int:
    """Queue many messages of one template with a few bulk INSERTs, in the caller's transaction
    (an allocation's thousands of voucher texts): what sms_send does for one, without a save per
    row. A key already queued is skipped (its message went out already); a number that is not a
    mobile is skipped. The delivery tasks are enqueued once the transaction has committed, so
    nothing is sent for a rolled-back batch. Returns how many rows were queued."""
    keyed: dict[str, OutboundSms] = {}
    now = timezone.now()
    for message in messages:
        if not message.idempotency_key or len(message.idempotency_key) > 200:
            raise ValueError("idempotency_key must be 1-200 characters")
        try:
            phone = normalise_mobile(message.to)
        except PhoneError:
            continue
        if not phone or message.idempotency_key in keyed:
            continue
        params = {k: str(v) for k, v in message.params.items()}
        keyed[message.idempotency_key] = OutboundSms(
            phone=phone, template=template, params=params, text=render(template, params), purpose=purpose[:32],
            committee_id=message.committee_id, idempotency_key=message.idempotency_key,
            next_attempt_at=max(message.send_at, now) if message.send_at else now,
        )
    if not keyed:
        return 0
    keys = list(keyed)
    with transaction.atomic():
        for start in range(0, len(keys), batch_size):
            chunk = keys[start:start + batch_size]
            for existing in OutboundSms.objects.filter(idempotency_key__in=chunk).values_list(
                    "idempotency_key", flat=True):
                keyed.pop(existing, None)
        rows = list(keyed.values())
        OutboundSms.objects.bulk_create(rows, batch_size=batch_size, ignore_conflicts=True)
        ids: list[int] = []
        new_keys = list(keyed)
        for start in range(0, len(new_keys), batch_size):
            ids.extend(OutboundSms.objects.filter(
                idempotency_key__in=new_keys[start:start + batch_size], status=Status.QUEUED,
                created_at__gte=now,
            ).values_list("pk", flat=True))
        if ids:
            transaction.on_commit(partial(_enqueue_drains, _drains_for(len(ids))))
    return len(ids)


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


def _status_now(sms_id: int) -> str:
    """The status of a row a move was refused on: another worker, a report or the sweep moved it
    first, or it is not due yet."""
    return OutboundSms.objects.filter(pk=sms_id).values_list("status", flat=True).first() or "missing"


def sms_deliver(*, sms_id: int, now: dt.datetime | None = None) -> str:
    """One delivery attempt; returns the status the row is left in.

    The row is claimed (queued -> sending) under a lock before the backend is called, and the
    outcome recorded under the lock after, so two workers racing on one message send it once:
    the second finds it "sending" or "sent" and does nothing. The network call holds no lock.
    """
    now = now or timezone.now()

    def claim(locked: OutboundSms) -> dict:
        if locked.next_attempt_at is not None and locked.next_attempt_at > now:
            raise ValidationError("not due yet")
        locked.attempts += 1
        locked.last_attempt_at = now
        return {"attempt": locked.attempts}

    try:
        # Only the id is known: move reads the row under its lock, nothing before.
        sms = move(OutboundSms(pk=sms_id), "claim", actor=None, change=claim, now=now)
    except PermissionDenied:
        return "missing"
    except ValidationError:
        return _status_now(sms_id)

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

    def sent(locked: OutboundSms) -> None:
        locked.last_error = ""
        locked.provider_message_id = provider_id
        locked.sent_at = now
        _scrub(locked)

    def failed(locked: OutboundSms) -> None:
        locked.last_error = error[:300]
        locked.failed_at = now
        _scrub(locked)

    def queued_again(locked: OutboundSms) -> None:
        locked.last_error = error[:300]
        locked.next_attempt_at = now + BACKOFF[locked.attempts - 1]

    if not error:
        action, change = "hand_over", sent
    elif permanent or sms.attempts >= MAX_ATTEMPTS:
        action, change = "fail", failed
    else:
        action, change = "retry", queued_again
    try:
        sms = move(sms, action, actor=None, change=change, now=now)
    except ValidationError:
        return _status_now(sms_id)  # marked by sms_sweep as stale meanwhile
    if action == "fail":
        logger.warning("SMS #%s failed after %s attempt(s): %s", sms.pk, sms.attempts, sms.last_error)
    elif action == "retry":
        retry_at = sms.next_attempt_at
        transaction.on_commit(lambda: _enqueue(sms_id, run_after=retry_at))
    return sms.status


# --- batch delivery (a street's notices: deliver_due_sms) ---------------------------------


def _claim_due(*, limit: int, now: dt.datetime) -> list[OutboundSms]:
    """Claim (queued -> sending) up to `limit` due messages, oldest first, in one transaction:
    rows another worker has locked are skipped, the claim is one UPDATE and one audit event
    naming the ids."""
    with transaction.atomic():
        due = list(
            OutboundSms.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", "template")[:limit]
        )
        if not due:
            return []
        ids = [pk for pk, _template in due]
        move_many(
            OutboundSms.objects.filter(pk__in=ids), "claim", actor=None,
            values={"attempts": F("attempts") + 1, "last_attempt_at": now},
            detail={"sms_ids": ids}, subject_label=_batch_label({template for _pk, template in due}, len(ids)),
        )
        return list(OutboundSms.objects.filter(pk__in=ids, status=Status.SENDING).order_by("pk"))


def _batch_label(templates: set[str], count: int) -> str:
    """The audit label of a batch move: its templates and how many, as a single move's
    "<template> #<id>" names one."""
    return f"{'/'.join(sorted(templates))} ×{count}"


def _per_row(field: str, values: dict[int, str]) -> Case:
    return Case(*(When(pk=pk, then=Value(value)) for pk, value in values.items()), default=F(field),
                output_field=CharField())


def _record_batch(sent: dict[int, OutboundSms], outcomes: dict[int, str | Exception], now: dt.datetime) -> None:
    """Record a sent chunk's outcomes in one transaction: one move_many (and audit event) per
    outcome, the provider ids and errors set per row in the same UPDATE. Rows no longer
    "sending" (the sweep reconciled them) are left as they are."""
    handed: dict[int, str] = {}
    retry: dict[int, list[int]] = defaultdict(list)  # attempts -> ids
    failed: list[int] = []
    errors: dict[int, str] = {}
    for pk, outcome in outcomes.items():
        if isinstance(outcome, str):
            handed[pk] = outcome
            continue
        if isinstance(outcome, SmsPermanentError | SmsTemporaryError):
            errors[pk] = str(outcome)[:300]
        else:
            logger.error("SMS #%s: backend raised %s", pk, type(outcome).__name__)
            errors[pk] = type(outcome).__name__
        if isinstance(outcome, SmsPermanentError) or sent[pk].attempts >= MAX_ATTEMPTS:
            failed.append(pk)
        else:
            retry[sent[pk].attempts].append(pk)
    retry_at: list[dt.datetime] = []

    def label(ids) -> str:
        return _batch_label({sent[pk].template for pk in ids}, len(ids))

    with transaction.atomic():
        mine = set(OutboundSms.objects.filter(pk__in=list(outcomes), status=Status.SENDING)
                   .order_by("pk").select_for_update().values_list("pk", flat=True))
        handed = {pk: value for pk, value in handed.items() if pk in mine}
        if handed:
            move_many(OutboundSms.objects.filter(pk__in=list(handed)), "hand_over", actor=None,
                      values={"last_error": "", "sent_at": now,
                              "provider_message_id": _per_row("provider_message_id", handed)},
                      detail={"sms_ids": sorted(handed)}, subject_label=label(handed))
        for attempts, ids in sorted(retry.items()):
            ids = [pk for pk in ids if pk in mine]
            if ids:
                when = now + BACKOFF[attempts - 1]
                move_many(OutboundSms.objects.filter(pk__in=ids), "retry", actor=None,
                          values={"next_attempt_at": when,
                                  "last_error": _per_row("last_error", {pk: errors[pk] for pk in ids})},
                          detail={"sms_ids": ids}, subject_label=label(ids))
                retry_at.append(when)
        failed = [pk for pk in failed if pk in mine]
        if failed:
            move_many(OutboundSms.objects.filter(pk__in=failed), "fail", actor=None,
                      values={"failed_at": now,
                              "last_error": _per_row("last_error", {pk: errors[pk] for pk in failed})},
                      detail={"sms_ids": failed}, subject_label=label(failed))
            logger.warning("%d SMS failed", len(failed))
        # Secrets (a one-time code) need not be kept once the message is out or never will be.
        scrubbed = []
        for pk in [*handed, *failed]:
            sms = sent[pk]
            before = (sms.params, sms.text)
            _scrub(sms)
            if (sms.params, sms.text) != before:
                scrubbed.append(sms)
        if scrubbed:
            OutboundSms.objects.bulk_update(scrubbed, ["params", "text"])
        if retry_at:
            transaction.on_commit(partial(_enqueue_drains, 1, min(retry_at)))


def sms_deliver_batch(*, limit: int | None = None, now: dt.datetime | None = None) -> int:
    """Claim up to `limit` due messages, send them SMS_SEND_CONCURRENCY at a time, and record
    the outcomes: what sms_deliver does for one, with a few statements per chunk instead of per
    message. Returns how many were claimed (0: nothing is due).

    A message's request is started only within CLAIM_SEND_WINDOW of its claim; past that it is
    not sent and goes back to the queue (the sweep may otherwise take it for lost)."""
    now = now or timezone.now()
    claimed_at = time.monotonic()
    rows = _claim_due(limit=limit or _batch_size(), now=now)
    if not rows:
        return 0
    deadline = claimed_at + CLAIM_SEND_WINDOW.total_seconds()
    backend = get_backend()
    try:
        if isinstance(backend, SmsBackend):
            results = backend.send_many(rows, deadline=deadline)
        else:  # a backend with send() only
            results = SmsBackend.send_many(backend, rows, deadline=deadline)  # type: ignore[arg-type]
    except Exception as exc:  # a backend bug must not leave the rows "sending"
        logger.exception("SMS batch: backend raised")
        results = [exc] * len(rows)
    _record_batch({sms.pk: sms for sms in rows}, {sms.pk: result for sms, result in zip(rows, results, strict=True)},
                  now)
    return len(rows)


def sms_deliver_due(*, budget_seconds: float = 5.0) -> int:
    """The batch task's work: deliver due messages chunk by chunk until none are left, or until
    the budget is spent, then hand over to a successor task (so that the worker returns to its
    queue between chunks of a long fan-out: a one-time code is not stuck behind a street's
    notices). Returns how many messages were claimed."""
    started = time.monotonic()
    total = 0
    while True:
        claimed = sms_deliver_batch()
        total += claimed
        if claimed == 0:
            return total
        if time.monotonic() - started > budget_seconds:
            _enqueue_drains(1)
            return total


# --- delivery reports ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    provider_message_id: str
    success: bool
    reported_at: dt.datetime
    error: str = ""
    out_id: str = ""  # "xh-<row id>", echoed from the send


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
            sms = _reported_message(report)
            if sms is None:
                raise UnknownMessage(report.provider_message_id)
            try:
                move(sms, "report_delivered" if report.success else "report_failed", actor=None,
                     change=partial(_apply_report, report))
            except ValidationError:
                duplicates += 1  # delivered or failed already
                continue
            applied += 1
    return applied, duplicates


def _reported_message(report: DeliveryReport) -> OutboundSms | None:
    found = (
        OutboundSms.objects.filter(provider_message_id=report.provider_message_id)
        .exclude(provider_message_id="")
        .first()
    )
    if found is None and report.out_id:
        # A message the sweep found at the provider by its OutId (sms_sweep) has that OutId as its
        # provider id, the provider's query giving no BizId; its reports echo the OutId.
        found = OutboundSms.objects.filter(provider_message_id=report.out_id).first()
    return found


def _apply_report(report: DeliveryReport, locked: OutboundSms) -> None:
    if report.out_id and locked.provider_message_id == report.out_id:
        locked.provider_message_id = report.provider_message_id  # the BizId, learnt at last
    if report.success:
        locked.delivered_at = report.reported_at
    else:
        locked.failed_at = report.reported_at
        locked.last_error = (report.error or "delivery failed")[:300]


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


class _HandlerFailed(Exception):
    """The handler (or queueing its reply) raised: its work is rolled back with the move."""


def inbound_dispatch(*, inbound_id: int) -> InboundSms:
    """Hand a stored message to its keyword's handler and queue the reply, in one transaction.

    A message already dispatched is left alone. If the handler raises, its work is rolled
    back, the message is marked as an error and the sender gets an apology.
    """
    inbound = InboundSms.objects.get(pk=inbound_id)
    found = handlers.find_handler(inbound.text)  # the text never changes: read before the lock

    def handle(locked: InboundSms) -> dict | None:
        try:
            if found is None:
                reply: handlers.Reply | None = handlers.Reply(text=handlers.help_text(unrecognised=True))
            else:
                entry, match = found
                message = handlers.InboundMessage(
                    sms=locked,
                    phone=locked.phone,
                    text=handlers.normalise_text(locked.text),
                    compact=handlers.match_text(locked.text),
                    match=match,
                    received_at=locked.received_at,
                )
                reply = _as_reply(entry.handler(message))
                locked.handler = entry.name[:100]
            if reply is not None and reply.committee is not None:
                locked.committee = reply.committee
            if reply is not None and _can_reply(locked.phone):
                locked.reply = _queue_reply(locked, reply, locked.committee)
            elif reply is not None:
                locked.error = "no reply: the sender is not a mobile number"
        except Exception as exc:
            raise _HandlerFailed from exc
        locked.handled_at = timezone.now()
        return {"handler": locked.handler} if found else None

    try:
        return move(inbound, "handle" if found else "mark_unrecognised", actor=None, change=handle)
    except ValidationError:
        return InboundSms.objects.get(pk=inbound_id)  # dispatched meanwhile
    except Exception as exc:
        logger.exception("inbound SMS #%s: handling failed", inbound_id)
        cause = exc.__cause__ if isinstance(exc, _HandlerFailed) and exc.__cause__ is not None else exc

    def failed(locked: InboundSms) -> None:
        locked.error = f"{type(cause).__name__}"[:300]
        locked.handled_at = timezone.now()
        if _can_reply(locked.phone):
            locked.reply = _queue_reply(locked, handlers.Reply(text=APOLOGY), locked.committee)

    try:
        return move(inbound, "fail", actor=None, change=failed)
    except ValidationError:
        return InboundSms.objects.get(pk=inbound_id)  # dispatched meanwhile


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
    membership = require(actor, Cap.SIMULATE_SMS)
    if not is_dev_backend():
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


def _abandon(locked: OutboundSms, *, now: dt.datetime) -> None:
    locked.failed_at = now
    locked.last_error = "worker stopped while sending; outcome unknown, not resent"
    _scrub(locked)


def reconcile_after() -> dt.timedelta:
    """How long after its claim a "sending" message is taken to have lost its worker."""
    timeout = dt.timedelta(seconds=float(getattr(settings, "SMS_PROVIDER_TIMEOUT", 10)))
    return CLAIM_SEND_WINDOW + timeout + RECONCILE_MARGIN


def _recover(sms: OutboundSms, *, now: dt.datetime) -> str:
    """A message whose worker stopped between its claim and its status write: asked of the
    provider, it is marked sent if the provider has it and queued again if the provider has not;
    if the provider cannot be asked it is failed once STALE_SENDING has passed (at most once:
    never sent twice, possibly not at all). Returns "sent", "requeued", "failed" or "" (left)."""
    attempted = sms.last_attempt_at

    def unchanged(locked: OutboundSms) -> None:
        if locked.last_attempt_at != attempted:
            raise ValidationError("claimed again meanwhile")

    backend = get_backend()
    try:
        if not isinstance(backend, SmsBackend):
            raise NotImplementedError  # a backend with send() only
        found = backend.lookup(sms)
    except (NotImplementedError, SmsTemporaryError) as exc:
        if attempted is not None and attempted > now - STALE_SENDING:
            return ""  # asked again at the next sweep
        reason = "cannot be asked" if isinstance(exc, NotImplementedError) else f"did not answer: {exc}"

        def abandon(locked: OutboundSms) -> dict:
            unchanged(locked)
            _abandon(locked, now=now)
            return {"provider": reason[:100]}

        move(sms, "abandon", actor=None, change=abandon, now=now)
        return "failed"
    if found:
        def sent(locked: OutboundSms) -> dict:
            unchanged(locked)
            locked.provider_message_id = found[:64]
            locked.sent_at = locked.last_attempt_at
            locked.last_error = ""
            _scrub(locked)
            return {"recovered": "the provider has it"}

        move(sms, "hand_over", actor=None, change=sent, now=now)
        return "sent"

    def again(locked: OutboundSms) -> dict:
        unchanged(locked)
        locked.next_attempt_at = now
        locked.last_error = "worker stopped before the provider had it; sent again"
        return {"recovered": "the provider does not have it"}

    move(sms, "retry", actor=None, change=again, now=now)
    return "requeued"


def sms_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Repair what a stopped worker or a lost task left behind.

    - queued messages past their time by LOST_TASK_GRACE ("overdue": their task was lost, or a
      long fan-out is still going) get batch delivery tasks (a duplicate task is harmless:
      delivery claims rows under a lock, and a task finding nothing due ends);
    - messages "sending" for longer than reconcile_after() lost their worker between the claim
      and the status write: the provider is asked (lookup by OutId); what it has is marked sent,
      what it has not is queued again and sent, so each is sent once. A provider that cannot be
      asked gets the old rule after STALE_SENDING: failed, not resent;
    - inbound messages stored but never dispatched are dispatched.
    """
    now = now or timezone.now()
    counts = {"overdue": 0, "recovered_sent": 0, "recovered_requeued": 0, "stale_failed": 0, "dispatched": 0}
    lost = OutboundSms.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now - LOST_TASK_GRACE).count()
    if lost:
        transaction.on_commit(partial(_enqueue_drains, _drains_for(lost)))
        counts["overdue"] = lost
    stale = OutboundSms.objects.filter(status=Status.SENDING, last_attempt_at__lte=now - reconcile_after())
    for sms in stale.order_by("pk")[:1000]:
        try:
            outcome = _recover(sms, now=now)
        except ValidationError:
            continue  # its worker finished meanwhile
        key = {"sent": "recovered_sent", "requeued": "recovered_requeued", "failed": "stale_failed"}.get(outcome)
        if key:
            counts[key] += 1
    if counts["recovered_requeued"]:
        transaction.on_commit(partial(_enqueue_drains, _drains_for(counts["recovered_requeued"])))
    undispatched = InboundSms.objects.filter(
        status=InboundSms.Status.RECEIVED, stored_at__lte=now - UNDISPATCHED_GRACE
    ).order_by("received_at", "pk")
    for inbound_id in undispatched.values_list("pk", flat=True)[:1000]:
        inbound_dispatch(inbound_id=inbound_id)
        counts["dispatched"] += 1
    return counts
