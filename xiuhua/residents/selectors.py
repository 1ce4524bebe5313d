import re

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from xiuhua.core.access import active_membership
from xiuhua.core.idnumbers import IdType, normalise
from xiuhua.core.lookups import LookupKey, personal_lookup
from xiuhua.core.registry import PersonPart, PersonRow
from xiuhua.core.registry import person_parts as registered_person_parts
from xiuhua.places.addresses import building_key, room_key
from xiuhua.places.models import Kind, OrgUnit

from .identity import identity_hash
from .models import Household, Resident

_ADDRESS = re.compile(
    r"^(?P<compound>[^\d]*?)(?P<building>\d+)\s*(?:号楼|号|幢|栋|楼)?\s*[-—_/]?\s*(?P<room>\d+)?\s*室?$"
)


def resident_search(
    user, *, q: str = "", tag: str = "", status: str = "", client_ip: str = "", purpose: str = "resident_search"
) -> QuerySet[Resident]:
    """Residents visible to the user that match a free-text query.

    The query is read as what staff type: 11 digits = a mobile number; 4 digits = the end of an
    identity number or of a mobile number; 4 characters with an X = the end of an identity
    number; a whole identity number = that person (found by its keyed hash); digits with
    号/室/幢 = an address; anything else = part of a name. All but the name are personal keys:
    the search is then a governed lookup (core.lookups: audited, rate-limited, raises
    LookupThrottled).
    """
    residents = Resident.objects.visible_to(user)
    text = normalise(q)
    if text:
        membership = active_membership(user)
        scope_path = membership.org_unit.path if membership else "/"
        key, match = _query_q(text, scope_path)
        if key is None:
            residents = residents.filter(match)
        else:
            residents = personal_lookup(actor=user, key=key, purpose=purpose, scope=residents, match=match,
                                        client_ip=client_ip)
    if tag:
        residents = residents.filter(tags__tag=tag)
    if status:
        residents = residents.filter(living_status=status)
    return (residents.select_related("household__building", "household__compound").prefetch_related("tags")
            .order_by("name", "pk"))


def search_key_kind(q: str) -> str | None:
    """Which personal key (LookupKey) a search text is read as; None for a name or nothing."""
    text = normalise(q)
    return _query_q(text, "/")[0] if text else None


def _query_q(text: str, scope_path: str) -> tuple[str | None, Q]:
    """(the kind of personal key, or None for a name; the condition)."""
    if re.fullmatch(r"(\+?86)?1\d{10}", text):
        return LookupKey.PHONE, Q(mobile=text[-11:])
    if re.fullmatch(r"\d{4}", text):
        # A committee's residents are few enough to scan their phones; id_last4 is indexed.
        return LookupKey.TAIL, Q(id_last4=text) | Q(mobile__endswith=text)
    if re.fullmatch(r"[\dX]{4}", text):
        return LookupKey.ID_TAIL, Q(id_last4=text)
    if re.fullmatch(r"[A-Z0-9]{8,18}", text) and not text.isalpha():
        return LookupKey.ID_NUMBER, Q(id_hash__in=[identity_hash(t, text) for t in IdType.values])
    match = _ADDRESS.match(text)
    if match and (match["room"] or re.search(r"号|幢|栋|楼|室", text)):
        q = Q(household__building__name__startswith=f"{match['building']}号") | Q(
            household__building__name__startswith=f"{match['building']}幢"
        ) | Q(household__building__name=match["building"])
        # Buildings under the user's unit first: walks the path index to a few buildings
        # instead of matching a room number across the whole city.
        q &= Q(household__building__path__startswith=scope_path)
        if match["room"]:
            q &= Q(household__room=match["room"])
        if match["compound"]:
            q &= Q(household__compound__name__contains=match["compound"])
        return LookupKey.ADDRESS, q
    return None, Q(name__contains=text)


