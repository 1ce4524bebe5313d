"""Match the free-text addresses of tracing lists (大数据清单) to roster households, and time it.

    .venv/bin/python bench/address_match.py [--cases FILE] [--compounds 2000] [--addresses 10000]

No database: only xiuhua.places.addresses (pure Python) is used. The case file (default
xiuhua/places/tests/address_cases.csv, described in address_cases.md next to it) is UTF-8 CSV
with the header `kind,text,compound,building,room`, one row per line:

    district,杨浦区,,,                       the district of the rows below (text = its name)
    street,长海路街道,,,                      the street of the rows below (within that district)
    household,国和一村居委会,国和一村,5号,302   a roster household: text = its committee, then the
                                            compound's name, the building's name and the room
    alias,国和路346弄,国和一村,,               an alias line of a compound (OrgUnit.aliases)
    case,国和路346弄5号302室,国和一村,5号,302   an address as a list writes it, and the household
                                            it must match
    case,国和一村5号303室,,,                   ... or compound/building/room empty: no match expected

A compound is (committee, name); where a name belongs to two committees, alias and case rows
write it `委员会/小区` ("民京居委会/长海苑"). Cases name the household by its compound and by a
building and room that reduce to the same keys (building_key/room_key) as a household row.

A case's address is matched when the gazetteer parses it and the candidate compounds, building
and room resolve to exactly one roster household (HouseholdIndex.match). precision = correct
matches / matches made (a case that expects no match and gets one is a wrong match); recall =
correct matches / cases that expect a match. Misses and wrong matches are listed on stderr.

Then, unless --compounds 0, a synthetic gazetteer of --compounds compounds (a name and a
road-and-lane alias each, in 100 streets) parses --addresses addresses written in the forms above;
its build and parse times go to stderr.

Last line: `cases=… precision=… recall=… seconds=…` (seconds: parsing and matching the case file).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xiuhua.places.addresses import (  # noqa: E402 - after the path is set
    CompoundGazetteer,
    HouseholdIndex,
    building_key,
    room_key,
)

DEFAULT_CASES = ROOT / "xiuhua" / "places" / "tests" / "address_cases.csv"
HEADER = ["kind", "text", "compound", "building", "room"]


@dataclass
class CaseSet:
    gazetteer_rows: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    household_rows: list[tuple[int, int, str, str]] = field(default_factory=list)
    cases: list[tuple[int, str, int | None]] = field(default_factory=list)  # (line, text, household id)
    labels: dict[int, str] = field(default_factory=dict)  # household id -> "committee/compound 5号302"


@dataclass
class Outcome:
    cases: int
    expected: int
    made: int
    correct: int
    seconds: float
    problems: list[str]

    @property
    def precision(self) -> float:
        return self.correct / self.made if self.made else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0


def load_cases(path: Path) -> CaseSet:
    """Read a case file (see the module docstring); SystemExit naming the line when it is wrong."""
    out = CaseSet()
    compounds: dict[tuple[str, str], int] = {}  # (committee, name) -> id
    where: dict[int, tuple[str, str]] = {}
    names: dict[int, str] = {}
    aliases: dict[int, list[str]] = {}
    households: dict[tuple[int, str, str], int] = {}
    district = street = ""
    pending: list[tuple[int, list[str]]] = []

    def fail(line: int, message: str) -> SystemExit:
        return SystemExit(f"{path}:{line}: {message}")

    def compound_ref(line: int, ref: str) -> int:
        if "/" in ref:
            committee, name = ref.split("/", 1)
            found = [cid for (c, n), cid in compounds.items() if c == committee and n == name]
        else:
            found = [cid for (_, n), cid in compounds.items() if n == ref]
        if len(found) != 1:
            raise fail(line, f"compound {ref!r} is {'ambiguous' if found else 'unknown'}")
        return found[0]

    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        if next(reader, None) != HEADER:
            raise fail(1, f"the header must be {','.join(HEADER)}")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(HEADER):
                raise fail(line, f"{len(row)} fields, expected {len(HEADER)}")
            kind, text, compound, building, room = row
            if kind == "district":
                district, street = text, ""
            elif kind == "street":
                if not district:
                    raise fail(line, "a street before any district")
                street = text
            elif kind == "household":
                if not (street and text and compound and building and room):
                    raise fail(line, "a household needs a street above it, a committee, compound, building, room")
                key = (text, compound)
                if key not in compounds:
                    compounds[key] = len(compounds) + 1
                    where[compounds[key]] = (district, street)
                    names[compounds[key]] = compound
                cid = compounds[key]
                if where[cid] != (district, street):
                    raise fail(line, f"{text}/{compound} is under another street above")
                hkey = (cid, building_key(building), room_key(room))
                if hkey in households:
                    raise fail(line, "the same household twice")
                households[hkey] = hid = len(households) + 1
                out.household_rows.append((hid, cid, building, room))
                out.labels[hid] = f"{text}/{compound} {building}{room}"
            elif kind in ("alias", "case"):
                pending.append((line, row))
            else:
                raise fail(line, f"unknown kind {kind!r}")
    for line, (kind, text, compound, building, room) in pending:
        if kind == "alias":
            aliases.setdefault(compound_ref(line, compound), []).append(text)
        elif compound or building or room:
            cid = compound_ref(line, compound)
            hid = households.get((cid, building_key(building), room_key(room)))
            if hid is None:
                raise fail(line, f"no household {compound} {building} {room} in the roster rows")
            out.cases.append((line, text, hid))
        else:
            out.cases.append((line, text, None))
    for cid, name in names.items():
        out.gazetteer_rows.append((cid, name, "\n".join(aliases.get(cid, [])), *where[cid]))
    return out


def evaluate(case_set: CaseSet) -> Outcome:
    gazetteer = CompoundGazetteer(case_set.gazetteer_rows)
    index = HouseholdIndex(case_set.household_rows)
    problems: list[str] = []
    made = correct = 0
    started = time.perf_counter()
    results = [(line, text, expected, index.match(gazetteer.parse(text))) for line, text, expected in case_set.cases]
    seconds = time.perf_counter() - started
    for line, text, expected, got in results:
        made += got is not None
        if got is not None and got == expected:
            correct += 1
            continue
        if got is None and expected is None:
            continue
        what = "WRONG" if got is not None else "miss"
        got_label = case_set.labels[got] if got else "-"
        expected_label = case_set.labels[expected] if expected else "no match"
        problems.append(f"{what} line {line}: {text!r} -> {got_label} (expected {expected_label}; "
                        f"parsed {gazetteer.parse(text)})")
    expected_count = sum(1 for _, _, expected in case_set.cases if expected is not None)
    return Outcome(len(case_set.cases), expected_count, made, correct, seconds, problems)


# --- synthetic scale ----------------------------------------------------------------------------

_STEM_TEXT = """
国和 工农 民星 长海 市京 民京 政悦 佳龙 开鲁 市光 延吉 鞍山 长白 控江 凤城 辽源 内江 包头 靖宇 锦西 本溪 阜新 黄兴
松花 兰州 广灵 新华 平凉 定海 江浦 四平 殷行 中原 嫩江 国权 政民 隆昌 宁国 眉州 许昌
打虎山 双阳 营口 抚顺 铁岭 通北 辽阳 安图 杨树浦 周家嘴 临青 丹阳 宁武 兴安 大连 武川
密云 政修 政通 国定 淞沪 三门 虬江 翔殷 政立 城市 新江湾 安波 开鲁东 延吉东 长阳 飞虹
惠民 贵阳 昆明 齐齐哈尔 合肥 杭州 南京 苏州 宁波 嘉兴 湖州 绍兴 金华 衢州 台州 丽水 温州
舟山 芜湖 蚌埠 淮南 马鞍山 淮北 铜陵 安庆 黄山 滁州 阜阳 宿州 六安 亳州 池州 宣城
"""
_STEMS = _STEM_TEXT.split()
_SUFFIXES = ["一村", "二村", "三村", "四村", "五村", "新村", "花园", "小区", "苑", "新苑", "公寓", "家园", "华庭",
             "雅苑", "名邸", "佳苑", "东苑", "西苑", "南苑", "北苑"]
_FORMS = ["{c}{b}号{r}室", "{c}{b}号楼{r}", "{c}{b}幢{r}室", "{c}{b}-{r}", "{c} {b}号 {r}", "上海市杨浦区{c}{b}号{r}室",
          "{lane}{b}号{r}室", "上海市杨浦区{lane}{b}号楼{r}", "{c}{b}栋{f}楼{r}", "{lane}{b}-{r}"]


def synthetic(compounds: int, addresses: int, seed: int = 20200202) -> tuple[int, int, float, float]:
    """(addresses, matched correctly, build seconds, parse seconds)."""
    rng = random.Random(seed)
    names = list(dict.fromkeys(stem + suffix for suffix in _SUFFIXES for stem in _STEMS))[:compounds]
    if len(names) < compounds:
        raise SystemExit(f"at most {len(names)} synthetic compounds")
    rows = []
    for cid, name in enumerate(names, start=1):
        road = _STEMS[cid % len(_STEMS)] + "路"
        rows.append((cid, name, f"{road}{100 + cid}弄", "杨浦区", f"街道{cid % 100}街道"))
    started = time.perf_counter()
    gazetteer = CompoundGazetteer(rows)
    build = time.perf_counter() - started
    work = []
    for _ in range(addresses):
        cid = rng.randrange(1, compounds + 1)
        floor = rng.randint(1, 6)
        text = rng.choice(_FORMS).format(c=names[cid - 1], lane=rows[cid - 1][2], b=rng.randint(1, 40), f=floor,
                                         r=f"{floor}0{rng.randint(1, 4)}")
        work.append((cid, text))
    started = time.perf_counter()
    parsed = [(cid, gazetteer.parse(text)) for cid, text in work]
    seconds = time.perf_counter() - started
    good = sum(1 for cid, p in parsed if p is not None and p.compound_ids == (cid,))
    return addresses, good, build, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--compounds", type=int, default=2000, help="synthetic gazetteer size (0: skip)")
    parser.add_argument("--addresses", type=int, default=10000, help="synthetic addresses to parse")
    args = parser.parse_args()

    outcome = evaluate(load_cases(args.cases))
    for problem in outcome.problems:
        print(problem, file=sys.stderr)
    print(f"expected={outcome.expected} made={outcome.made} correct={outcome.correct}", file=sys.stderr)
    if args.compounds:
        n, good, build, seconds = synthetic(args.compounds, args.addresses)
        print(f"synthetic: compounds={args.compounds} addresses={n} parsed_right={good} "
              f"build_seconds={build:.3f} parse_seconds={seconds:.3f}", file=sys.stderr)
    print(f"cases={outcome.cases} precision={outcome.precision:.4f} recall={outcome.recall:.4f} "
          f"seconds={outcome.seconds:.4f}")


if __name__ == "__main__":
    main()
