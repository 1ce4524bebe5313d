"""Every write of group buying (issue 15, leaders and filings).

Residents act with `actor=None` once the page has proven their phone (core.resident_phone) and
matched it to the resident or the approved leader; committee staff (REVIEW_GROUPBUY) act for them,
marked by `entered_by`. Each function runs in one transaction and writes one audit event (the
workflow's, or `groupbuy_*` through core.audit).

The committee's "head" for escalation: every active committee-staff membership of the filing's
committee (the committee has no head marked in the system; its staff share the duty roster). A
filing unanswered for two hours is texted to them once (`filings_escalate`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.accounts.models import Membership
from xiuhua.accounts.roles import Cap, Role
from xiuhua.core.access import access_unit, require
from xiuhua.core.audit import audit
from xiuhua.core.images import PhotoError, photo_as_jpeg
from xiuhua.core.phones import PhoneError, normalise_mobile
from xiuhua.core.workflow import move
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.models import LivingStatus, Resident
from xiuhua.sms.services import sms_send, sms_send_staff
from xiuhua.sms.texts import register_purpose, register_template

from .models import (
    DEFAULT_SHARE,
    ESCALATE_AFTER,
    REQUIRED_KINDS,
    TEST_VALID,
    Ban,
    BanKind,
    Complaint,
    ComplaintKind,
    DocKind,
    Document,
    Filing,
    FilingItem,
    FilingStatus,
    Leader,
    LeaderStatus,
    PriceRule,
    ReferencePrice,
    normalise_licence,
    normalise_supplier,
)

LIVING = (LivingStatus.HERE, LivingStatus.AWAY)
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_ITEMS = 60
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

ESCALATED = register_template(
    "XH_GROUPBUY_WAITING", "团购报备{number}({compound})已等待{hours}小时未审核,请尽快处理。")
ESCALATED_PURPOSE = register_purpose("groupbuy_escalate", gettext_lazy("团购报备超时未审核提醒"))
DECIDED = register_template("XH_GROUPBUY_DECIDED", "您的团购报备{number}审核结果:{outcome}。{reason}")
DECIDED_PURPOSE = register_purpose("groupbuy_decided", gettext_lazy("团购报备审核结果通知"))


def street_of(committee: OrgUnit) -> OrgUnit:
    street = committee.parent
    if street is None or street.kind != Kind.STREET:
        raise ValidationError(_("居委会不属于任何街道"))
    return street


def _staff_for(actor, committee: OrgUnit):
    """Staff acting for a resident: REVIEW_GROUPBUY over the committee."""
    try:
        return access_unit(actor, committee, Cap.REVIEW_GROUPBUY)
    except PermissionDenied:
        raise PermissionDenied from None


# ------------------------------------------------------------------ leaders


def leader_apply(*, actor, resident: Resident, phone: str = "", note: str = "") -> Leader:
    """A resident applies to lead group buys for their compound: by phone (actor None, `phone`
    the proven one, which must be the resident's mobile) or through committee staff."""
    with transaction.atomic():
        resident = Resident.objects.select_related("household__building__parent").get(pk=resident.pk)
        if actor is None:
            if not phone or normalise_mobile(resident.mobile or "") != phone:
                raise PermissionDenied
        else:
            _staff_for(actor, resident.committee)
        if resident.living_status not in LIVING:
            raise ValidationError(_("只有在住居民可以申请当团长"))
        compound = resident.household.building.parent
        if compound is None:
            raise ValidationError(_("居民的楼栋不属于任何小区"))
        existing = Leader.objects.filter(resident=resident, compound=compound).first()
        if existing is not None:
            raise ValidationError(_("已经提交过申请(%(status)s),不必重复申请") % {
                "status": existing.get_status_display()})
        leader = Leader.objects.create(
            committee=resident.committee, compound=compound, resident=resident, note=(note or "").strip()[:200],
            entered_by=actor if actor is not None else None)
        audit(actor=actor, action="groupbuy_leader_apply", obj=leader, committee_id=leader.committee_id,
              subject_label=str(leader), detail={"by_staff": actor is not None})
        return leader


def leader_decide(*, actor, leader: Leader, action: str, reason: str = "") -> Leader:
    """approve or refuse an application; a refusal needs its reason."""
    reason = (reason or "").strip()

    def change(locked: Leader):
        if action == "refuse" and not reason:
            raise ValidationError({"reason": _("请填写不批准的理由")})
        locked.reason = reason[:200]
        return {"reason": reason[:200]} if reason else None

    return move(leader, action, actor=actor, change=change, reason=reason)


def leaders_for_phone(phone: str):
    """The approved leaders whose resident is living and has this mobile (the phone pages' leader)."""
    if not phone:
        return Leader.objects.none()
    return (Leader.objects.filter(status=LeaderStatus.APPROVED, resident__mobile=phone,
                                  resident__living_status__in=LIVING)
            .select_related("compound", "committee", "resident"))


def leader_banned(leader: Leader) -> Ban | None:
    street = street_of(leader.committee)
    return Ban.objects.filter(street=street, kind=BanKind.LEADER, lifted_at__isnull=True,
                              leader__resident_id=leader.resident_id).first()


def supplier_banned(street: OrgUnit, supplier: str, licence: str) -> Ban | None:
    key, licence_key = normalise_supplier(supplier), normalise_licence(licence)
    bans = Ban.objects.filter(street=street, kind=BanKind.SUPPLIER, lifted_at__isnull=True)
    for ban in bans:
        if (key and ban.supplier_key == key) or (licence_key and ban.licence_key == licence_key):
            return ban
    return None


def _acting_for_leader(actor, leader: Leader, phone: str) -> None:
    if actor is None:
        if not phone or not leaders_for_phone(phone).filter(pk=leader.pk).exists():
            raise PermissionDenied
    else:
        _staff_for(actor, leader.committee)


# ------------------------------------------------------------------ documents


def document_add(*, actor, leader: Leader, kind: str, number: str, holder: str, phone: str = "",
                 taken_at: dt.datetime | None = None, valid_until: dt.date | None = None, photo=None,
                 now: dt.datetime | None = None) -> Document:
    """Record a document; its expiry is computed here (a test: taken + 48 h; a permit: the end of
    its printed date, Beijing time). One already expired is refused."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    number, holder = (number or "").strip(), (holder or "").strip()
    if kind not in DocKind.values:
        errors["kind"] = _("请选择证件类型")
    if not number:
        errors["number"] = _("请填写证件编号")
    if not holder:
        errors["holder"] = _("请填写持有人、单位或车牌")
    expires_at = None
    if kind == DocKind.DRIVER_TEST:
        if taken_at is None:
            errors["taken_at"] = _("请填写核酸采样时间")
        elif taken_at > now:
            errors["taken_at"] = _("采样时间不能晚于现在")
        else:
            expires_at = taken_at + TEST_VALID
    elif kind in DocKind.values:
        if valid_until is None:
            errors["valid_until"] = _("请填写证件上的有效期")
        else:
            expires_at = dt.datetime.combine(valid_until + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    if expires_at is not None and expires_at <= now:
        # A permit is kept as running out at the midnight after its printed date; it says that date.
        errors["taken_at" if kind == DocKind.DRIVER_TEST else "valid_until"] = (
            _("该证件有效期至%(day)s,已过期,请提供有效的证件") % {"day": valid_until.isoformat()}
            if kind != DocKind.DRIVER_TEST and valid_until is not None
            else _("该证件已于%(when)s过期,请提供有效的证件") % {"when": _shown(expires_at)})
    if errors:
        raise ValidationError(errors)
    content = None
    if photo is not None:
        try:
            content = photo_as_jpeg(photo, max_bytes=MAX_PHOTO_BYTES)
        except PhotoError as refused:
            raise ValidationError({"photo": refused.messages}) from None
    with transaction.atomic():
        _acting_for_leader(actor, leader, phone)
        assert expires_at is not None
        document = Document.objects.create(
            leader=leader, committee=leader.committee, kind=kind, number=number[:60], holder=holder[:100],
            taken_at=taken_at if kind == DocKind.DRIVER_TEST else None,
            valid_until=valid_until if kind != DocKind.DRIVER_TEST else None, expires_at=expires_at)
        if content is not None:
            document.photo.save(f"doc-{document.pk}.jpg", content, save=True)
        audit(actor=actor, action="groupbuy_document_add", obj=document, committee_id=leader.committee_id,
              subject_label=f"{leader} {document.get_kind_display()}",
              detail={"kind": kind, "by_staff": actor is not None, "photo": content is not None})
        return document


def document_photo_open(*, actor, document: Document, phone: str = "") -> bytes:
    """The photo's bytes, for the leader or the committee; every view audited."""
    _acting_for_leader(actor, document.leader, phone) if actor is None else require(actor, Cap.VIEW_SUPPLY)
    if not document.photo:
        raise ValidationError(_("没有照片"))
    with transaction.atomic():
        audit(actor=actor, action="groupbuy_document_photo_view", obj=document, committee_id=document.committee_id,
              subject_label=str(document), personal=True)
    with document.photo.open("rb") as f:
        return f.read()


def _shown(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M")


def current_documents(leader: Leader, now: dt.datetime | None = None) -> dict[str, Document]:
    """The newest document of each kind (valid or not), by kind."""
    newest: dict[str, Document] = {}
    for doc in leader.documents.order_by("kind", "-expires_at", "-pk"):
        newest.setdefault(doc.kind, doc)
    return newest


def _documents_for_filing(leader: Leader, driver_name: str, now: dt.datetime) -> tuple[list[Document], list[str]]:
    """The valid documents a filing needs, or the reasons it cannot be filed."""
    chosen, problems = [], []
    for kind in REQUIRED_KINDS:
        docs = leader.documents.filter(kind=kind)
        if kind == DocKind.DRIVER_TEST:
            docs = docs.filter(holder=driver_name)
        valid = docs.filter(expires_at__gt=now).order_by("-expires_at").first()
        if valid is not None:
            chosen.append(valid)
            continue
        latest = docs.order_by("-expires_at").first()
        label = DocKind(kind).label
        if latest is None:
            if kind == DocKind.DRIVER_TEST:
                problems.append(_("缺少司机%(name)s的核酸阴性证明") % {"name": driver_name})
            else:
                problems.append(_("缺少%(kind)s") % {"kind": label})
        else:
            problems.append(
                _("%(kind)s(%(number)s)有效期至%(date)s,已过期") % {
                    "kind": label, "number": latest.number, "date": latest.valid_until.isoformat()}
                if latest.valid_until else _("%(kind)s(%(number)s)已于%(when)s过期") % {
                    "kind": label, "number": latest.number, "when": _shown(latest.expires_at)})
    return chosen, problems


# ------------------------------------------------------------------ prices


def share_for(street: OrgUnit) -> Decimal:
    rule = PriceRule.objects.filter(street=street).first()
    return rule.share if rule is not None else DEFAULT_SHARE


def reference_for(street: OrgUnit, name: str, unit: str, day: dt.date) -> ReferencePrice | None:
    return (ReferencePrice.objects.filter(street=street, name=name.strip(), unit=unit.strip(),
                                          effective_from__lte=day)
            .order_by("-effective_from", "-pk").first())


def _decimal(value, field: str, label: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("%(label)s须是数字") % {"label": label}}) from None
    if not number.is_finite() or number <= 0 or number >= Decimal("100000000"):
        raise ValidationError({field: _("%(label)s须大于0") % {"label": label}})
    return number.quantize(Decimal("0.01"))


def reference_price_set(*, actor, street: OrgUnit, name: str, unit: str, price, effective_from: dt.date
                        ) -> ReferencePrice:
    """A reference price in force from a date; the earlier ones stay as history. Setting the same
    item, unit and date again replaces that day's price."""
    name, unit = (name or "").strip(), (unit or "").strip()
    if not name or not unit:
        raise ValidationError({"name": _("请填写品名和单位")})
    amount = _decimal(price, "price", _("参考单价"))
    if effective_from is None:
        raise ValidationError({"effective_from": _("请填写执行日期")})
    with transaction.atomic():
        access_unit(actor, street, Cap.SET_REFERENCE_PRICES)
        row, created = ReferencePrice.objects.update_or_create(
            street=street, name=name[:60], unit=unit[:10], effective_from=effective_from,
            defaults={"price": amount, "set_by": actor})
        audit(actor=actor, action="groupbuy_reference_price_set", obj=row, subject_label=f"{name}/{unit}",
              detail={"price": str(amount), "from": effective_from.isoformat(), "replaced": not created})
        return row


def price_rule_set(*, actor, street: OrgUnit, share) -> PriceRule:
    try:
        value = Decimal(str(share).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"share": _("比例须是数字")}) from None
    if not value.is_finite() or value < 0 or value > 500:
        raise ValidationError({"share": _("比例须在0到500之间")})
    with transaction.atomic():
        access_unit(actor, street, Cap.SET_REFERENCE_PRICES)
        rule, _created = PriceRule.objects.update_or_create(street=street, defaults={"share": value})
        audit(actor=actor, action="groupbuy_price_rule_set", obj=rule, subject_label=street.name,
              detail={"share": str(value)})
        return rule