def household_list(user, *, committee: str = "", compound: str = "", building: str = "") -> QuerySet[Household]:
    households = Household.objects.visible_to(user)
    for field, value in (("committee", committee), ("compound", compound), ("building", building)):
        if value:
            if not (value.isascii() and value.isdigit()):
                return households.none()
            households = households.filter(**{f"{field}_id": int(value)})
    return (
        households.select_related("building", "compound")
        # A correlated count per row of the page, rather than a GROUP BY over the join.
        .annotate(resident_count=Coalesce(Subquery(
            Resident.objects.filter(household=OuterRef("pk")).order_by().values("household")
            .annotate(n=Count("pk")).values("n")
        ), 0))
        .prefetch_related(
            Prefetch("residents", queryset=Resident.objects.filter(relation="head"), to_attr="heads")
        )
        .in_natural_order()
    )


def filter_unit(user, unit_id: str) -> OrgUnit | None:
    if not (unit_id.isascii() and unit_id.isdigit()):
        return None
    return OrgUnit.objects.visible_to(user).filter(pk=int(unit_id)).first()


HOME_TAGS = ("elderly_alone", "dialysis", "chemotherapy", "pregnant", "disabled", "no_smartphone")


def scope_overview(user) -> list[dict]:
    """Per child unit of the user's unit: households, residents and the key tags.

    Counted per committee (three grouped queries on indexed committee columns), then summed up to
    the child unit on the committee's path, so a district officer sees streets and a street
    officer sees committees.
    """
    from xiuhua.places.models import Kind

    from .models import ResidentTag

    membership = active_membership(user)
    if membership is None or not membership.has("view_residents"):
        return []
    unit = membership.org_unit
    households = Household.objects.visible_to(user)
    residents = Resident.objects.visible_to(user)
    per_committee: dict[int, dict] = {}

    def bucket(committee_id: int) -> dict:
        return per_committee.setdefault(committee_id, {"households": 0, "residents": 0, "tags": {}})

    for row in households.values("committee").annotate(n=Count("pk")):
        bucket(row["committee"])["households"] = row["n"]
    for row in residents.values("committee").annotate(n=Count("pk")):
        bucket(row["committee"])["residents"] = row["n"]
    tags = ResidentTag.objects.filter(tag__in=HOME_TAGS, resident__in=residents.values("pk"))
    for row in tags.values("committee", "tag").annotate(n=Count("pk")):
        bucket(row["committee"])["tags"][row["tag"]] = row["n"]

    committees = OrgUnit.objects.filter(pk__in=per_committee).only("pk", "path")
    depth = unit.path.count("/")  # the child's id sits right after the unit's own path
    rows: dict[int, dict] = {}
    for committee in committees:
        parts = committee.path.strip("/").split("/")
        child_id = int(parts[depth - 1]) if unit.kind != Kind.COMMITTEE and len(parts) >= depth else committee.pk
        row = rows.setdefault(child_id, {"households": 0, "residents": 0, "tags": dict.fromkeys(HOME_TAGS, 0)})
        counts = per_committee[committee.pk]
        row["households"] += counts["households"]
        row["residents"] += counts["residents"]
        for tag, n in counts["tags"].items():
            row["tags"][tag] += n
    units = OrgUnit.objects.in_bulk(list(rows))
    return [
        {"unit": units[pk], **row, "tag_list": [row["tags"][t] for t in HOME_TAGS]}
        for pk, row in sorted(rows.items(), key=lambda item: (units[item[0]].code, units[item[0]].name))
    ]


def find_building(compound: OrgUnit, text: str) -> OrgUnit | None:
    """The compound's building written as '5', '5号', '5号楼', '5幢', '五号楼' ..."""
    key = building_key(text)
    if not key:
        return None
    for building in OrgUnit.objects.filter(parent=compound, kind=Kind.BUILDING):
        if building_key(building.name) == key:
            return building
    return None


def find_household(building: OrgUnit, room: str) -> Household | None:
    """The building's household with that room, written as '302', '302室', '三〇二' ..."""
    key = room_key(room)
    if not key:
        return None
    for household in Household.objects.filter(building=building):
        if room_key(household.room) == key:
            return household
    return None


def person_parts(user, resident: Resident) -> list[tuple[PersonPart, list[PersonRow]]]:
    """What each app holds about the resident that the user may see (core.registry.PersonPart),
    in the parts' order; an app whose records the user's role does not see is left out."""
    found = []
    for part in registered_person_parts():
        rows = part.rows(user, resident)
        if rows is not None:
            found.append((part, rows))
    return found
