"""Demo dataset versions (演示数据版本): synthetic, realistic rows for published resources, ingested as uploads.

``generate_rows`` makes rows for any published resource from its items alone: each value follows the item's
data element (rule, code set, type, length), people are consistent within a row (an ID number carries the
birth date, sex and county of the same person), keys are unique. Then ``bad_share`` of the rows are broken the
ways real exports break (an empty required cell, a wrong check digit, a revoked region code, an impossible date,
a malformed phone, a repeated record, a code outside its code set …), each broken row failing one rule.

``load`` ingests two or three versions of nineteen Liuzhou resources of eleven departments through the ordinary
ingest path (``govdata.ingest.service.ingest_chunks``), then dates them over the past days and months so that
the trends, the timeliness and the departments' ranking look like a platform in use. It adds nothing to a
resource that already has a version. Besides the random rows, every version carries, unbroken, the rows of the
people and companies of ``families`` that are the same in every department (for the one-thing services).
Made-up data only: every person, company and number here is invented.
"""

from __future__ import annotations

import hashlib
import random
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from govdata.catalog import projection
from govdata.db import utcnow
from govdata.demo import data
from govdata.ingest import pipeline, quality, readers
from govdata.ingest import service as ingest
from govdata.ingest.models import DatasetVersion
from govdata.principal import CLI
from govdata.standards import regions, validators
from govdata.standards import service as standards

# -- pools -----------------------------------------------------------------------------------------------------

SURNAMES = [*"韦覃黄莫蓝廖陆梁李陈刘张王杨吴周潘罗蒙谢石卢龙唐何邓钟曾甘谭农兰", "韦", "覃", "黄", "欧阳"]
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉红梅建国海燕志春晓东萍文斌永光荣宇轩子涵"
             "梓萱浩然欣怡诺思琪俊雨桐家豪嘉欣佳琪凯瑞婷雪峰立新桂林彬鹏飞")
STREETS = {
    "450202": ["文昌路", "五星街", "公园路", "中山东路", "三中路", "八一路"],
    "450203": ["箭盘路", "荣军路", "柳石路", "屏山大道", "东环大道", "驾鹤路"],
    "450204": ["航银路", "飞鹅路", "西环路", "谷埠街", "航生路", "南站路"],
    "450205": ["跃进路", "北雀路", "胜利路", "三中路", "白露大道", "长风路"],
    "450206": ["拉堡镇柳堡路", "拉堡镇兴柳路", "进德镇进德街", "穿山镇穿山街"],
    "450222": ["大埔镇民主路", "大埔镇城北路", "龙头镇龙头街", "太平镇太平街"],
    "450223": ["鹿寨镇飞鹅路", "鹿寨镇建中路", "中渡镇中渡街", "寨沙镇寨沙街"],
    "450224": ["长安镇大巷路", "长安镇和平路", "浮石镇浮石街", "泗顶镇泗顶街"],
    "450225": ["融水镇寿星路", "融水镇水东路", "和睦镇和睦街", "三防镇三防街"],
    "450226": ["古宜镇江峰街", "古宜镇侗乡大道", "林溪镇林溪街", "丹洲镇丹洲街"],
}
COMPANY_WORDS = ["龙城", "柳江", "鑫源", "华宇", "桂中", "金港", "恒达", "宏基", "嘉禾", "盛世", "正和", "瑞丰",
                 "天禾", "新柳", "壶东", "蟠龙", "融城", "峰泰", "汇通", "广源", "立冲", "百朋", "雒容", "柳邕"]
INDUSTRIES = ["汽车零部件制造", "机械设备", "商贸", "建筑工程", "物流", "螺蛳粉食品", "餐饮管理", "电子科技",
              "信息技术", "装饰工程", "医药连锁", "农业开发", "物业服务", "广告传媒", "钢材贸易", "新能源科技"]
COMPANY_FORMS = ["有限公司", "有限公司", "有限责任公司", "股份有限公司"]
HOSPITALS = ["柳州市人民医院", "柳州市工人医院", "柳州市中医医院", "柳州市妇幼保健院", "柳州市柳铁中心医院",
             "柳州市第三人民医院", "柳州市柳江区人民医院", "柳城县人民医院", "鹿寨县人民医院", "融安县人民医院",
             "融水苗族自治县人民医院", "三江侗族自治县人民医院", "广西科技大学第一附属医院", "柳州市潭中人民医院"]
SCHOOLS = ["柳州高级中学", "柳州铁一中学", "柳州市第一中学", "柳州市第二中学", "柳州市第八中学", "柳州市景行小学",
           "柳州市文惠小学", "柳州市公园小学", "柳州市弯塘路小学", "柳州市潭中中学", "柳州市柳江中学", "鹿寨中学",
           "柳城中学", "融水中学", "三江中学", "柳州市航鹰小学"]
MANUFACTURERS = ["北京天坛生物制品股份有限公司", "武汉生物制品研究所有限责任公司", "成都生物制品研究所有限责任公司",
                 "中国医学科学院医学生物学研究所", "华兰生物疫苗股份有限公司", "长春生物制品研究所有限责任公司"]
VACCINES = [("0101", "乙肝疫苗"), ("0201", "卡介苗"), ("0303", "脊灰灭活疫苗"), ("0402", "百白破疫苗"),
            ("1201", "麻腮风疫苗"), ("1401", "乙脑减毒活疫苗"), ("1601", "A群流脑多糖疫苗"), ("1801", "甲肝减毒活疫苗")]
BANKS = ["中国工商银行柳州分行", "中国建设银行柳州分行", "中国农业银行柳州分行", "中国银行柳州分行", "柳州银行",
         "广西北部湾银行柳州分行", "交通银行柳州分行"]
