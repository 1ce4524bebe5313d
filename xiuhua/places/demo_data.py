"""Demo and benchmark data: a Shanghai street with its committees, compounds and residents.

Everything here is made up but shaped like the real thing (see /work/shared/domain.md): 12-digit
division codes, compounds of the three kinds, walk-ups with rooms 101..604 and a few towers,
households of one to six people in realistic compositions, an old population (Yangpu's old
estates), valid resident ID numbers (GB 11643) whose birth date and sex match the person, and
the special groups that the mask rounds and emergency care look after.

The generator is deterministic: one `random.Random` with a fixed seed drives every choice, and
birth dates are counted back from a fixed reference date. Only two things vary between runs:
the Fernet ciphertexts (random IVs) and the "away until" dates, which are counted from today so
that a fresh demo always shows returns in the future.

Rows are written with explicit primary keys reserved from the database (so that parents' ids
are known before their children are written) through a `Sink`: `BulkSink` uses bulk_create and
`seed_scale` adds a COPY sink for PostgreSQL. Because save() is bypassed, the denormalised
columns (path, committee_id, compound_id) are filled in here.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from xiuhua.accounts.models import Membership, User
from xiuhua.accounts.roles import Role
from xiuhua.core.idnumbers import IdType, make_resident_id
from xiuhua.places.models import CompoundType, Grid, Kind, OrgUnit, natural_key
from xiuhua.residents.identity import identity_fields
from xiuhua.residents.models import Household, LivingStatus, Relation, Resident, ResidentTag, Tag

SEED = 20200202  # the day mask reservations opened in Shanghai
REFERENCE_DATE = dt.date(2026, 1, 1)  # ages are counted at this date
DEMO_PASSWORD = "xiuhua-demo-2026"

CITY_NAME = "上海市"
DISTRICT_NAME = "杨浦区"
STREET_NAME = "长海路街道"
STREET_CODE = "310110012000"

# ---------------------------------------------------------------------------------------------
# Names, numbers and places
# ---------------------------------------------------------------------------------------------

# Shanghai-flavoured frequencies (张王陈 first; 徐朱沈陆顾钱 more common than nationally).
_SURNAMES = {
    "张": 50, "王": 50, "陈": 50, "李": 40, "徐": 30, "朱": 30, "周": 30, "吴": 30, "刘": 30,
    "沈": 25, "陆": 25, "顾": 20, "杨": 20, "黄": 20, "钱": 15, "孙": 15, "胡": 15, "金": 15,
    "赵": 15, "蒋": 12, "曹": 12, "姚": 12, "许": 12, "施": 10, "郑": 10, "马": 10, "高": 10,
    "唐": 10, "林": 10, "何": 10, "郭": 10, "宋": 10, "汪": 10, "范": 10, "谢": 10, "丁": 10,
    "叶": 10, "潘": 10, "俞": 10, "严": 10, "袁": 10, "邵": 8, "方": 8, "杜": 8, "吕": 8,
    "倪": 8, "戴": 8, "程": 8, "魏": 8, "蔡": 8, "秦": 6, "龚": 6, "薛": 6, "梁": 6, "罗": 6,
    "邱": 6, "卢": 6, "董": 6, "费": 4, "盛": 4, "瞿": 3, "奚": 3, "欧阳": 2, "司马": 1,
    "诸葛": 1, "上官": 1,
}

# Given names by birth cohort (upper bound of birth year) and sex.
_GIVEN: list[tuple[int, dict[str, list[str]]]] = [
    (1955, {
        "M": ["建国", "建华", "国华", "国强", "志刚", "德明", "金根", "根宝", "福林", "荣根", "永康",
              "振华", "宝康", "文彬", "家骏", "如海", "兴发", "长林", "桂林", "炳章", "阿福", "志明"],
        "F": ["秀英", "桂英", "玉兰", "凤英", "桂兰", "秀珍", "美华", "丽华", "淑珍", "月英", "素珍",
              "彩娣", "杏娣", "宝娣", "招娣", "金妹", "根娣", "小妹", "美英", "玉珍", "惠芳"],
    }),
    (1975, {
        "M": ["卫东", "卫国", "建军", "建平", "红兵", "海涛", "国庆", "伟民", "志强", "明华", "勇",
              "军", "强", "斌", "平", "刚", "华", "敏华", "跃进", "永明", "立新", "忠良"],
        "F": ["红", "丽", "萍", "芳", "燕", "敏", "霞", "丽萍", "海燕", "红梅", "卫红", "玲", "慧",
              "静", "雅琴", "美玲", "亚萍", "春燕", "建英", "晓红", "文娟"],
    }),
    (1995, {
        "M": ["伟", "磊", "杰", "涛", "超", "鹏", "浩", "俊", "斌", "晨", "骏", "峰", "强", "勇",
              "明", "亮", "晓东", "志伟", "俊杰", "晓峰", "文杰", "佳伟", "海峰", "剑"],
        "F": ["婷", "婷婷", "丹", "倩", "颖", "晶", "佳", "雪", "琳", "莉", "洁", "蕾", "敏", "静",
              "燕", "丽", "晓燕", "佳怡", "雯", "慧敏", "颖慧", "晓丽", "诗琪", "菁"],
    }),
    (2010, {
        "M": ["子豪", "浩然", "宇航", "昊天", "俊杰", "天宇", "博文", "家豪", "晨阳", "一鸣", "思远",
              "嘉诚", "睿", "宇", "轩", "哲", "凯", "昊", "逸飞", "子杰"],
        "F": ["欣怡", "雨欣", "思琪", "佳琪", "梦婷", "诗雨", "语嫣", "雨萱", "可欣", "紫涵", "心怡",
              "晓雯", "雨桐", "思雨", "嘉怡", "梓萱", "静怡", "悦", "佳慧", "诗怡"],
    }),
    (9999, {
        "M": ["子轩", "梓轩", "宇轩", "浩宇", "沐辰", "俊熙", "皓轩", "奕辰", "一诺", "宸", "睿泽",
              "亦辰", "梓睿", "铭泽", "煜", "承泽", "子墨", "景行", "星宇", "嘉懿"],
        "F": ["梓涵", "一诺", "若汐", "欣妍", "诗涵", "雨桐", "可馨", "语桐", "芷若", "梓萱", "沐晴",
              "安琪", "依依", "思彤", "子涵", "悦彤", "语汐", "书瑶", "雨萌", "清妍"],
    }),
]
_COHORT_YEARS = [year for year, _ in _GIVEN]

# Region codes of resident IDs: Shanghai districts (old ones too: IDs keep the code of issue),
# and, for tenants who came from elsewhere, a few provinces' cities.
_SHANGHAI_REGIONS = {
    "310110": 50, "310109": 8, "310101": 5, "310103": 3, "310104": 5, "310105": 4, "310106": 4,
    "310107": 4, "310108": 3, "310112": 3, "310113": 4, "310115": 6, "310114": 2, "310117": 2,
    "310151": 2,
}
_OTHER_REGIONS = {
    "320102": 3, "320583": 3, "320681": 3, "330102": 3, "330281": 2, "340104": 4, "341221": 3,
    "410102": 3, "411323": 2, "420106": 2, "360102": 2, "370102": 2, "510107": 2, "430104": 2,
    "350102": 2, "230103": 1, "610113": 1,
}
_MOBILE_PREFIXES = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "191", "198", "199",
]

# Foreign residents: passport-style names, the language they read, passport formats and the
# ISO 3166 numeric code used by the 2023 foreign permanent-residence ID (9 + 31 + country).
_FOREIGN: dict[str, dict[str, Any]] = {
    "JPN": {"weight": 25, "language": "日本語", "iso": 392, "passport": "AA#######",
            "surnames": ["TANAKA", "SATO", "SUZUKI", "TAKAHASHI", "WATANABE", "ITO", "YAMAMOTO",
                         "NAKAMURA", "KOBAYASHI"],
            "M": ["HIROSHI", "TAKUYA", "KENJI", "DAISUKE", "SHOTA", "HARUTO"],
            "F": ["YUKI", "AYAKA", "MISAKI", "HARUKA", "NAOMI", "SAKURA"]},
    "KOR": {"weight": 20, "language": "한국어", "iso": 410, "passport": "M########",
            "surnames": ["KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG", "YOON"],
            "M": ["MINJUN", "SEOJUN", "JIHOON", "DONGHYUN", "HYUNWOO"],
            "F": ["SEOYEON", "JIWOO", "MINJI", "SUBIN", "YUNA"]},
    "USA": {"weight": 15, "language": "English", "iso": 840, "passport": "A########",
            "surnames": ["SMITH", "JOHNSON", "BROWN", "WILLIAMS", "MILLER", "DAVIS", "GARCIA"],
            "M": ["JAMES", "MICHAEL", "DAVID", "DANIEL", "RYAN"],
            "F": ["EMMA", "OLIVIA", "SARAH", "EMILY", "JESSICA"]},
    "GBR": {"weight": 6, "language": "English", "iso": 826, "passport": "#########",
            "surnames": ["TAYLOR", "JONES", "WILSON", "EVANS", "THOMAS"],
            "M": ["OLIVER", "GEORGE", "HARRY", "JACK"], "F": ["AMELIA", "ISLA", "GRACE", "LUCY"]},
    "FRA": {"weight": 8, "language": "Français", "iso": 250, "passport": "##AA#####",
            "surnames": ["MARTIN", "BERNARD", "DUBOIS", "LEROY", "MOREAU", "LAURENT"],
            "M": ["LUCAS", "HUGO", "PIERRE", "LOUIS"], "F": ["CAMILLE", "CHLOE", "MARIE", "LEA"]},
    "DEU": {"weight": 8, "language": "Deutsch", "iso": 276, "passport": "C########",
            "surnames": ["MUELLER", "SCHMIDT", "SCHNEIDER", "FISCHER", "WEBER"],
            "M": ["LUKAS", "JONAS", "FELIX", "MAXIMILIAN"], "F": ["ANNA", "LENA", "SOPHIE", "MIA"]},
    "CAN": {"weight": 4, "language": "English", "iso": 124, "passport": "AA######",
            "surnames": ["ROY", "TREMBLAY", "CAMPBELL", "ANDERSON"],
            "M": ["NATHAN", "LIAM", "ETHAN"], "F": ["CHARLOTTE", "ELLA", "ZOE"]},
    "AUS": {"weight": 4, "language": "English", "iso": 36, "passport": "A#######",
            "surnames": ["WHITE", "MARTIN", "THOMPSON", "WALKER"],
            "M": ["JACK", "NOAH", "WILLIAM"], "F": ["CHLOE", "RUBY", "SOPHIE"]},
    "ITA": {"weight": 3, "language": "Italiano", "iso": 380, "passport": "AA#######",
            "surnames": ["ROSSI", "RUSSO", "FERRARI", "ESPOSITO"],
            "M": ["MARCO", "LUCA", "MATTEO"], "F": ["GIULIA", "CHIARA", "SOFIA"]},
    "ESP": {"weight": 3, "language": "Español", "iso": 724, "passport": "AAA######",
            "surnames": ["GARCIA", "FERNANDEZ", "LOPEZ", "MARTINEZ"],
            "M": ["ALEJANDRO", "PABLO", "DIEGO"], "F": ["LUCIA", "MARTA", "ELENA"]},
}
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

_SPECIALTIES = [
    "内科", "外科", "儿科", "妇产科", "急诊科", "呼吸内科", "感染科", "心内科", "护理", "药剂",
    "麻醉科", "全科", "检验科", "放射科", "中医科", "口腔科", "肾内科", "精神心理科",
]
_SKILLS = [
    "电工", "水电维修", "心理咨询", "驾驶(C1驾照)", "英语翻译", "日语翻译", "韩语翻译", "厨师",
    "理发", "电脑维修", "护工", "社工", "律师", "教师", "手语", "摄影", "空调维修", "开锁",
]

_CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1..99 in Chinese numerals: 1 -> 一, 12 -> 十二, 30 -> 三十."""
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _CN_DIGITS[tens]
    return head + "十" + (_CN_DIGITS[ones] if ones else "")


