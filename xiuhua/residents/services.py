"""Every write to households and residents. Each runs in one transaction with its audit event."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import require
from xiuhua.core.audit import audit
from xiuhua.core.crypto import decrypt_text
from xiuhua.core.idnumbers import IdNumberError, check_id_against, normalise, number_holds_birth_date
from xiuhua.core.lookups import lookup_audit, lookup_check, lookup_throttle
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.text import check_person_name
from xiuhua.places.models import Grid, Kind, OrgUnit

from .identity import identity_fields, identity_hash
from .models import Household, LivingStatus, Relation, Resident, ResidentTag, Sex

HOUSEHOLD_FIELDS = ("room", "is_rental", "landlord_name", "landlord_phone", "grid", "micro_grid")
RESIDENT_FIELDS = (
    "name",
    "sex",
    "birth_date",
    "mobile",
    "relation",
    "living_status",
    "away_until",
    "language",
    "specialty",
    "skills",
    "vaccine_doses",
    "vaccinated_on",
)
MAX_VACCINE_DOSES = 5


def _check_household(
    *, building: OrgUnit, room: str, is_rental: bool, landlord_name: str, landlord_phone: str, grid: Grid | None,
    micro_grid: Grid | None,
) -> dict:
    errors = {}
    try:
        landlord_name = check_person_name(landlord_name)
    except ValidationError as exc:
        errors["landlord_name"] = exc.messages[0]
    if building.kind != Kind.BUILDING:
        errors["building"] = _("请选择楼栋")
    room = (room or "").strip()
    if not room:
        errors["room"] = _("请填写室号")
    if landlord_phone:
        try:
            landlord_phone = normalise_mobile(landlord_phone)
        except PhoneError as exc:
            errors["landlord_phone"] = str(exc)
    elif is_rental:
        errors["landlord_phone"] = _("出租房须填写房东联系电话")
    for field, value in (("grid", grid), ("micro_grid", micro_grid)):
        if value is not None and value.committee_id != building.committee_id:
            errors[field] = _("网格须属于本居委会")
    if micro_grid is not None and micro_grid.kind != Grid.GridKind.MICRO:
        errors["micro_grid"] = _("请选择微网格")
    if grid is not None and grid.kind != Grid.GridKind.GRID:
        errors["grid"] = _("请选择网格")
    if errors:
        raise ValidationError(errors)
    return {"room": room, "landlord_name": landlord_name, "landlord_phone": landlord_phone}


def _save_household(household: Household) -> None:
    """Save in a savepoint; the unique (building, room) constraint decides a duplicate address."""
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError:
        raise ValidationError({"room": _("该地址已登记")}) from None


@transaction.atomic
def household_create(
    *,
    actor,
    building: OrgUnit,
    room: str,
    is_rental: bool = False,
    landlord_name: str = "",
    landlord_phone: str = "",
    grid: Grid | None = None,
    micro_grid: Grid | None = None,
) -> Household:
    membership = require(actor, Cap.EDIT_RESIDENTS)
    if not OrgUnit.objects.visible_to(actor).filter(pk=building.pk).exists():
        raise PermissionDenied
    if membership.grid is not None:
        # A grid worker's new households land in their own grid, where they can see them.
        own = membership.grid
        if grid is None and micro_grid is None:
            grid, micro_grid = (own.parent, own) if own.kind == Grid.GridKind.MICRO else (own, None)
        elif own.pk not in (getattr(grid, "pk", None), getattr(micro_grid, "pk", None)):
            raise ValidationError({"grid": _("网格员只能在自己负责的网格内登记住户")})
    cleaned = _check_household(
        building=building,
        room=room,
        is_rental=is_rental,
        landlord_name=landlord_name,
        landlord_phone=landlord_phone,
        grid=grid,
        micro_grid=micro_grid,
    )
    household = Household(
        building=building, is_rental=is_rental, grid=grid, micro_grid=micro_grid, **cleaned
    )
    _save_household(household)
    audit(
        actor=actor,
        action="household_create",
        obj=household,
        committee_id=household.committee_id,
        subject_label=household.address,
    )
    return household


@transaction.atomic
def household_update(*, actor, household: Household, **changes) -> Household:
    require(actor, Cap.EDIT_RESIDENTS)
    household = Household.objects.visible_to(actor).select_for_update().get(pk=household.pk)
    values = {f: changes.get(f, getattr(household, f)) for f in HOUSEHOLD_FIELDS}
    cleaned = _check_household(
        building=household.building,
        room=values["room"],
        is_rental=values["is_rental"],
        landlord_name=values["landlord_name"],
        landlord_phone=values["landlord_phone"],
        grid=values["grid"],
        micro_grid=values["micro_grid"],
    )
    values.update(cleaned)
    changed = sorted(f for f in HOUSEHOLD_FIELDS if getattr(household, f) != values[f])
    if not changed:
        return household
    for field in changed:
        setattr(household, field, values[field])
    _save_household(household)
    audit(
        actor=actor,
        action="household_update",
        obj=household,
        committee_id=household.committee_id,
        subject_label=household.address,
        detail={"fields": changed},
    )
    return household


def _clean_resident(
    values: dict, *, id_type: str | None = None, id_number: str | None = None, birth_date_refused: bool = False
) -> dict:
    errors: dict[str, str] = {}
    if birth_date_refused:
        errors["birth_date"] = _("出生日期取自证件号码,无需填写;如有误,请重新填写证件号码")
    cleaned = {f: values.get(f) for f in RESIDENT_FIELDS}
    for text_field in ("language", "specialty", "skills"):
        cleaned[text_field] = (values.get(text_field) or "").strip()
    try:
        cleaned["name"] = check_person_name(values.get("name") or "")
    except ValidationError as exc:
        errors["name"] = exc.messages[0]
    else:
        if not cleaned["name"]:
            errors["name"] = _("请填写姓名")
    cleaned["living_status"] = values.get("living_status") or LivingStatus.HERE
    if cleaned["living_status"] not in LivingStatus.values:
        errors["living_status"] = _("居住状态不正确")
    if values.get("relation") not in Relation.values:
        errors["relation"] = _("请选择与户主关系")
    if values.get("sex") not in Sex.values:
        errors["sex"] = _("请选择性别")
    try:
        cleaned["mobile"] = normalise_mobile(values.get("mobile") or "")
    except PhoneError as exc:
        errors["mobile"] = str(exc)
    if values.get("living_status") == LivingStatus.AWAY:
        if not values.get("away_until"):
            errors["away_until"] = _("外出人员须填写预计返回日期")
    else:
        cleaned["away_until"] = None
    _clean_vaccination(values, cleaned, errors)
    if id_number is not None:
        try:
            checked = check_id_against(id_type or "", id_number, birth_date=values.get("birth_date"))
        except IdNumberError as exc:
            errors["id_number"] = str(exc)
        else:
            if checked.sex and values.get("sex") and values["sex"] != checked.sex:
                errors["sex"] = _("性别与证件号码不一致")
            cleaned["_number"] = checked.number
            cleaned["birth_date"] = checked.birth_date or cleaned["birth_date"]
    if not cleaned["birth_date"]:
        # Where the number holds it, the number's own error says what is wrong.
        if not number_holds_birth_date(id_type or "", normalise(id_number or "")):
            errors["birth_date"] = _("请填写出生日期")
    elif cleaned["birth_date"] > dt.date.today():
        errors["birth_date"] = _("出生日期不能晚于今天")
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_vaccination(values: dict, cleaned: dict, errors: dict) -> None:
    raw = values.get("vaccine_doses")
    try:
        doses = 0 if raw is None or raw == "" else int(raw)
    except (TypeError, ValueError):
        doses = -1
    if not 0 <= doses <= MAX_VACCINE_DOSES:
        errors["vaccine_doses"] = _("接种剂次请填写0到%(max)s的整数") % {"max": MAX_VACCINE_DOSES}
    cleaned["vaccine_doses"] = doses
    on = values.get("vaccinated_on") or None
    if on is not None:
        if not isinstance(on, dt.date):
            errors["vaccinated_on"] = _("日期格式不正确,请写成 1980-05-17")
        elif on > dt.date.today():
            errors["vaccinated_on"] = _("接种日期不能晚于今天")
        elif doses == 0:
            errors["vaccinated_on"] = _("填写了接种日期,接种剂次不能为0")
    cleaned["vaccinated_on"] = on


def _set_tags(resident: Resident, tags) -> list[str]:
    wanted = set(tags)
    current = set(resident.tags.values_list("tag", flat=True))
    resident.tags.filter(tag__in=current - wanted).delete()
    ResidentTag.objects.bulk_create(
        [ResidentTag(resident=resident, tag=t, committee_id=resident.committee_id) for t in sorted(wanted - current)]
    )
    return sorted(wanted ^ current)


def _duplicate_error(actor, id_hash: str, *, exclude_pk: int | None = None) -> ValidationError | None:
    existing = Resident.objects.filter(id_hash=id_hash).exclude(pk=exclude_pk).first()
    if existing is None:
        return None
    if Resident.objects.visible_to(actor).filter(pk=existing.pk).exists():
        return ValidationError(
            {"id_number": _("该证件号码已登记在 %(address)s") % {"address": existing.household.address}}
        )
    # Another committee's resident: say so without telling where (and see identity_governed).
    return ValidationError(
        {"id_number": ValidationError(_("该证件号码已在其他居委会登记,请联系街道核实"), code=ELSEWHERE)}
    )


ELSEWHERE = "registered_elsewhere"


def identity_governed(write, *, actor, client_ip: str = "", **kwargs):
    """`resident_create` or `resident_update`, with the identity number treated as the lookup it
    is (design rule 8): "registered in another committee" tells that a number exists, so each
    such answer is audited and counts against the actor's lookup limits, and past them no number
    is checked at all (LookupThrottled). Outside the write's transaction, so the count stands."""
    if kwargs.get("id_number"):
        lookup_check(actor=actor, client_ip=client_ip)
    try:
        return write(actor=actor, **kwargs)
    except ValidationError as exc:
        codes = exc.error_dict.get("id_number", []) if hasattr(exc, "error_dict") else []
        if any(error.code == ELSEWHERE for error in codes):
            lookup_audit(actor=actor, action="identity_elsewhere", reason=write.__name__)
            lookup_throttle(actor=actor, client_ip=client_ip, purpose="resident_identity")
        raise


