"""The standards every installation ships: code sets (from data/codesets/*.json, GB/T 2260 regions, ISO 3166-1
countries and the catalog's enumerations) and data elements (data/elements.json).

Large or maintained tables are derived at load time from the packages that maintain them instead of being
copied: regions from python-stdnum's GB/T 2260 history, countries from pycountry's ISO 3166-1 (which GB/T 2659
follows) with its Simplified Chinese names.
"""

from __future__ import annotations

import gettext
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata, resources
from typing import Any

from govdata.standards import enums, regions

# GB/T 2659 names these "中国香港", "中国澳门", "中国台湾"; ISO's Chinese names differ.
_COUNTRY_NAMES = {"HKG": "中国香港", "MAC": "中国澳门", "TWN": "中国台湾"}


@dataclass(frozen=True)
class ShippedCodeSet:
    name: str
    title: str
    standard: str | None
    version: str | None
    description: str | None
    values: list[tuple[str, str, str | None]] = field(default_factory=list)  # (code, label, parent_code)


def _data(path: str) -> Any:
    return json.loads(resources.files("govdata.standards").joinpath("data", path).read_text(encoding="utf-8"))


def _from_json(filename: str) -> ShippedCodeSet:
    doc = _data(f"codesets/{filename}")
    values = [(v["code"], v["label"], v.get("parent_code")) for v in doc["values"]]
    return ShippedCodeSet(doc["name"], doc["title"], doc.get("standard"), doc.get("version"), doc.get("description"),
                          values)


def _region_parent(code: str, current: set[str]) -> str | None:
    if code.endswith("0000"):
        return None
    prefecture = code[:4] + "00"
    if not code.endswith("00") and prefecture in current:
        return prefecture
    return code[:2] + "0000"


def region_codeset() -> ShippedCodeSet:
    table = {d.code: d for d in regions.divisions().values() if d.current}
    current = set(table)
    values = [(code, table[code].name, _region_parent(code, current)) for code in sorted(table)]
    version = f"python-stdnum {metadata.version('python-stdnum')}"
    return ShippedCodeSet(
        "gb2260_region", "中华人民共和国行政区划代码", "GB/T 2260", version,
        "现行有效的县级及以上行政区划代码,取自 python-stdnum 随附的 GB/T 2260 历史表,随其升级更新。", values)


def country_codeset() -> ShippedCodeSet:
    import pycountry

    zh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)
    values = [(c.alpha_3, _COUNTRY_NAMES.get(c.alpha_3) or zh.gettext(c.name), None)
              for c in sorted(pycountry.countries, key=lambda c: c.alpha_3)]
    return ShippedCodeSet(
        "gb2659_country", "世界各国和地区名称代码", "GB/T 2659-2000", f"pycountry {metadata.version('pycountry')}",
        "三字母代码,取自 pycountry 的 ISO 3166-1 表(GB/T 2659 等同采用 ISO 3166-1)及其简体中文名称;"
        "香港、澳门、台湾按 GB/T 2659 称中国香港、中国澳门、中国台湾。", values)


def catalog_codesets() -> list[ShippedCodeSet]:
    return [ShippedCodeSet(name, title, None, "1", "政务信息资源目录的枚举值,由 govdata.standards.enums 生成。",
                           [(key, label, None) for key, label in values.items()])
            for name, (title, values) in enums.CODESETS.items()]


STATIC_CODESETS = ("gb2261_1_sex.json", "gb2261_2_marital.json", "gb4761_family_relation.json",
                   "gb3304_ethnic.json", "gb4658_education.json")


@lru_cache
def codesets() -> tuple[ShippedCodeSet, ...]:
    return (region_codeset(), *(_from_json(f) for f in STATIC_CODESETS), country_codeset(), *catalog_codesets())


@lru_cache
def elements() -> tuple[dict[str, Any], ...]:
    return tuple(_data("elements.json"))
