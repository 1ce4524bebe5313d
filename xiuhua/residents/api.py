"""API: households and residents, scoped exactly like the pages.

Reads go through the selectors and `visible_to`; every write calls the service in services.py,
which checks the capability and the scope again and writes the audit event. No schema here
carries a full identity number: residents are shown with `id_masked` only.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id
from xiuhua.core.idnumbers import IdType
from xiuhua.core.policy import requires
from xiuhua.core.resident_phone import client_ip
from xiuhua.places.api import Id, InSchema, PageParams, PlainText
from xiuhua.places.models import Grid, Kind, OrgUnit

from . import services
from .models import Household, LivingStatus, Relation, Resident, Sex, Tag
from .selectors import household_list, resident_search

router = Router(tags=["residents"])


# ---------------------------------------------------------------- output


class ResidentOut(Schema):
    id: int
    household: int
    committee: int
    address: str
    name: str
    sex: str
    # Beside the masked number only what cannot help rebuild it: see Resident.birth_shown.
    birth_date: dt.date | None = Field(None, description="出生日期;证件号码含出生日期时(居民身份证、居住证等)为空")
    birth_year: int
    id_type: str
    id_masked: str
    mobile: str
    relation: str
    living_status: str
    away_until: dt.date | None
    language: str
    specialty: str
    skills: str
    tags: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_household(obj: Resident) -> int:
        return obj.household_id

    @staticmethod
    def resolve_committee(obj: Resident) -> int:
        return obj.committee_id

    @staticmethod
    def resolve_address(obj: Resident) -> str:
        return obj.household.address

    @staticmethod
    def resolve_birth_date(obj: Resident) -> dt.date | None:
        return None if obj.birth_in_number else obj.birth_date

    @staticmethod
    def resolve_birth_year(obj: Resident) -> int:
        return obj.birth_date.year

    @staticmethod
    def resolve_tags(obj: Resident) -> list[str]:
        return obj.tag_codes


class HouseholdOut(Schema):
    id: int
    address: str
    committee: int
    compound: int
    building: int
    room: str
    grid: int | None
    micro_grid: int | None
    is_rental: bool
    landlord_name: str
    landlord_phone: str
    resident_count: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_committee(obj: Household) -> int:
        return obj.committee_id

    @staticmethod
    def resolve_compound(obj: Household) -> int:
        return obj.compound_id

    @staticmethod
    def resolve_building(obj: Household) -> int:
        return obj.building_id

    @staticmethod
    def resolve_grid(obj: Household) -> int | None:
        return obj.grid_id

    @staticmethod
    def resolve_micro_grid(obj: Household) -> int | None:
        return obj.micro_grid_id

    @staticmethod
    def resolve_resident_count(obj: Household) -> int:
        count = getattr(obj, "resident_count", None)  # annotated by selectors.household_list
        return obj.residents.count() if count is None else count


class HouseholdDetailOut(HouseholdOut):
    residents: list[ResidentOut]

    @staticmethod
    def resolve_residents(obj: Household) -> list[Resident]:
        # Every resident of a visible household is visible: residents are scoped by household.
        return list(_residents(obj.residents.all()).order_by("pk"))


class HouseholdPage(Schema):
    total: int
    limit: int
    offset: int
    items: list[HouseholdOut]


class ResidentPage(Schema):
    total: int
    limit: int
    offset: int
    items: list[ResidentOut]


# ---------------------------------------------------------------- input


class HouseholdFilter(PageParams):
    committee: Id | None = None
    compound: Id | None = None
    building: Id | None = None


class ResidentFilter(PageParams):
    tag: Tag | None = None
    status: LivingStatus | None = None


class ResidentSearch(ResidentFilter):
    q: PlainText = Field("", max_length=50, description="姓名/手机号/证件号或手机号后四位/完整证件号/地址")


class HouseholdIn(InSchema):
    building: Id
    room: PlainText = Field(max_length=20)
    is_rental: bool = False
    landlord_name: PlainText = Field("", max_length=50)
    landlord_phone: PlainText = Field("", max_length=20)
    grid: Id | None = None
    micro_grid: Id | None = None


class HouseholdPatch(InSchema):
    """Only the fields sent are changed; `grid` and `micro_grid` may be null to clear them."""

    room: PlainText | None = Field(None, max_length=20)
    is_rental: bool | None = None
    landlord_name: PlainText | None = Field(None, max_length=50)
    landlord_phone: PlainText | None = Field(None, max_length=20)
    grid: Id | None = None
    micro_grid: Id | None = None


class ResidentIn(InSchema):
    household: Id
    name: PlainText = Field(max_length=50)
    sex: Sex
    birth_date: dt.date | None = Field(None, description="证件号码含出生日期时可不填")
    id_type: IdType
    id_number: PlainText = Field(max_length=40)
    mobile: PlainText = Field("", max_length=20)
    relation: Relation
    living_status: LivingStatus = LivingStatus.HERE
    away_until: dt.date | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=len(Tag))
    language: PlainText = Field("", max_length=30)
    specialty: PlainText = Field("", max_length=50)
    skills: PlainText = Field("", max_length=100)


class ResidentPatch(InSchema):
    """Only the fields sent are changed. A new `id_number` replaces the old one (with `id_type`
    if that changes too); `household` moves the resident; `tags` replaces the whole set. Where
    the number holds the birth date, `birth_date` goes only with a new `id_number`."""

    household: Id | None = None
    name: PlainText | None = Field(None, max_length=50)
    sex: Sex | None = None
    birth_date: dt.date | None = None
    id_type: IdType | None = None
    id_number: PlainText | None = Field(None, max_length=40)
    mobile: PlainText | None = Field(None, max_length=20)
    relation: Relation | None = None
    living_status: LivingStatus | None = None
    away_until: dt.date | None = None
    tags: list[Tag] | None = Field(None, max_length=len(Tag))
    language: PlainText | None = Field(None, max_length=30)
    specialty: PlainText | None = Field(None, max_length=50)
    skills: PlainText | None = Field(None, max_length=100)


# ---------------------------------------------------------------- helpers


def _residents(queryset: QuerySet[Resident]) -> QuerySet[Resident]:
    return queryset.select_related("household__building", "household__compound").prefetch_related("tags")


def _page(queryset: QuerySet, params: PageParams) -> dict[str, Any]:
    return {
        "total": queryset.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": list(queryset[params.offset : params.offset + params.limit]),
    }


def _changes(payload: InSchema, *, nullable: set[str]) -> dict[str, Any]:
    """The fields a PATCH sent; null only where the field may be empty."""
    data = payload.model_dump(exclude_unset=True)
    errors = {field: _("不能为空") for field, value in data.items() if value is None and field not in nullable}
    if errors:
        raise ValidationError(errors)
    return data


def _visible_building(user, building_id: int) -> OrgUnit:
    building = OrgUnit.objects.visible_to(user).filter(pk=building_id, kind=Kind.BUILDING).first()
    if building is None:  # missing, not yours, or not a building: one answer
        raise ValidationError({"building": _("请选择楼栋")})
    return building


def _visible_household(user, household_id: int) -> Household:
    household = Household.objects.visible_to(user).filter(pk=household_id).first()
    if household is None:  # missing or not yours: one answer
        raise ValidationError({"household": _("找不到该户")})
    return household


def _grids(data: dict[str, Any]) -> None:
    """Replace grid ids by Grid rows. The service checks they belong to the household's
    committee; a missing grid gets the same message as another committee's."""
    errors = {}
    for field in ("grid", "micro_grid"):
        if data.get(field) is not None:
            grid = Grid.objects.filter(pk=data[field]).first()
            if grid is None:
                errors[field] = _("网格须属于本居委会")
            data[field] = grid
    if errors:
        raise ValidationError(errors)