BUSINESS_SCOPES = ["一般项目:汽车零部件及配件制造;五金产品批发;机械设备销售。",
                   "一般项目:食品销售(仅销售预包装食品);餐饮管理;日用百货销售。",
                   "一般项目:软件开发;信息系统集成服务;信息技术咨询服务。",
                   "许可项目:建设工程施工;一般项目:建筑材料销售;装饰工程。",
                   "一般项目:普通货物仓储服务;道路货物运输(不含危险货物);国内货物运输代理。"]
# Unbound coded items of the demo resources: realistic code values (filtered by the item's length).
KEY_CHOICES = {
    "household_type": ["1", "1", "1", "1", "2"],
    "insurance_type": ["110", "110", "210", "410", "120", "310"],
    "insured_status": ["1", "1", "1", "1", "2", "3"],
    "account_status": ["1", "1", "1", "1", "1", "2", "3"],
    "taxpayer_status": ["03", "03", "03", "03", "03", "05", "07"],
    "vat_taxpayer_type": ["1", "2", "2"],
    "registration_type": ["110", "120", "141", "150", "159", "173", "410", "1", "2"],
    "right_type": ["01", "02", "03", "04"],
    "usage": ["011", "011", "061", "072", "101"],
    "co_ownership": ["0", "0", "1", "2"],
    "company_type": ["1100", "1110", "1130", "1151", "1190", "2100", "9100"],
    "registration_status": ["01", "01", "01", "01", "02", "03"],
    "status": ["01", "01", "01", "02", "1", "1", "1", "2"],
    "grade": [f"{g:02d}" for g in range(1, 13)],
    "vaccination_site": ["01", "02", "03", "04"],
    "industry_code": ["3670", "5191", "5261", "6110", "7211", "4700", "5123", "6531"],
    "subsidy_category": ["01", "02", "03", "04", "05"],
    "category": ["1", "1", "2"],
    "hospital_level": ["三级甲等", "三级乙等", "二级甲等", "二级乙等", "一级"],
    "ownership": ["10", "11", "20", "50"],
    "employment_form": ["01", "02", "03"],
    "contract_type": ["1", "2", "3"],
    "tax_type": ["10101", "10104", "10106", "10109", "10111"],
    "income_item": ["01", "02", "04"],
}
# Likely values of the shipped code sets (the others are drawn uniformly).
PREFERRED = {
    "gb3304_ethnic": {"01": 50, "08": 30, "06": 5, "12": 6, "13": 4, "03": 1},  # 汉 壮 苗 侗 瑶 回
    "gb2261_2_marital": {"10": 30, "20": 50, "21": 5, "30": 5, "40": 8},
    "gb4658_education": {"14": 1, "21": 10, "31": 12, "41": 8, "61": 15, "71": 20, "81": 10},
    "gb4761_family_relation": {"02": 35, "10": 25, "20": 12, "30": 12, "50": 5, "41": 4},
    "gb2659_country": {"CHN": 96, "VNM": 2, "KOR": 1, "USA": 1},
}
SEX_CODESET = "gb2261_1_sex"
MARITAL_CODESET = "gb2261_2_marital"
BIRTH_ELEMENT = "DE0004"
PERSON_NAME_ELEMENTS = {"DE0001", "DE0014"}
ORG_NAME_ELEMENTS = {"DE0013", "DE0025", "DE0029", "DE0030"}
# person key word → (youngest, oldest) age in years
AGES = {"newborn": (0.0, 0.8), "child": (0.5, 6.0), "baby": (0.0, 3.0), "student": (6.5, 18.0),
        "mother": (22.0, 40.0), "father": (23.0, 45.0), "guardian": (28.0, 55.0), "head": (30.0, 80.0)}
ADULT_AGES = (18.0, 85.0)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


# -- items -----------------------------------------------------------------------------------------------------

@dataclass
class _Item:
    key: str
    name: str
    kind: str
    data_type: str
    length: int | None
    required: bool
    pk: bool
    fill: float = 1.0  # share of rows with a value
    person: str = ""  # the person (in the row) an ID number, sex, birth date or name describes
    codeset: str = ""
    codes: list[str] = field(default_factory=list)
    weights: list[float] | None = None


def _kind(item: dict, element: dict, codes: dict[str, list[str]]) -> str:
    rule, code, data_type = element.get("rule"), item.get("data_element"), item["data_type"]
    if rule in ("id_number", "credit_code", "region_code", "phone", "email", "postcode"):
        return rule
    if code == BIRTH_ELEMENT:
        return "birth"
    if element.get("codeset") == SEX_CODESET:
        return "sex"
    if element.get("codeset") in codes:
        return "codeset"
    if code == "DE0010":
        return "nationality"
    if code in PERSON_NAME_ELEMENTS:
        return "person_name"
    if code == "DE0008":
        return "address"
    if code in ORG_NAME_ELEMENTS:
        return "org"
    if code == "DE0019":
        return "certificate"
    if code == "DE0026":
        return "scope"
    return {"D": "date", "T": "datetime", "Y": "amount", "I": "integer", "N": "number", "F": "decimal",
            "B": "decimal", "L": "logical", "M": "memo", "G": "blob"}.get(data_type, "text")


def _person_of(key: str, kind: str) -> str:
    suffix = {"id_number": "id_number", "sex": "sex", "birth": "birth_date", "person_name": "name"}[kind]
    return key.removesuffix(suffix).rstrip("_")


