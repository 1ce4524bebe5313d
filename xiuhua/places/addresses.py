"""Free-text Shanghai addresses to roster households: the address part of matching tracing lists.

Pure Python, no database: callers load the compounds (and the households) once, build a
`CompoundGazetteer` (and a `HouseholdIndex`), then parse as many addresses as they like.

How an address is read (`CompoundGazetteer.parse`):

1. `normalise`: NFKC (full-width digits, letters, spaces and hyphens to half-width), 號樓棟層區 and
   ○ to 号楼栋层区〇, `#` to 号 ("5#302" = "5号302"), upper case; spaces and punctuation dropped,
   except that a run of them between two numbers becomes one "-" ("5 302" -> "5-302"); Chinese
   numerals to digits where they stand next to 号/幢/栋/座/楼/层/室/房/单元/弄/- (五号楼 -> 5号楼,
   十二幢 -> 12幢, 三〇二室 -> 302室, 5号楼三〇二 -> 5号楼302), so names keep theirs (国和一村).
   Compounds are looked for in `compound_key` of the text, where every numeral run is converted
   (国和一村 and 国和1村 -> 国和1村); names and aliases go through the same function, so a
   conversion is always made on both sides alike. Mobile numbers (1[3-9] and 9 digits) are
   removed first: lists paste them into the address.
2. Prefixes at the start are dropped, in any order and repeated: 中国, 上海市/上海; a district
   (杨浦区 or 杨浦; the gazetteer's districts and Shanghai's 16); a street of the gazetteer under
   its full name only (长海路街道, 长海路街道办事处, 五角场镇: the street office 长海路街道 is named
   after the road 长海路, which stays); then one committee (…居委会/居委/居民委员会/村委会). A
   prefix is not dropped where a longer compound name or alias starts at the same place (上海花园).
   A district or street named there narrows the compound candidates to those inside it; when none
   is left (黄浦区国和一村…: no 国和一村 in 黄浦区) the result is None.
3. Compounds are the leftmost-longest occurrences of a name or an alias (one dict lookup per
   position in a table keyed by two characters, so the time does not grow with the number of
   compounds). An alias line is either another name ("长海新城小区") or a road and lane:
   "国和路346弄", optionally with the building numbers it covers, "国和路290弄1-20号", for the big
   lanes that two compounds share. Words between the prefixes and the first compound are ignored
   when the compound follows 区市镇道路街办会委弄号巷里住址在 (杨浦区长海路国和一村, 现住:国和一村),
   and make the result None otherwise (新国和一村 is another compound) or when they name another
   province or city (江苏省…, 苏州市…). Several mentions (国和一村(国和路346弄)…) must agree. A
   lane number right after a compound name (国和一村346弄5号302) must be one of its lanes.
4. The building and the room are read from what follows the first compound (other mentions cut
   out), as normalised (see `_REST`): an optional 小区/社区, an optional lane "346弄", the building
   (digits with an optional letter, or a letter: "5", "12A", "A") with 号楼, 号, 幢, 栋, 座 or 楼,
   or "-" alone ("5-302"), an optional unit "3单元", an optional floor "3楼"/"3层"/"3F", and the
   room (digits and an optional letter) with 室, 号, 房 or nothing; then words without digits,
   ignored ("302室(出租)", "302室 张三").
   Accepted: 5号302室, 5号楼302, 5幢302室, 5栋302, 5座302, 5-302, 5号-302, 5号 302, 5 302, 5#302,
   5号/302, 5号楼3楼302, 5栋3层302室, 5号302号, 5号302房, 第5幢302室, 1号12楼1201, 五号楼三〇二室.
   Refused (None): no building or no room (5号, 302室, 5302); a floor that does not agree with the
   room (5号3楼402); "N楼" with no other building when the room is on floor N (3楼302: building 3,
   or the third floor?); 5-3-302; 二期/东区 or digits after the compound or after the room.
   "5楼302" is building 5 (a room on the fifth floor would be 5xx), as residents write in SMS.
   A unit is kept in the room key: 5号3单元302 -> building "5", room "3-302", which only matches a
   roster that writes its rooms by unit.

Compounds with the same name in two committees give both ids; `HouseholdIndex.match` then takes
the household only when exactly one of them has that building and room.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

Via = Literal["name", "alias", "lane"]

# Shanghai's districts, so that an address in another district is not read as ours.
SHANGHAI_DISTRICTS = (
    "黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区", "宝山区", "嘉定区",
    "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区",
)
CITY_PREFIXES = ("中华人民共和国", "中国", "上海市", "上海")

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_CN_NUMERALS = "〇零一二三四五六七八九两十百"
_NUMBER_CHARS = "0-9" + _CN_NUMERALS

_VARIANTS = str.maketrans({"號": "号", "樓": "楼", "棟": "栋", "層": "层", "區": "区", "○": "〇", "◯": "〇",
                           "#": "号"})
_SEPARATORS = re.compile(r"[\W_]+")
_NUMBER_CHAR = re.compile(f"[{_NUMBER_CHARS}]")
_CN_RUN = re.compile(f"[{_CN_NUMERALS}]+")
# A Chinese numeral is a number (not part of a name like 国和一村) after or before these.
_NUMBER_BEFORE = ("号", "幢", "栋", "座", "楼", "层", "弄", "单元", "-")
_NUMBER_AFTER = ("号", "幢", "栋", "座", "楼", "层", "室", "房", "单元", "弄", "-")
_ORDINAL = re.compile(r"第(?=[0-9]+[A-Z]?(?:号|幢|栋|座))")

_BUILDING_SUFFIX = re.compile(r"(?:号楼|号|幢|栋|座|楼)$")
_ROOM_SUFFIX = re.compile(r"(?:室|号|房)$")
_ROOM_WITH_FLOOR = re.compile(r"([0-9]+)(?:楼|层|F)-?([0-9]+[A-Z]?)")
_ROOM_WITH_UNIT = re.compile(r"([0-9]+)单元-?([0-9]+[A-Z]?)")

# What follows the compound: [lane] building [unit] [floor] room [words without digits].
_REST = re.compile(
    r"(?:小区|社区)?"
    r"(?:(?P<lane>[0-9]+)弄)?"
    r"(?P<building>[0-9]+[A-Z]?|[A-Z][0-9]*)(?P<suffix>号楼|号|幢|栋|座|楼)?(?P<dash>-)?"
    r"(?:(?P<unit>[0-9]+)单元-?)?"
    r"(?:(?P<floor>[0-9]+)(?:楼|层|F)-?)?"
    r"(?P<room>[0-9]+[A-Z]?)(?:室|号|房)?"
    r"(?:[^0-9号楼幢栋座室房层弄单元F-][^0-9]*)?"
)
_LANE_ALIAS = re.compile(r"(?P<road>.+?[^0-9])(?P<lane>[0-9]+)弄(?:(?P<low>[0-9]+)号?(?:-|至|到)(?P<high>[0-9]+)号?)?")
# Before the first compound (after the prefixes): another province or city, or a longer name.
_ELSEWHERE = re.compile(r"省|自治区|特别行政区|县|[^上海]{2}市")
_BEFORE_COMPOUND = frozenset("区市镇道路街办会委弄号巷里住址在")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")  # a phone number written into the address
_COMMITTEE = re.compile(r"[^号室弄幢栋座楼-]{1,12}?(?:居民委员会|居委会|居委|村民委员会|村委会)")


def _cn_number(run: str) -> str | None:
    """'三〇二' -> '302', '十二' -> '12', '一百零二' -> '102'; None when it is not a number."""
    if "十" not in run and "百" not in run:
        return "".join(str(_CN_DIGITS[c]) for c in run)
    total, digit, last_unit, zero = 0, None, 1000, False
    for c in run:
        if c in "〇零":
            if digit is not None:
                return None
            zero = True
        elif c in _CN_DIGITS:
            if digit is not None:
                return None
            digit = _CN_DIGITS[c]
        else:
            unit = 10 if c == "十" else 100
            if unit >= last_unit or zero:
                return None
            if digit is None:
                if unit == 100 or total:
                    return None
                digit = 1  # 十二 = 12
            total += digit * unit
            digit, last_unit = None, unit
    if digit is not None:
        if last_unit == 100 and not zero:
            return None  # 一百二: 102 or (colloquially) 120?
        total += digit
    return str(total)


def _convert_run(match: re.Match[str]) -> str:
    return _cn_number(match.group()) or match.group()


def _convert_number_run(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if text[max(0, start - 2) : start].endswith(_NUMBER_BEFORE) or text[end : end + 2].startswith(_NUMBER_AFTER):
        return _cn_number(match.group()) or match.group()
    return match.group()


def _separator(match: re.Match[str]) -> str:
    """Spaces and punctuation: '-' between two numbers ('5 302' -> '5-302'), else nothing."""
    text, start, end = match.string, match.start(), match.end()
    if start and end < len(text) and _NUMBER_CHAR.match(text[start - 1]) and _NUMBER_CHAR.match(text[end]):
        return "-"
    return ""


def normalise(text: str) -> str:
    """Half-width, upper case, no spaces or punctuation (but "-" between two numbers), Chinese
    numerals to digits where they are a building, floor, room or lane number.

    '国和一村 五号楼 三〇二室' -> '国和一村5号楼302室'; '５号　３０２' -> '5号302'; '5 302' -> '5-302'.
    """
    text = unicodedata.normalize("NFKC", text or "").translate(_VARIANTS).upper()
    text = _SEPARATORS.sub(_separator, text)
    text = _CN_RUN.sub(_convert_number_run, text)
    return _ORDINAL.sub("", text)


def compound_key(text: str) -> str:
    """`normalise`, then every Chinese numeral run to digits: '国和一村' and '国和1村' -> '国和1村'."""
    return _CN_RUN.sub(_convert_run, normalise(text))


def _compound_key_mapped(normalised: str) -> tuple[str, list[int]]:
    """compound_key of a normalised text, and for each of its positions (and its end) the
    position in the normalised text, so that what follows a compound is read as normalised
    (張三 after the room stays a name, not digits)."""
    parts: list[str] = []
    back: list[int] = []
    last = 0
    for run in _CN_RUN.finditer(normalised):
        start = run.start()
        parts.append(normalised[last:start])
        back.extend(range(last, start))
        converted = _cn_number(run.group()) or run.group()
        parts.append(converted)
        back.extend([start] * len(converted))
        last = run.end()
    parts.append(normalised[last:])
    back.extend(range(last, len(normalised) + 1))
    return "".join(parts), back


def _strip_zeros(token: str) -> str:
    digits = len(token) - len(token.lstrip("0123456789"))
    if digits == 0:
        return token
    number = token[:digits].lstrip("0") or "0"
    return number + token[digits:]


def building_key(text: str) -> str:
    """'5号楼', '５幢', '5栋', '5号', '五号楼', '5座', '5楼', '第5幢', '05' -> '5'."""
    key = _BUILDING_SUFFIX.sub("", compound_key(text))
    return _strip_zeros(key)


def room_key(text: str) -> str:
    """'302室', '302', '302号', '302房', '三〇二' -> '302'.

    A floor written before the room is dropped when it agrees with the room ('3楼302' -> '302');
    when it does not ('3楼502') the text is kept and matches no roster room. A unit stays in the
    key: '3单元302' -> '3-302'.
    """
    key = _ROOM_SUFFIX.sub("", compound_key(text))
    floor = _ROOM_WITH_FLOOR.fullmatch(key)
    if floor:
        return floor.group(2) if _floor_agrees(floor.group(1), floor.group(2)) else key
    unit = _ROOM_WITH_UNIT.fullmatch(key)
    if unit:
        return f"{unit.group(1)}-{unit.group(2)}"
    return key


def _floor_agrees(floor: str, room: str) -> bool:
    """Room 302 is on floor 3, 1201 on floor 12."""
    digits = room.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return digits.startswith(floor) and len(digits) == len(floor) + 2


@dataclass(frozen=True)
class ParsedAddress:
    compound_ids: tuple[int, ...]  # candidates, sorted; more than one when a name is ambiguous
    building: str  # building_key
    room: str  # room_key
    via: Via  # how the compound was recognised: by name (also 国和1村), alias, or road and lane


class _Entry(NamedTuple):
    compound_id: int
    via: Via
    low: int | None  # the buildings a lane alias covers ("国和路290弄1-20号")
    high: int | None

    def covers(self, building: str) -> bool:
        if self.low is None or self.high is None:
            return True
        return building.isdigit() and self.low <= int(building) <= self.high


class _KeyTable:
    """Finds the longest key starting at a position: keys are bucketed by their first two
    characters, so each position costs one dict lookup and a few startswith."""

    def __init__(self, keys: Iterable[str]):
        buckets: dict[str, list[str]] = {}
        for key in set(keys):
            if len(key) >= 2:
                buckets.setdefault(key[:2], []).append(key)
        self._buckets = {head: sorted(group, key=len, reverse=True) for head, group in buckets.items()}

    def longest_at(self, text: str, start: int) -> str | None:
        for key in self._buckets.get(text[start : start + 2], ()):
            if not text.startswith(key, start):
                continue
            end = start + len(key)
            if key[0].isdigit() and start > 0 and text[start - 1].isdigit():
                continue
            if key[-1].isdigit() and end < len(text) and text[end].isdigit():
                continue  # "国和路34" is not in "国和路346弄"
            return key
        return None


_VIA_RANK: dict[str, int] = {"name": 0, "lane": 1, "alias": 2}


class CompoundGazetteer:
    """The compounds by name, alias and lane; `parse` reads an address (see the module docstring).

    rows: (compound_id, name, aliases_text, district_name, street_name), aliases one per line.
    """

    def __init__(self, rows: Iterable[tuple[int, str, str, str, str]]):
        self._entries: dict[str, list[_Entry]] = {}
        self._where: dict[int, tuple[str, str]] = {}
        self._lanes: dict[int, list[tuple[str, _Entry]]] = {}  # compound -> (lane number, entry)
        prefixes: dict[str, tuple[str, str]] = {}
        for prefix in CITY_PREFIXES:
            prefixes[compound_key(prefix)] = ("city", "")
        districts = set(SHANGHAI_DISTRICTS)
        for compound_id, name, aliases, district, street in rows:
            district_key, street_key = compound_key(district), compound_key(street)
            self._where[compound_id] = (district_key, street_key)
            districts.add(district)
            if street_key:
                prefixes[street_key] = ("street", street_key)
                if street_key.endswith("街道"):
                    prefixes[street_key + "办事处"] = ("street", street_key)
            self._add(compound_key(name), _Entry(compound_id, "name", None, None))
            for line in (aliases or "").splitlines():
                key = compound_key(line)
                lane = _LANE_ALIAS.fullmatch(key)
                if lane is None:
                    self._add(key, _Entry(compound_id, "alias", None, None))
                    continue
                low, high = lane["low"], lane["high"]
                entry = _Entry(compound_id, "lane", int(low) if low else None, int(high) if high else None)
                self._add(f"{lane['road']}{lane['lane']}弄", entry)
                self._lanes.setdefault(compound_id, []).append((lane["lane"], entry))
        for district in districts:
            key = compound_key(district)
            if not key:
                continue
            prefixes[key] = ("district", key)
            if key.endswith("新区"):
                prefixes[key[:-2]] = ("district", key)  # 浦东
            elif key.endswith("区") and len(key) >= 3:
                prefixes[key[:-1]] = ("district", key)  # 杨浦
        self._prefixes = prefixes
        self._prefix_table = _KeyTable(prefixes)
        self._name_table = _KeyTable(self._entries)

    def _add(self, key: str, entry: _Entry) -> None:
        if len(key) < 2:
            return
        entries = self._entries.setdefault(key, [])
        if entry not in entries:
            entries.append(entry)

    def __len__(self) -> int:
        return len(self._where)

    def _strip_prefixes(self, text: str) -> tuple[int, str, str]:
        """(where the address proper starts, district key or "", street key or "")."""
        pos, district, street = 0, "", ""
        while True:
            key = self._prefix_table.longest_at(text, pos)
            if key is None:
                break
            compound = self._name_table.longest_at(text, pos)
            if compound is not None and len(compound) > len(key):
                return pos, district, street
            kind, value = self._prefixes[key]
            if kind == "district":
                district = value
            elif kind == "street":
                street = value
            pos += len(key)
        committee = _COMMITTEE.match(text, pos)
        if committee:
            compound = self._name_table.longest_at(text, pos)
            if compound is None or len(compound) <= committee.end() - pos:
                pos = committee.end()
        return pos, district, street

    def parse(self, text: str) -> ParsedAddress | None:
        """The compound candidates, building and room of an address; None when any is missing,
        when the parts disagree, or when the address cannot be read unambiguously."""
        normalised = normalise(_MOBILE.sub(" ", unicodedata.normalize("NFKC", text or "")))
        s, back = _compound_key_mapped(normalised)
        pos, district, street = self._strip_prefixes(s)
        mentions: list[tuple[int, int, str]] = []
        n = len(s)
        i = pos
        while i < n - 1:
            key = self._name_table.longest_at(s, i)
            if key is None:
                i += 1
            else:
                mentions.append((i, i + len(key), key))
                i += len(key)
        if not mentions:
            return None
        first = mentions[0][0]
        if first > pos and (s[first - 1] not in _BEFORE_COMPOUND or _ELSEWHERE.search(s, pos, first)):
            return None  # 新国和一村, 江苏省南通市国和一村: not ours
        # What follows the first mention, less the other mentions, as normalised.
        rest = "".join(normalised[back[end] : back[mentions[k + 1][0] if k + 1 < len(mentions) else n]]
                       for k, (_, end, _) in enumerate(mentions))
        m = _REST.fullmatch(rest)
        if m is None:
            return None
        building, room = _strip_zeros(m["building"]), m["room"]
        suffix, floor, unit = m["suffix"], m["floor"], m["unit"]
        if not (suffix or m["dash"] or floor or unit):
            return None  # "5302"
        if floor and not _floor_agrees(floor, room):
            return None
        if suffix == "楼" and not floor and not unit and _floor_agrees(m["building"], room):
            return None  # "3楼302": building 3, or the third floor of a building not given?
        if unit:
            room = f"{unit}-{room}"

        candidates: set[int] | None = None
        vias: dict[int, Via] = {}
        for _, _, key in mentions:
            found = {e.compound_id for e in self._entries[key] if e.covers(building)}
            candidates = found if candidates is None else candidates & found
            for e in self._entries[key]:
                known = vias.get(e.compound_id)
                if e.compound_id in found and (known is None or _VIA_RANK[e.via] < _VIA_RANK[known]):
                    vias[e.compound_id] = e.via
        ids = candidates or set()
        if m["lane"]:
            lane = m["lane"]
            ids = {c for c in ids if any(num == lane and e.covers(building) for num, e in self._lanes.get(c, ()))}
        if district:
            ids = {c for c in ids if self._where[c][0] == district}
        if street:
            ids = {c for c in ids if self._where[c][1] == street}
        if not ids:
            return None
        via = min((vias[c] for c in ids), key=_VIA_RANK.__getitem__)
        return ParsedAddress(tuple(sorted(ids)), building, room, via)


class HouseholdIndex:
    """Roster households by (compound, building key, room key).

    rows: (household_id, compound_id, building_name, room).
    """

    def __init__(self, rows: Iterable[tuple[int, int, str, str]]):
        self._by_key: dict[tuple[int, str, str], list[int]] = {}
        for household_id, compound_id, building, room in rows:
            self._by_key.setdefault((compound_id, building_key(building), room_key(room)), []).append(household_id)

    def lookup(self, parsed: ParsedAddress) -> list[int]:
        """Every household of the candidate compounds with that building and room."""
        found: list[int] = []
        for compound_id in parsed.compound_ids:
            found.extend(self._by_key.get((compound_id, parsed.building, parsed.room), ()))
        return found

    def match(self, parsed: ParsedAddress | None) -> int | None:
        """The household when exactly one fits, else None (nothing, or ambiguous)."""
        if parsed is None:
            return None
        found = self.lookup(parsed)
        return found[0] if len(found) == 1 else None
