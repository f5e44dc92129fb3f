"""GB/T 2260 administrative division codes (行政区划代码).

The table is read from the division history python-stdnum ships for ID-number checks
(``stdnum/cn/loc.dat``), so there is one maintained source instead of a copy of our own.
A code is *current* when its last named period is open-ended (``[2016-]柳江区``) or undated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_PERIOD = re.compile(r"^\[(\d{4})-(\d{4})?\](.*)$")


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    province: str
    current: bool

    @property
    def level(self) -> str:
        if self.code.endswith("0000"):
            return "province"
        if self.code.endswith("00"):
            return "prefecture"
        return "county"


def _parse_name(raw: str) -> tuple[str, bool]:
    last = raw.split(",")[-1].strip()
    m = _PERIOD.match(last)
    if not m:
        return last, True
    return m.group(3), m.group(2) is None


@lru_cache
def divisions() -> dict[str, Division]:
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    table: dict[str, Division] = {}
    province_code, province = "", ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, attr = line.strip().partition(" ")
        value = attr.split("=", 1)[1].strip('"') if "=" in attr else ""
        if not line.startswith(" "):
            province_code, province = key, value
            continue
        code = province_code + key
        name, current = _parse_name(value)
        table[code] = Division(code, name, province, current)
    return table


def lookup(code: str) -> Division | None:
    return divisions().get(code)


def is_current(code: str) -> bool:
    division = lookup(code)
    return bool(division and division.current)


def children(code: str) -> list[Division]:
    """The current county-level divisions under a prefecture (e.g. 450200 → 城中区 … 三江侗族自治县)."""
    prefix = code[:4]
    return sorted(
        (d for d in divisions().values()
         if d.code.startswith(prefix) and d.code != code and d.current and d.name != "市辖区"),
        key=lambda d: d.code,
    )