def _items(db: Session, doc: dict[str, Any], rng: random.Random) -> list[_Item]:
    docs = doc["items"]
    elements = {c: standards.element_as_dict(e) for c, e in standards.elements_by_code(
        db, {i["data_element"] for i in docs if i.get("data_element")}).items()}
    codes: dict[str, list[str]] = {}
    for element in elements.values():
        name = element.get("codeset")
        if name and name not in codes and name != "gb2260_region" and standards.find_codeset(db, name) is not None:
            codes[name] = standards.value_codes(db, name)
    always = {rule["column"] for rule in doc.get("rules") or [] if rule.get("kind") == "required_if"}
    items = []
    for raw in docs:
        element = elements.get(raw.get("data_element") or "", {})
        resolved = {**raw, "data_type": raw.get("data_type") or element.get("data_type") or "C",
                    "length": raw.get("length") or element.get("length")}
        kind = _kind(resolved, element, codes)
        required = bool(raw.get("required") or raw.get("primary_key"))
        item = _Item(raw["key"], raw.get("name") or raw["key"], kind, resolved["data_type"], resolved["length"],
                     required, bool(raw.get("primary_key")),
                     fill=1.0 if required or raw["key"] in always else rng.uniform(0.82, 0.99))
        if element.get("codeset") in codes:
            item.codeset, item.codes = element["codeset"], codes[element["codeset"]]
            preferred = PREFERRED.get(element["codeset"], {})
            weights = [preferred.get(c, 0) for c in item.codes]
            item.weights = weights if any(weights) else None
        if kind in ("id_number", "sex", "birth", "person_name"):
            item.person = _person_of(item.key, kind)
        items.append(item)
    _link_people(items, doc.get("rules") or [])
    return items


def _link_people(items: list[_Item], rules: list[dict]) -> None:
    """The birth date and sex of the person whose ID number the row carries: declared id_birth_date/id_sex rules,
    else one ID number with one birth date (sex) — the pairs the ingest checks — else items with the same prefix
    (``mother_id_number`` and ``mother_name``)."""
    by_key = {item.key: item for item in items}
    ids = [i for i in items if i.kind == "id_number"]
    for kind in ("birth", "sex"):
        others = [i for i in items if i.kind == kind]
        if len(ids) == 1 and len(others) == 1:
            others[0].person = ids[0].person
    for rule in rules:
        other = rule.get("date") or rule.get("sex")
        if rule.get("kind") in ("id_birth_date", "id_sex") and rule.get("id") in by_key and other in by_key:
            by_key[other].person = by_key[rule["id"]].person


# -- rows ------------------------------------------------------------------------------------------------------

@dataclass
class _Person:
    birth: date
    sex: str  # 1 男 2 女
    county: str
    id_number: str = ""
    name: str = ""


class _Row:
    """One row being generated: its county, its people and the choices its items share."""

    def __init__(self, gen: _Generator, index: int) -> None:
        self.gen, self.index, self.rng = gen, index, gen.rng
        self.county, self.county_name = self.rng.choice(gen.counties)
        self.people: dict[str, _Person] = {}
        self.picks: dict[str, Any] = {}
        self.dates: list[date] = []

    def pick(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self.picks:
            self.picks[name] = make()
        return self.picks[name]

    def person(self, key: str) -> _Person:
        if key not in self.people:
            self.people[key] = self._new_person(key)
        return self.people[key]

    def _new_person(self, key: str) -> _Person:
        rng, today = self.rng, self.gen.today
        youngest, oldest = next((ages for word, ages in AGES.items() if word in key), ADULT_AGES)
        birth = today - timedelta(days=rng.randint(int(youngest * 365.25) + 1, int(oldest * 365.25)))
        sex = "2" if "mother" in key else "1" if "father" in key else rng.choice("12")
        counties = self.gen.birthplaces(birth.year)
        county = self.county if self.county in counties and rng.random() < 0.8 else rng.choice(counties)
        return _Person(birth, sex, county, name=_person_name(rng))

    def youngest_birth(self) -> date | None:
        return max((p.birth for p in self.people.values()), default=None)


def _person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.75 else "")
    return rng.choice(SURNAMES) + given


def _id_number(rng: random.Random, person: _Person) -> str:
    odd = person.sex == "1"
    body = f"{person.county}{person.birth:%Y%m%d}{rng.randrange(100):02d}{rng.choice('13579' if odd else '02468')}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit


def _credit_code(rng: random.Random, county: str, kind: str = "91") -> str:
    body = f"{kind}{county}{rng.randrange(10 ** 8):08d}{rng.choice(USCC_ALPHABET)}"
    return body + uscc.calc_check_digit(body)


def _local(county_name: str, suffix: str) -> str:
    """柳州市城中区市场监督管理局 / 鹿寨县市场监督管理局."""
    return f"柳州市{county_name}{suffix}" if county_name.endswith("区") else f"{county_name}{suffix}"


def _address(row: _Row) -> str:
    rng = row.rng
    street = rng.choice(STREETS.get(row.county) or ["人民路"])
    text = f"广西壮族自治区柳州市{row.county_name}{street}{rng.randint(1, 399)}号"
    if rng.random() < 0.6:
        text += f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 28)}{rng.randint(1, 6):02d}室"
    return text


def _company(rng: random.Random) -> str:
    return f"柳州市{rng.choice(COMPANY_WORDS)}{rng.choice(INDUSTRIES)}{rng.choice(COMPANY_FORMS)}"


