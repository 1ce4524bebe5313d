"""Designated pharmacies (指定药店): the set-up a street officer (or a district officer over its
streets) does through the pages: create and edit a pharmacy, choose the committees it serves
(each committee is served by one pharmacy), attach clerks (an existing clerk account of the
street, or a new one made on the spot with an initial password the clerk must change) and
deactivate it. Every change is audited; no audit event holds a phone number or a password."""

from __future__ import annotations

import re

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.access import access_by_id, access_unit
from xiuhua.core.audit import audit
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.text import check_person_name
from xiuhua.places.models import Kind, OrgUnit

from ..models import Pharmacy, PharmacyCommittee

# Initial passwords: no 0/O, 1/l/I, so that they can be read out and typed without mistakes.
PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[A-Za-z0-9_.@+-]{3,30}$")


def _locked(actor, pharmacy: Pharmacy) -> Pharmacy:
    return access_by_id(Pharmacy.objects.select_related("street"), actor, cap=Cap.MANAGE_ROUNDS, lock=True,
                        pk=pharmacy.pk)


def _clean_fields(name: str, address: str, opening_hours: str) -> tuple[str, str, str]:
    name, address, opening_hours = (name or "").strip(), (address or "").strip(), (opening_hours or "").strip()
    errors = {}
    if not name:
        errors["name"] = _("请填写药店名称")
    elif len(name) > 100:
        errors["name"] = _("药店名称不能超过100个字")
    if not address:
        errors["address"] = _("请填写药店地址")
    elif len(address) > 200:
        errors["address"] = _("地址不能超过200个字")
    if len(opening_hours) > 100:
        errors["opening_hours"] = _("营业时间不能超过100个字")
    if errors:
        raise ValidationError(errors)
    return name, address, opening_hours


@transaction.atomic
def pharmacy_create(*, actor, street: OrgUnit, name: str, address: str, opening_hours: str = "") -> Pharmacy:
    access_unit(actor, street, Cap.MANAGE_ROUNDS)
    if street.kind != Kind.STREET:
        raise ValidationError({"street": _("请选择街道")})
    name, address, opening_hours = _clean_fields(name, address, opening_hours)
    if Pharmacy.objects.filter(street=street, name=name).exists():
        raise ValidationError({"name": _("本街道已有同名药店")})
    pharmacy = Pharmacy.objects.create(street=street, name=name, address=address, opening_hours=opening_hours)
    audit(actor=actor, action="pharmacy_create", obj=pharmacy, subject_label=name, detail={"street": street.pk})
    return pharmacy


@transaction.atomic
def pharmacy_update(*, actor, pharmacy: Pharmacy, name: str, address: str, opening_hours: str = "") -> Pharmacy:
    """Change a pharmacy's name, address or hours; the audit event keeps each old and new value."""
    locked = _locked(actor, pharmacy)
    name, address, opening_hours = _clean_fields(name, address, opening_hours)
    if name != locked.name and Pharmacy.objects.filter(street=locked.street, name=name).exists():
        raise ValidationError({"name": _("本街道已有同名药店")})
    values = {"name": name, "address": address, "opening_hours": opening_hours}
    diff = {f: [getattr(locked, f), v] for f, v in values.items() if getattr(locked, f) != v}
    if not diff:
        return locked
    for field, (_old, new) in diff.items():
        setattr(locked, field, new)
    locked.save(update_fields=list(diff))
    audit(actor=actor, action="pharmacy_update", obj=locked, subject_label=locked.name, detail={"changes": diff})
    return locked


@transaction.atomic
def pharmacy_assign_committee(*, actor, pharmacy: Pharmacy, committee: OrgUnit) -> PharmacyCommittee:
    """Make `pharmacy` the committee's designated one (a committee is served by one pharmacy).

    Reservations already made keep the pharmacy they were made for."""
    locked = _locked(actor, pharmacy)
    if not locked.active:
        raise ValidationError({"committees": _("药店已停用,不能再指定服务居委会")})
    if committee.kind != Kind.COMMITTEE or not committee.path.startswith(locked.street.path):
        raise ValidationError({"committees": _("请选择本街道的居委会")})
    link = PharmacyCommittee.objects.select_for_update().filter(committee=committee).first()
    if link is None:
        link, created = PharmacyCommittee.objects.get_or_create(committee=committee, defaults={"pharmacy": locked})
        old = None if created else link.pharmacy_id
    else:
        old = link.pharmacy_id
    if old == locked.pk:
        return link
    if link.pharmacy_id != locked.pk:
        link.pharmacy = locked
        link.save(update_fields=["pharmacy"])
    audit(
        actor=actor,
        action="pharmacy_assign_committee",
        obj=locked,
        committee_id=committee.pk,
        subject_label=f"{locked.name} → {committee.name}",
        detail={"old_pharmacy": old, "pharmacy": locked.pk},
    )
    return link


