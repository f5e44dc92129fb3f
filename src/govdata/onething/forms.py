"""A case's data as the package describes it: the expression context, each matter's form (pre-filled from
evidence, inputs and earlier matters' outputs), what the applicant still has to fill, eligibility, and the
check of a typed value against its field type."""

from __future__ import annotations

from datetime import date
from typing import Any

from stdnum.cn import ric, uscc

from govdata.onething import evidence as ev
from govdata.onething import package as pkg
from govdata.onething import rules
from govdata.onething.models import Case

# ---- values typed by people --------------------------------------------------------------------------------

def check_value(field: pkg.FormField | pkg.Output, value: Any) -> str | None:
    """A problem with a value for a field of that type, or None."""
    text = "" if value is None else str(value).strip()
    if not text:
        return f"{field.label}不能为空" if field.required else None
    if len(text) > 500:
        return f"{field.label}不能超过 500 字"
    checks = {"id_number": lambda: ric.is_valid(text), "credit_code": lambda: uscc.is_valid(text),
              "phone": lambda: len(text) == 11 and text.isdigit() and text[0] == "1",
              "date": lambda: _is_date(text), "number": lambda: _is_number(text),
              "choice": lambda: not field.options or text in field.options}
    ok = checks.get(field.type, lambda: True)()
    return None if ok else f"{field.label}格式不正确:{text[:40]}"


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def context(case: Case, spec: pkg.PackageSpec, *, evidence: dict[str, Any] | None = None,
            outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    applicant = {"id_number": case.applicant_id_number, "name": case.applicant_name, "type": spec.applicant_type}
    inputs = {f.key: None for f in spec.inputs} | dict(case.inputs or {})
    return rules.context(applicant=applicant, inputs=inputs,
                         evidence=ev.names_from(case.evidence) if evidence is None else evidence,
                         outputs=outputs or {}, tables=spec.tables)


def forms(case: Case, spec: pkg.PackageSpec, outputs: dict[str, Any] | None = None, *,
          only: str | None = None) -> dict[str, dict[str, Any]]:
    """Every matter's form: field → {label, value, source (evidence/input/output/applicant/filled), later}.
    Without ``outputs`` (before any matter is done), fields from earlier matters' outputs are marked ``later``."""
    names = context(case, spec, outputs=outputs)
    out: dict[str, dict[str, Any]] = {}
    for m in spec.matters:
        if only is not None and m.key != only:
            continue
        fields = {}
        for f in m.form:
            later = bool(f.source and "output." in f.source and outputs is None)
            value = rules.evaluate(f.source, names) if f.source and not later else None
            source = rules.source_of(f.source) if f.source and value not in (None, "") else None
            filled = (case.fields or {}).get(f"{m.key}.{f.key}")
            if value in (None, "") and filled not in (None, ""):
                value, source = filled, "filled"
            fields[f.key] = {"label": f.label, "type": f.type, "options": f.options, "required": f.required,
                             "value": value, "source": source, "later": later}
        out[m.key] = fields
    return out


def missing(case: Case, spec: pkg.PackageSpec) -> list[dict[str, Any]]:
    """Required fields no proof, input or later output fills: what the applicant must type."""
    gaps = []
    for matter, fields in forms(case, spec).items():
        for key, f in fields.items():
            if f["required"] and not f["later"] and f["value"] in (None, ""):
                gaps.append({"field": f"{matter}.{key}", "matter": matter, "label": f["label"], "type": f["type"],
                             "options": f["options"]})
    return gaps


UNKNOWN = ("no_grant", "unavailable", "skipped")  # a proof that could not be fetched: its facts are unknown


def judge(check: pkg.Check, names: dict[str, Any], evidence: dict[str, Any]) -> bool | None:
    """True or False, or None when the rule reads a proof that could not be fetched: then the officer judges it
    from the paper material (a missing grant must not turn into a refusal for the applicant)."""
    unknown = {k for k, r in evidence.items() if r.get("status") in UNKNOWN}
    if rules.evidence_refs([check.when]) & unknown:
        return None
    return rules.holds(check.when, names)


def eligibility(case: Case, spec: pkg.PackageSpec) -> list[str]:
    names = context(case, spec)
    return [c.message for c in spec.eligibility if judge(c, names, case.evidence or {}) is False]