def _org(item: _Item, row: _Row) -> str:
    key, rng = item.key, row.rng
    if "hospital" in key or "医院" in item.name or "医疗机构" in item.name + row.gen.doc.get("name", ""):
        return rng.choice(HOSPITALS)
    if "school" in key or "学校" in item.name:
        return row.pick("school", lambda: rng.choice(SCHOOLS))
    if "vaccination_unit" in key or "接种单位" in item.name:
        townships = data.COUNTIES.get(row.county, ("", ["城中街道"]))[1]
        township = rng.choice(townships)
        return f"{township}社区卫生服务中心" if township.endswith("街道") else f"{row.county_name}{township}卫生院"
    if "manufacturer" in key or "生产企业" in item.name:
        return rng.choice(MANUFACTURERS)
    if "authority" in key or "机关" in item.name:
        return _authority(row)
    return row.pick(f"company:{key}", lambda: _company(rng))


def _authority(row: _Row) -> str:
    provider = row.gen.doc.get("provider") or ""
    if provider.endswith("-GA"):
        return f"柳州市公安局{row.county_name}分局" if row.county_name.endswith("区") else f"{row.county_name}公安局"
    if provider.endswith("-SJ"):
        return _local(row.county_name, "市场监督管理局")
    if provider.endswith("-SW"):
        return "国家税务总局" + _local(row.county_name, "税务局")
    return row.gen.doc.get("provider_name") or "柳州市人民政府"


def _past(row: _Row, years: float = 8.0) -> date:
    """A day in the past, not before the row's youngest person was born."""
    today = row.gen.today
    earliest = max(today - timedelta(days=int(years * 365.25)), row.youngest_birth() or date.min)
    span = max((today - earliest).days, 0)
    return earliest + timedelta(days=row.rng.randint(min(span, 1), span) if span else 0)


def _date(item: _Item, row: _Row) -> str:
    key, rng, today = item.key, row.rng, row.gen.today
    past = [day for day in row.dates if day <= today]
    if any(word in key for word in ("until", "_to", "expir", "valid")):
        day = today + timedelta(days=rng.randint(200, 20 * 365))
    elif ("end" in key or "止" in item.name) and past:
        day = min(max(past) + timedelta(days=rng.randint(30, 720)), today)
    elif "approv" in key and past:  # 核准日期: after the establishment
        day = max(past) + timedelta(days=rng.randint(0, (today - max(past)).days))
    elif "establish" in key or "成立" in item.name:
        day = today - timedelta(days=rng.randint(60, 28 * 365))
    elif "vaccination" in key:
        day = _past(row, 1.5)
    else:
        day = _past(row)
    row.dates.append(day)
    return day.isoformat()


def _money(item: _Item, row: _Row) -> str:
    key, rng = item.key, row.rng
    if "capital" in key:
        return f"{rng.choice([10, 50, 100, 200, 300, 500, 1000, 2000, 5000])}.00"
    if "base" in key:
        return f"{rng.randint(4200, 24000)}.00"
    if "personal_payment" in key or "缴费" in item.name:
        return rng.choice(["380.00", "400.00", "0.00"])
    if "balance" in key:
        return f"{rng.randint(0, 160000)}.{rng.randint(0, 99):02d}"
    return f"{rng.randint(50, 50000)}.{rng.randint(0, 99):02d}"


INT_RANGES = {"birth_weight": (2500, 4200), "gestational_weeks": (37, 41), "dose_no": (1, 4),
              "paid_months": (1, 420), "beds": (20, 1200), "covered_persons": (1, 5), "household_size": (1, 7)}


def _integer(item: _Item, row: _Row) -> str:
    low, high = next((r for word, r in INT_RANGES.items() if word in item.key), (1, 500))
    return str(row.rng.randint(low, high))


def _decimal(item: _Item, row: _Row) -> str:
    key, rng = item.key, row.rng
    if "rate" in key:
        return row.pick(f"rate:{key}", lambda: f"{rng.choice([0.05, 0.06, 0.08, 0.10, 0.12]):.2f}")
    if "longitude" in key:
        return f"{rng.uniform(109.20, 109.60):.6f}"
    if "latitude" in key:
        return f"{rng.uniform(24.20, 24.50):.6f}"
    if "area" in key or "面积" in item.name:
        return f"{rng.uniform(35, 260):.2f}"
    return f"{rng.uniform(0, 1000):.2f}"


def _code(item: _Item, row: _Row) -> str:
    """An unbound coded or free-text item (户号, 险种类型, 班级 …), by its key and name."""
    key, name, length, rng, today = item.key, item.name, item.length or 50, row.rng, row.gen.today
    if key == "unit_no" and length >= 28:  # 不动产单元号: 宗地 + 定着物, 28 characters
        return (f"{row.county}{rng.randint(1, 20):03d}{rng.randint(1, 30):03d}GB{rng.randint(1, 99999):05d}"
                f"F{rng.randint(1, 999):04d}{rng.randint(1, 9999):04d}")
    if item.pk and row.gen.sole_key:  # unique by construction: the row's index
        if key.endswith("year") and length >= 4:
            return str(today.year - row.index)
        return f"{row.gen.key_base + row.index:0{min(length, 12)}d}"[-length:]
    choices = [c for c in KEY_CHOICES.get(key, []) if len(c) <= length]
    exact = [c for c in choices if len(c) == length]
    if exact or choices:
        return rng.choice(exact or choices)
    if key == "vaccine_code" or key == "vaccine_name":
        return row.pick("vaccine", lambda: rng.choice(VACCINES))[0 if key == "vaccine_code" else 1]
    if key == "school_code":
        return f"2145{SCHOOLS.index(row.pick('school', lambda: rng.choice(SCHOOLS))):06d}"
    if key == "class_name":
        return f"{rng.randint(1, 12)}班"
    if key.endswith("month") and length >= 6:
        return (today.replace(day=1) - timedelta(days=rng.randint(0, 60))).strftime("%Y%m")
    if key.endswith("year") and length >= 4:
        return str(today.year)
    if "batch" in key:
        return f"{today.year - rng.randint(0, 1)}{rng.randint(1, 12):02d}{rng.choice('ABC')}{rng.randint(1, 99):02d}"
    if "birth_place" in key or name.endswith("出生地"):
        return f"广西壮族自治区柳州市{row.county_name}"
    if "bank" in key:
        return rng.choice(BANKS)
    if "authority" in key or name.endswith("机关"):
        return _authority(row)
    if "phone" in key or "电话" in name:
        return f"0772-{rng.randint(2000000, 3999999)}"
    if "url" in key:
        return f"https://data.liuzhou.gov.cn/files/{rng.randrange(16 ** 8):08x}"
    if name.endswith("名称"):
        return _company(rng)[:length]
    if key.endswith(("_no", "_code", "_id", "number")) or name.endswith(("号", "编号", "编码", "代码", "账号")):
        return "".join(rng.choice("0123456789") for _ in range(min(length, 12)))
    if length <= 3:
        return f"{rng.randint(1, 3):0{length}d}"
    return f"{name}{rng.randint(1, 9)}"[:length]