@transaction.atomic
def resident_create(*, actor, household: Household, id_type: str, id_number: str, tags=(), **values) -> Resident:
    require(actor, Cap.EDIT_RESIDENTS)
    household = Household.objects.visible_to(actor).get(pk=household.pk)
    cleaned = _clean_resident(values, id_type=id_type, id_number=id_number)
    number = cleaned.pop("_number")
    fields = identity_fields(id_type, number)
    error = _duplicate_error(actor, fields["id_hash"])
    if error:
        raise error
    resident = Resident(household=household, **{f: cleaned[f] for f in RESIDENT_FIELDS}, **fields)
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError:
        raise ValidationError({"id_number": _("该证件号码已登记")}) from None
    _set_tags(resident, tags)
    audit(
        actor=actor,
        action="resident_create",
        obj=resident,
        committee_id=resident.committee_id,
        subject_label=f"{resident.name} {resident.id_masked}",
    )
    return resident


@transaction.atomic
def resident_update(
    *,
    actor,
    resident: Resident,
    tags=None,
    id_type: str | None = None,
    id_number: str | None = None,
    household: Household | None = None,
    **values,
) -> Resident:
    """Change a resident; a blank id_number keeps the stored one. Where a number holds the birth
    date, the date is the number's and changes only with a new number."""
    require(actor, Cap.EDIT_RESIDENTS)
    resident = Resident.objects.visible_to(actor).select_for_update().get(pk=resident.pk)
    id_type = id_type or resident.id_type
    if not id_number and id_type != resident.id_type:
        raise ValidationError({"id_number": _("更换证件类型时须填写新的证件号码")})
    merged = {f: values.get(f, getattr(resident, f)) for f in RESIDENT_FIELDS}
    # Without a new number, the stored one is checked again (against the sex given).
    number = id_number or decrypt_text(resident.id_encrypted)
    birth_date_refused = False
    if number_holds_birth_date(id_type, normalise(number)):
        # The number's own date. Checked against the stored number (or the stored date against a
        # new one), a date would tell whether a guess is right: only a date sent with a new
        # number is compared, with that number; without one, any date is refused unchecked.
        birth_date_refused = not id_number and values.get("birth_date") is not None
        merged["birth_date"] = None if birth_date_refused else values.get("birth_date")
    cleaned = _clean_resident(merged, id_type=id_type, id_number=number, birth_date_refused=birth_date_refused)
    changed = [f for f in RESIDENT_FIELDS if getattr(resident, f) != cleaned[f]]
    new_identity = identity_fields(id_type, cleaned["_number"])
    if new_identity["id_hash"] != resident.id_hash:
        error = _duplicate_error(actor, new_identity["id_hash"], exclude_pk=resident.pk)
        if error:
            raise error
        for key, value in new_identity.items():
            setattr(resident, key, value)
        changed.append("id_number")
    if household is not None and household.pk != resident.household_id:
        resident.household = Household.objects.visible_to(actor).get(pk=household.pk)
        changed.append("household")
    for field in RESIDENT_FIELDS:
        setattr(resident, field, cleaned[field])
    if changed:
        resident.save()
    if tags is not None and _set_tags(resident, tags):
        changed.append("tags")
    if changed:
        audit(
            actor=actor,
            action="resident_update",
            obj=resident,
            committee_id=resident.committee_id,
            subject_label=f"{resident.name} {resident.id_masked}",
            detail={"fields": sorted(changed)},
        )
    return resident


