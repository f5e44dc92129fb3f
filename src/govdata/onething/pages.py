"""What the one-thing pages share: the label tables, dates and durations, what the proofs say with the catalog's item
names, a package's card, and a case's page content — the applicant's case page (``mobile``) and the window staff's
(``window``) show the same case with the same partial template, ``onething/_case_body.html``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from govdata import i18n
from govdata.catalog import projection
from govdata.config import local_tz
from govdata.db import utcnow
from govdata.errors import AppError
from govdata.i18n import N_
from govdata.onething import package as pkg
from govdata.onething import packages, service
from govdata.onething.models import Case
from govdata.orgs import service as orgs
from govdata.standards import service as standards

# Chinese labels, marked for extraction and translated in the templates with _().
CASE_STATUS = {"draft": N_("待授权"), "consented": N_("待提交"), "in_progress": N_("办理中"),
               "completed": N_("已办结"), "closed": N_("已办结(部分事项未通过)"), "withdrawn": N_("已撤回")}
TASK_STATUS = {"waiting": N_("待前置事项"), "open": N_("办理中"), "needs_info": N_("待补正"),
               "accepted": N_("已通过"), "rejected": N_("未通过"), "cancelled": N_("已取消")}
EVIDENCE_STATUS = {"fetched": N_("已调取"), "not_found": N_("未查到"), "no_grant": N_("未获授权"),
                   "unavailable": N_("暂不可用"), "skipped": N_("缺少查询条件"), "not_needed": N_("无需调取")}
PLAN_STATUS = {"will_fetch": N_("将调取"), "no_grant": N_("需提交纸质材料")}
SOURCE_LABELS = {"evidence": N_("来自证明"), "input": N_("申请人填写"), "filled": N_("申请人填写"),
                 "applicant": N_("申请人身份信息"), "output": N_("前序事项结果"), "rule": N_("规则计算")}
EVENT_LABELS = {
    "created": N_("发起申请"), "consent": N_("同意调取证明"), "consent_refused": N_("不同意调取证明,办件已撤回"),
    "evidence": N_("调取证明"), "submitted": N_("提交申请"), "task.request_info": N_("要求补正"),
    "task.accepted": N_("事项通过"), "task.rejected": N_("事项未通过"), "supplemented": N_("申请人补正"),
    "withdrawn": N_("撤回申请"), "completed": N_("全部事项办结"), "closed": N_("办件办结(部分事项未通过)"),
}
# after an action on a case (the applicant's or the window staff's)
CASE_NOTICES = {
    "withdrawn": N_("办件已撤回"), "refused": N_("您未同意调取证明,办件已撤回,未调取任何证明"),
    "consented": N_("已按清单调取证明,请核对后提交"), "submitted": N_("已提交,各事项已分送办理部门"),
    "supplemented": N_("补正内容已提交,事项已回到办理部门"),
}
INPUT_TYPES = {"phone": "tel", "date": "date", "number": "number"}


def labels() -> dict[str, Any]:
    return {"case_status": CASE_STATUS, "task_status": TASK_STATUS, "evidence_status": EVIDENCE_STATUS,
            "plan_status": PLAN_STATUS, "source_labels": SOURCE_LABELS, "event_labels": EVENT_LABELS,
            "input_types": INPUT_TYPES, "when": when, "duration": duration}


def when(value: datetime | None) -> str:
    return value.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M") if value else ""


def duration(hours: float | None) -> str:
    if hours is None:
        return "—"
    _ = i18n.gettext
    minutes = round(hours * 60)
    if minutes < 60:
        return _("%(n)s 分钟") % {"n": max(minutes, 1)}
    if hours < 48:
        return _("%(n)s 小时") % {"n": round(hours, 1)}
    return _("%(n)s 天") % {"n": round(hours / 24, 1)}


def form_status(exc: AppError) -> int:
    """A form shown again with its error: the error's status, but never a 5xx (a proxy may replace the page)."""
    return exc.status if exc.status < 500 else 422