# ------------------------------------------------------------------ filings


def _clean_items(items: list[dict]) -> list[dict]:
    cleaned = []
    rows = [item for item in items if any(str(v).strip() for v in item.values())]
    if not rows:
        raise ValidationError({"items": _("请至少填写一种商品")})
    if len(rows) > MAX_ITEMS:
        raise ValidationError({"items": _("商品最多%(n)d种") % {"n": MAX_ITEMS}})
    for n, item in enumerate(rows, start=1):
        name, unit = str(item.get("name", "")).strip(), str(item.get("unit", "")).strip()
        contents = str(item.get("contents", "")).strip()
        if not name or not unit:
            raise ValidationError({"items": _("第%(n)d行:请填写品名和单位") % {"n": n}})
        try:
            pack = _decimal(item.get("pack_quantity", ""), "items", _("每份数量"))
            price = _decimal(item.get("price", ""), "items", _("价格"))
        except ValidationError as exc:
            raise ValidationError({"items": _("第%(n)d行:%(error)s") % {"n": n, "error": exc.messages[0]}}
                                  ) from None
        if "套餐" in name and not contents:
            raise ValidationError({"items": _("第%(n)d行:套餐须列明所含每一样商品") % {"n": n}})
        cleaned.append({"name": name[:60], "unit": unit[:10], "pack_quantity": pack, "price": price,
                        "contents": contents[:2000]})
    return cleaned


