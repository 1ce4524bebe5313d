"""Roles and what each may do. Place scope comes from the membership, not from here."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_OFFICER = "district_officer", _("区防控办")
    STREET_OFFICER = "street_officer", _("街道防控办")
    COMMITTEE_STAFF = "committee_staff", _("居委会工作人员")
    GRID_WORKER = "grid_worker", _("网格员/楼组长")
    VOLUNTEER = "volunteer", _("志愿者")
    PHARMACY_CLERK = "pharmacy_clerk", _("指定药店店员")
    GROUPBUY_LEADER = "groupbuy_leader", _("团长")
    BUSINESS_CONTACT = "business_contact", _("企业联络员")
    SYSADMIN = "sysadmin", _("系统管理员")


class Cap(models.TextChoices):
    VIEW_PLACES = "view_places", _("查看地点")
    VIEW_RESIDENTS = "view_residents", _("查看居民")
    EDIT_RESIDENTS = "edit_residents", _("编辑居民")
    IMPORT_ROSTER = "import_roster", _("导入花名册")
    EXPORT_ROSTER = "export_roster", _("导出花名册(证件号遮蔽)")
    REVEAL_ID = "reveal_id", _("查看完整证件号")
    VIEW_AUDIT = "view_audit", _("查看个人信息访问记录")
    USE_API = "use_api", _("使用接口")
    VIEW_SMS = "view_sms", _("查看短信收发记录")
    MANAGE_ROUNDS = "manage_rounds", _("管理口罩预约轮次和药店")
    VIEW_MASKS = "view_masks", _("查看口罩预约")
    RESERVE_FOR_RESIDENT = "reserve_for_resident", _("代居民登记口罩预约")
    VERIFY_RESERVATION = "verify_reservation", _("核实口罩预约")
    RECORD_DELIVERY = "record_delivery", _("登记药店到货")
    REDEEM_VOUCHER = "redeem_voucher", _("核销购买凭证")


_STAFF = {Cap.VIEW_PLACES, Cap.VIEW_RESIDENTS, Cap.USE_API}
_STAFF |= {Cap.VIEW_SMS}  # the SMS outbox: district and street officers, committee staff

_MASKS_OFFICER = {Cap.VIEW_MASKS, Cap.RECORD_DELIVERY}
_MASKS_COMMITTEE = {Cap.VIEW_MASKS, Cap.RESERVE_FOR_RESIDENT, Cap.VERIFY_RESERVATION}

ROLE_CAPS: dict[str, frozenset[str]] = {
    Role.DISTRICT_OFFICER: frozenset(_STAFF | _MASKS_OFFICER | {Cap.EXPORT_ROSTER, Cap.VIEW_AUDIT, Cap.MANAGE_ROUNDS}),
    Role.STREET_OFFICER: frozenset(
        _STAFF | _MASKS_OFFICER | {Cap.EXPORT_ROSTER, Cap.REVEAL_ID, Cap.VIEW_AUDIT, Cap.IMPORT_ROSTER}
    ),
    Role.COMMITTEE_STAFF: frozenset(
        _STAFF | _MASKS_COMMITTEE | {Cap.EDIT_RESIDENTS, Cap.IMPORT_ROSTER, Cap.EXPORT_ROSTER, Cap.REVEAL_ID}
    ),
    Role.GRID_WORKER: frozenset({Cap.VIEW_PLACES, Cap.VIEW_RESIDENTS, Cap.EDIT_RESIDENTS}),
    # The roles below see no roster: a pharmacy clerk sees only vouchers presented at their
    # pharmacy; the others work in later modules; the system administrator manages units and
    # accounts, not people.
    Role.VOLUNTEER: frozenset(),
    Role.PHARMACY_CLERK: frozenset({Cap.RECORD_DELIVERY, Cap.REDEEM_VOUCHER}),
    Role.GROUPBUY_LEADER: frozenset(),
    Role.BUSINESS_CONTACT: frozenset(),
    Role.SYSADMIN: frozenset({Cap.VIEW_PLACES}),
}


def role_has(role: str, cap: str) -> bool:
    return cap in ROLE_CAPS.get(role, frozenset())