@transaction.atomic
def resident_reveal_id(*, actor, resident: Resident, reason: str) -> str:
    """The full identity number, for a stated reason; every reveal is audited."""
    require(actor, Cap.REVEAL_ID)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError({"reason": _("请填写查看事由")})
    resident = Resident.objects.visible_to(actor).get(pk=resident.pk)
    audit(
        actor=actor,
        action="reveal_id",
        obj=resident,
        committee_id=resident.committee_id,
        subject_label=f"{resident.name} {resident.id_masked}",
        reason=reason,
        personal=True,
    )
    return decrypt_text(resident.id_encrypted)


def find_by_identity(id_type: str, number: str) -> Resident | None:
    """Unscoped lookup by keyed hash, for services that must detect duplicates city-wide."""
    return Resident.objects.filter(id_hash=identity_hash(id_type, number)).first()


def resident_view_record(*, actor, resident: Resident, parts: list[str]) -> None:
    """Opening the person page: it shows more than a search answers (the household's members,
    and what other apps hold about the person: `parts`), so it is audited as a personal read."""
    audit(
        actor=actor,
        action="resident_view",
        obj=resident,
        committee_id=resident.committee_id,
        subject_label=f"{resident.name} {resident.id_masked}",
        personal=True,
        detail={"parts": parts},
    )
