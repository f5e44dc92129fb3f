"""One-thing service packages (一件事数据套餐) as data: the file format, parsed and checked on load.

A package file (YAML) declares the life event, the applicant type, the evidence fetched from departments'
resources through the exchange gateway, the matters (事项) it bundles — each with its department, its form and
which fields come from which evidence item — the eligibility rules, and the flow between matters: a BPMN
process (``flow: newborn.bpmn``, run by SpiffWorkflow, editable in any BPMN modeller) or, for a simple package,
``after:`` lists from which the BPMN process is generated. Expressions (queries, ``from``, ``when``,
``compute``) are Python-like expressions evaluated by simpleeval over the case (see ``rules``).

``parse`` checks everything that can be checked without a database and raises ``PackageInvalid`` listing every
problem with its place in the file; ``check_against_catalog`` (in ``service``) checks resources and items.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from govdata.errors import ValidationFailed
from govdata.onething import flow, rules

KEY = r"^[a-z][a-z0-9_]{1,39}$"
ORG = r"^\d{6}-[A-Z]{2,6}$"
FIELD_TYPES = ("text", "id_number", "credit_code", "phone", "date", "number", "choice")


class PackageInvalid(ValidationFailed):
    code = "package_invalid"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResourceRef(_Strict):
    provider: str = Field(pattern=ORG)  # 提供部门
    name: str = Field(min_length=1, max_length=200)  # 信息资源名称


class Evidence(_Strict):
    """A proof fetched from a department (电子证明): one gateway call, or skipped when ``when`` is false."""

    key: str = Field(pattern=KEY)
    label: str = Field(min_length=1, max_length=100)
    resource: ResourceRef
    query: dict[str, str] = Field(min_length=1)  # item → expression
    show: list[str] = Field(default_factory=list)  # items shown in the preview (default: every item answered)
    many: bool = False  # a list of records (e.g. vaccinations) rather than one
    when: str | None = None
    paper: str | None = Field(default=None, max_length=100)  # the paper material it replaces (免交材料)


class FormField(_Strict):
    key: str = Field(pattern=KEY)
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "id_number", "credit_code", "phone", "date", "number", "choice"] = "text"
    options: list[str] = Field(default_factory=list)
    source: str | None = Field(default=None, alias="from")  # expression: pre-filled from evidence/input/output
    required: bool = True


class Output(_Strict):
    """What the officer records when accepting a matter (e.g. the newborn's ID number), proposed by ``compute``."""

    key: str = Field(pattern=KEY)
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "id_number", "credit_code", "phone", "date", "number", "choice"] = "text"
    options: list[str] = Field(default_factory=list)
    compute: str | None = None
    required: bool = True


class Check(_Strict):
    when: str
    message: str = Field(min_length=1, max_length=300)


class Matter(_Strict):
    key: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=100)
    department: str = Field(pattern=ORG)  # 办理部门 (or the fallback of department_from)
    department_from: str | None = None  # expression giving an organisation code, e.g. the district's bureau
    deadline_days: int = Field(default=5, ge=0, le=365)  # 承诺办结时限(工作日)
    trips: int = Field(default=1, ge=0, le=10)  # 跑动次数 when applied for on its own
    after: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)  # evidence keys its officers see
    materials: list[str] = Field(default_factory=list)  # paper materials it needs that no evidence replaces
    form: list[FormField] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)  # shown to the officer (规则核验)
    outputs: list[Output] = Field(default_factory=list)


class Samples(_Strict):
    """Demo: where sample applicants come from (``govdata demo applicants``) when no finder is written for it."""

    resource: ResourceRef
    id_number: str
    name: str
    note: str | None = None
    inputs: dict[str, str] = Field(default_factory=dict)  # input key → item


class PackageSpec(_Strict):
    key: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=100)
    life_event: str = Field(min_length=1, max_length=50)  # 人生事件 / 企业事件
    applicant_type: Literal["person", "enterprise"] = "person"
    operator: str = Field(pattern=ORG)  # 牵头部门: runs the case, holds the grants evidence is fetched under
    description: str = ""
    deadline_days: int = Field(default=10, ge=1, le=365)
    inputs: list[FormField] = Field(default_factory=list)  # what the applicant types when starting
    evidence: list[Evidence] = Field(default_factory=list)
    eligibility: list[Check] = Field(default_factory=list)  # all must hold to submit
    matters: list[Matter] = Field(min_length=1)
    tables: dict[str, Any] = Field(default_factory=dict)  # lookup data for expressions (e.g. school districts)
    flow: str | None = None  # a BPMN file beside the package file
    samples: Samples | None = None

    @field_validator("matters")
    @classmethod
    def _unique_matters(cls, value: list[Matter]) -> list[Matter]:
        _unique([m.key for m in value], "matters")
        return value

    @field_validator("evidence")
    @classmethod
    def _unique_evidence(cls, value: list[Evidence]) -> list[Evidence]:
        _unique([e.key for e in value], "evidence")
        return value

    @model_validator(mode="after")
    def _references(self) -> PackageSpec:
        evidence = {e.key for e in self.evidence}
        matters = {m.key for m in self.matters}
        for m in self.matters:
            for ref in m.evidence:
                if ref not in evidence:
                    raise ValueError(f"事项 {m.key} 引用了未定义的证明 {ref}")
            for ref in m.after:
                if ref not in matters or ref == m.key:
                    raise ValueError(f"事项 {m.key} 的 after 引用了无效事项 {ref}")
        for i, e in enumerate(self.evidence):
            later = rules.evidence_refs([*e.query.values(), e.when or ""]) - {x.key for x in self.evidence[:i]}
            if later:
                raise ValueError(f"证明 {e.key} 只能引用在它之前声明的证明,不能引用 {'、'.join(sorted(later))}")
        if self.flow and any(m.after for m in self.matters):
            raise ValueError("已用 flow 指定 BPMN 流程时,事项不能再写 after(顺序以 BPMN 为准)")
        return self

    def expressions(self) -> list[str]:
        exprs = [x for e in self.evidence for x in (*e.query.values(), e.when) if x]
        exprs += [c.when for c in self.eligibility] + [f.source for f in self.inputs if f.source]
        for m in self.matters:
            exprs += [x for x in (m.department_from, *(f.source for f in m.form), *(o.compute for o in m.outputs),
                                  *(c.when for c in m.checks)) if x]
        return exprs

    def items_needed(self, evidence_key: str) -> list[str]:
        """The items a grant must cover for one proof: its query, what it shows, what expressions read."""
        e = self.evidence_of(evidence_key)
        used = rules.evidence_items(self.expressions()).get(evidence_key, set())
        return sorted(set(e.query) | set(e.show) | used)

    def matter(self, key: str) -> Matter:
        return next(m for m in self.matters if m.key == key)

    def evidence_of(self, key: str) -> Evidence:
        return next(e for e in self.evidence if e.key == key)