# ---------------------------------------------------------------- households


@router.get("/households", response=HouseholdPage)
@requires(Cap.VIEW_RESIDENTS)
def household_index(request, filters: Query[HouseholdFilter]):
    """Households the caller's membership covers, by committee, compound or building."""
    households = household_list(
        request.user,
        committee=str(filters.committee or ""),
        compound=str(filters.compound or ""),
        building=str(filters.building or ""),
    )
    return _page(households, filters)


@router.get("/households/{household_id}", response=HouseholdDetailOut)
@requires(Cap.VIEW_RESIDENTS)
def household_detail(request, household_id: Id):
    """One household with its residents."""
    return access_by_id(
        Household.objects.select_related("building", "compound"), request.user, pk=household_id
    )


@router.post("/households", response={201: HouseholdDetailOut})
@requires(Cap.EDIT_RESIDENTS)
def household_create(request, payload: HouseholdIn):
    """Register an address: a room in a building the caller's membership covers."""
    data = payload.model_dump()
    data["building"] = _visible_building(request.user, data["building"])
    _grids(data)
    household = services.household_create(actor=request.user, **data)
    return Status(201, household)


@router.patch("/households/{household_id}", response=HouseholdDetailOut)
@requires(Cap.EDIT_RESIDENTS)
def household_update(request, household_id: Id, payload: HouseholdPatch):
    """Change a household's room, rental details or grids."""
    household = access_by_id(Household.objects.all(), request.user, pk=household_id)
    data = _changes(payload, nullable={"grid", "micro_grid"})
    _grids(data)
    household = services.household_update(actor=request.user, household=household, **data)
    return Household.objects.select_related("building", "compound").get(pk=household.pk)


