"""Personal identifiers given as input are lookups, and lookups are governed (design rule 8).

Every search or match by an identity number (or its tail), a phone number or an address goes
through here:

- it answers only within the caller's scope: `personal_lookup` takes a queryset narrowed by
  `visible_to` (and refuses any other), so "exists elsewhere" cannot be told from "not found";
- it writes a personal-data audit event: who, which kind of key, for what, how many hits, never
  the key itself;
- it is rate-limited per actor (or resident phone) and per client address; the first refusal in
  a window is an alert: an audit event and a text to the street's officers, naming no one looked
  up.

A match that must look beyond the caller's scope (a tracing list naming someone who lives in
another street) uses `routing_match_record` and shows the caller nothing of what it found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from xiuhua.sms.texts import register_purpose, register_template

from . import ratelimit
from .audit import audit
from .ratelimit import rate_hit, rate_peek, subject_hash, window_start
from .scoping import active_membership

BURST_PURPOSE = register_purpose("lookup_burst", _("查询过于频繁提醒"))
BURST_ALERT = register_template(
    "XH_LOOKUP_BURST", "查询预警:{unit}的一名{role}短时间内按证件号、手机号或地址查询过多,已被暂停,请核实。"
)


class LookupKey(models.TextChoices):
    ID_NUMBER = "id_number", _("证件号码")
    ID_TAIL = "id_tail", _("证件号码尾号")
    # Four digits: the end of an identity number or of a phone number, either.
    TAIL = "tail", _("证件号码或手机号尾号")
    PHONE = "phone", _("手机号")
    ADDRESS = "address", _("地址")


@dataclass(frozen=True)
class LookupLimit:
    scope: str  # "actor" or "client"
    window: int  # seconds
    limit: int


# A committee worker at a busy desk looks up a few people a minute; forty in ten minutes and four
# hundred a day leave room for that and none for walking a list of guessed numbers. A client
# address may be a whole office behind one proxy, or a mobile carrier's shared address: its limit
# only stops one machine working through many accounts or phones.
LIMITS = (
    LookupLimit("actor", 600, 40),
    LookupLimit("actor", 86400, 400),
    LookupLimit("client", 600, 600),
)


class LookupThrottled(Exception):
    """Too many lookups: the message can be shown as it is; retry_after is in seconds."""

    def __init__(self, retry_after: int):
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(
            _("查询过于频繁,已暂停%(minutes)d分钟。按姓名或楼栋浏览不受影响;如确因工作需要,请联系街道防控办。")
            % {"minutes": minutes}
        )
        self.message = str(self)
        self.retry_after = retry_after


def _subjects(actor, client_ip: str, phone: str) -> dict[str, str]:
    subjects = {}
    if actor is not None and getattr(actor, "pk", None):
        subjects["actor"] = subject_hash("lookup-actor", str(actor.pk))
    elif phone:
        subjects["actor"] = subject_hash("lookup-phone", phone)
    if client_ip:
        subjects["client"] = subject_hash("lookup-client", client_ip)
    return subjects


@dataclass(frozen=True)
class LookupCounter:
    """One counter a caller's lookups add to: its key, the start of its current window, its limit."""

    rule: LookupLimit
    key: str
    window_start: dt.datetime


def lookup_counters(*, actor=None, client_ip: str = "", phone: str = "",
                    now: dt.datetime | None = None) -> list[LookupCounter]:
    """The counters lookup_throttle adds to for this caller, in their current windows. A statement
    that cannot spend a round trip on the throttle (the mask reservation's one statement) reads
    them itself and goes ahead only while every one is below its limit."""
    now = now or ratelimit.clock()
    subjects = _subjects(actor, client_ip, phone)
    return [
        LookupCounter(rule, f"lookup:{rule.scope}:{rule.window}:{subjects[rule.scope]}",
                      window_start(now, rule.window))
        for rule in LIMITS
        if rule.scope in subjects
    ]


def lookup_check(*, actor=None, client_ip: str = "", phone: str = "", now: dt.datetime | None = None) -> None:
    """Raises LookupThrottled when the next lookup would be refused, without counting one: for a
    caller that counts only failed attempts (a wrong identity number at the pharmacy counter)."""
    now = now or ratelimit.clock()
    for counter in lookup_counters(actor=actor, client_ip=client_ip, phone=phone, now=now):
        if rate_peek(counter.key, window=counter.rule.window, now=now) >= counter.rule.limit:
            end = counter.window_start + dt.timedelta(seconds=counter.rule.window)
            raise LookupThrottled(max(1, int((end - now).total_seconds() + 0.999)))