class _Weighted:
    """rng.choices with precomputed cumulative weights (the hot path of the generator)."""

    def __init__(self, weights: Mapping[str, float]):
        self.items = list(weights)
        self.cum = list(itertools.accumulate(weights.values()))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> str:
        return self.items[bisect.bisect(self.cum, rng.random() * self.total)]


_SURNAME_PICK = _Weighted(_SURNAMES)
_SHANGHAI_PICK = _Weighted(_SHANGHAI_REGIONS)
_OTHER_PICK = _Weighted(_OTHER_REGIONS)
_FOREIGN_PICK = _Weighted({k: v["weight"] for k, v in _FOREIGN.items()})


# ---------------------------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------------------------


def surname_of(name: str) -> str:
    return name[:2] if name[:2] in _SURNAMES else name[0]


@dataclass
class Person:
    name: str
    sex: str
    age: int  # at REFERENCE_DATE; birth_date agrees with it
    birth_date: dt.date
    relation: str
    id_type: str
    number: str
    mobile: str = ""
    living_status: str = LivingStatus.HERE
    away_until: dt.date | None = None
    language: str = ""
    specialty: str = ""
    skills: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return self.living_status in (LivingStatus.HERE, LivingStatus.AWAY)


# Household compositions: (weight, size, builder name). Sizes come out at about
# 1: 20%, 2: 33%, 3: 27%, 4: 12%, 5: 6%, 6: 2%, i.e. ~2.55 people per household.
_OWNER_KINDS = {
    "single_elderly": 7.5, "single_young": 5, "single_mid": 5, "couple_elderly": 18,
    "couple_young": 5, "parent_adult_child": 8, "siblings": 1, "nuclear": 21, "old_couple_child": 5,
    "nuclear_two": 4, "three_gen_4": 8, "three_gen_5": 4.5, "old_head_5": 1.5, "six": 2,
}
_RENTAL_KINDS = {"single_young": 35, "couple_young": 20, "nuclear": 25, "shared_flat": 20}
_OWNER_PICK = _Weighted(_OWNER_KINDS)
_RENTAL_PICK = _Weighted(_RENTAL_KINDS)


