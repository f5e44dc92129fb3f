"""Masking (脱敏) of gateway answers, driven by the ``masking_rules`` table.

Only items of sensitivity L3/L4 are masked, unless the grant lifts masking for the item. For each such item the
first enabled rule (by ``priority``, then ``name``) that matches it decides how: a rule matches an item whose data
element is one of ``match_elements``, whose key matches one of the ``match_keys`` patterns (fnmatch, e.g.
``*phone*``) or whose Chinese name contains one of ``match_names``. An L3/L4 item no rule matches is masked
completely. ``plan`` decides once per call which items are masked and how; ``apply`` masks the rows.

The enabled rules are cached per process for ``RULES_TTL`` seconds; a change made in this process takes effect
at once, one made in another process within the TTL.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.db import utcnow
from govdata.errors import NotFound, ValidationFailed
from govdata.exchange.models import RULE_KINDS, MaskingRule, default_rule_rows
from govdata.principal import Principal, require_role
from govdata.standards import service as standards

MASKED_LEVELS = frozenset({"L3", "L4"})
MASK_CHAR = "*"  # for items no rule matches
FULL_MASK_MIN = 4
RULES_TTL = 30.0
MAX_KEEP = 64
MAX_MATCHES = 50
# 复姓 (compound surnames): a ``name`` rule keeps them whole (欧阳娜娜 → 欧阳**).
_SURNAME_PAIRS = ("欧阳太史端木上官司马东方独孤南宫万俟闻人夏侯诸葛尉迟公羊赫连澹台皇甫宗政濮阳公冶"
                  "太叔申屠公孙慕容仲孙钟离长孙宇文司徒鲜于司空闾丘子车亓官司寇巫马公西颛孙壤驷公良"
                  "漆雕乐正宰父谷梁拓跋夹谷轩辕令狐段干百里呼延东郭南门羊舌微生梁丘左丘东门西门第五"
                  "南荣即墨达奚褚师")
COMPOUND_SURNAMES = frozenset(_SURNAME_PAIRS[i:i + 2] for i in range(0, len(_SURNAME_PAIRS), 2))


# ---- masking values ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Rule:
    """A masking rule as the gateway uses it: immutable, detached from any session, with compiled matchers."""

    name: str
    label: str
    kind: str = "keep"
    keep_start: int = 0
    keep_end: int = 0
    mask_char: str = "*"
    fixed_mask: bool = False
    mask_length: int = 4
    priority: int = 100
    match_keys: tuple[str, ...] = ()
    match_elements: frozenset[str] = frozenset()
    match_names: tuple[str, ...] = ()
    _keys: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        pattern = "|".join(f"(?:{fnmatch.translate(p.lower())})" for p in self.match_keys)
        object.__setattr__(self, "_keys", re.compile(pattern) if pattern else None)

    @classmethod
    def of(cls, row: MaskingRule) -> Rule:
        return cls(name=row.name, label=row.label, kind=row.kind, keep_start=row.keep_start,
                   keep_end=row.keep_end, mask_char=row.mask_char, fixed_mask=row.fixed_mask,
                   mask_length=row.mask_length, priority=row.priority, match_keys=tuple(row.match_keys or ()),
                   match_elements=frozenset(row.match_elements or ()), match_names=tuple(row.match_names or ()))

    def matches(self, item: Mapping[str, Any]) -> bool:
        if item.get("data_element") in self.match_elements:
            return True
        if self._keys is not None and self._keys.match(str(item.get("key", "")).lower()):
            return True
        name = item.get("name") or ""
        return any(part in name for part in self.match_names)

    def mask(self, value: str) -> str:
        if self.kind == "email":
            at = value.rfind("@")
            if at > 0:
                return self._hide(value[:at], self.keep_start, self.keep_end) + value[at:]
        elif self.kind == "name" and self.keep_start >= 1 and len(value) > 2 and value[:2] in COMPOUND_SURNAMES:
            return self._hide(value, max(self.keep_start, 2), self.keep_end)
        return self._hide(value, self.keep_start, self.keep_end)

    def _hide(self, value: str, start: int, end: int) -> str:
        n = len(value)
        if start + end >= n:  # shorter than the rule expects: reveal at most half of it
            budget = n // 2
            start = min(start, budget)
            end = min(end, budget - start)
        hidden = self.mask_length if self.fixed_mask else n - start - end
        return value[:start] + self.mask_char * hidden + (value[n - end:] if end else "")


def full_mask(value: str) -> str:
    """An L3/L4 value no rule matches: every character masked, at least ``FULL_MASK_MIN`` of them."""
    return MASK_CHAR * max(FULL_MASK_MIN, len(value))


def mask_value(value: Any, rule: Rule | None) -> str:
    """``value`` masked by ``rule`` (None: masked completely). Non-string values are masked as their text."""
    text = value if isinstance(value, str) else str(value)
    return rule.mask(text) if rule is not None else full_mask(text)


def plan(items: Iterable[Mapping[str, Any]], unmasked: set[str] | frozenset[str],
         rules: Iterable[Rule]) -> dict[str, Rule | None]:
    """Which items are masked and how: item key → the rule that applies, or None to mask it completely.

    Items missing from the result are returned as they are: L1/L2 items, and items in ``unmasked`` (the grant
    lifts masking for them). ``rules`` must be in order of precedence, as ``rules(db)`` returns them."""
    ordered = tuple(rules)
    masked = tuple((i["key"], i.get("name"), i.get("data_element")) for i in items
                   if i.get("sensitivity") in MASKED_LEVELS and i["key"] not in unmasked)
    cache_key = (ordered, masked)
    decided = _plans.get(cache_key)
    if decided is None:
        decided = {key: next((r for r in ordered if r.matches({"key": key, "name": name, "data_element": element})),
                             None) for key, name, element in masked}
        if len(_plans) >= 4096:
            _plans.clear()
        _plans[cache_key] = decided
    return dict(decided)


_plans: dict[tuple[Any, ...], dict[str, Rule | None]] = {}  # (rules, masked items) → plan; rules compare by id


def apply(records: list[dict[str, Any]], masking: Mapping[str, Rule | None]) -> list[dict[str, Any]]:
    """The records with the planned items masked (new dicts; the input is not changed). None and empty values
    stay as they are; other non-string values are masked as their text."""
    if not masking:
        return records
    maskers: list[tuple[str, Callable[[str], str]]] = [
        (key, rule.mask if rule is not None else full_mask) for key, rule in masking.items()]
    out = []
    for record in records:
        row = dict(record)
        for key, mask in maskers:
            value = row.get(key)
            if value is None or value == "":
                continue
            row[key] = mask(value if isinstance(value, str) else str(value))
        out.append(row)
    return out


# ---- the rules, cached ------------------------------------------------------------------------------------------

_cache: dict[str, tuple[float, tuple[Rule, ...]]] = {}
_cache_lock = threading.Lock()
_generation = 0


def rules(db: Session) -> tuple[Rule, ...]:
    """The enabled rules in order of precedence (cached per process and database for ``RULES_TTL`` seconds)."""
    key = str(db.get_bind().url)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < RULES_TTL:
        return hit[1]
    generation = _generation
    rows = db.scalars(select(MaskingRule).where(MaskingRule.enabled.is_(True))
                      .order_by(MaskingRule.priority, MaskingRule.name))
    loaded = tuple(Rule.of(row) for row in rows)
    with _cache_lock:
        if generation == _generation:  # not invalidated meanwhile
            _cache[key] = (now, loaded)
    return loaded


def invalidate() -> None:
    """Forget the cached rules (after a change; tests)."""
    global _generation
    with _cache_lock:
        _generation += 1
        _cache.clear()


# ---- editing the rules (the bureau) ------------------------------------------------------------------------------

class RuleIn(BaseModel):
    """A rule's fields as the bureau sends them. Fields left out keep their current value (or the default)."""

    model_config = ConfigDict(extra="forbid", strict=False)

    name: str | None = None
    label: str | None = None
    kind: str | None = None
    match_keys: list[str] | None = None
    match_elements: list[str] | None = None
    match_names: list[str] | None = None
    keep_start: int | None = None
    keep_end: int | None = None
    mask_char: str | None = None
    fixed_mask: bool | None = None
    mask_length: int | None = None
    priority: int | None = None
    enabled: bool | None = None


