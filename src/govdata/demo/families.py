"""Consistent demo people and companies (跨部门一致的演示人口与企业) for the one-thing services (一件事).

The random rows of ``datasets`` describe a different person in every resource, but a one-thing service fetches
evidence about *one* applicant from several departments. So the demo also carries a small consistent world,
built here deterministically (seeded; ages and dates relative to today):

* 1,000 families. A father and a mother (24–42), married (MZ 婚姻登记), both in GA 户籍 in one household —
  or, for about 15% migrants (随迁人员) whose household is elsewhere in Guangxi, each with a valid GA 居住证 and
  no 户籍 row. Each parent is either an employee of a demo company (RS 企业职工养老保险, YB 职工医保, GJJ 公积金)
  or insured as a resident (YB 城乡居民医保), and holds an RS 社保卡. About 60% have a newborn (3–60 days old)
  with a WJ 出生医学证明 and nothing else yet (registering it is the 出生一件事); about 60% have a child about
  to enter primary (≈6) or junior-middle school (≈12): in the household's GA 户籍 row set (not for migrants),
  with a WJ 出生医学证明, 4–8 WJ 预防接种 rows, and a JY 学籍 row (grade 06) for the 12-year-olds. About 65% own
  their home (ZR 不动产), about 25% rent it (ZJ 租赁备案, the lease covering today), the rest neither.
* 200 companies: SJ 营业执照, SW 纳税人登记 and GA 公章备案 with one credit code and name, a family parent as
  legal representative, employees among the parents (RS/YB/GJJ employer); half own their premises (ZR).
* 150 founders (property owners, for 企业开办) and 100 people about to retire (men ≈60, women ≈50 or ≈55) in
  GA 户籍 with RS 企业职工养老保险 ≥ 180 months, 社保卡, 职工医保 and 公积金, and no RS 养老待遇 row.

``rows`` gives one resource's consistent rows as they stood on a day; ``datasets.load`` appends them, never
broken, to the random rows of every version, and keeps the random rows off ``taken`` (the ID numbers and credit
codes used here). ``applicants`` reads sample applicants of a package back from the loaded versions. Made-up
people only.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import polars as pl
from sqlalchemy.orm import Session
from stdnum.cn import ric

from govdata.catalog import projection
from govdata.demo import data
from govdata.demo.datasets import (
    BANKS,
    BUSINESS_SCOPES,
    COMPANY_FORMS,
    COMPANY_WORDS,
    GIVEN,
    HOSPITALS,
    INDUSTRIES,
    MANUFACTURERS,
    PREFERRED,
    SCHOOLS,
    STREETS,
    SURNAMES,
    VACCINES,
    _credit_code,
    _id_number,
    _local,
    _Person,
)
from govdata.errors import NotFound
from govdata.ingest import service as ingest
from govdata.standards import validators

SEED = 450200
FAMILIES = 1000
COMPANIES = 200
FOUNDERS = 150
RETIREES = 100
PACKAGES = ("newborn", "school_enrolment", "company_startup", "retirement")

Resource = tuple[str, str]  # (provider, name)
Row = dict[str, str | None]

HUKOU: Resource = ("450200-GA", "户籍人口登记信息")
PERMIT: Resource = ("450200-GA", "居住证信息")
SEAL: Resource = ("450200-GA", "公章刻制备案信息")
BIRTH: Resource = ("450200-WJ", "出生医学证明信息")
VACCINATION: Resource = ("450200-WJ", "预防接种信息")
STUDENT: Resource = ("450200-JY", "学籍信息")
INSURANCE: Resource = ("450200-RS", "社会保险参保信息")
CARD: Resource = ("450200-RS", "社会保障卡信息")
PENSION: Resource = ("450200-RS", "养老保险待遇发放信息")
RESIDENT_MEDICAL: Resource = ("450200-YB", "城乡居民医保参保信息")
EMPLOYEE_MEDICAL: Resource = ("450200-YB", "职工基本医疗保险参保信息")
LICENCE: Resource = ("450200-SJ", "营业执照信息")
TAXPAYER: Resource = ("450200-SW", "纳税人登记信息")
MARRIAGE: Resource = ("450200-MZ", "婚姻登记信息")
PROPERTY: Resource = ("450200-ZR", "不动产登记信息")
LEASE: Resource = ("450200-ZJ", "房屋租赁登记备案信息")
FUND: Resource = ("450200-GJJ", "住房公积金缴存信息")

# Codes. Bound items follow their code set (GB/T 4761 与户主关系, GB/T 2261.2 婚姻状况); the unbound ones use the
# values datasets.KEY_CHOICES draws from, with these meanings.
HEAD, SPOUSE, SON, DAUGHTER = "02", "10", "20", "30"  # 户主 配偶 子 女
MARRIED, UNMARRIED = "20", "10"  # 已婚 未婚
FAMILY_HOUSEHOLD = "1"  # 户别: 家庭户
MARRIAGE_REGISTRATION = "1"  # 登记类别: 结婚登记
ENTERPRISE_PENSION = "110"  # 险种类型: 企业职工基本养老保险
INSURED = "1"  # 参保状态: 正常参保(缴费)
CARD_ACTIVE = "1"  # 卡状态: 正常
FUND_ACTIVE = "1"  # 账户状态: 正常缴存
LICENCE_ACTIVE = "01"  # 登记状态: 存续(在营、开业、在册)
TAXPAYER_ACTIVE = "03"  # 纳税人状态: 正常
STUDYING = "01"  # 学籍状态: 在读
PERMIT_ENDORSED = "1"  # 签注状态: 已签注(有效)
HOME_USE, BUSINESS_USE = "011", "061"  # 用途: 住宅, 商服/工业
HOUSE_RIGHT = "04"  # 权利类型: 国有建设用地使用权/房屋所有权
LEASE_HOME = "1"  # 租赁用途: 居住
SEAL_OFFICIAL, SEAL_FINANCE = "01", "02"  # 印章类型: 单位公章, 财务专用章

LIUZHOU = list(STREETS)
# The codes a county's people carry in ID numbers issued before its current code (柳州地区 4522xx until 2002,
# 柳江县 until 2016): python-stdnum checks that the code existed in the birth year.
FORMER_CODES = {"450206": ("450221", "452221"), "450222": ("452222",), "450223": ("452223",),
                "450224": ("452227",), "450225": ("452229",), "450226": ("452228",)}
FORMER_NAMES = {"450221": "柳州市柳江县", "452221": "柳州地区柳江县", "452222": "柳州地区柳城县",
                "452223": "柳州地区鹿寨县", "452227": "柳州地区融安县", "452229": "柳州地区融水苗族自治县",
                "452228": "柳州地区三江侗族自治县"}
# Where migrants' households are: 南宁兴宁区, 桂林七星区, 北流市, 平南县, 河池金城江区, 来宾兴宾区.
MIGRANT_REGIONS = ["450102", "450305", "450981", "450821", "451202", "451302"]
MIGRANT_REGION_NAMES = {"450102": "南宁市兴宁区", "450305": "桂林市七星区", "450981": "玉林市北流市",
                        "450821": "贵港市平南县", "451202": "河池市金城江区", "451302": "来宾市兴宾区"}
COUNTY_WEIGHTS = {"450202": 14, "450203": 16, "450204": 14, "450205": 14, "450206": 12, "450222": 6,
                  "450223": 7, "450224": 5, "450225": 6, "450226": 6}
PRIMARY_SCHOOLS = [s for s in SCHOOLS if s.endswith("小学")]
VACCINE_NAMES = dict(VACCINES)
# The childhood schedule (国家免疫规划): vaccine code, dose, age in days.
SCHEDULE = [("0101", 1, 0), ("0201", 1, 0), ("0101", 2, 30), ("0303", 1, 60), ("0303", 2, 90), ("0402", 1, 90),
            ("0402", 2, 120), ("0402", 3, 150), ("0101", 3, 180), ("1601", 1, 180), ("1201", 1, 240),
            ("1401", 1, 240), ("1601", 2, 270), ("1801", 1, 540), ("0402", 4, 540), ("1201", 2, 540)]
INDUSTRY_CODES = {"汽车零部件制造": "3670", "机械设备": "3422", "商贸": "5191", "建筑工程": "4700", "物流": "5430",
                  "螺蛳粉食品": "1439", "餐饮管理": "6110", "电子科技": "3990", "信息技术": "6510",
                  "装饰工程": "5010", "医药连锁": "5251", "农业开发": "0190", "物业服务": "7020",
                  "广告传媒": "7251", "钢材贸易": "5164", "新能源科技": "4415"}
ENGRAVERS = ["柳州市龙城印章刻制有限公司", "柳州市鑫源印章有限公司", "柳州市桂中刻字社有限公司"]
COMPOUND_SURNAMES = {s for s in SURNAMES if len(s) > 1}


# -- the world -------------------------------------------------------------------------------------------------

@dataclass
class Person:
    id_number: str
    name: str
    sex: str  # 1 男 2 女
    birth: date
    phone: str
    ethnic: str
    region: str  # the address code in the ID number

    @property
    def surname(self) -> str:
        return self.name[:2] if self.name[:2] in COMPOUND_SURNAMES else self.name[0]

    def age(self, today: date) -> float:
        return (today - self.birth).days / 365.25


@dataclass
class Newborn:
    cert_no: str
    name: str
    sex: str
    birth: date
    hospital: str
    issued: date


@dataclass
class Company:
    uscc: str
    name: str
    county: str
    address: str
    legal: Person
    established: date
    industry: str
    premises: str | None = None  # 不动产单元号 of the premises it owns


@dataclass
class Job:
    company: Company
    start: date
    paid_months: int
    base: int


@dataclass
class Family:
    index: int
    father: Person
    mother: Person
    county: str  # where the family lives
    address: str
    migrant: bool
    household_region: str  # the county, or the migrants' home county elsewhere in Guangxi
    household_number: str | None  # GA 户籍 (None: migrants)
    head: Person
    married: date
    marriage_cert: str
    newborn: Newborn | None = None
    child: Person | None = None  # about to enter primary or junior-middle school
    child_cert: str | None = None
    housing: str = ""  # own | rent | ""
    holder: Person | None = None  # the parent on the deed or the lease
    unit_no: str | None = None
    lease_no: str | None = None

    @property
    def parents(self) -> tuple[Person, Person]:
        return self.father, self.mother


@dataclass
class Founder:
    person: Person
    unit_no: str
    location: str


@dataclass
class World:
    today: date
    families: list[Family]
    companies: list[Company]
    founders: list[Founder]
    retirees: list[Person]
    jobs: dict[str, Job]  # ID number → employment
    rows: dict[Resource, list[tuple[date, Row]]]  # (the day the row exists from, the row)
    taken: frozenset[str]  # every ID number and credit code above

    def count(self, resource: Resource) -> int:
        return len(self.rows.get(resource, []))


@lru_cache(maxsize=2)
def world(today: date | None = None) -> World:
    """The consistent world as of ``today`` (default: today). Deterministic."""
    return _Builder(today or date.today()).build()


def rows(provider: str, name: str, as_of: date, today: date | None = None) -> list[Row]:
    """The consistent rows of resource (provider, name) that existed on ``as_of`` (empty for other resources)."""
    return [row for since, row in world(today).rows.get((provider, name), []) if since <= as_of]


def taken(today: date | None = None) -> frozenset[str]:
    """ID numbers and credit codes of the consistent world: random rows must not use them."""
    return world(today).taken


@lru_cache(maxsize=4096)
def _stdnum_valid(region: str, year: int) -> bool:
    body = f"{region}{year}0101001"
    return ric.is_valid(body + ric.calc_check_digit(body + "0"))


def _county_name(code: str) -> str:
    return data.COUNTIES[code][0] if code in data.COUNTIES else MIGRANT_REGION_NAMES.get(code, "")


def _city_address(county: str) -> str:
    """广西壮族自治区柳州市城中区 / 广西壮族自治区柳州市鹿寨县."""
    return f"广西壮族自治区柳州市{_county_name(county)}"


def _birthplace(region: str) -> str:
    """The birth place of someone whose ID number carries ``region``."""
    if region in FORMER_NAMES:
        return f"广西壮族自治区{FORMER_NAMES[region]}"
    return _city_address(region) if region in data.COUNTIES else f"广西壮族自治区{_county_name(region)}"


def _police(county: str) -> str:
    name = _county_name(county)
    return f"柳州市公安局{name}分局" if name.endswith("区") else f"{name}公安局"


def _month(day: date) -> str:
    return f"{day:%Y%m}"


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class _Builder:
    def __init__(self, today: date) -> None:
        self.today = today
        self.rng = random.Random(SEED)
        self.ids: set[str] = set()
        self.codes: set[str] = set()
        self.addresses: set[str] = set()
        self.units: set[str] = set()
        self.names: set[str] = set()
        self.seq: Counter[str] = Counter()
        self.rows: dict[Resource, list[tuple[date, Row]]] = defaultdict(list)
        self.jobs: dict[str, Job] = {}

    # -- helpers ---------------------------------------------------------------------------------------------

    def add(self, resource: Resource, row: Row, since: date = date.min) -> None:
        self.rows[resource].append((since, row))

    def next(self, name: str) -> int:
        self.seq[name] += 1
        return self.seq[name]

    def days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    def born(self, low: float, high: float) -> date:
        """A birth date of someone aged between ``low`` and ``high`` years."""
        return self.today - timedelta(days=self.rng.randint(int(low * 365.25) + 1, int(high * 365.25) - 1))

    def between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max((last - first).days, 0)))

    def county(self) -> str:
        return self.rng.choices(list(COUNTY_WEIGHTS), weights=list(COUNTY_WEIGHTS.values()))[0]

    def weighted(self, codeset: str) -> str:
        weights = PREFERRED[codeset]
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def given(self) -> str:
        return self.rng.choice(GIVEN) + (self.rng.choice(GIVEN) if self.rng.random() < 0.75 else "")

    def phone(self) -> str:
        return f"1{self.rng.choice('3578993')}{self.rng.randrange(10 ** 9):09d}"

    def person(self, sex: str, birth: date, regions: list[str], prefer: str, surname: str | None = None) -> Person:
        """Someone whose ID number carries the code of ``prefer`` (mostly) or of another of ``regions``, as it was
        when the number was issued: a code valid for the birth year, and one python-stdnum accepts too whenever
        there is such a code (people born in 鹿寨 in 1990 carry 柳州地区's 452223)."""

        def code(county: str) -> str:
            return next((c for c in (county, *FORMER_CODES.get(county, ())) if _stdnum_valid(c, birth.year)),
                        county)

        pool = [code(r) for r in regions]
        valid = [r for r in pool if validators.birthplace_valid(r, birth.year)] or pool
        strict = [r for r in valid if _stdnum_valid(r, birth.year)] or valid
        wanted = code(prefer)
        region = wanted if wanted in strict and self.rng.random() < 0.8 else self.rng.choice(strict)
        number = _id_number(self.rng, _Person(birth, sex, region))
        while number in self.ids:
            number = _id_number(self.rng, _Person(birth, sex, region))
        self.ids.add(number)
        name = (surname or self.rng.choice(SURNAMES)) + self.given()
        return Person(number, name, sex, birth, self.phone(), self.weighted("gb3304_ethnic"), region)

    def address(self, county: str, flat: bool = True) -> str:
        while True:
            street = self.rng.choice(STREETS[county])
            text = f"{_city_address(county)}{street}{self.rng.randint(1, 399)}号"
            if flat:
                text += (f"{self.rng.randint(1, 30)}栋{self.rng.randint(1, 4)}单元"
                         f"{self.rng.randint(1, 28)}{self.rng.randint(1, 6):02d}室")
            if text not in self.addresses:
                self.addresses.add(text)
                return text

    def unit_no(self, county: str) -> str:
        """不动产单元号 (28): the random rows' 宗地 numbers start 001–020, these 100–999, so they never meet."""
        while True:
            rng = self.rng
            unit = (f"{county}{rng.randint(100, 999):03d}{rng.randint(1, 30):03d}GB{rng.randint(1, 99999):05d}"
                    f"F{rng.randint(1, 999):04d}{rng.randint(1, 9999):04d}")
            if unit not in self.units:
                self.units.add(unit)
                return unit

    def credit_code(self, county: str) -> str:
        code = _credit_code(self.rng, county)
        while code in self.codes:
            code = _credit_code(self.rng, county)
        self.codes.add(code)
        return code

    # -- build -----------------------------------------------------------------------------------------------

    def build(self) -> World:
        families = [self.family(i) for i in range(FAMILIES)]
        companies = self.companies(families)
        self.employ(families, companies)
        founders = self.founders(families, companies)
        retirees = [self.retiree(i, companies) for i in range(RETIREES)]
        return World(self.today, families, companies, founders, retirees, self.jobs, dict(self.rows),
                     frozenset(self.ids | self.codes))

    def family(self, index: int) -> Family:
        rng, today = self.rng, self.today
        migrant = rng.random() < 0.15
        county = self.county()
        child_age = None
        if rng.random() < 0.6:
            child_age = rng.uniform(5.8, 6.9) if rng.random() < 0.5 else rng.uniform(11.8, 12.9)
        has_newborn = rng.random() < 0.6
        mother_age = rng.uniform(max(24.05, (child_age or 0) + 23), 40.0)
        father_age = min(41.95, max(24.05, (child_age or 0) + 24, mother_age + rng.uniform(-2, 5)))
        regions, prefer = (MIGRANT_REGIONS, rng.choice(MIGRANT_REGIONS)) if migrant else (LIUZHOU, county)
        father = self.person("1", self.born(father_age - 0.01, father_age + 0.01), regions, prefer)
        home = father.region if migrant else county
        mother = self.person("2", self.born(mother_age - 0.01, mother_age + 0.01), regions, home)
        child = None
        if child_age is not None:
            sex = rng.choice("12")
            birth = self.born(child_age - 0.01, child_age + 0.01)
            child = self.person(sex, birth, [home, *regions], home, surname=father.surname)
        newborn = None
        if has_newborn:
            birth = self.days_ago(3, 60)
            issued = birth + timedelta(days=rng.randint(0, min(3, (today - birth).days - 2)))
            name = father.surname + self.given()
            while child is not None and name == child.name:
                name = father.surname + self.given()
            newborn = Newborn(f"S45{self.next('birth'):07d}", name, rng.choice("12"), birth,
                              self.hospital(county), issued)
        married = self.marriage_date(father, mother, child, newborn)
        family = Family(
            index, father, mother, county, self.address(county), migrant, home,
            None if migrant else f"{county[4:]}{self.next('household'):07d}",
            father if rng.random() < 0.8 else mother, married,
            f"J{county}-{married.year}-{self.next('marriage'):06d}", newborn, child)
        self.register(family)
        self.house(family)
        return family

    def hospital(self, county: str) -> str:
        local = [h for h in HOSPITALS if _county_name(county) in h]
        pool = [*HOSPITALS, "柳州市妇幼保健院", "柳州市妇幼保健院", *local, *local]
        return self.rng.choice(pool)

    def marriage_date(self, father: Person, mother: Person, child: Person | None, newborn: Newborn | None) -> date:
        earliest = max(_add_years(father.birth, 22), _add_years(mother.birth, 20)) + timedelta(days=30)
        first = child.birth if child else newborn.birth if newborn else None
        if first is None:
            return self.between(earliest, self.today - timedelta(days=120))
        return self.between(max(earliest, first - timedelta(days=4 * 365)), first - timedelta(days=200))

    def register(self, family: Family) -> None:
        """户籍 or 居住证, 婚姻登记, 出生医学证明, 预防接种, 学籍."""
        rng, father, mother, child = self.rng, family.father, family.mother, family.child
        spouse = mother if family.head is father else father
        if family.migrant:
            for parent in family.parents:
                issued = self.days_ago(60, 1500)
                self.add(PERMIT, {
                    "permit_no": f"JZ{family.county}{issued.year}{self.next('permit'):06d}",
                    "id_number": parent.id_number, "name": parent.name, "sex": parent.sex,
                    "birth_date": parent.birth.isoformat(), "household_region": family.household_region,
                    "residence_address": family.address, "issue_date": issued.isoformat(),
                    "valid_until": (self.today + timedelta(days=rng.randint(30, 330))).isoformat(),
                    "endorsement_status": PERMIT_ENDORSED, "issuing_authority": _police(family.county),
                    "phone": parent.phone})
        else:
            head_since = self.between(_add_years(family.head.birth, 18), family.married)
            self.hukou(family, family.head, HEAD, MARRIED, head_since)
            self.hukou(family, spouse, SPOUSE, MARRIED,
                       min(family.married + timedelta(days=rng.randint(7, 120)), self.today - timedelta(days=30)))
            if child is not None:
                self.hukou(family, child, SON if child.sex == "1" else DAUGHTER, UNMARRIED,
                           child.birth + timedelta(days=rng.randint(10, 60)))
        self.add(MARRIAGE, {
            "cert_no": family.marriage_cert, "registration_type": MARRIAGE_REGISTRATION,
            "male_name": father.name, "male_id_number": father.id_number, "male_nationality": "CHN",
            "male_prior_status": UNMARRIED, "female_name": mother.name, "female_id_number": mother.id_number,
            "female_nationality": "CHN", "female_prior_status": UNMARRIED,
            "registration_date": family.married.isoformat(),
            "registration_authority": _local(_county_name(family.county), "民政局")})
        if family.newborn is not None:
            baby = family.newborn
            self.birth_certificate(family, baby.cert_no, baby.name, baby.sex, baby.birth, baby.hospital, baby.issued)
        if child is not None:
            family.child_cert = f"R45{self.next('birth_old'):07d}"
            self.birth_certificate(family, family.child_cert, child.name, child.sex, child.birth,
                                   self.hospital(family.county), child.birth + timedelta(days=rng.randint(0, 3)))
            self.vaccinations(family, child)
            if child.age(self.today) > 10:
                self.student(family, child)

    def hukou(self, family: Family, person: Person, relation: str, marital: str, since: date) -> None:
        adult = person.age(self.today) >= 18
        self.add(HUKOU, {
            "id_number": person.id_number, "name": person.name, "sex": person.sex, "ethnic": person.ethnic,
            "birth_date": person.birth.isoformat(), "birth_place": _birthplace(person.region),
            "address": family.address, "household_region": family.county,
            "household_number": family.household_number, "household_type": FAMILY_HOUSEHOLD,
            "relation_to_head": relation, "marital_status": marital,
            "education": self.weighted("gb4658_education") if adult else None,
            "registration_date": since.isoformat(), "registration_authority": _police(family.county)})

    def birth_certificate(self, family: Family, cert_no: str, name: str, sex: str, birth: date, hospital: str,
                          issued: date) -> None:
        rng = self.rng
        self.add(BIRTH, {
            "cert_no": cert_no, "newborn_name": name, "newborn_sex": sex, "newborn_birth_date": birth.isoformat(),
            "birth_weight": str(rng.randint(2600, 4100)), "gestational_weeks": str(rng.randint(37, 41)),
            "birth_place": _city_address(family.county), "mother_name": family.mother.name,
            "mother_id_number": family.mother.id_number, "father_name": family.father.name,
            "father_id_number": family.father.id_number, "hospital_name": hospital,
            "issue_date": issued.isoformat()}, since=issued)

    def vaccinations(self, family: Family, child: Person) -> None:
        rng = self.rng
        townships = data.COUNTIES[family.county][1]
        township = rng.choice(townships)
        unit = (f"{township}社区卫生服务中心" if township.endswith("街道")
                else f"{_county_name(family.county)}{township}卫生院")
        for n, (code, dose, age_days) in enumerate(SCHEDULE[:rng.randint(4, 8)], 1):
            day = child.birth + timedelta(days=age_days + rng.randint(0, 14))
            self.add(VACCINATION, {
                "record_no": f"V{child.id_number}{n:02d}", "child_id_number": child.id_number,
                "child_name": child.name, "vaccine_code": code, "vaccine_name": VACCINE_NAMES[code],
                "dose_no": str(dose), "vaccination_date": day.isoformat(),
                "batch_no": f"{day.year}{rng.randint(1, 12):02d}{rng.choice('ABC')}{rng.randint(1, 99):02d}",
                "vaccination_unit": unit, "vaccination_site": rng.choice(["01", "02", "03", "04"]),
                "manufacturer": rng.choice(MANUFACTURERS)})

    def student(self, family: Family, child: Person) -> None:
        """A pupil in grade 6, entered five school years before this one."""
        rng, today = self.rng, self.today
        school = rng.choice(PRIMARY_SCHOOLS)
        this_year = today.year if today.month >= 9 else today.year - 1
        guardian = rng.choice(family.parents)
        self.add(STUDENT, {
            "student_id_number": child.id_number, "national_student_no": "G" + child.id_number,
            "name": child.name, "sex": child.sex, "birth_date": child.birth.isoformat(), "ethnic": child.ethnic,
            "school_name": school, "school_code": f"2145{SCHOOLS.index(school):06d}", "grade": "06",
            "class_name": f"{rng.randint(1, 8)}班", "enrolment_date": date(this_year - 5, 9, 1).isoformat(),
            "status": STUDYING, "guardian_name": guardian.name, "guardian_phone": guardian.phone,
            "household_region": family.household_region})

    def house(self, family: Family) -> None:
        """Owned (ZR 不动产) or rented (ZJ 租赁备案) or neither."""
        rng = self.rng
        own, rent = (0.2, 0.7) if family.migrant else (0.72, 0.17)
        draw = rng.random()
        family.housing = "own" if draw < own else "rent" if draw < own + rent else ""
        if not family.housing:
            return
        family.holder = rng.choice(family.parents)
        if family.housing == "own":
            family.unit_no = self.unit_no(family.county)
            registered = self.between(family.married, self.today - timedelta(days=60))
            self.add(PROPERTY, {
                "unit_no": family.unit_no,
                "cert_no": f"桂({registered.year})柳州市不动产权第{self.next('deed'):07d}号",
                "right_holder": family.holder.name, "right_holder_id_number": family.holder.id_number,
                "right_holder_uscc": None, "location": family.address, "right_type": HOUSE_RIGHT,
                "usage": HOME_USE, "floor_area": f"{rng.uniform(55, 160):.2f}",
                "co_ownership": "1" if rng.random() < 0.7 else "0", "registration_date": registered.isoformat(),
                "mortgaged": "是" if rng.random() < 0.45 else "否", "seized": "否"})
            return
        lessor = self.person(rng.choice("12"), self.born(45, 75), LIUZHOU, family.county)
        start = self.days_ago(30, 700)
        end = _add_years(start, rng.randint(1, 3))
        while end <= self.today + timedelta(days=30):
            end = _add_years(end, 1)
        family.lease_no = f"ZL{family.county}{start.year}{self.next('lease'):06d}"
        self.add(LEASE, {
            "filing_no": family.lease_no, "house_address": family.address, "lessor_name": lessor.name,
            "lessor_id_number": lessor.id_number, "lessee_name": family.holder.name,
            "lessee_id_number": family.holder.id_number, "lease_start": start.isoformat(),
            "lease_end": end.isoformat(), "monthly_rent": f"{rng.randrange(800, 3600, 50)}.00",
            "house_area": f"{rng.uniform(38, 120):.2f}", "region_code": family.county,
            "filing_date": min(start + timedelta(days=rng.randint(0, 15)), self.today - timedelta(days=1)).isoformat(),
            "lease_purpose": LEASE_HOME})

    # -- companies -------------------------------------------------------------------------------------------

    def companies(self, families: list[Family]) -> list[Company]:
        rng = self.rng
        parents = [p for f in families for p in f.parents]
        legal = rng.sample(parents, COMPANIES)
        out = []
        for person in legal:
            county = self.county()
            industry = rng.choice(INDUSTRIES)
            name = ""
            while not name or name in self.names:
                first, second = rng.sample(COMPANY_WORDS, 2)
                name = f"柳州{first}{second}{industry}{rng.choice(COMPANY_FORMS)}"
            self.names.add(name)
            established = self.between(max(_add_years(person.birth, 23), self.today - timedelta(days=15 * 365)),
                                       self.today - timedelta(days=2 * 365))
            company = Company(self.credit_code(county), name, county, self.address(county, flat=False), person,
                              established, industry)
            self.licence(company)
            out.append(company)
        for company in rng.sample(out, COMPANIES // 2):
            self.premises(company)
        return out

    def licence(self, company: Company) -> None:
        """SJ 营业执照, SW 纳税人登记, GA 公章备案."""
        rng, today, county_name = self.rng, self.today, _county_name(company.county)
        shares = company.name.endswith("股份有限公司")
        scope = next((s for s in BUSINESS_SCOPES if company.industry[:2] in s), rng.choice(BUSINESS_SCOPES))
        self.add(LICENCE, {
            "uscc": company.uscc, "company_name": company.name, "legal_representative": company.legal.name,
            "registered_capital": f"{rng.choice([10, 50, 100, 200, 300, 500, 1000, 2000])}.00",
            "company_type": "1200" if shares else "1130", "establishment_date": company.established.isoformat(),
            "address": company.address, "business_scope": scope,
            "registration_authority": _local(county_name, "市场监督管理局"),
            "business_term_to": None if rng.random() < 0.6 else _add_years(company.established, 30).isoformat(),
            "registration_status": LICENCE_ACTIVE,
            "approval_date": self.between(company.established, today - timedelta(days=30)).isoformat(),
            "region_code": company.county})
        officer = self.rng.choice(SURNAMES) + self.given()
        self.add(TAXPAYER, {
            "taxpayer_id": company.uscc, "taxpayer_name": company.name,
            "legal_representative": company.legal.name, "registration_type": "173",
            "taxpayer_status": TAXPAYER_ACTIVE, "vat_taxpayer_type": rng.choice("122"),
            "competent_authority": "国家税务总局" + _local(county_name, "税务局"),
            "registration_date": (company.established + timedelta(days=rng.randint(3, 30))).isoformat(),
            "industry_code": INDUSTRY_CODES.get(company.industry, "5191"), "business_address": company.address,
            "finance_officer": officer, "finance_officer_phone": self.phone()})
        for seal in (SEAL_OFFICIAL, SEAL_FINANCE) if rng.random() < 0.5 else (SEAL_OFFICIAL,):
            filed = company.established + timedelta(days=rng.randint(1, 10))
            engraver = rng.randrange(len(ENGRAVERS))
            self.add(SEAL, {
                "filing_no": f"GZ{company.county}{filed.year}{self.next('seal'):06d}", "uscc": company.uscc,
                "org_name": company.name, "seal_type": seal, "seal_quantity": "1",
                "engraver_name": ENGRAVERS[engraver], "engraver_uscc": self.engraver(engraver),
                "filing_date": filed.isoformat(), "handler_name": company.legal.name,
                "handler_id_number": company.legal.id_number, "seal_image": None})

    def engraver(self, index: int) -> str:
        code = _credit_code(random.Random(f"engraver:{index}"), "450202")
        self.codes.add(code)
        return code

    def premises(self, company: Company) -> None:
        rng = self.rng
        company.premises = self.unit_no(company.county)
        registered = self.between(company.established, self.today - timedelta(days=60))
        self.add(PROPERTY, {
            "unit_no": company.premises,
            "cert_no": f"桂({registered.year})柳州市不动产权第{self.next('deed'):07d}号",
            "right_holder": company.name, "right_holder_id_number": None, "right_holder_uscc": company.uscc,
            "location": company.address, "right_type": HOUSE_RIGHT, "usage": BUSINESS_USE,
            "floor_area": f"{rng.uniform(120, 2400):.2f}", "co_ownership": "0",
            "registration_date": registered.isoformat(), "mortgaged": "是" if rng.random() < 0.3 else "否",
            "seized": "否"})

    # -- work and insurance ----------------------------------------------------------------------------------

    def employ(self, families: list[Family], companies: list[Company]) -> None:
        """Legal representatives work for their company, about 45% of the other parents for one of the others;
        employees are in RS 社保 (企业职工养老), YB 职工医保 and GJJ, the others in YB 城乡居民医保. Every parent
        holds a 社保卡; school-age children are in 城乡居民医保 too."""
        rng = self.rng
        own = {c.legal.id_number: c for c in companies}
        for family in families:
            for parent in family.parents:
                company = own.get(parent.id_number)
                if company is None and rng.random() < 0.45:
                    company = rng.choice(companies)
                if company is not None:
                    most = min(240, int((parent.age(self.today) - 20) * 12))
                    self.work(parent, company, rng.randint(12, most))
                else:
                    self.resident_insurance(parent, family)
                self.card(parent, family.county)
            if family.child is not None:
                self.resident_insurance(family.child, family)

    def work(self, person: Person, company: Company, paid_months: int) -> None:
        rng, today = self.rng, self.today
        start = today - timedelta(days=int(paid_months * 30.44) + rng.randint(0, 60))
        job = Job(company, start, paid_months, rng.randrange(4200, 16000, 100))
        self.jobs[person.id_number] = job
        last = _month(today.replace(day=1) - timedelta(days=1))
        self.add(INSURANCE, {
            "id_number": person.id_number, "name": person.name, "sex": person.sex,
            "insurance_type": ENTERPRISE_PENSION, "start_date": start.isoformat(), "insured_status": INSURED,
            "employer_name": company.name, "employer_uscc": company.uscc, "contribution_base": f"{job.base}.00",
            "paid_months": str(paid_months), "insured_region": company.county, "last_paid_month": last})
        self.add(EMPLOYEE_MEDICAL, {
            "id_number": person.id_number, "name": person.name, "employer_name": company.name,
            "employer_uscc": company.uscc, "insured_date": start.isoformat(), "insured_status": INSURED,
            "account_balance": f"{rng.randint(200, 30000)}.{rng.randint(0, 99):02d}",
            "insured_region": company.county})
        rate = rng.choice(["0.05", "0.08", "0.10", "0.12"])
        opened = max(start, company.established)
        self.add(FUND, {
            "account_no": f"4502{self.next('fund'):012d}", "id_number": person.id_number, "name": person.name,
            "employer_name": company.name, "employer_uscc": company.uscc, "deposit_base": f"{job.base}.00",
            "personal_rate": rate, "employer_rate": rate, "monthly_deposit": f"{job.base * 2 * float(rate):.2f}",
            "account_status": FUND_ACTIVE, "open_date": opened.isoformat(), "last_paid_month": last,
            "balance": f"{rng.randint(1000, 160000)}.{rng.randint(0, 99):02d}"})

    def resident_insurance(self, person: Person, family: Family) -> None:
        insured = self.between(max(person.birth + timedelta(days=30), self.today - timedelta(days=12 * 365)),
                               self.today - timedelta(days=60))
        self.add(RESIDENT_MEDICAL, {
            "id_number": person.id_number, "name": person.name, "sex": person.sex,
            "birth_date": person.birth.isoformat(), "insured_region": family.county,
            "insured_date": insured.isoformat(), "insured_status": INSURED, "payment_year": str(self.today.year),
            "personal_payment": "400.00", "subsidy_category": None,
            "household_address": None if family.migrant else family.address})

    def card(self, person: Person, county: str) -> None:
        rng = self.rng
        issued = self.between(max(_add_years(person.birth, 16), self.today - timedelta(days=9 * 365)),
                              self.today - timedelta(days=30))
        self.add(CARD, {
            "card_no": f"L{self.next('card'):08d}", "id_number": person.id_number, "name": person.name,
            "sex": person.sex, "card_version": "3.00", "issue_date": issued.isoformat(),
            "valid_until": _add_years(issued, 10).isoformat(), "card_status": CARD_ACTIVE,
            "bank_name": rng.choice(BANKS), "issuing_region": county,
            "application_channel": rng.choice(["01", "01", "02", "03"])})

    def founders(self, families: list[Family], companies: list[Company]) -> list[Founder]:
        legal = {c.legal.id_number for c in companies}
        owners = [f for f in families if f.housing == "own" and f.holder and f.holder.id_number not in legal]
        chosen = self.rng.sample(owners, min(FOUNDERS, len(owners)))
        return [Founder(f.holder, f.unit_no or "", f.address) for f in sorted(chosen, key=lambda f: f.index)]

    def retiree(self, index: int, companies: list[Company]) -> Person:
        """A man about 60 or a woman about 50 or 55, in 户籍 (a household of their own), 15+ years insured."""
        rng, today = self.rng, self.today
        sex, age = ("1", 60.0) if index % 2 == 0 else ("2", 50.0 if index % 4 == 1 else 55.0)
        county = self.county()
        person = self.person(sex, self.born(age - 0.5, age + 0.5), LIUZHOU, county)
        address = self.address(county)
        household = f"{county[4:]}{self.next('household'):07d}"
        self.add(HUKOU, {
            "id_number": person.id_number, "name": person.name, "sex": person.sex, "ethnic": person.ethnic,
            "birth_date": person.birth.isoformat(), "birth_place": _birthplace(person.region),
            "address": address, "household_region": county, "household_number": household,
            "household_type": FAMILY_HOUSEHOLD, "relation_to_head": HEAD, "marital_status": MARRIED,
            "education": self.weighted("gb4658_education"),
            "registration_date": self.between(_add_years(person.birth, 20), today - timedelta(days=5 * 365))
            .isoformat(), "registration_authority": _police(county)})
        most = min(444, int((person.age(today) - 18) * 12))
        self.work(person, rng.choice(companies), rng.randint(180, most))
        self.card(person, county)
        return person


# -- sample applicants, read back from the loaded data ---------------------------------------------------------

class _Reader:
    """Latest published rows of the demo resources, by (provider, name)."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.codes = {(e.provider, e.name): e.code for e in projection.published_entries(db)}

    def __call__(self, resource: Resource, columns: list[str]) -> pl.DataFrame | None:
        code = self.codes.get(resource)
        version = ingest.latest_published(self.db, code) if code else None
        if version is None:
            return None
        return ingest.read_rows(version, columns)


def samples(db: Session, package: str, limit: int = 20) -> list[dict[str, Any]]:
    """Sample applicants of any loaded package: the families' finder for the seed packages, the package file's
    own ``samples`` for one added by file alone (404 ``package_not_found`` when no such package is loaded)."""
    from govdata.onething import packages  # the demo loads packages; packages never import the demo

    packages.current(db, package)
    try:
        return applicants(db, package, limit)
    except NotFound:
        return packages.sample_applicants(db, package, limit)


def applicants(db: Session, package: str, limit: int = 20) -> list[dict[str, Any]]:
    """Sample applicants of a one-thing package (newborn, school_enrolment, company_startup, retirement), found
    in the latest published demo versions: ``{"id_number", "name", "note", "inputs"}`` each. Empty when the demo
    datasets are not loaded."""
    finder = _FINDERS.get(package)
    if finder is None:
        raise NotFound(f"没有这个一件事套餐:{package}", code="package_not_found")
    return finder(_Reader(db), date.today(), max(limit, 0))


def _birth_of(id_number: str) -> date | None:
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except (ValueError, TypeError):
        return None


def _years(birth: date, today: date) -> float:
    return (today - birth).days / 365.25


def _newborn(read: _Reader, today: date, limit: int) -> list[dict[str, Any]]:
    """Mothers with a recent 出生医学证明 whose child's father and mother are both in GA 户籍."""
    certs = read(BIRTH, ["newborn_name", "newborn_birth_date", "mother_name", "mother_id_number",
                         "father_id_number", "hospital_name"])
    hukou = read(HUKOU, ["id_number"])
    if certs is None or hukou is None:
        return []
    registered = set(hukou["id_number"].to_list())
    recent = certs.filter(pl.col("newborn_birth_date") >= (today - timedelta(days=90)).isoformat()) \
        .sort(["newborn_birth_date", "mother_id_number"], descending=[True, False])
    out: list[dict[str, Any]] = []
    for row in recent.iter_rows(named=True):
        mother = row["mother_id_number"]
        if len(out) >= limit:
            break
        if mother in registered and row["father_id_number"] in registered and \
                all(a["id_number"] != mother for a in out):
            out.append({"id_number": mother, "name": row["mother_name"], "inputs": {},
                        "note": f"新生儿 {row['newborn_name']},{row['newborn_birth_date']} 出生于 "
                                f"{row['hospital_name']}"})
    return out


def _school_enrolment(read: _Reader, today: date, limit: int) -> list[dict[str, Any]]:
    """A parent of a child about to enter primary (≈6) or junior-middle school (≈12), found through the child's
    出生医学证明 (name and birth date): renters, migrants and owners mixed."""
    vaccinated = read(VACCINATION, ["child_id_number", "child_name"])
    certs = read(BIRTH, ["newborn_name", "newborn_birth_date", "mother_name", "mother_id_number", "father_name",
                         "father_id_number"])
    hukou = read(HUKOU, ["id_number"])
    if vaccinated is None or certs is None or hukou is None:
        return []
    registered = set(hukou["id_number"].to_list())
    permits = _ids(read(PERMIT, ["id_number"]), "id_number")
    owners = _ids(read(PROPERTY, ["right_holder_id_number"]), "right_holder_id_number")
    leases = read(LEASE, ["lessee_id_number", "lease_end"])
    renters = set() if leases is None else set(
        leases.filter(pl.col("lease_end") >= today.isoformat())["lessee_id_number"].drop_nulls().to_list())
    parents = {(r["newborn_name"], r["newborn_birth_date"]): r for r in certs.iter_rows(named=True)}
    buckets: dict[str, list[dict[str, Any]]] = {"rent": [], "migrant": [], "own": [], "none": []}
    for child_id, child_name in vaccinated.unique(["child_id_number"], keep="first", maintain_order=True) \
            .iter_rows():
        birth = _birth_of(child_id or "")
        if birth is None:
            continue
        age = _years(birth, today)
        stage = "小学一年级" if 5.5 <= age < 7.0 else "初中一年级" if 11.5 <= age < 13.0 else None
        cert = parents.get((child_name, birth.isoformat()))
        if stage is None or cert is None:
            continue
        pair = [(cert["mother_id_number"], cert["mother_name"]), (cert["father_id_number"], cert["father_name"])]
        migrant = child_id not in registered and any(p in permits for p, _ in pair)
        if not migrant and child_id not in registered:
            continue
        holder = next((p for p in pair if p[0] in owners), None) or next((p for p in pair if p[0] in renters), None)
        housing = "own" if holder and holder[0] in owners else "rent" if holder else "none"
        applicant = holder or pair[0]
        situation = {"own": "自有住房", "rent": "租房居住(已备案)", "none": "无房产或租赁备案"}[housing]
        note = (f"子女 {child_name}({age:.1f} 岁)申请{stage}入学;"
                + (f"随迁子女(父母持柳州居住证),{situation}" if migrant else f"本市户籍,{situation}"))
        buckets["migrant" if migrant else housing].append(
            {"id_number": applicant[0], "name": applicant[1], "note": note, "inputs": {"child_id_number": child_id}})
    return _interleave(list(buckets.values()), limit)


def _interleave(groups: list[list[dict[str, Any]]], limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in range(max((len(g) for g in groups), default=0)):
        for group in groups:
            if n < len(group) and len(out) < limit:
                out.append(group[n])
    return out


def _ids(frame: pl.DataFrame | None, column: str) -> set[str]:
    return set() if frame is None else set(frame[column].drop_nulls().to_list())


def _company_startup(read: _Reader, today: date, limit: int) -> list[dict[str, Any]]:
    """People (in 户籍 or with a 居住证) who own a property, are no company's legal representative yet, with a
    new company name (not in SJ) and the property as its premises."""
    deeds = read(PROPERTY, ["unit_no", "right_holder", "right_holder_id_number", "location"])
    licences = read(LICENCE, ["company_name", "legal_representative"])
    hukou = read(HUKOU, ["id_number"])
    if deeds is None or licences is None or hukou is None:
        return []
    people = _ids(hukou, "id_number") | _ids(read(PERMIT, ["id_number"]), "id_number")
    representatives = set(licences["legal_representative"].drop_nulls().to_list())
    names = set(licences["company_name"].drop_nulls().to_list())
    out: list[dict[str, Any]] = []
    for row in sorted(deeds.iter_rows(named=True), key=lambda r: zlib.crc32((r["unit_no"] or "").encode())):
        if len(out) >= limit:
            break
        person = row["right_holder_id_number"]
        if person not in people or row["right_holder"] in representatives or \
                any(a["id_number"] == person for a in out):
            continue
        company = _new_company_name(person, names)
        names.add(company)
        out.append({"id_number": person, "name": row["right_holder"],
                    "note": f"在 {row['location']} 有房产,拟以此为住所开办 {company}",
                    "inputs": {"company_name": company, "premises_unit_no": row["unit_no"]}})
    return out


def _new_company_name(seed: str, taken_names: set[str]) -> str:
    rng = random.Random(f"company:{seed}")
    while True:
        first, second = rng.sample(COMPANY_WORDS, 2)
        name = f"柳州市{first}{second}{rng.choice(INDUSTRIES)}有限公司"
        if name not in taken_names:
            return name


RETIREMENT_AGES = {"1": [(59.5, 60.5)], "2": [(49.5, 50.5), (54.5, 55.5)]}


def age_reached(id_number: str, today: date) -> bool:
    """Whether a person of the retirement windows has reached the age (60 for men, 50 or 55 for women)."""
    birth = _birth_of(id_number)
    sex = "1" if int(id_number[16]) % 2 else "2"
    return birth is not None and any(round(low + 0.5) <= _years(birth, today) <= high
                                     for low, high in RETIREMENT_AGES[sex])


def _retirement(read: _Reader, today: date, limit: int) -> list[dict[str, Any]]:
    """People in 户籍 who have reached a retirement age (men 60, women 50 or 55), insured 180+ months in
    企业职工养老保险, with no 养老待遇 yet."""
    hukou = read(HUKOU, ["id_number", "name", "sex", "birth_date"])
    insured = read(INSURANCE, ["id_number", "insurance_type", "insured_status", "paid_months"])
    if hukou is None or insured is None:
        return []
    paying = {r["id_number"]: int(str(r["paid_months"])) for r in insured.filter(
        (pl.col("insurance_type") == ENTERPRISE_PENSION) & (pl.col("insured_status") == INSURED)
        & pl.col("paid_months").is_not_null()).iter_rows(named=True)}
    receiving = _ids(read(PENSION, ["id_number"]), "id_number")
    out: list[dict[str, Any]] = []
    for row in hukou.iter_rows(named=True):
        if len(out) >= limit:
            break
        person, birth = row["id_number"], _birth_of(row["id_number"] or "")
        if birth is None or person in receiving or paying.get(person, 0) < 180:
            continue
        age = _years(birth, today)
        if not age_reached(person, today):  # the others in the window are months short of it
            continue
        sex = "男" if row["sex"] == "1" else "女"
        out.append({"id_number": person, "name": row["name"], "inputs": {},
                    "note": f"{sex},{age:.1f} 岁,企业职工基本养老保险累计缴费 {paying[person]} 个月,尚未领取养老待遇"})
    return out


_FINDERS: dict[str, Callable[[_Reader, date, int], list[dict[str, Any]]]] = {
    "newborn": _newborn, "school_enrolment": _school_enrolment, "company_startup": _company_startup,
    "retirement": _retirement}


def summary(today: date | None = None) -> dict[str, Any]:
    """Counts of the consistent world and of its rows per resource (for the loader's report and the docs)."""
    w = world(today)
    return {"families": len(w.families), "migrant_families": sum(f.migrant for f in w.families),
            "newborns": sum(f.newborn is not None for f in w.families),
            "school_children": sum(f.child is not None for f in w.families),
            "owners": sum(f.housing == "own" for f in w.families),
            "renters": sum(f.housing == "rent" for f in w.families), "companies": len(w.companies),
            "founders": len(w.founders), "retirees": len(w.retirees),
            "rows": {f"{p} {n}": len(r) for (p, n), r in sorted(w.rows.items())}}