class PeopleFactory:
    """Makes households of people. `sequence_base` keeps ID sequences of different generators
    apart (the demo uses 000-499, the scale data 500-999), so that their numbers never clash."""

    def __init__(self, rng: random.Random, *, sequence_base: int = 0):
        self.rng = rng
        self.sequence_base = sequence_base
        self.used_numbers: set[str] = set()
        self.used_mobiles: set[str] = set()

    # -- small pieces ------------------------------------------------------------------------

    def birth(self, age: int) -> dt.date:
        """A birth date at which the person is exactly `age` on REFERENCE_DATE."""
        start = dt.date(REFERENCE_DATE.year - age - 1, REFERENCE_DATE.month, REFERENCE_DATE.day)
        return start + dt.timedelta(days=1 + self.rng.randrange(365))

    def given_name(self, sex: str, year: int) -> str:
        names = _GIVEN[bisect.bisect_left(_COHORT_YEARS, year)][1][sex]
        return names[self.rng.randrange(len(names))]

    def name(self, sex: str, birth_year: int) -> str:
        return _SURNAME_PICK.pick(self.rng) + self.given_name(sex, birth_year)

    def mobile(self, age: int) -> str:
        """A mainland mobile, or "" for children and for many of the very old."""
        missing = (1.0 if age < 10 else 0.5 if age < 16 else 0.02 if age < 70
                   else 0.12 if age < 80 else 0.35 if age < 90 else 0.65)
        return "" if self.rng.random() < missing else self.any_mobile()

    def any_mobile(self) -> str:
        rng = self.rng
        while True:
            number = _MOBILE_PREFIXES[rng.randrange(len(_MOBILE_PREFIXES))] + f"{rng.randrange(10**8):08d}"
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number

    def gb_number(self, region: str, birth: dt.date, sex: str) -> str:
        """A GB 11643 number (resident ID, residence permit, 2023 foreign permanent ID)."""
        rng = self.rng
        for _attempt in range(50):
            sequence = self.sequence_base + 2 * rng.randrange(250) + (1 if sex == "M" else 0)
            number = make_resident_id(region, birth, sequence)
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number
        raise RuntimeError(f"no free ID sequence for {region} {birth}")

    def passport(self, pattern: str) -> str:
        rng = self.rng
        while True:
            number = "".join(
                str(rng.randrange(10)) if c == "#" else _LETTERS[rng.randrange(len(_LETTERS))]
                if c == "A" else c
                for c in pattern
            )
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    # -- people --------------------------------------------------------------------------------

    def person(self, age: int, sex: str, relation: str, *, surname: str | None = None,
               region: str | None = None, hk_tw: str = "") -> Person:
        age = max(0, min(age, 104))
        birth = self.birth(age)
        name = (surname or _SURNAME_PICK.pick(self.rng)) + self.given_name(sex, birth.year)
        if hk_tw:
            id_type, number = IdType.RESIDENCE_PERMIT, self.gb_number(hk_tw, birth, sex)
        else:
            region = region or _SHANGHAI_PICK.pick(self.rng)
            id_type, number = IdType.RESIDENT_ID, self.gb_number(region, birth, sex)
        return Person(name=name, sex=sex, age=age, birth_date=birth, relation=relation,
                      id_type=id_type, number=number, mobile=self.mobile(age))

    def foreigner(self, age: int, sex: str, relation: str, country: str,
                  surname: str | None = None) -> Person:
        info = _FOREIGN[country]
        rng = self.rng
        age = max(0, min(age, 104))
        birth = self.birth(age)
        surname = surname or rng.choice(info["surnames"])
        name = f"{surname} {rng.choice(info[sex])}"
        if age >= 18 and rng.random() < 0.3:
            id_type = IdType.FOREIGN_PERMANENT
            number = self.gb_number(f"931{info['iso']:03d}", birth, sex)
        else:
            id_type, number = IdType.PASSPORT, self.passport(info["passport"])
        mobile = self.mobile(age)
        return Person(name=name, sex=sex, age=age, birth_date=birth, relation=relation,
                      id_type=id_type, number=number, mobile=mobile, language=info["language"],
                      tags=[Tag.FOREIGN_NATIONAL])

    def elderly_age(self) -> int:
        # 65..99, most in their seventies and early eighties.
        return min(99, 65 + int(self.rng.triangular(0, 34, 8)))

    def household(self, *, rental: bool) -> list[Person]:
        rng = self.rng
        kind = (_RENTAL_PICK if rental else _OWNER_PICK).pick(rng)
        # Tenants often come from other provinces; owners mostly hold Shanghai IDs.
        region = _OTHER_PICK.pick(rng) if rental and rng.random() < 0.6 else None
        hk_tw = rng.choice(["810000", "820000", "830000"]) if rng.random() < 0.003 else ""
        if rng.random() < (0.05 if rental else 0.006):
            return self._foreign_household(kind)

        def make(age: int, sex: str, relation: str, surname: str | None = None) -> Person:
            return self.person(age, sex, relation, surname=surname, region=region, hk_tw=hk_tw)

        def other(sex: str) -> str:
            return "F" if sex == "M" else "M"

        def couple(age_lo: int, age_hi: int, *, male_head: float = 0.7) -> list[Person]:
            age = rng.randint(age_lo, age_hi)
            sex = "M" if rng.random() < male_head else "F"
            head = make(age, sex, Relation.HEAD)
            spouse = make(max(20, age + rng.randint(-4, 3) * (1 if sex == "M" else -1)),
                          other(sex), Relation.SPOUSE)
            if rng.random() < 0.003 and age < 60:  # a foreign spouse
                spouse = self.foreigner(spouse.age, spouse.sex, Relation.SPOUSE, _FOREIGN_PICK.pick(rng))
            return [head, spouse]

        def father_surname(pair: list[Person]) -> str:
            """Children mostly take the father's surname, never a foreign parent's."""
            father = pair[0] if pair[0].sex == "M" else pair[1]
            mother = pair[1] if father is pair[0] else pair[0]
            if father.language:
                return surname_of(mother.name)
            if mother.language:
                return surname_of(father.name)
            return surname_of(father.name if rng.random() < 0.9 else mother.name)

        def children(pair: list[Person], n: int, relation: str = Relation.CHILD) -> list[Person]:
            base = min(pair[0].age, pair[1].age)
            surname = father_surname(pair)
            return [make(max(0, base - rng.randint(24, 38)), rng.choice("MF"), relation, surname)
                    for _ in range(n)]

        def grandparents(head: Person, n: int) -> list[Person]:
            age = min(99, head.age + rng.randint(24, 34))
            first_sex = "F" if n == 1 and rng.random() < 0.65 else "M"
            out = [make(age, first_sex, Relation.PARENT,
                        surname_of(head.name) if first_sex == "M" else None)]
            if n == 2:
                out.append(make(max(60, age + rng.randint(-4, 2)), other(first_sex), Relation.PARENT))
            return out

        if kind == "single_elderly":
            return [make(self.elderly_age(), "F" if rng.random() < 0.68 else "M", Relation.HEAD)]
        if kind == "single_young":
            return [make(rng.randint(20, 42), rng.choice("MF"), Relation.HEAD)]
        if kind == "single_mid":
            return [make(rng.randint(45, 64), rng.choice("MF"), Relation.HEAD)]
        if kind == "couple_elderly":
            age = self.elderly_age() - rng.randint(0, 8)
            return couple(max(60, age), max(60, age), male_head=0.8)
        if kind == "couple_young":
            return couple(24, 40)
        if kind == "parent_adult_child":
            head = make(rng.randint(58, 92), "F" if rng.random() < 0.65 else "M", Relation.HEAD)
            child_age = max(20, head.age - rng.randint(24, 36))
            surname = surname_of(head.name) if rng.random() < 0.5 else None
            return [head, make(child_age, rng.choice("MF"), Relation.CHILD, surname)]
        if kind == "siblings":
            head = make(rng.randint(55, 85), rng.choice("MF"), Relation.HEAD)
            return [head, make(head.age + rng.randint(-6, 6), rng.choice("MF"), Relation.SIBLING,
                               surname_of(head.name))]
        if kind == "nuclear":
            pair = couple(30, 60)
            return pair + children(pair, 1)
        if kind == "old_couple_child":
            pair = couple(58, 82, male_head=0.8)
            return pair + [make(max(25, min(p.age for p in pair) - rng.randint(24, 34)),
                                rng.choice("MF"), Relation.CHILD, father_surname(pair))]
        if kind == "nuclear_two":
            pair = couple(32, 50)
            return pair + children(pair, 2)
        if kind == "three_gen_4":
            pair = couple(33, 55)
            return pair + children(pair, 1) + grandparents(pair[0], 1)
        if kind == "three_gen_5":
            pair = couple(32, 50)
            return pair + children(pair, 1) + grandparents(pair[0], 2)
        if kind == "old_head_5":
            pair = couple(60, 76, male_head=0.85)
            child = make(max(28, min(p.age for p in pair) - rng.randint(24, 34)),
                         rng.choice("MF"), Relation.CHILD, father_surname(pair))
            in_law = make(child.age + rng.randint(-3, 3), other(child.sex), Relation.OTHER)
            grandchild_surname = surname_of(child.name if child.sex == "M" else in_law.name)
            grandchild = make(max(0, child.age - rng.randint(25, 34)), rng.choice("MF"),
                              Relation.GRANDCHILD, grandchild_surname)
            return pair + [child, in_law, grandchild]
        if kind == "six":
            pair = couple(32, 48)
            return pair + children(pair, 2) + grandparents(pair[0], 2)
        # shared_flat: unrelated young tenants, the one who signed the lease is the head.
        return [make(rng.randint(21, 36), rng.choice("MF"),
                     Relation.HEAD if i == 0 else Relation.TENANT)
                for i in range(rng.randint(2, 4))]

    def _foreign_household(self, kind: str) -> list[Person]:
        rng = self.rng
        country = _FOREIGN_PICK.pick(rng)
        age = rng.randint(26, 55)
        sex = "M" if rng.random() < 0.6 else "F"
        head = self.foreigner(age, sex, Relation.HEAD, country)
        if kind in ("single_young", "single_elderly", "single_mid"):
            return [head]
        spouse = self.foreigner(max(22, age + rng.randint(-5, 3)), "F" if sex == "M" else "M",
                                Relation.SPOUSE, country)
        people = [head, spouse]
        surname = head.name.split()[0]
        if kind == "nuclear" or kind == "shared_flat":
            people += [self.foreigner(max(0, age - rng.randint(26, 40)), rng.choice("MF"),
                                      Relation.CHILD, country, surname)
                       for _ in range(rng.randint(1, 2))]
        return people