def _unique(keys: list[str], where: str) -> None:
    seen = {k for k in keys if keys.count(k) > 1}
    if seen:
        raise ValueError(f"{where} 中的 key 重复:{'、'.join(sorted(seen))}")


@dataclass(frozen=True)
class Package:
    """A checked package: its spec, its BPMN text, the matters each matter needs, and the content's digest."""

    spec: PackageSpec
    content: str
    bpmn: str
    needs: dict[str, list[str]]
    digest: str

    @property
    def key(self) -> str:
        return self.spec.key


def parse(content: str, bpmn: str | None = None) -> Package:
    """Parse and check a package file (and its BPMN text when it names one); every problem in one error."""
    try:
        raw = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise PackageInvalid(f"套餐文件不是有效的 YAML:{exc}", details={"problems": [str(exc)]}) from exc
    if not isinstance(raw, dict):
        raise PackageInvalid("套餐文件的顶层必须是键值映射", details={"problems": ["top level is not a mapping"]})
    try:
        spec = PackageSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(文件)'}: {e['msg']}" for e in exc.errors()]
        raise PackageInvalid("套餐文件有误:" + ";".join(problems), details={"problems": problems}) from exc
    problems = _expression_problems(spec)
    if spec.flow and bpmn is None:
        problems.append(f"flow: 找不到 BPMN 文件 {spec.flow}")
    if problems:
        raise PackageInvalid("套餐文件有误:" + ";".join(problems), details={"problems": problems})
    text = bpmn if spec.flow and bpmn is not None else flow.generate(spec.key, spec.name,
                                                                      [(m.key, m.name, m.after) for m in spec.matters])
    try:
        needs = flow.check(text, spec.key, [m.key for m in spec.matters])
    except flow.FlowInvalid as exc:
        raise PackageInvalid(f"套餐流程有误:{exc}", details={"problems": [str(exc)]}) from exc
    digest = hashlib.sha256(content.encode() + b"\0" + text.encode()).hexdigest()
    return Package(spec, content, text, needs, digest)


def read_file(path: Path) -> Package:
    """A package file and, when it names one, its BPMN file beside it."""
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PackageInvalid(f"套餐文件须为 UTF-8 编码:{path.name}", code="package_encoding") from exc
    except OSError as exc:
        raise PackageInvalid(f"无法读取套餐文件 {path}:{exc.strerror}", code="package_unreadable") from exc
    name = flow_name(content)
    bpmn = None
    if name:
        target = path.parent / name
        if target.is_file() and target.resolve().parent == path.parent.resolve():
            bpmn = target.read_text(encoding="utf-8")
    return parse(content, bpmn)


def flow_name(content: str) -> str | None:
    match = re.search(r"^flow:\s*['\"]?([\w.\-]+\.bpmn)", content, re.MULTILINE)
    return match.group(1) if match else None


def _expression_problems(spec: PackageSpec) -> list[str]:
    """Every expression in the file must parse and name only what a case has."""
    places: list[tuple[str, str | None]] = []
    for e in spec.evidence:
        places += [(f"evidence.{e.key}.query.{item}", expr) for item, expr in e.query.items()]
        places.append((f"evidence.{e.key}.when", e.when))
    places += [(f"eligibility[{i}]", c.when) for i, c in enumerate(spec.eligibility)]
    for m in spec.matters:
        places.append((f"matters.{m.key}.department_from", m.department_from))
        places += [(f"matters.{m.key}.form.{f.key}", f.source) for f in m.form]
        places += [(f"matters.{m.key}.outputs.{o.key}", o.compute) for o in m.outputs]
        places += [(f"matters.{m.key}.checks[{i}]", c.when) for i, c in enumerate(m.checks)]
    places += [(f"inputs.{f.key}", f.source) for f in spec.inputs]
    problems = []
    for where, expr in places:
        if expr is None:
            continue
        problem = rules.check(expr)
        if problem:
            problems.append(f"{where}: {problem}")
    return problems