def lookup_throttle(*, actor=None, client_ip: str = "", phone: str = "", purpose: str = "",
                    now: dt.datetime | None = None) -> None:
    """Count one lookup; raises LookupThrottled past a limit (the refused one counts too)."""
    for counter in lookup_counters(actor=actor, client_ip=client_ip, phone=phone, now=now):
        rule = counter.rule
        result = rate_hit(counter.key, limit=rule.limit, window=rule.window, now=now)
        if not result.allowed:
            if result.count == rule.limit + 1:  # the first refusal in this window
                _alert_burst(actor=actor, purpose=purpose, rule=rule)
            raise LookupThrottled(result.retry_after)


def lookup_audit(*, actor, action: str, reason: str, detail: dict | None = None) -> None:
    """A personal audit event of a lookup, filed under the actor's committee when they act for
    one, so that the street's audit page lists it; never the key that was looked up."""
    from xiuhua.places.models import Kind

    membership = active_membership(actor)
    committee_id = membership.org_unit_id if membership and membership.org_unit.kind == Kind.COMMITTEE else None
    audit(actor=actor, action=action, personal=True, committee_id=committee_id, reason=reason, detail=detail)


def _alert_burst(*, actor, purpose: str, rule: LookupLimit) -> None:
    """An audit event and a text to the officers of the actor's street, written together. Callers
    throttle outside their own transaction, so the alert stands although the request is refused."""
    from xiuhua.accounts.models import Membership
    from xiuhua.accounts.roles import Role
    from xiuhua.places.models import Kind, OrgUnit
    from xiuhua.sms.services import sms_send_staff

    membership = active_membership(actor)
    with transaction.atomic():
        lookup_audit(actor=actor if membership else None, action="lookup_burst", reason=purpose,
                     detail={"scope": rule.scope, "window": rule.window, "limit": rule.limit})
        if membership is None:
            return
        ancestors = [int(p) for p in membership.org_unit.path.strip("/").split("/") if p]
        street = OrgUnit.objects.filter(pk__in=ancestors, kind=Kind.STREET).first()
        if street is None:
            return
        window_key = int(ratelimit.clock().timestamp()) // rule.window
        officers = Membership.objects.filter(org_unit=street, role=Role.STREET_OFFICER, active=True)
        for officer in officers.select_related("user"):
            sms_send_staff(
                user=officer.user, template=BURST_ALERT.code,
                params={"unit": membership.org_unit.name[:20], "role": str(membership.get_role_display())[:12]},
                purpose=BURST_PURPOSE,
                idempotency_key=f"lookup-burst:{membership.pk}:{rule.window}:{window_key}:{officer.user_id}",
            )


ScopedRows = TypeVar("ScopedRows", bound=QuerySet)


def personal_lookup(*, actor, key: str, purpose: str, scope: ScopedRows, match: Q, client_ip: str = "") -> ScopedRows:
    """`scope` (a `visible_to` queryset) narrowed by `match`, after the rate limits, with the
    lookup audited. Raises LookupThrottled; ImproperlyConfigured for an unscoped queryset."""
    if getattr(scope, "scoped_for", None) is None:
        raise ImproperlyConfigured("personal_lookup answers only within a scope: pass Model.objects.visible_to(user)")
    lookup_throttle(actor=actor, client_ip=client_ip, purpose=purpose)
    found = scope.filter(match)
    hits = found.count()
    lookup_audit(actor=actor, action="personal_lookup", reason=purpose,
                 detail={"key": key, "purpose": purpose, "hits": hits})
    return found


def routing_match_record(*, actor, keys: dict[str, int], purpose: str, matched: int, outside_scope: int,
                         committee_id: int | None = None) -> None:
    """Audit a bulk match that looked beyond the caller's scope to route work (a tracing list):
    how many keys of each kind, how many matched, how many went to places the caller cannot see.
    The caller must show nothing of those but that they were forwarded."""
    audit(actor=actor, action="routing_match", personal=True, reason=purpose, committee_id=committee_id,
          detail={"keys": keys, "purpose": purpose, "matched": matched, "outside_scope": outside_scope})