# ---------------------------------------------------------------------------------------------
# Statuses and tags, decided per batch (a committee) with exact counts
# ---------------------------------------------------------------------------------------------

# Shares of all residents of a batch; each is drawn from the people it can apply to.
SHARES: dict[str, float] = {
    LivingStatus.DECEASED: 0.005,
    LivingStatus.MOVED_OUT: 0.025,
    LivingStatus.AWAY: 0.03,
    Tag.PREGNANT: 0.005,
    Tag.DIALYSIS: 0.001,
    Tag.CHEMOTHERAPY: 0.002,
    Tag.DISABLED: 0.02,
    Tag.LOW_INCOME: 0.02,
    Tag.NO_SMARTPHONE: 0.08,
    Tag.MEDICAL_PROFESSIONAL: 0.01,
    Tag.OTHER_SKILLS: 0.01,
}


def _count(rng: random.Random, share: float, total: int) -> int:
    """share * total, rounded up or down at random so that batches add up to the share."""
    exact = share * total
    return int(exact) + (rng.random() < exact - int(exact))


def _pick(rng: random.Random, pool: list[Any], weights: list[float], k: int) -> list[Any]:
    """k distinct items, weighted (Efraimidis-Spirakis keys)."""
    if k <= 0 or not pool:
        return []
    if k >= len(pool):
        return list(pool)
    keyed = [(rng.random() ** (1.0 / w), i) for i, w in enumerate(weights) if w > 0]
    keyed.sort(reverse=True)
    return [pool[i] for _, i in keyed[:k]]


