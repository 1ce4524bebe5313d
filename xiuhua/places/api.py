"""API: the org-unit tree, scoped like the places pages (OrgUnit.objects.visible_to).

Also holds the small input types every router shares (ids, text, pages), since places is the
layer the other apps already build on.
"""

import datetime as dt
from typing import Annotated

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import AfterValidator, ConfigDict

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import access_by_id
from xiuhua.core.policy import requires

from .models import Grid, OrgUnit
from .selectors import unit_children

# Primary keys are positive BIGINTs; anything outside that is refused before it reaches SQL.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _plain_text(value: str) -> str:
    """Refuse what neither database stores: NUL and other control characters, lone surrogates."""
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value) or "\x7f" in value:
        raise ValueError(_("不能包含控制字符"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("包含无效字符")) from None
    return value


# A string the database can store; give its length at the field: `name: PlainText = Field(max_length=50)`.
PlainText = Annotated[str, AfterValidator(_plain_text)]

# The furthest local times are from UTC (Baker Island -12:00, Kiribati +14:00). ISO 8601 allows
# offsets up to 23:59; PostgreSQL refuses past 15:59 with a DataError.
UTC_OFFSET_RANGE = (dt.timedelta(hours=-12), dt.timedelta(hours=14))


def _utc_datetime(value: dt.datetime) -> dt.datetime:
    """Aware and in UTC, so both databases take it: a time without an offset is Beijing time (the
    current time zone); an offset no place keeps, or a time before year 1 or after 9999 once
    in UTC, is refused."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    offset = value.utcoffset()
    if offset is not None and not UTC_OFFSET_RANGE[0] <= offset <= UTC_OFFSET_RANGE[1]:
        raise ValueError(_("时区偏移超出范围,应在 -12:00 到 +14:00 之间"))
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(_("时间超出范围")) from None


# A date and time as input: `received_at: UtcDatetime`.
UtcDatetime = Annotated[dt.datetime, AfterValidator(_utc_datetime)]


class InSchema(Schema):
    """Base for request bodies and query sets: unknown fields are an error, enums arrive as values."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)


class PageParams(InSchema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=2**31 - 1)


class GridOut(Schema):
    id: int
    kind: str
    name: str
    parent: int | None

    @staticmethod
    def resolve_parent(obj: Grid) -> int | None:
        return obj.parent_id


class PlaceOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    code: str
    compound_type: str
    parent: int | None
    committee: int | None

    @staticmethod
    def resolve_kind_label(obj: OrgUnit) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_parent(obj: OrgUnit) -> int | None:
        return obj.parent_id

    @staticmethod
    def resolve_committee(obj: OrgUnit) -> int | None:
        return obj.committee_id


class PlaceDetailOut(PlaceOut):
    grids: list[GridOut]

    @staticmethod
    def resolve_grids(obj: OrgUnit, context) -> list[Grid]:
        """The committee's grids that the caller may see (only their own, for a grid worker)."""
        grids = Grid.objects.visible_to(context["request"].user).filter(committee_id=obj.pk)
        return list(grids.order_by("kind", "name"))


router = Router(tags=["places"])


@router.get("/places/{unit_id}", response=PlaceDetailOut)
@requires(Cap.VIEW_PLACES)
def place_detail(request, unit_id: Id):
    """One org unit the caller's membership covers, with its grids if it is a committee."""
    return access_by_id(OrgUnit.objects.all(), request.user, pk=unit_id)


@router.get("/places/{unit_id}/children", response=list[PlaceOut])
@requires(Cap.VIEW_PLACES)
def place_children(request, unit_id: Id):
    """The units directly under one the caller's membership covers."""
    unit = access_by_id(OrgUnit.objects.all(), request.user, pk=unit_id)
    return list(unit_children(unit))