def _check_filing(leader: Leader, data: dict, now: dt.datetime) -> tuple[dict, list[dict], list[Document]]:
    errors: dict[str, str] = {}
    fields = {k: str(data.get(k) or "").strip() for k in
              ("supplier", "supplier_licence", "driver_name", "driver_phone", "vehicle_plate")}
    labels = {"supplier": _("供货商"), "supplier_licence": _("营业执照/许可证号"), "driver_name": _("司机姓名"),
              "driver_phone": _("司机电话"), "vehicle_plate": _("车牌号")}
    for key, label in labels.items():
        if not fields[key]:
            errors[key] = _("请填写%(label)s") % {"label": label}
    if fields["driver_phone"]:
        try:
            fields["driver_phone"] = normalise_mobile(fields["driver_phone"])
        except PhoneError as exc:
            errors["driver_phone"] = str(exc)
    start, end = data.get("window_start"), data.get("window_end")
    if start is None or end is None:
        errors["window_start"] = _("请填写送达时间段")
    elif end <= start:
        errors["window_end"] = _("送达结束时间须晚于开始时间")
    elif end <= now:
        errors["window_end"] = _("送达时间段已经过去")
    if errors:
        raise ValidationError(errors)
    items = _clean_items(list(data.get("items") or []))
    street = street_of(leader.committee)
    if leader.status != LeaderStatus.APPROVED:
        raise ValidationError(_("团长资格尚未批准,不能报备"))
    ban = leader_banned(leader)
    if ban is not None:
        raise ValidationError(_("该团长已被街道列入禁入名单(%(reason)s),不能报备") % {"reason": ban.reason})
    ban = supplier_banned(street, fields["supplier"], fields["supplier_licence"])
    if ban is not None:
        raise ValidationError({"supplier": _("供货商“%(name)s”已被街道列入禁入名单(%(reason)s),不能报备") % {
            "name": ban.supplier, "reason": ban.reason}})
    documents, problems = _documents_for_filing(leader, fields["driver_name"], now)
    if problems:
        raise ValidationError(_("证件不全或已过期,不能报备:%(list)s") % {"list": ";".join(problems)})
    return fields, items, documents