def assign_statuses_and_tags(rng: random.Random, households: list[list[Person]], *,
                             today: dt.date) -> None:
    people = [p for h in households for p in h]
    total = len(people)
    present_left = {id(h): len(h) for h in households}
    owner = {id(p): id(h) for h in households for p in h}

    def take(status: str, candidates: list[Person], weights: list[float]) -> None:
        for person in _pick(rng, candidates, weights, _count(rng, SHARES[status], total)):
            if present_left[owner[id(person)]] <= 1:
                continue  # somebody stays in every household
            person.living_status = status
            if status == LivingStatus.AWAY:
                person.away_until = today + dt.timedelta(days=rng.randint(3, 75))
            else:
                present_left[owner[id(person)]] -= 1

    multi = [p for h in households if len(h) > 1 for p in h]
    old = [p for p in multi if p.age >= 72]
    take(LivingStatus.DECEASED, old, [p.age - 70.0 for p in old])
    movers = [p for p in multi if p.living_status == LivingStatus.HERE and (
        (p.relation in (Relation.CHILD, Relation.GRANDCHILD) and 20 <= p.age <= 45)
        or p.relation == Relation.TENANT)]
    take(LivingStatus.MOVED_OUT, movers, [1.0] * len(movers))
    travellers = [p for p in people if p.living_status == LivingStatus.HERE and 18 <= p.age <= 75]
    take(LivingStatus.AWAY, travellers, [2.0 if p.age < 60 else 1.0 for p in travellers])

    # Elderly living alone: 65+, nobody else living in the household.
    for h in households:
        here = [p for p in h if p.present]
        if len(here) == 1 and here[0].age >= 65:
            here[0].tags.append(Tag.ELDERLY_ALONE)

    present = [p for p in people if p.present]

    def tag(name: str, pool: list[Person], weights: list[float]) -> list[Person]:
        chosen = _pick(rng, pool, weights, _count(rng, SHARES[name], total))
        for person in chosen:
            person.tags.append(name)
        return chosen

    women = [p for p in present if p.sex == "F" and 20 <= p.age <= 45]
    tag(Tag.PREGNANT, women, [3.0 if 26 <= p.age <= 36 else 1.0 for p in women])
    adults40 = [p for p in present if 30 <= p.age <= 88]
    tag(Tag.DIALYSIS, adults40, [1.0 + max(0, p.age - 45) / 10 for p in adults40])
    tag(Tag.CHEMOTHERAPY, adults40, [1.0 + max(0, p.age - 45) / 8 for p in adults40])
    tag(Tag.DISABLED, present,
        [0.5 if p.age < 18 else 1.0 if p.age < 60 else 2.5 if p.age < 80 else 4.0 for p in present])
    # Low income goes by household: the subsidy (低保) is granted to a family.
    target = _count(rng, SHARES[Tag.LOW_INCOME], total)
    candidates = [h for h in households if h[0].id_type == IdType.RESIDENT_ID]
    rng.shuffle(candidates)
    tagged = 0
    for h in candidates:
        if tagged >= target:
            break
        members = [p for p in h if p.present]
        if tagged + len(members) > target + 1:
            continue
        for person in members:
            person.tags.append(Tag.LOW_INCOME)
        tagged += len(members)
    # No smartphone: mostly the old; everyone 70+ without any phone is on the list.
    no_phone = [p for p in present if p.age >= 70 and not p.mobile]
    for person in no_phone:
        person.tags.append(Tag.NO_SMARTPHONE)
    rest = [p for p in present if p.age >= 18 and (p.mobile or p.age < 70)]
    k = _count(rng, SHARES[Tag.NO_SMARTPHONE], total) - len(no_phone)
    for person in _pick(rng, rest, [0.3 if p.age < 60 else 3.0 if p.age < 70 else 12.0
                                    for p in rest], k):
        person.tags.append(Tag.NO_SMARTPHONE)
    workers = [p for p in present if 25 <= p.age <= 65 and not p.language]
    for person in tag(Tag.MEDICAL_PROFESSIONAL, workers, [1.0] * len(workers)):
        person.specialty = rng.choice(_SPECIALTIES)
    able = [p for p in present if 18 <= p.age <= 72]
    for person in tag(Tag.OTHER_SKILLS, able, [1.0] * len(able)):
        skill = rng.choice(_SKILLS)
        person.skills = skill if not person.skills else f"{person.skills}、{skill}"