def _value(item: _Item, row: _Row) -> str | None:
    kind, rng = item.kind, row.rng
    if kind in ("id_number", "sex", "birth", "person_name"):
        person = row.person(item.person)
        if kind == "id_number":
            person.id_number = person.id_number or _id_number(rng, person)
            return person.id_number
        if kind == "sex":
            return person.sex
        if kind == "birth":
            return person.birth.isoformat()
        return person.name[: item.length or 50]
    if kind == "credit_code":
        return _credit_code(rng, row.county, "91" if rng.random() < 0.9 else "92")  # 92: 个体工商户
    if kind == "region_code":
        return row.county
    if kind == "phone":
        return f"1{rng.choice('3578993')}{rng.randrange(10 ** 9):09d}"
    if kind == "email":
        return f"user{rng.randrange(10 ** 6):06d}@example.com"
    if kind == "postcode":
        return "545" + f"{rng.randrange(1000):03d}"
    if kind == "codeset":
        born = row.youngest_birth()
        if item.codeset == MARITAL_CODESET and "10" in item.codes and born and born.year > row.gen.today.year - 22:
            return "10"  # 未婚
        return rng.choices(item.codes, weights=item.weights)[0]
    if kind == "nationality":
        return "CHN"
    if kind == "address":
        return _address(row)[: item.length or 200]
    if kind == "org":
        return _org(item, row)[: item.length or 200]
    if kind == "certificate":
        if "不动产" in row.gen.doc.get("name", ""):
            return f"桂({rng.randint(2016, row.gen.today.year)})柳州市不动产权第{rng.randrange(10 ** 7):07d}号"
        prefix = "".join(w[0] for w in item.key.split("_")).upper()[:2]
        text = f"{prefix}450{rng.randrange(10 ** 9):09d}"
        return f"{prefix}{row.gen.key_base + row.index:010d}" if item.pk else text[: item.length or 64]
    if kind == "scope":
        return rng.choice(BUSINESS_SCOPES)
    if kind in ("date", "datetime"):
        text = _date(item, row)
        return f"{text} {rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}" \
            if kind == "datetime" else text
    if kind == "amount":
        return _money(item, row)
    if kind == "integer":
        return _integer(item, row)
    if kind == "number":
        return str(rng.randint(1, 1000))
    if kind == "decimal":
        return _decimal(item, row)
    if kind == "logical":
        return rng.choice(["否", "否", "否", "是"])
    if kind == "memo":
        return rng.choice(["无", "无", "详见附件", "按规定办理"])
    if kind == "blob":
        return None
    return _code(item, row)


class _Generator:
    def __init__(self, db: Session, doc: dict[str, Any], seed: int, today: date) -> None:
        self.doc, self.today = doc, today
        self.rng = random.Random(seed)
        self.items = _items(db, doc, self.rng)
        self.counties = [(d.code, d.name) for d in regions.children("450200")] or [("450202", "城中区")]
        self.key_base = self.rng.randrange(10 ** 8, 10 ** 9) * 1000
        self._birthplaces: dict[int, list[str]] = {}
        self.sole_key = sum(i.pk for i in self.items) == 1
        self.rules = [r for r in doc.get("rules") or [] if r.get("kind") == "compare"]

    def birthplaces(self, year: int) -> list[str]:
        """The counties whose code an ID number of someone born in ``year`` may carry."""
        if year not in self._birthplaces:
            self._birthplaces[year] = [c for c, _ in self.counties if validators.birthplace_valid(c, year)] \
                or ["450202"]
        return self._birthplaces[year]

    def row(self, index: int) -> dict[str, str | None]:
        row = _Row(self, index)
        values: dict[str, str | None] = {}
        for item in self.items:
            value = _value(item, row)  # always drawn, so that a row's people do not depend on the fill rates
            values[item.key] = value if item.required or self.rng.random() < item.fill else None
        self._fix(values)
        return values

    def _fix(self, values: dict[str, str | None]) -> None:
        """Values that other items of the row determine, and declared comparisons."""
        ids = [i.key for i in self.items if i.kind == "id_number" and values.get(i.key)]
        if "national_student_no" in values and ids:
            values["national_student_no"] = "G" + values[ids[0]]  # 全国学籍号: G + 公民身份号码
        base, rates = values.get("deposit_base"), [values.get("personal_rate"), values.get("employer_rate")]
        if "monthly_deposit" in values and base and all(rates):
            values["monthly_deposit"] = f"{float(base) * sum(float(r) for r in rates):.2f}"
        for rule in self.rules:
            left, right = values.get(rule["left"]), values.get(rule["right"])
            if left is None or right is None:
                continue
            numeric = all(i.data_type in "NYBFI" for i in self.items if i.key in (rule["left"], rule["right"]))
            a, b = (float(left), float(right)) if numeric else (left, right)
            holds = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[rule["op"]]
            if not holds and rule["op"] in ("<", "<=", ">", ">="):
                values[rule["left"]], values[rule["right"]] = right, left
            elif not holds and rule["op"] == "==":
                values[rule["left"]] = right

    def rows(self, n: int, *, taken_keys: set[tuple] | None = None,
             avoid: frozenset[str] = frozenset()) -> list[dict[str, str | None]]:
        """``n`` rows with unique keys, none of them in ``taken_keys`` and no ID number or credit code in
        ``avoid`` (the people and companies of ``families``)."""
        keys = [i.key for i in self.items if i.pk]
        checked = [i.key for i in self.items if i.kind in ("id_number", "credit_code")] if avoid else []
        seen: set[tuple] = set(taken_keys or ())
        out = []
        for index in range(n):
            for _attempt in range(20):
                values = self.row(index)
                key = tuple(values[k] for k in keys)
                if (not keys or key not in seen) and not any(values[k] in avoid for k in checked):
                    break
            seen.add(key)
            out.append(values)
        return out