@transaction.atomic
def pharmacy_set_committees(*, actor, pharmacy: Pharmacy, committees) -> tuple[int, int]:
    """The committees `pharmacy` serves become exactly `committees` (of its street): the new ones
    are taken over from whichever pharmacy served them, the ones left out are served by none.
    Returns (added, removed); one audit event per committee that changed."""
    locked = _locked(actor, pharmacy)
    wanted = {c.pk: c for c in committees}
    for committee in wanted.values():
        if committee.kind != Kind.COMMITTEE or not committee.path.startswith(locked.street.path):
            raise ValidationError({"committees": _("请选择本街道的居委会")})
    current = set(PharmacyCommittee.objects.filter(pharmacy=locked).values_list("committee_id", flat=True))
    added = 0
    for pk, committee in sorted(wanted.items()):
        if pk not in current:
            pharmacy_assign_committee(actor=actor, pharmacy=locked, committee=committee)
            added += 1
    removed = 0
    for link in PharmacyCommittee.objects.filter(pharmacy=locked).exclude(committee_id__in=wanted).select_related(
        "committee"
    ):
        link.delete()
        audit(
            actor=actor,
            action="pharmacy_unassign_committee",
            obj=locked,
            committee_id=link.committee_id,
            subject_label=f"{locked.name} ✕ {link.committee.name}",
            detail={"pharmacy": locked.pk},
        )
        removed += 1
    return added, removed


def _clerk_membership_ok(pharmacy: Pharmacy, membership: Membership) -> bool:
    return (
        membership.role == Role.PHARMACY_CLERK
        and membership.active
        and membership.user.is_active
        and membership.org_unit_id == pharmacy.street_id
    )


@transaction.atomic
def pharmacy_add_clerk(*, actor, pharmacy: Pharmacy, membership: Membership) -> None:
    """Attach a clerk: an active pharmacy-clerk membership in the pharmacy's street."""
    locked = _locked(actor, pharmacy)
    if not _clerk_membership_ok(locked, membership):
        raise ValidationError({"membership": _("只能添加本街道的指定药店店员账号")})
    if locked.clerks.filter(pk=membership.pk).exists():
        return
    locked.clerks.add(membership)
    audit(
        actor=actor,
        action="pharmacy_add_clerk",
        obj=locked,
        subject_label=f"{locked.name}: {membership.user}",
        detail={"membership": membership.pk},
    )


@transaction.atomic
def pharmacy_remove_clerk(*, actor, pharmacy: Pharmacy, membership: Membership) -> None:
    locked = _locked(actor, pharmacy)
    if not locked.clerks.filter(pk=membership.pk).exists():
        return
    locked.clerks.remove(membership)
    audit(
        actor=actor,
        action="pharmacy_remove_clerk",
        obj=locked,
        subject_label=f"{locked.name}: {membership.user}",
        detail={"membership": membership.pk},
    )


def new_initial_password() -> str:
    return get_random_string(PASSWORD_LENGTH, allowed_chars=PASSWORD_CHARS)


@transaction.atomic
def pharmacy_clerk_create(
    *, actor, pharmacy: Pharmacy, username: str, display_name: str, mobile: str
) -> tuple[Membership, str]:
    """Make a clerk's account (a pharmacy-clerk membership in the pharmacy's street), attach it to
    the pharmacy and return it with its initial password, which is shown once and must be changed
    at the first sign-in (User.must_change_password)."""
    locked = _locked(actor, pharmacy)
    if not locked.active:
        raise ValidationError(_("药店已停用,不能添加店员"))
    username = (username or "").strip()
    display_name = (display_name or "").strip()
    errors: dict[str, str] = {}
    if not _USERNAME.match(username):
        errors["username"] = _("用户名为3到30位英文字母、数字或 _ . @ + -")
    else:
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError:
            errors["username"] = _("用户名为3到30位英文字母、数字或 _ . @ + -")
        if User.objects.filter(username__iexact=username).exists():
            errors["username"] = _("该用户名已被使用,请换一个")
    try:
        check_person_name(display_name)
    except ValidationError as exc:
        errors["display_name"] = " ".join(exc.messages)
    if not display_name:
        errors["display_name"] = _("请填写店员姓名")
    phone = ""
    try:
        phone = normalise_mobile(mobile or "")
    except PhoneError as exc:
        errors["mobile"] = str(exc)
    if not phone and "mobile" not in errors:
        errors["mobile"] = _("请填写店员的手机号码")
    if errors:
        raise ValidationError(errors)
    password = new_initial_password()
    user = User(username=username, display_name=display_name, mobile=phone, must_change_password=True)
    user.set_password(password)
    user.save()
    membership = Membership.objects.create(user=user, org_unit=locked.street, role=Role.PHARMACY_CLERK)
    audit(
        actor=actor,
        action="pharmacy_clerk_create",
        obj=locked,
        subject_label=f"{locked.name}: {user}",
        detail={"membership": membership.pk, "user": user.pk},
    )
    locked.clerks.add(membership)
    audit(
        actor=actor,
        action="pharmacy_add_clerk",
        obj=locked,
        subject_label=f"{locked.name}: {user}",
        detail={"membership": membership.pk},
    )
    return membership, password


@transaction.atomic
def pharmacy_deactivate(*, actor, pharmacy: Pharmacy) -> Pharmacy:
    """Stop using a pharmacy. It must first hand its committees to another pharmacy, so that no
    committee is left without one in the middle of a round; its vouchers stay redeemable there."""
    locked = _locked(actor, pharmacy)
    if not locked.active:
        return locked
    serving = list(PharmacyCommittee.objects.filter(pharmacy=locked).select_related("committee"))
    if serving:
        names = "、".join(link.committee.name for link in serving)
        raise ValidationError(
            _("该药店仍服务%(names)s,请先将这些居委会改由其他药店服务,再停用") % {"names": names}
        )
    locked.active = False
    locked.save(update_fields=["active"])
    audit(actor=actor, action="pharmacy_deactivate", obj=locked, subject_label=locked.name)
    return locked