# ---------------------------------------------------------------------------------------------
# Writing rows
# ---------------------------------------------------------------------------------------------

# Parents before children, so that foreign keys hold at every flush.
WRITE_ORDER: list[type[models.Model]] = [OrgUnit, Grid, Household, Resident, ResidentTag]


def reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """n primary keys that nobody else will be given (explicit ids let children point to rows
    that are not written yet, and the ORM's own inserts meanwhile take later ids)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, n],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite (AUTOINCREMENT): new rows take max(rowid, sqlite_sequence) + 1, so moving the
        # sequence past the block reserves it. Runs inside the seeding transaction.
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(top, row[0] if row else 0) + 1
        if row:
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [start + n - 1, table])
        else:
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, start + n - 1])
        return list(range(start, start + n))


class IdPool:
    """Hands out reserved ids; blocks grow from 256 to 16,384 so that small runs leave small
    gaps in the sequences and big runs make few round trips."""

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.block = 256
        self.free: Iterator[int] = iter(())

    def next(self) -> int:
        for value in self.free:
            return value
        self.free = iter(reserve_ids(self.model, self.block))
        self.block = min(self.block * 2, 16384)
        return next(self.free)


class Sink:
    """Buffers rows (dicts of attname -> value) per model and writes them parents first."""

    def __init__(self) -> None:
        self.rows: dict[type[models.Model], list[dict[str, Any]]] = defaultdict(list)
        self.written: Counter[str] = Counter()
        self.now = timezone.now()

    def add(self, model: type[models.Model], row: dict[str, Any]) -> None:
        self.rows[model].append(row)

    def flush(self) -> None:
        for model in WRITE_ORDER:
            rows = self.rows.pop(model, [])
            if rows:
                self.write(model, rows)
                self.written[model.__name__] += len(rows)

    def write(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        raise NotImplementedError


class BulkSink(Sink):
    batch_size = 2000

    def write(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        objs = [model(**row) for row in rows]
        model._default_manager.bulk_create(objs, batch_size=self.batch_size)


def column_defaults(model: type[models.Model], now: dt.datetime) -> list[tuple[str, str, Any]]:
    """(column, attname, default) of every concrete field, for writers that bypass the ORM.

    A field the generator does not fill takes its default, so a column added to a model later
    does not break seeding unless it is required and has no default."""
    out = []
    for f in model._meta.concrete_fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default: Any = now
        elif f.has_default():
            default = f.get_default()
        elif f.null:
            default = None
        else:
            default = _REQUIRED
        out.append((f.column, f.attname, default))
    return out


_REQUIRED = object()


# ---------------------------------------------------------------------------------------------
# Places and households
# ---------------------------------------------------------------------------------------------


@dataclass
class CompoundPlan:
    name: str
    compound_type: str
    households: int  # about; whole buildings are added until this is reached
    building_suffix: str = "号"  # "号" or "幢"
    towers: int = 0  # high-rise buildings (floors 11-18, four rooms a floor) before the walk-ups


def building_layouts(rng: random.Random, plan: CompoundPlan) -> Iterator[tuple[str, list[str]]]:
    """(building name, rooms) until the plan's households are reached (endless if 0)."""
    made = 0
    number = 0
    while plan.households == 0 or made < plan.households:
        number += 1
        if number <= plan.towers:
            floors, per_floor = rng.randint(11, 18), 4
        else:
            floors, per_floor = rng.choice([5, 6, 6, 6, 6, 7]), rng.choice([2, 2, 3, 4])
        rooms = [f"{floor}{unit:02d}" for floor in range(1, floors + 1)
                 for unit in range(1, per_floor + 1)]
        made += len(rooms)
        yield f"{number}{plan.building_suffix}", rooms