def field_errors(exc: AppError | None) -> dict[str, str]:
    """Problems per field when the service names them (``details.fields`` as a mapping)."""
    fields = (exc.details or {}).get("fields") if exc is not None and isinstance(exc.details, dict) else None
    return {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {}


def card(db: Session, row: Any, package: pkg.Package, names: dict[str, str]) -> dict[str, Any]:
    """A package as the pages list it: its summary, the departments, what an applicant is spared."""
    info = packages.summary(db, row, package)
    paper_left = any(m.materials for m in package.spec.matters)
    departments = list(dict.fromkeys(names.get(m["department"], m["department"]) for m in info["matters"]))
    return {**info, "departments": departments, "paper_saved_count": len(info["paper_saved"]),
            "trips_saved": info["trips_without"] - (1 if paper_left else 0)}


# ---- what the proofs say, with the catalog's item names ------------------------------------------------------

def items_of(db: Session, resources: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(provider, resource name) → item key → {name, codes}: the published resources' items, codes decoded when
    the item's data element has a small code set (e.g. sex: 1 男, 2 女)."""
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for provider in sorted({p for p, _ in resources}):
        for entry in projection.published_entries(db, provider=provider):
            if (entry.provider, entry.name) in resources:
                found[(entry.provider, entry.name)] = {i["key"]: dict(i) for i in entry.document.get("items", [])}
    elements = standards.elements_by_code(db, {i["data_element"] for items in found.values() for i in items.values()
                                               if i.get("data_element")})
    codes: dict[str, dict[str, str]] = {}
    for name in sorted({e.codeset for e in elements.values() if e.codeset}):
        codeset = standards.find_codeset(db, name)
        if codeset is None:
            continue
        total, values = standards.codeset_values(db, codeset, page=1, page_size=200)
        if total <= 200:
            codes[name] = {v.code: v.label for v in values}
    for items in found.values():
        for item in items.values():
            element = elements.get(item.get("data_element") or "")
            item["codes"] = codes.get(element.codeset, {}) if element and element.codeset else {}
    return found


def shown(value: Any, item: dict[str, Any] | None) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    label = (item or {}).get("codes", {}).get(text)
    return f"{label}" if label else text


def proofs(db: Session, preview: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fetched proofs as rows of (item name, value) per record."""
    names = orgs.names_by_code(db) if preview else {}
    items = items_of(db, {(p["provider"], p["resource"]) for p in preview})
    out = []
    for p in preview:
        known = items.get((p["provider"], p["resource"]), {})
        records = [[((known.get(k) or {}).get("name", k), shown(v, known.get(k))) for k, v in rec.items()]
                   for rec in p["records"]]
        out.append({**p, "provider_name": names.get(p["provider"], p["provider"]), "rows": records})
    return out


def plan(db: Session, planned: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items = items_of(db, {(p["provider"], p["resource"]) for p in planned})
    return [{**p, "item_names": [(items.get((p["provider"], p["resource"]), {}).get(k) or {}).get("name", k)
                                 for k in p.get("items") or []]} for p in planned]


# ---- a case's page ------------------------------------------------------------------------------------------

def missing_groups(db: Session, case: Case, missing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the applicant still has to type, one input per value: fields of several matters that a package fills
    from the same expression (e.g. the newborn's name, when no birth certificate was fetched) are asked once."""
    spec = packages.version(db, case.package_key, case.package_version).spec
    groups: dict[str, dict[str, Any]] = {}
    for gap in missing:
        matter, key = gap["field"].split(".", 1)
        field = next(f for f in spec.matter(matter).form if f.key == key)
        group = groups.setdefault(f"from:{field.source}" if field.source else gap["field"], {
            "name": gap["field"], "label": gap["label"], "type": gap["type"], "options": gap["options"],
            "fields": [], "matters": []})
        group["fields"].append(gap["field"])
        group["matters"].append(spec.matter(matter).name)
    return list(groups.values())


def typed_fields(db: Session, case: Case, form: Any, values: dict[str, str]) -> dict[str, str]:
    """The submit form's answers as the matters' fields (a value typed once goes to every field of its group);
    what was typed is kept in ``values`` for showing the form again."""
    fields: dict[str, str] = {}
    if case.status == "consented":
        for group in missing_groups(db, case, service.case_dict(db, case)["missing"]):
            typed = str(form.get(group["name"]) or "").strip()
            values[group["name"]] = typed
            if typed:
                fields.update(dict.fromkeys(group["fields"], typed))
    return fields


def case_context(db: Session, case: Case, *, error: AppError | None = None, form: str | None = None,
                 values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything ``onething/_case_body.html`` shows of a case: the plan (draft), the proofs, paper still needed and
    what is missing (consented), each matter's progress, the metrics and the timeline; ``form`` names the form an
    error belongs to (``consent``, ``submit``, ``supplement-<task>``), else the error goes to the top."""
    data = service.case_dict(db, case)
    spec = packages.version(db, case.package_key, case.package_version).spec
    names = orgs.names_by_code(db)
    matters = {m.key: m for m in spec.matters}
    rows = []
    for t in data["matters"]:
        outputs = {o.key: o.label for o in matters[t["matter"]].outputs} if t["matter"] in matters else {}
        rows.append({**t, "department_name": names.get(t["department"], t["department"]),
                     "outputs_shown": [(outputs.get(k, k), v) for k, v in (t["outputs"] or {}).items()
                                       if v not in (None, "")]})
    events = []
    for e in data["events"]:
        matter = matters.get((e["detail"] or {}).get("matter", ""))
        events.append({**e, "matter_name": matter.name if matter else None})
    inputs = [(f.label, (data["inputs"] or {}).get(f.key)) for f in spec.inputs if (data["inputs"] or {}).get(f.key)]
    shown_forms = ({"consent"} if case.status == "draft" else {"submit"} if case.status == "consented" else set()) | {
        f"supplement-{t['id']}" for t in rows if t["status"] == "needs_info"}
    form = form if form in shown_forms else None  # an error of a form no longer offered goes to the top
    elapsed = None
    if case.submitted_at and case.status == "in_progress":
        elapsed = (utcnow() - case.submitted_at).total_seconds() / 3600
    return {
        "case": data, "plan": plan(db, data["plan"]) if case.status == "draft" else [],
        "proofs": proofs(db, data["evidence"]) if data["evidence"] else [],
        "groups": missing_groups(db, case, data["missing"]), "matters": rows, "events": events,
        "inputs": inputs, "elapsed": elapsed, "error": error, "form": form,
        "values": values or {}, "field_errors": field_errors(error),
        "reasons": (error.details or {}).get("reasons", []) if error is not None and isinstance(error.details, dict)
        else []}