# -- breaking rows ---------------------------------------------------------------------------------------------

Breaker = Callable[[list[dict[str, str | None]], int, random.Random], bool]


def _breakers(gen: _Generator, good: Callable[[int], list[int]]) -> list[tuple[str, Breaker]]:
    """(rule, how to break row i so that it fails that rule only); a breaker answers False when it cannot."""
    items = gen.items
    of = {kind: [i for i in items if i.kind == kind] for kind in {i.kind for i in items}}
    out: list[tuple[str, Breaker]] = []

    def on(targets: list[_Item], change: Callable[[_Item, str | None, random.Random], str | None],
           need_value: bool = False) -> Breaker:
        def apply(rows: list[dict[str, str | None]], i: int, rng: random.Random) -> bool:
            usable = [t for t in targets if rows[i][t.key] is not None or not need_value]
            if not usable:
                return False
            target = rng.choice(usable)
            rows[i][target.key] = change(target, rows[i][target.key], rng)
            return True
        return apply

    required = [i for i in items if i.required and not i.pk]
    if required:
        out.append(("required", on(required, lambda t, v, rng: None)))
    if of.get("id_number"):
        out.append(("id_number", on(of["id_number"], lambda t, v, rng: _wrong_check(v, "0123456789X"), True)))
    if of.get("credit_code"):
        out.append(("credit_code", on(of["credit_code"], lambda t, v, rng: _wrong_check(v, USCC_ALPHABET), True)))
    if of.get("region_code"):
        out.append(("region_code", on(of["region_code"], lambda t, v, rng: rng.choice(_bad_regions()))))
    dates = [i for i in items if i.data_type == "D"]
    if dates:
        out.append(("date", on(dates, lambda t, v, rng: rng.choice(
            [f"{gen.today.year - 1}-02-30", f"{gen.today.year - 2}-06-31", f"{gen.today.year - 1}/03/15",
             f"{gen.today.year - 1}0415"]))))
    phones = [i for i in items if i.kind == "phone"]
    if phones:
        out.append(("format", on(phones, lambda t, v, rng: rng.choice(
            [f"13{rng.randrange(10 ** 8):08d}", f"12{rng.randrange(10 ** 9):09d}"]))))
    coded = [i for i in items if i.codes]
    if coded:
        out.append(("codeset", on(coded, lambda t, v, rng: _outside(t, rng))))
    numbers = [i for i in items if i.data_type in ("Y", "I", "F", "B", "N")]
    if numbers:
        out.append(("type", on(numbers, lambda t, v, rng: {
            "Y": f"{rng.randint(1, 99)},{rng.randint(0, 999):03d}.00", "I": f"{rng.randint(1, 30)}.0"}.get(
                t.data_type, f"{rng.randint(1, 99)}%"))))
    pair = _consistency_pair(items)
    if pair:
        out.append(("cross_field", _inconsistent(*pair)))
    keys = [i.key for i in items if i.pk]
    if keys:
        def duplicate(rows: list[dict[str, str | None]], i: int, rng: random.Random) -> bool:
            rows[i] = dict(rows[rng.choice(good(i))])  # the same record exported twice
            return True
        out.append(("unique", duplicate))
    return out


def _wrong_check(value: str | None, alphabet: str) -> str | None:
    if value is None:
        return None
    return value[:-1] + alphabet[(alphabet.index(value[-1]) + 1) % len(alphabet)]


@lru_cache(maxsize=1)
def _bad_regions() -> list[str]:
    """Revoked Liuzhou codes (柳江县 → 柳江区 in 2016, 郊区) and one that never existed."""
    table = regions.divisions()
    revoked = sorted(c for c, d in table.items() if c.startswith("4502") and not d.current)
    missing = next(f"4502{n:02d}" for n in range(99, 0, -1) if f"4502{n:02d}" not in table)
    return [*revoked, missing]


def _outside(item: _Item, rng: random.Random) -> str:
    """A code of the right width that the code set does not have (性别 3, 民族 60 …)."""
    codes = set(item.codes)
    width = min(len(max(codes, key=len)), item.length or 9, 4)
    outside = [f"{n:0{width}d}" for n in range(10 ** width) if f"{n:0{width}d}" not in codes]
    return rng.choice(outside) if outside else "?"