class Builder:
    """Turns plans into rows: units, buildings, households, residents, tags and grids."""

    def __init__(self, sink: Sink, factory: PeopleFactory, *, today: dt.date | None = None):
        self.sink = sink
        self.factory = factory
        self.rng = factory.rng
        self.today = today or timezone.localdate()
        self.ids = {model: IdPool(model) for model in WRITE_ORDER}
        self.counts: Counter[str] = Counter()
        self.ages: Counter[int] = Counter()

    def unit(self, kind: str, name: str, parent: dict[str, Any] | OrgUnit, *, code: str = "",
             compound_type: str = "") -> dict[str, Any]:
        pk = self.ids[OrgUnit].next()
        if isinstance(parent, OrgUnit):
            parent = {"id": parent.pk, "path": parent.path, "committee_id": parent.committee_id}
        committee_id = (pk if kind == Kind.COMMITTEE
                        else parent["committee_id"] if kind in (Kind.COMPOUND, Kind.BUILDING)
                        else None)
        row = {"id": pk, "kind": kind, "name": name, "parent_id": parent["id"], "code": code,
               "compound_type": compound_type, "path": f"{parent['path']}{pk}/", "sort_key": natural_key(name),
               "committee_id": committee_id}
        self.sink.add(OrgUnit, row)
        self.counts[kind] += 1
        return row

    def committee(self, committee: dict[str, Any], plans: Iterable[CompoundPlan], *,
                  residents: int | None = None) -> None:
        """Fill a committee with compounds; stop at exactly `residents` people if given."""
        rng = self.rng
        households: list[tuple[dict[str, Any], list[Person]]] = []
        remaining = residents
        for plan in plans:
            if remaining is not None and remaining <= 0:
                break
            compound = self.unit(Kind.COMPOUND, plan.name, committee, compound_type=plan.compound_type)
            for building_name, rooms in building_layouts(rng, plan):
                if remaining is not None and remaining <= 0:
                    break
                building = self.unit(Kind.BUILDING, building_name, compound)
                for room in rooms:
                    if remaining is not None and remaining <= 0:
                        break
                    rental = rng.random() < (0.15 if plan.compound_type != CompoundType.MILITARY else 0.03)
                    people = self.factory.household(rental=rental)
                    if remaining is not None:
                        people = people[:remaining]
                        remaining -= len(people)
                    row = {
                        "id": self.ids[Household].next(), "committee_id": committee["id"],
                        "compound_id": compound["id"], "building_id": building["id"], "room": room,
                        "room_sort": natural_key(room),
                        "is_rental": rental, "landlord_name": "", "landlord_phone": "",
                    }
                    if rental:
                        row["landlord_name"] = self.factory.name(
                            rng.choice("MF"), REFERENCE_DATE.year - rng.randint(40, 80))
                        row["landlord_phone"] = self.factory.any_mobile()
                    households.append((row, people))
        self._grids(committee, [row for row, _ in households])
        assign_statuses_and_tags(rng, [people for _, people in households], today=self.today)
        for row, people in households:
            self.sink.add(Household, row)
            self.counts["household"] += 1
            for person in people:
                self._resident(row, person)

    def _resident(self, household: dict[str, Any], p: Person) -> None:
        pk = self.ids[Resident].next()
        committee_id = household["committee_id"]
        self.sink.add(Resident, {
            "id": pk, "household_id": household["id"], "committee_id": committee_id,
            "name": p.name, "sex": p.sex, "birth_date": p.birth_date,
            **identity_fields(p.id_type, p.number),
            "mobile": p.mobile, "relation": p.relation, "living_status": p.living_status,
            "away_until": p.away_until, "language": p.language, "specialty": p.specialty,
            "skills": p.skills,
        })
        self.counts["resident"] += 1
        self.counts[p.living_status] += 1
        self.ages[min(p.age // 10, 9)] += 1
        for tag in p.tags:
            self.sink.add(ResidentTag, {"id": self.ids[ResidentTag].next(), "resident_id": pk,
                                        "tag": tag, "committee_id": committee_id})
            self.counts[tag] += 1

    def _grids(self, committee: dict[str, Any], households: list[dict[str, Any]]) -> None:
        """Grids of ~350 households (whole buildings), micro-grids of 20-30 households."""
        if not households:
            return
        by_building: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in households:
            by_building[row["building_id"]].append(row)
        n_grids = max(1, round(len(households) / 350))
        per_grid = len(households) / n_grids
        groups: list[list[dict[str, Any]]] = [[]]
        for rows in by_building.values():
            if len(groups[-1]) >= per_grid and len(groups) < n_grids:
                groups.append([])
            groups[-1].extend(rows)
        for g, members in enumerate(groups, start=1):
            grid_name = f"第{cn_number(g)}网格"
            grid_id = self.ids[Grid].next()
            self.sink.add(Grid, {"id": grid_id, "committee_id": committee["id"], "kind": "grid",
                                 "name": grid_name, "parent_id": None})
            self.counts["grid"] += 1
            n_micro = max(1, round(len(members) / 25))
            for m in range(n_micro):
                chunk = members[m * len(members) // n_micro:(m + 1) * len(members) // n_micro]
                micro_id = self.ids[Grid].next()
                self.sink.add(Grid, {"id": micro_id, "committee_id": committee["id"],
                                     "kind": "micro", "name": f"{grid_name}{m + 1}号微网格",
                                     "parent_id": grid_id})
                self.counts["micro_grid"] += 1
                for row in chunk:
                    row["grid_id"] = grid_id
                    row["micro_grid_id"] = micro_id


# ---------------------------------------------------------------------------------------------
# The demo street
# ---------------------------------------------------------------------------------------------

# (code suffix, committee name, compounds). About 8,000 households in all; 长海新城 is the
# very large one (~2,300 households, towers and walk-ups).
_E, _M, _O = CompoundType.ENCLOSED, CompoundType.MILITARY, CompoundType.OPEN
DEMO_COMMITTEES: list[tuple[str, str, list[CompoundPlan]]] = [
    ("001", "国和一村居委会", [CompoundPlan("国和一村", _E, 420), CompoundPlan("国和花苑", _E, 300),
                               CompoundPlan("国和新苑", _E, 150)]),
    ("002", "国和二村居委会", [CompoundPlan("国和二村", _O, 520), CompoundPlan("国和小区", _E, 180)]),
    ("003", "工农新村居委会", [CompoundPlan("工农三村", _O, 460), CompoundPlan("工农四村", _E, 380),
                               CompoundPlan("工农二村", _E, 200)]),
    ("004", "民星居委会", [CompoundPlan("民星一村", _E, 350), CompoundPlan("民星二村", _E, 330, "幢"),
                           CompoundPlan("长海部队宿舍", _M, 160)]),
    ("005", "长海新城居委会", [CompoundPlan("长海新城", _E, 2300, towers=12)]),
    ("006", "政悦居委会", [CompoundPlan("政悦小区", _E, 260), CompoundPlan("翔殷路部队大院", _M, 220),
                           CompoundPlan("佳龙花园", _E, 240, "幢")]),
    ("007", "市京居委会", [CompoundPlan("市京一村", _E, 400), CompoundPlan("市京二村", _E, 360)]),
    ("008", "民京居委会", [CompoundPlan("民京小区", _E, 310), CompoundPlan("民府苑", _E, 200, "幢"),
                           CompoundPlan("长海苑", _E, 240)]),
]


def get_or_create_unit(kind: str, name: str, parent: OrgUnit | None, code: str = "") -> OrgUnit:
    if code:
        existing = OrgUnit.objects.filter(code=code).first()
    else:
        existing = OrgUnit.objects.filter(kind=kind, name=name, parent=parent).first()
    if existing:
        return existing
    unit = OrgUnit(kind=kind, name=name, parent=parent, code=code)
    unit.full_clean()
    unit.save()
    return unit


@dataclass
class DemoResult:
    created: bool
    counts: Counter[str]
    ages: Counter[int]
    seconds: float = 0.0


def build_demo_places(*, seed: int = SEED) -> DemoResult:
    """The demo street, unless it already has compounds (then nothing is written)."""
    with transaction.atomic():
        city = get_or_create_unit(Kind.CITY, CITY_NAME, None)
        district = get_or_create_unit(Kind.DISTRICT, DISTRICT_NAME, city)
        street = get_or_create_unit(Kind.STREET, STREET_NAME, district, STREET_CODE)
        if OrgUnit.objects.filter(path__startswith=street.path, kind=Kind.COMPOUND).exists():
            return DemoResult(created=False, counts=Counter(), ages=Counter())
        rng = random.Random(seed)
        builder = Builder(BulkSink(), PeopleFactory(rng, sequence_base=0))
        for suffix, name, plans in DEMO_COMMITTEES:
            committee = get_or_create_unit(Kind.COMMITTEE, name, street, STREET_CODE[:9] + suffix)
            builder.counts["committee"] += 1
            builder.committee(
                {"id": committee.pk, "path": committee.path, "committee_id": committee.pk}, plans
            )
            builder.sink.flush()
        return DemoResult(created=True, counts=builder.counts, ages=builder.ages)


# ---------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------


@dataclass
class AccountSpec:
    username: str
    display_name: str
    role: str
    unit: OrgUnit
    grid: Grid | None = None
    superuser: bool = False


@dataclass
class AccountRow:
    username: str
    role: str
    scope: str
    password: str  # what was set, or "(unchanged)"


def demo_account_specs() -> list[AccountSpec]:
    street = OrgUnit.objects.get(code=STREET_CODE)
    district = street.parent
    assert district is not None and district.parent is not None
    city = district.parent
    committees = list(OrgUnit.objects.filter(parent=street, kind=Kind.COMMITTEE).order_by("code"))
    first, second = committees[0], committees[1]
    grid = Grid.objects.filter(committee=first, kind=Grid.GridKind.GRID).order_by("pk").first()
    compound = OrgUnit.objects.filter(parent=first, kind=Kind.COMPOUND).order_by("pk").first()
    assert grid is not None and compound is not None
    return [
        AccountSpec("district", "周建平", Role.DISTRICT_OFFICER, district),
        AccountSpec("street", "陈海燕", Role.STREET_OFFICER, street),
        AccountSpec("committee", "李慧敏", Role.COMMITTEE_STAFF, first),
        AccountSpec("committee2", "张丽萍", Role.COMMITTEE_STAFF, second),
        AccountSpec("grid", "王建国", Role.GRID_WORKER, first, grid=grid),
        AccountSpec("volunteer", "刘洋", Role.VOLUNTEER, first),
        AccountSpec("pharmacy", "赵丽", Role.PHARMACY_CLERK, street),
        AccountSpec("groupbuy", "孙涛", Role.GROUPBUY_LEADER, compound),
        AccountSpec("business", "吴斌", Role.BUSINESS_CONTACT, street),
        AccountSpec("health", "郑医生", Role.HEALTH_CENTRE, street),
        AccountSpec("admin", "徐峰", Role.SYSADMIN, city, superuser=True),
    ]


def scope_label(spec: AccountSpec) -> str:
    """Where the account works: 长海路街道 / 国和一村居委会 / 第一网格."""
    unit = spec.unit
    parts = [unit.name]
    if unit.kind in (Kind.COMMITTEE, Kind.COMPOUND) and unit.parent is not None:
        parts.insert(0, unit.parent.name)
    if spec.grid:
        parts.append(spec.grid.name)
    return " / ".join(parts)


def ensure_accounts(specs: list[AccountSpec], password: str, *,
                    reset_passwords: bool = False) -> list[AccountRow]:
    """Create missing accounts and memberships. Existing accounts keep their password unless
    reset_passwords is given, so a second run changes nothing."""
    rows = []
    with transaction.atomic():
        for spec in specs:
            user = User.objects.filter(username=spec.username).first()
            created = user is None
            if user is None:
                user = User(username=spec.username, display_name=spec.display_name)
            changed = created
            if spec.superuser and not (user.is_staff and user.is_superuser):
                user.is_staff = user.is_superuser = True
                changed = True
            if created or reset_passwords:
                user.set_password(password)
                changed = True
            if changed:
                user.save()
            Membership.objects.get_or_create(user=user, org_unit=spec.unit, role=spec.role,
                                             grid=spec.grid)
            rows.append(AccountRow(spec.username, str(Role(spec.role).label), scope_label(spec),
                                   password if created or reset_passwords else "(unchanged)"))
    return rows


def accounts_table(rows: list[AccountRow]) -> str:
    lines = ["| username | role | scope | password |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.username} | {row.role} | {row.scope} | {row.password} |")
    return "\n".join(lines)