def _write_items(filing: Filing, items: list[dict], now: dt.datetime) -> int:
    street = street_of(filing.committee)
    share = share_for(street)
    day = timezone.localdate(now)
    filing.items.all().delete()
    flagged = 0
    for position, item in enumerate(items):
        ref = reference_for(street, item["name"], item["unit"], day)
        is_flagged = False
        if ref is not None:
            unit_price = item["price"] / item["pack_quantity"]
            is_flagged = unit_price > ref.price * (1 + share / 100)
        flagged += is_flagged
        FilingItem.objects.create(
            filing=filing, position=position, **item, reference_price=ref.price if ref else None,
            allowed_share=share if ref else None, flagged=is_flagged)
    return flagged


def filing_submit(*, actor, leader: Leader, data: dict, phone: str = "", now: dt.datetime | None = None) -> Filing:
    """The leader (phone proven, actor None) or committee staff on their behalf file a buy.
    `data`: supplier, supplier_licence, driver_name, driver_phone, vehicle_plate, window_start,
    window_end, items (list of dicts: name, unit, pack_quantity, price, contents)."""
    now = now or timezone.now()
    with transaction.atomic():
        leader = Leader.objects.select_for_update().select_related("committee").get(pk=leader.pk)
        _acting_for_leader(actor, leader, phone)
        fields, items, documents = _check_filing(leader, data, now)
        filing = Filing.objects.create(
            committee=leader.committee, leader=leader, supplier_key=normalise_supplier(fields["supplier"]),
            window_start=data["window_start"], window_end=data["window_end"], submitted_at=now, created_at=now,
            entered_by=actor, **fields)
        filing.documents.set(documents)
        flagged = _write_items(filing, items, now)
        audit(actor=actor, action="groupbuy_filing_submit", obj=filing, committee_id=filing.committee_id,
              subject_label=filing.number,
              detail={"items": len(items), "flagged": flagged, "by_staff": actor is not None})
        return filing