def _consistency_pair(items: list[_Item]) -> tuple[_Item, _Item] | None:
    """The ID number (the key) and the sex or birth date of the same person: what the ingest cross-checks."""
    ids = [i for i in items if i.kind == "id_number"]
    if len(ids) != 1 or not ids[0].pk:
        return None
    for kind in ("sex", "birth"):
        others = [i for i in items if i.kind == kind]
        if len(others) == 1 and others[0].person == ids[0].person:
            return ids[0], others[0]
    return None


def _inconsistent(id_item: _Item, other: _Item) -> Breaker:
    def apply(rows: list[dict[str, str | None]], i: int, rng: random.Random) -> bool:
        row = rows[i]
        if row[id_item.key] is None:
            return False
        if other.kind == "sex":
            row[other.key] = "2" if row[id_item.key][16] in "13579" else "1"
        else:
            born = date(int(row[id_item.key][6:10]), int(row[id_item.key][10:12]), int(row[id_item.key][12:14]))
            row[other.key] = (born - timedelta(days=rng.randint(1, 40))).isoformat()
        return True
    return apply


def _break(gen: _Generator, rows: list[dict[str, str | None]], count: int, rng: random.Random) -> None:
    if count <= 0 or len(rows) < 2:
        return
    bad = sorted(rng.sample(range(1, len(rows)), min(count, len(rows) - 1)))
    broken = set(bad)
    breakers = _breakers(gen, lambda i: [j for j in range(i) if j not in broken])
    rng.shuffle(breakers)
    for n, i in enumerate(bad):
        for step in range(len(breakers)):
            _rule, apply = breakers[(n + step) % len(breakers)]
            if apply(rows, i, rng):
                break


# -- public ----------------------------------------------------------------------------------------------------

def generate_rows(db: Session, doc: dict[str, Any], n: int, *, seed: int, bad_share: float = 0.02,
                  today: date | None = None, extra: list[dict[str, str | None]] | None = None,
                  avoid: frozenset[str] = frozenset()) -> pl.DataFrame:
    """``n`` rows for the published resource ``doc`` (columns: the item keys, all text), ``bad_share`` of them
    broken. The valid rows depend only on ``seed`` (and ``today``): the first rows of a longer draw are the rows
    of a shorter one, as successive exports of a growing register are. Which rows break, and how, depends on
    ``n`` and ``bad_share`` too.

    ``extra`` rows (the consistent people of ``families``) come last, among the ``n``, and are never broken; the
    random rows keep off their keys and off the ID numbers and credit codes in ``avoid``."""
    gen = _Generator(db, doc, seed, today or date.today())
    extra = extra or []
    keys = [item.key for item in gen.items]
    primary = [item.key for item in gen.items if item.pk]
    rows = gen.rows(max(n - len(extra), 0), taken_keys={tuple(row.get(k) for k in primary) for row in extra},
                    avoid=avoid)
    _break(gen, rows, round(n * bad_share), random.Random(f"{seed}:{n}:{bad_share}"))
    rows += [{key: row.get(key) for key in keys} for row in extra]
    return pl.DataFrame({key: [row[key] for row in rows] for key in keys},
                        schema=dict.fromkeys(keys, pl.String))


@dataclass(frozen=True)
class Release:
    """One demo version: how many rows, the share broken, and how long ago it arrived."""

    rows: int
    bad_share: float
    days_ago: float


@dataclass(frozen=True)
class DemoDataset:
    provider: str
    name: str
    releases: tuple[Release, ...]
    hold_above: float | None = None  # the resource's 发布策略, when not the default


# Daily resources arrive about daily (a few a little late); monthly ones monthly. 民政局 is late (its latest
# versions are six weeks old, so its timeliness is low); 人社局's social-insurance exports are the dirtiest, which
# its 10% policy accepts; the latest 不动产 export breaks the default 5% and waits for a decision (暂存).
# ``rows`` counts every row of the version: the consistent people and companies of ``families`` (the same in
# every version, newborns from the day their certificate is issued) and random rows for the rest.
DATASETS: tuple[DemoDataset, ...] = (
    DemoDataset("450200-GA", "户籍人口登记信息", (Release(3550, 0.005, 2.2), Release(3700, 0.008, 1.25),
                                                  Release(3850, 0.006, 0.3))),
    DemoDataset("450200-GA", "居住证信息", (Release(560, 0.01, 1.3), Release(600, 0.012, 0.4))),
    DemoDataset("450200-GA", "公章刻制备案信息", (Release(480, 0.01, 1.7), Release(500, 0.008, 0.2))),
    DemoDataset("450200-WJ", "出生医学证明信息", (Release(1600, 0.015, 1.4), Release(1750, 0.01, 0.5))),
    DemoDataset("450200-WJ", "预防接种信息", (Release(4500, 0.025, 1.6), Release(4650, 0.03, 0.6))),
    DemoDataset("450200-WJ", "医疗机构名录", (Release(300, 0.01, 64), Release(320, 0.02, 33), Release(340, 0.01, 3))),
    DemoDataset("450200-JY", "学籍信息", (Release(1250, 0.03, 2.2), Release(1400, 0.04, 0.7))),
    DemoDataset("450200-RS", "社会保险参保信息", (Release(2000, 0.06, 3.1), Release(2100, 0.08, 1.9),
                                                  Release(2200, 0.07, 0.4)), hold_above=10.0),
    DemoDataset("450200-RS", "社会保障卡信息", (Release(2350, 0.01, 1.5), Release(2400, 0.012, 0.5))),
    DemoDataset("450200-RS", "养老保险待遇发放信息", (Release(300, 0.01, 35), Release(320, 0.01, 5))),
    DemoDataset("450200-YB", "城乡居民医保参保信息", (Release(2600, 0.01, 1.5), Release(2700, 0.02, 0.3))),
    DemoDataset("450200-YB", "职工基本医疗保险参保信息", (Release(1400, 0.01, 1.2), Release(1450, 0.01, 0.3))),
    DemoDataset("450200-SJ", "营业执照信息", (Release(800, 0.02, 2.1), Release(900, 0.01, 1.2),
                                              Release(1000, 0.015, 0.2))),
    DemoDataset("450200-SW", "纳税人登记信息", (Release(800, 0.025, 1.9), Release(850, 0.035, 0.9))),
    DemoDataset("450200-ZR", "不动产登记信息", (Release(1250, 0.012, 1.5), Release(1300, 0.01, 0.6),
                                                Release(1350, 0.07, 0.1))),
    DemoDataset("450200-ZJ", "房屋租赁登记备案信息", (Release(500, 0.01, 1.1), Release(530, 0.015, 0.25))),
    DemoDataset("450200-GJJ", "住房公积金缴存信息", (Release(1800, 0.01, 1.6), Release(1900, 0.012, 0.45))),
    DemoDataset("450200-MZ", "婚姻登记信息", (Release(1280, 0.01, 75), Release(1300, 0.015, 44))),
    DemoDataset("450200-MZ", "低保救助对象信息", (Release(350, 0.02, 82), Release(380, 0.03, 46))),
)