_DEFAULTS: dict[str, Any] = {"kind": "keep", "match_keys": [], "match_elements": [], "match_names": [],
                             "keep_start": 0, "keep_end": 0, "mask_char": "*", "fixed_mask": False,
                             "mask_length": 4, "priority": 100, "enabled": True}
FIELDS = ("name", "label", *_DEFAULTS)
RULE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
ELEMENT_CODE = re.compile(r"[A-Za-z0-9_.-]{1,16}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def rule_dict(rule: MaskingRule) -> dict[str, Any]:
    out = {f: getattr(rule, f) for f in FIELDS}
    out["match_keys"], out["match_elements"] = list(rule.match_keys or []), list(rule.match_elements or [])
    out["match_names"] = list(rule.match_names or [])
    out.update(kind_label=RULE_KINDS.get(rule.kind, rule.kind), updated_by=rule.updated_by,
               updated_at=rule.updated_at.isoformat() if rule.updated_at else None)
    return out


def list_rules(db: Session) -> list[MaskingRule]:
    """Every rule, enabled or not, in order of precedence."""
    return list(db.scalars(select(MaskingRule).order_by(MaskingRule.priority, MaskingRule.name)))


def find_rule(db: Session, name: str) -> MaskingRule | None:
    return db.scalar(select(MaskingRule).where(MaskingRule.name == name))


def get_rule(db: Session, name: str) -> MaskingRule:
    rule = find_rule(db, name)
    if rule is None:
        raise NotFound(f"脱敏规则不存在:{name}", code="masking_rule_not_found")
    return rule


def save_rule(db: Session, principal: Principal, data: RuleIn | Mapping[str, Any]) -> MaskingRule:
    """Create the rule ``data["name"]`` or update it (fields left out keep their value). Bureau admins only."""
    require_role(principal, "bureau_admin")
    given = _parse(data)
    name = given.get("name")
    if not isinstance(name, str) or not RULE_NAME.fullmatch(name):
        raise ValidationFailed("规则标识须为小写字母开头的 snake_case(最多 64 个字符),如 id_number",
                               code="invalid_rule_name")
    rule = find_rule(db, name)
    before = rule_dict(rule) if rule else None
    fields = {**_DEFAULTS, **({f: getattr(rule, f) for f in FIELDS} if rule else {}), **given}
    _check(db, fields)
    if rule is None:
        rule = MaskingRule(name=name)
        db.add(rule)
    for attr in FIELDS[1:]:
        setattr(rule, attr, fields[attr])
    rule.updated_by, rule.updated_at = principal.name, utcnow()
    db.flush()
    after = rule_dict(rule)
    actionlog.record(db, principal, "masking_rule.updated" if before else "masking_rule.created",
                     target_type="masking_rule", target_id=name,
                     summary=f"{'修改' if before else '新增'}脱敏规则 {rule.label}({name})",
                     before=before, after=after)
    db.commit()
    invalidate()
    return rule


def delete_rule(db: Session, principal: Principal, name: str) -> None:
    require_role(principal, "bureau_admin")
    rule = get_rule(db, name)
    before = rule_dict(rule)
    db.delete(rule)
    actionlog.record(db, principal, "masking_rule.deleted", target_type="masking_rule", target_id=name,
                     summary=f"删除脱敏规则 {before['label']}({name})", before=before)
    db.commit()
    invalidate()


def seed_defaults(db: Session) -> int:
    """Add the shipped rules that are missing (by name) and commit; existing rules are left as edited. Migration
    0007 seeds them too; this is for emptied databases (tests) and for restoring deleted defaults."""
    present = set(db.scalars(select(MaskingRule.name)))
    missing = [row for row in default_rule_rows() if row["name"] not in present]
    db.add_all(MaskingRule(**row) for row in missing)
    db.commit()
    invalidate()
    return len(missing)


def _parse(data: RuleIn | Mapping[str, Any]) -> dict[str, Any]:
    try:
        parsed = data if isinstance(data, RuleIn) else RuleIn.model_validate(dict(data))
    except ValidationError as exc:
        problems = ";".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValidationFailed(f"脱敏规则的字段有误:{problems}", code="invalid_masking_rule") from exc
    return parsed.model_dump(exclude_unset=True, exclude_none=True)


def _check(db: Session, f: dict[str, Any]) -> None:
    label = (f.get("label") or "").strip()
    if not label or len(label) > 100:
        raise ValidationFailed("请填写规则名称(最多 100 个字符)", code="invalid_rule_label")
    f["label"] = label
    if f["kind"] not in RULE_KINDS:
        raise ValidationFailed(f"未知的脱敏方式:{f['kind']}(可选:{'、'.join(RULE_KINDS)})", code="unknown_rule_kind")
    for attr, what in (("keep_start", "保留开头字符数"), ("keep_end", "保留末尾字符数")):
        if not 0 <= f[attr] <= MAX_KEEP:
            raise ValidationFailed(f"{what}应在 0 到 {MAX_KEEP} 之间", code="invalid_keep")
    if not 1 <= f["mask_length"] <= 32:
        raise ValidationFailed("固定掩码长度应在 1 到 32 之间", code="invalid_mask_length")
    if len(f["mask_char"]) != 1 or not f["mask_char"].isprintable() or f["mask_char"].isspace():
        raise ValidationFailed("掩码字符须为一个可见字符,如 *", code="invalid_mask_char")
    if not -10000 <= f["priority"] <= 10000:
        raise ValidationFailed("优先级应在 -10000 到 10000 之间", code="invalid_priority")
    f["match_keys"] = _patterns(f["match_keys"])
    f["match_names"] = _names(f["match_names"])
    f["match_elements"] = _elements(db, f["match_elements"])
    if not (f["match_keys"] or f["match_names"] or f["match_elements"]):
        raise ValidationFailed("规则至少要有一个匹配条件(信息项标识、数据元或信息项名称)", code="empty_match")


def _distinct(values: list[str], what: str) -> list[str]:
    cleaned = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(cleaned) > MAX_MATCHES:
        raise ValidationFailed(f"{what}最多 {MAX_MATCHES} 个", code="too_many_matches")
    return cleaned


def _patterns(values: list[str]) -> list[str]:
    patterns = _distinct([v.lower() for v in values], "信息项标识模式")
    for p in patterns:
        if len(p) > 64 or _CONTROL.search(p) or not re.fullmatch(r"[a-z0-9_*?\[\]!-]+", p):
            raise ValidationFailed(f"信息项标识模式无效:{p!r}(只能含小写字母、数字、下划线和通配符 * ? [])",
                                   code="invalid_pattern")
        try:
            re.compile(fnmatch.translate(p))
        except re.error as exc:
            raise ValidationFailed(f"信息项标识模式无效:{p!r}", code="invalid_pattern") from exc
    return patterns


def _names(values: list[str]) -> list[str]:
    names = _distinct(values, "信息项名称关键词")
    for n in names:
        if len(n) > 50 or _CONTROL.search(n):
            raise ValidationFailed(f"信息项名称关键词无效:{n!r}(最多 50 个字符)", code="invalid_name_match")
    return names


def _elements(db: Session, values: list[str]) -> list[str]:
    codes = _distinct(values, "数据元")
    bad = [c for c in codes if not ELEMENT_CODE.fullmatch(c)]
    unknown = sorted(set(codes) - set(standards.elements_by_code(db, set(codes)))) if codes and not bad else []
    if bad or unknown:
        raise ValidationFailed(f"数据元不存在:{'、'.join(bad or unknown)}", code="unknown_element")
    return codes