def filing_decide(*, actor, filing: Filing, action: str, reason: str = "", now: dt.datetime | None = None) -> Filing:
    """approve, request_changes or refuse; the last two need a reason."""
    if action not in ("approve", "request_changes", "refuse"):
        raise ValidationError({"action": _("未知的操作")})
    reason = (reason or "").strip()
    now = now or timezone.now()

    def change(locked: Filing):
        if action != "approve" and not reason:
            raise ValidationError({"reason": _("请填写理由")})
        locked.reason = reason[:200]
        locked.decided_at = now
        return {"reason": reason[:200]} if reason else None

    def notify(locked: Filing):
        # The leader hears the outcome on the phone they file from (queued with the change).
        mobile = locked.leader.resident.mobile
        if not mobile:
            return
        with contextlib.suppress(PhoneError):  # a landline on the roster: the leader sees it on the page
            sms_send(to=mobile, template=DECIDED.code, purpose=DECIDED_PURPOSE, committee=locked.committee,
                     params={"number": locked.number, "outcome": locked.get_status_display(),
                             "reason": _("意见:%(reason)s") % {"reason": reason} if reason else ""},
                     idempotency_key=f"groupbuy-decided-{locked.pk}-{int(now.timestamp())}")

    return move(filing, action, actor=actor, change=change, reason=reason, now=now, notify=notify)


def filing_resubmit(*, actor, filing: Filing, data: dict, phone: str = "", now: dt.datetime | None = None) -> Filing:
    """A filing sent back for changes, corrected and submitted again: by the leader (actor None)
    or by committee staff on their behalf."""
    now = now or timezone.now()
    leader = filing.leader
    if actor is None:
        _acting_for_leader(None, leader, phone)
    checked: dict = {}

    def change(locked: Filing):
        fields, items, documents = _check_filing(leader, data, now)
        for key, value in fields.items():
            setattr(locked, key, value)
        locked.supplier_key = normalise_supplier(fields["supplier"])
        locked.window_start, locked.window_end = data["window_start"], data["window_end"]
        locked.submitted_at, locked.escalated_at, locked.decided_at = now, None, None
        checked.update(items=items, documents=documents)
        return {"items": len(items)}

    def after(locked: Filing):
        locked.documents.set(checked["documents"])
        _write_items(locked, checked["items"], now)

    with transaction.atomic():
        moved = move(filing, "resubmit" if actor is None else "resubmit_for", actor=actor, change=change, now=now,
                     notify=after)
        return moved


