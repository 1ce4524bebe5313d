"""Writes of a street's departments (职能部门): create one, add and remove members, set the head,
and save a batch of routing-rule edits from the rules page.

Only a street officer of that street may do them; each runs in one transaction, locks the
department row it changes and writes an audit event with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Cap
from xiuhua.core.access import covers, require
from xiuhua.core.audit import audit
from xiuhua.places.models import Kind, OrgUnit

from . import services
from .models import Department

NAME_MAX = 60


def _street_officer(actor, street: OrgUnit):
    """The actor's membership when it is a street-level one covering `street`."""
    membership = require(actor, Cap.RECORD_TICKET)
    if membership.org_unit.kind == Kind.COMMITTEE:
        raise PermissionDenied  # committees hold orders; the street organises its departments
    if street.kind != Kind.STREET or not covers(membership, street):
        raise PermissionDenied
    return membership


def eligible_members(street: OrgUnit) -> QuerySet:
    """Who may join a department of the street: the active memberships held at the street
    itself (department staff first, and street officers or the health centre as well)."""
    return (
        Membership.objects.filter(org_unit=street, active=True, user__is_active=True)
        .select_related("user", "org_unit")
        .order_by("role", "user__display_name", "user__username", "pk")
    )


def _locked(department: Department) -> Department:
    return Department.objects.select_for_update(of=("self",)).select_related("street").get(pk=department.pk)


def _label(membership: Membership) -> str:
    return str(membership.user)[:60]


@transaction.atomic
def department_create(*, actor, street: OrgUnit, name: str) -> Department:
    _street_officer(actor, street)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("请填写部门名称")})
    if len(name) > NAME_MAX:
        too_long = ngettext("部门名称不能超过%(n)d个字", "部门名称不能超过%(n)d个字", NAME_MAX) % {"n": NAME_MAX}
        raise ValidationError({"name": too_long})
    if Department.objects.filter(street=street, name=name).exists():
        raise ValidationError({"name": _("本街道已有“%(name)s”") % {"name": name}})
    try:
        with transaction.atomic():
            department = Department.objects.create(street=street, name=name)
    except IntegrityError:  # created by someone else a moment ago
        raise ValidationError({"name": _("本街道已有“%(name)s”") % {"name": name}}) from None
    audit(actor=actor, action="department_create", obj=department, subject_label=name,
          detail={"street": street.pk})
    return department


@transaction.atomic
def department_member_add(*, actor, department: Department, membership: Membership) -> Department:
    _street_officer(actor, department.street)
    locked = _locked(department)
    if not eligible_members(locked.street).filter(pk=membership.pk).exists():
        raise ValidationError({"membership": _("只能添加本街道的在岗人员")})
    if locked.members.filter(pk=membership.pk).exists():
        raise ValidationError({"membership": _("%(who)s已是本部门成员") % {"who": _label(membership)}})
    locked.members.add(membership)
    audit(actor=actor, action="department_member_add", obj=locked, subject_label=locked.name,
          detail={"membership": membership.pk, "user": membership.user_id})
    return locked


@transaction.atomic
def department_member_remove(*, actor, department: Department, membership: Membership) -> Department:
    _street_officer(actor, department.street)
    locked = _locked(department)
    if not locked.members.filter(pk=membership.pk).exists():
        raise ValidationError({"membership": _("该人员不是本部门成员")})
    if locked.head_id == membership.pk:
        raise ValidationError({"membership": _("%(who)s是部门负责人,请先更换负责人") % {"who": _label(membership)}})
    locked.members.remove(membership)
    audit(actor=actor, action="department_member_remove", obj=locked, subject_label=locked.name,
          detail={"membership": membership.pk, "user": membership.user_id})
    return locked


@transaction.atomic
def department_head_set(*, actor, department: Department, head: Membership | None) -> Department:
    """The head is told first when an order is late; they must be a member (None: no head)."""
    _street_officer(actor, department.street)
    locked = _locked(department)
    if head is not None and not locked.members.filter(pk=head.pk, active=True).exists():
        raise ValidationError({"head": _("负责人须是本部门成员")})
    before = locked.head_id
    locked.head = head
    locked.save(update_fields=["head"])
    audit(actor=actor, action="department_head_set", obj=locked, subject_label=locked.name,
          detail={"from": before, "to": head.pk if head else None})
    return locked


@dataclass(frozen=True)
class RuleChange:
    category: str
    committee: OrgUnit | None  # None: the whole street
    department: Department | None  # None: remove the rule


@transaction.atomic
def routing_rules_save(*, actor, street: OrgUnit, changes: list[RuleChange]) -> int:
    """Apply the cells an officer changed on the rules page, all or none (each through
    services.routing_rule_set, which checks and audits it)."""
    _street_officer(actor, street)
    for change in changes:
        services.routing_rule_set(
            actor=actor, street=street, category=change.category, department=change.department,
            committee=change.committee,
        )
    return len(changes)