# ---------------------------------------------------------------- residents


@router.get("/residents", response=ResidentPage)
@requires(Cap.VIEW_RESIDENTS)
def resident_index(request, filters: Query[ResidentFilter]):
    """Residents by tag and living status. Searching by name, phone, ID or address is
    `POST /residents/search`, so that those keys never travel in a URL."""
    if "q" in request.GET:
        raise ValidationError({"q": _("查询条件请用 POST /api/residents/search 提交,不要放在网址中")})
    residents = resident_search(request.user, tag=filters.tag or "", status=filters.status or "")
    return _page(residents.prefetch_related("tags"), filters)


@router.post("/residents/search", response=ResidentPage)
@requires(Cap.VIEW_RESIDENTS)
def resident_find(request, payload: ResidentSearch):
    """Search residents as staff type: name, 11-digit mobile, last 4 of the ID, the whole ID
    (matched by its keyed hash, never echoed back), or an address such as 5号302. A search by a
    personal key is audited and rate-limited (429 with Retry-After past the limit)."""
    residents = resident_search(
        request.user, q=payload.q, tag=payload.tag or "", status=payload.status or "", client_ip=client_ip(request)
    )
    return _page(residents.prefetch_related("tags"), payload)


@router.get("/residents/{resident_id}", response=ResidentOut)
@requires(Cap.VIEW_RESIDENTS)
def resident_detail(request, resident_id: Id):
    """One resident; the identity number only masked."""
    return access_by_id(_residents(Resident.objects.all()), request.user, pk=resident_id)


@router.post("/residents", response={201: ResidentOut})
@requires(Cap.EDIT_RESIDENTS)
def resident_create(request, payload: ResidentIn):
    """Register a resident in a household the caller's membership covers."""
    data = payload.model_dump()
    data["household"] = _visible_household(request.user, data["household"])
    resident = services.identity_governed(services.resident_create, actor=request.user,
                                          client_ip=client_ip(request), **data)
    return Status(201, _residents(Resident.objects.all()).get(pk=resident.pk))


@router.patch("/residents/{resident_id}", response=ResidentOut)
@requires(Cap.EDIT_RESIDENTS)
def resident_update(request, resident_id: Id, payload: ResidentPatch):
    """Change a resident; fields not sent stay as they are."""
    resident = access_by_id(Resident.objects.all(), request.user, pk=resident_id)
    data = _changes(payload, nullable={"away_until"})
    if "household" in data:
        data["household"] = _visible_household(request.user, data["household"])
    resident = services.identity_governed(services.resident_update, actor=request.user,
                                          client_ip=client_ip(request), resident=resident, **data)
    return _residents(Resident.objects.all()).get(pk=resident.pk)