def filings_escalate(*, now: dt.datetime | None = None) -> int:
    """Text the committee's staff once about each filing left unanswered for two hours; returns
    how many filings were escalated. The conditional UPDATE makes two sweeps escalate once."""
    now = now or timezone.now()
    due = Filing.objects.filter(status=FilingStatus.SUBMITTED, escalated_at__isnull=True,
                                submitted_at__lte=now - ESCALATE_AFTER).select_related("committee", "leader__compound")
    count = 0
    for filing in due:
        with transaction.atomic():
            taken = Filing.objects.filter(pk=filing.pk, status=FilingStatus.SUBMITTED, escalated_at__isnull=True
                                          ).update(escalated_at=now)
            if not taken:
                continue
            count += 1
            hours = int((now - filing.submitted_at).total_seconds() // 3600)
            staff = (Membership.objects.filter(org_unit=filing.committee, role=Role.COMMITTEE_STAFF, active=True)
                     .select_related("user").order_by("pk"))
            texted = 0
            for membership in staff:
                texted += sms_send_staff(
                    user=membership.user, template=ESCALATED.code,
                    params={"number": filing.number, "compound": filing.leader.compound.name, "hours": hours},
                    purpose=ESCALATED_PURPOSE, committee=filing.committee,
                    idempotency_key=f"groupbuy-escalate-{filing.pk}-{membership.user_id}-"
                                    f"{int(filing.submitted_at.timestamp())}")
            audit(actor=None, action="groupbuy_filing_escalate", obj=filing, committee_id=filing.committee_id,
                  subject_label=filing.number, detail={"texted": texted})
    return count


# ------------------------------------------------------------------ complaints and bans


def complaint_file(*, actor, filing: Filing, kind: str, text: str, phone: str = "") -> Complaint:
    """A resident's complaint about a filing (phone proven: a living resident of the filing's
    committee) or one staff took by phone."""
    text = (text or "").strip()
    if kind not in ComplaintKind.values:
        raise ValidationError({"kind": _("请选择投诉类型")})
    if not text:
        raise ValidationError({"text": _("请说明情况")})
    with transaction.atomic():
        if actor is None:
            if not phone or not Resident.objects.filter(committee=filing.committee, mobile=phone,
                                                        living_status__in=LIVING).exists():
                raise PermissionDenied
        else:
            _staff_for(actor, filing.committee)
        complaint = Complaint.objects.create(
            committee=filing.committee, filing=filing, kind=kind, text=text[:500], phone=phone,
            entered_by=actor)
        audit(actor=actor, action="groupbuy_complaint_file", obj=complaint, committee_id=filing.committee_id,
              subject_label=str(complaint), detail={"kind": kind, "by_staff": actor is not None})
        return complaint


def complaint_handle(*, actor, complaint: Complaint, outcome: str) -> Complaint:
    outcome = (outcome or "").strip()

    def change(locked: Complaint):
        if not outcome:
            raise ValidationError({"outcome": _("请填写处理结果")})
        locked.outcome = outcome[:200]
        return {"outcome": outcome[:200]}

    return move(complaint, "handle", actor=actor, change=change, reason=outcome)


def ban_add(*, actor, kind: str, reason: str, leader: Leader | None = None, supplier: str = "",
            licence: str = "") -> Ban:
    """The committee bans a leader (all their compounds' rows, by resident) or a supplier (by
    normalised name or licence number) street-wide."""
    membership = require(actor, Cap.REVIEW_GROUPBUY)
    committee = membership.org_unit
    if committee.kind != Kind.COMMITTEE:
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写理由")})
    street = street_of(committee)
    with transaction.atomic():
        if kind == BanKind.LEADER:
            if leader is None:
                raise ValidationError({"leader": _("请选择团长")})
            access_unit(actor, leader.committee, Cap.REVIEW_GROUPBUY)
            if leader_banned(leader) is not None:
                raise ValidationError({"leader": _("该团长已在禁入名单中")})
            ban = Ban.objects.create(street=street, committee=committee, kind=kind, leader=leader, reason=reason[:200],
                                     created_by=actor)
        elif kind == BanKind.SUPPLIER:
            supplier = (supplier or "").strip()
            key, licence_key = normalise_supplier(supplier), normalise_licence(licence)
            if not key:
                raise ValidationError({"supplier": _("请填写供货商名称")})
            if supplier_banned(street, supplier, licence) is not None:
                raise ValidationError({"supplier": _("该供货商已在禁入名单中")})
            ban = Ban.objects.create(street=street, committee=committee, kind=kind, supplier=supplier[:100],
                                     supplier_key=key, licence_key=licence_key, reason=reason[:200],
                                     created_by=actor)
        else:
            raise ValidationError({"kind": _("请选择禁入类型")})
        audit(actor=actor, action="groupbuy_ban_add", obj=ban, committee_id=committee.pk, subject_label=str(ban),
              reason=reason, detail={"kind": kind})
        return ban


def ban_lift(*, actor, ban: Ban, now: dt.datetime | None = None) -> Ban:
    with transaction.atomic():
        access_unit(actor, ban.committee, Cap.REVIEW_GROUPBUY)
        if not Ban.objects.filter(pk=ban.pk, lifted_at__isnull=True).update(lifted_at=now or timezone.now()):
            raise ValidationError(_("已经解除"))
        ban.refresh_from_db()
        audit(actor=actor, action="groupbuy_ban_lift", obj=ban, committee_id=ban.committee_id,
              subject_label=str(ban))
        return ban
