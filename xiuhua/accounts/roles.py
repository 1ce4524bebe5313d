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


_STAFF = {Cap.VIEW_PLACES, Cap.VIEW_RESIDENTS, Cap.USE_API}

ROLE_CAPS: dict[str, frozenset[str]] = {
    Role.DISTRICT_OFFICER: frozenset(_STAFF | {Cap.EXPORT_ROSTER, Cap.VIEW_AUDIT}),
    Role.STREET_OFFICER: frozenset(
        _STAFF | {Cap.EXPORT_ROSTER, Cap.REVEAL_ID, Cap.VIEW_AUDIT, Cap.IMPORT_ROSTER}
    ),
    Role.COMMITTEE_STAFF: frozenset(
        _STAFF | {Cap.EDIT_RESIDENTS, Cap.IMPORT_ROSTER, Cap.EXPORT_ROSTER, Cap.REVEAL_ID}
    ),
    Role.GRID_WORKER: frozenset({Cap.VIEW_PLACES, Cap.VIEW_RESIDENTS, Cap.EDIT_RESIDENTS}),
    # The roles below work in later modules (tasks, pharmacies, group buys, businesses) and
    # see no roster; the system administrator manages units and accounts, not people.
    Role.VOLUNTEER: frozenset(),
    Role.PHARMACY_CLERK: frozenset(),
    Role.GROUPBUY_LEADER: frozenset(),
    Role.BUSINESS_CONTACT: frozenset(),
    Role.SYSADMIN: frozenset({Cap.VIEW_PLACES}),
}


def role_has(role: str, cap: str) -> bool:
    return cap in ROLE_CAPS.get(role, frozenset())