def load(db: Session, progress: Callable[[str], None] | None = None, *,
         datasets: tuple[DemoDataset, ...] = DATASETS) -> dict[str, Any]:
    """Ingest the demo versions of every listed resource that is published and has no version yet; returns what
    was added (resources, departments, versions, held versions, rows, rejected rows) and the seconds it took."""
    from govdata.demo import families  # it draws on this module's pools

    started = time.perf_counter()
    entries = {(e.provider, e.name): e for e in projection.published_entries(db)}
    now = utcnow()
    today = date.today()
    avoid = families.taken(today)
    counts: Counter[str] = Counter()
    departments: set[str] = set()
    for spec in datasets:
        entry = entries.get((spec.provider, spec.name))
        if entry is None or _has_versions(db, entry.code):
            continue
        doc = ingest.resource_doc(db, entry.code)
        if spec.hold_above is not None:
            ingest.set_policy(db, CLI, entry.code, spec.hold_above)
        seed = zlib.crc32(spec.name.encode())
        for number, release in enumerate(spec.releases, 1):
            if progress:
                progress(f"{spec.name} 第 {number} 版")
            when = now - timedelta(days=release.days_ago)
            extra = families.rows(spec.provider, spec.name, when.date(), today)
            frame = generate_rows(db, doc, release.rows, seed=seed, bad_share=release.bad_share, today=today,
                                  extra=extra, avoid=avoid)
            version = ingest_frame(db, doc, frame, when)
            date_version(db, version, when, doc.get("update_cycle"))
            counts["versions"] += 1
            counts["held"] += version.status == "held"
            counts["rows"] += version.rows_total
            counts["rows_rejected"] += version.rows_rejected
        counts["resources"] += 1
        departments.add(spec.provider)
    return {"resources": counts["resources"], "departments": len(departments), "versions": counts["versions"],
            "held": counts["held"], "rows": counts["rows"], "rows_rejected": counts["rows_rejected"],
            "seconds": round(time.perf_counter() - started, 2)}


def describe(counts: dict[str, Any]) -> str:
    """The loader's summary line."""
    if not counts["versions"]:
        return "演示数据版本:已存在,未新增"
    return (f"演示数据版本:{counts['resources']} 个信息资源({counts['departments']} 个部门)"
            f"新增 {counts['versions']} 个版本,共 {counts['rows']} 行,拒绝 {counts['rows_rejected']} 行,"
            f"暂存待确认 {counts['held']} 个")


def _has_versions(db: Session, code: str) -> bool:
    return bool(db.scalar(select(func.count()).where(DatasetVersion.resource_code == code)))


def ingest_frame(db: Session, doc: dict[str, Any], frame: pl.DataFrame, when: datetime) -> DatasetVersion:
    """As a department's upload: a GB 18030 CSV whose header is the items' Chinese names."""
    names = [i["name"] for i in doc["items"]]
    if len(set(names)) == len(names):
        frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    content = frame.write_csv().encode("gb18030")
    stamp = "%Y-%m" if doc.get("update_cycle") in ("monthly", "quarterly", "half_yearly", "yearly") else "%Y-%m-%d"
    source = {"filename": f"{doc['name']}-{when:{stamp}}.csv", "format": "csv", "encoding": "gb18030",
              "bytes": len(content)}
    chunk = readers.Chunk(frame, rows=None, first_row=2)
    return ingest.ingest_chunks(db, CLI, doc, [chunk], frame.columns, source_kind="upload", source=source,
                                source_digest=lambda: hashlib.sha256(content).hexdigest())


def date_version(db: Session, version: DatasetVersion, when: datetime, cycle: str | None) -> None:
    """Date a just-ingested version ``when`` and judge its timeliness against the published version before it,
    as the ingest would have had the file arrived then."""
    previous = db.scalar(select(DatasetVersion).where(DatasetVersion.resource_code == version.resource_code,
                                                      DatasetVersion.status == "published",
                                                      DatasetVersion.number < version.number)
                         .order_by(DatasetVersion.number.desc()).limit(1))
    dims = {dim: version.quality.get(dim, 0.0) for dim in pipeline.DIMENSIONS}
    version.quality = quality.with_overall(dims, quality.timeliness(cycle, previous.created_at if previous else None,
                                                                    when))
    version.score = version.quality["score"]
    version.created_at = when
    if version.published_at is not None:
        version.published_at = when
    db.commit()
