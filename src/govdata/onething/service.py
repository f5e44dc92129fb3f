"""One-thing cases (一件事办件): start → evidence plan → explicit consent → fetched evidence (preview) → fill what
is missing → submit once → each matter in its department's queue → track to the end.

Who may act on a case: the applicant (a citizen signed in through identity verification), or window staff of the
package's operator department acting for the applicant (窗口代办, recorded on the case), or a bureau admin.
Departments see a case through their own tasks only (``tasks``). Without consent nothing is fetched.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric

from govdata.actionlog import service as actionlog
from govdata.db import utcnow
from govdata.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govdata.onething import evidence as ev
from govdata.onething import flow, metrics, packages, tasks
from govdata.onething import package as pkg
from govdata.onething.forms import check_value, context, eligibility, forms, missing
from govdata.onething.locks import lock_case
from govdata.onething.models import Case, CaseEvent, CaseTask
from govdata.principal import Principal
from govdata.sharing import workdays

CONSENT_TEXT = ("本人同意平台为办理本件事项,按上列清单向有关部门调取本人(及家庭成员、拟设企业)的证明信息,"
                "仅用于本件事项的办理,调取记录可在办件详情和审计记录中查询。")
WINDOW_ROLES = ("dept_staff", "dept_admin")


# ---- who may act -------------------------------------------------------------------------------------------

def acts_for(principal: Principal, spec: pkg.PackageSpec) -> bool:
    """Window staff of the operator department (or a bureau admin) acting for an applicant."""
    return principal.kind == "user" and (principal.is_platform_admin or (
        principal.org_code == spec.operator and principal.role in WINDOW_ROLES))


def _check_actor(principal: Principal, spec: pkg.PackageSpec, id_number: str) -> None:
    if principal.kind == "citizen":
        if principal.subject != id_number:
            raise Forbidden("只能以本人身份申请或查看本人的办件", code="not_own_case")
        return
    if not acts_for(principal, spec):
        raise Forbidden("只有申请人本人或牵头部门的窗口工作人员可以办理", code="forbidden")


def _case_for_applicant(db: Session, principal: Principal, case_id: int, *, lock: bool = False) -> Case:
    case = _get(db, case_id, lock=lock)
    spec = packages.version(db, case.package_key, case.package_version).spec
    if principal.kind == "citizen" and principal.subject == case.applicant_id_number:
        return case
    if principal.kind != "citizen" and acts_for(principal, spec):
        return case
    raise NotFound(f"办件 {case_id} 不存在", code="case_not_found")  # others must not learn it exists


def _get(db: Session, case_id: int, *, lock: bool = False) -> Case:
    if lock:
        lock_case(db, case_id)
    stmt = select(Case).where(Case.id == case_id)
    case = db.scalar(stmt.with_for_update() if lock else stmt)
    if case is None:
        raise NotFound(f"办件 {case_id} 不存在", code="case_not_found")
    return case


def event(db: Session, case: Case, principal: Principal, kind: str, **detail: Any) -> None:
    db.add(CaseEvent(case_id=case.id, actor=_actor(principal), kind=kind, detail=detail, at=utcnow()))


def _actor(principal: Principal) -> str:
    return f"申请人 {principal.name}" if principal.kind == "citizen" else principal.name


def _clean_inputs(spec: pkg.PackageSpec, given: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    known = {f.key: f for f in spec.inputs}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValidationFailed(f"套餐没有这些填报项:{'、'.join(unknown)}", code="unknown_input",
                               details={"fields": unknown})
    problems = {}
    for key, f in known.items():
        if key in given or complete:
            problem = check_value(f, given.get(key))
            if problem:
                problems[key] = problem
    if problems:
        raise ValidationFailed(";".join(problems.values()), code="invalid_input", details={"fields": problems})
    return {k: (str(v).strip() if v is not None else None) for k, v in given.items()}


# ---- the applicant's way -----------------------------------------------------------------------------------

def start(db: Session, principal: Principal, package_key: str, applicant: dict[str, Any]) -> Case:
    """A new case with its evidence plan; nothing is fetched yet."""
    row, package = packages.current(db, package_key)
    spec = package.spec
    id_number = str(applicant.get("id_number") or "").strip().upper()
    name = str(applicant.get("name") or "").strip()
    if not ric.is_valid(id_number):
        raise ValidationFailed("公民身份号码不正确", code="invalid_id_number", details={"field": "id_number"})
    if not 1 <= len(name) <= 50:
        raise ValidationFailed("请填写申请人姓名(不超过 50 字)", code="invalid_name", details={"field": "name"})
    _check_actor(principal, spec, id_number)
    given = dict(applicant.get("inputs") or {})
    given.update({k: v for k, v in applicant.items() if k not in ("id_number", "name", "inputs")})
    given = {k: v for k, v in given.items() if v not in (None, "")}  # not filled yet: asked again at submit
    inputs = _clean_inputs(spec, given, complete=False)
    now = utcnow()
    case = Case(number="pending", package_key=spec.key, package_version=row.version, applicant_id_number=id_number,
                applicant_name=name, inputs=inputs, status="draft", plan=ev.plan(db, spec), evidence={}, fields={},
                created_at=now, acting_for=principal.name if principal.kind == "user" else None, metrics={})
    db.add(case)
    db.flush()
    case.number = f"YJS{now:%Y%m%d}{case.id:07d}"
    event(db, case, principal, "created", package=spec.key, version=row.version)
    actionlog.record(db, principal, "onething.case.create", target_type="onething_case", target_id=case.number,
                     summary=f"发起{spec.name}")
    db.commit()
    return case


def consent(db: Session, principal: Principal, case_id: int, *, agree: bool) -> Case:
    """Record the applicant's explicit answer; with consent, fetch every proof in the plan through the gateway."""
    case = _case_for_applicant(db, principal, case_id, lock=True)
    if case.status != "draft":
        raise Conflict("该办件已确认过授权", code="already_consented")
    spec = packages.version(db, case.package_key, case.package_version).spec
    digest = hashlib.sha256(json.dumps(case.plan, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    event(db, case, principal, "consent" if agree else "consent_refused", agree=agree, plan_sha256=digest,
          text=CONSENT_TEXT, ip=principal.ip, by=principal.name, acting=principal.kind == "user")
    if not agree:
        case.status, case.closed_at = "withdrawn", utcnow()
        db.commit()
        return case
    case.consented_at = utcnow()
    db.commit()  # the consent is durable before anything is fetched
    names = context(case, spec, evidence={})
    found = ev.fetch(db, spec, case.number, names)
    case = _get(db, case_id, lock=True)
    case.evidence = found
    case.status = "consented"
    fetched = sum(r["status"] == "fetched" for r in found.values())
    event(db, case, principal, "evidence", fetched=fetched, total=len(found),
          statuses={k: r["status"] for k, r in found.items()})
    db.commit()
    return case


def submit(db: Session, principal: Principal, case_id: int, *, fields: dict[str, Any] | None = None,
           inputs: dict[str, Any] | None = None) -> Case:
    """Submit once: inputs and the missing fields completed, eligibility holds → the matters go to departments."""
    case = _case_for_applicant(db, principal, case_id, lock=True)
    if case.status == "draft":
        raise Conflict("请先确认授权调取证明", code="consent_required")
    if case.status != "consented":
        raise Conflict("该办件已提交", code="already_submitted")
    package = packages.version(db, case.package_key, case.package_version)
    spec = package.spec
    case.inputs = {**(case.inputs or {}), **_clean_inputs(spec, inputs or {}, complete=False)}
    _clean_inputs(spec, case.inputs, complete=True)
    case.fields = {**(case.fields or {}), **_clean_fields(case, spec, fields or {})}
    gaps = missing(case, spec)
    if gaps:
        raise ValidationFailed("还有未填写的内容:" + "、".join(g["label"] for g in gaps), code="missing_fields",
                               details={"fields": gaps})
    failed = eligibility(case, spec)
    if failed:
        raise ValidationFailed(";".join(failed), code="not_eligible", details={"reasons": failed})
    now = utcnow()
    case.submitted_at = now
    case.due_at = workdays.add_working_days(now, spec.deadline_days)
    case.status = "in_progress"
    workflow, ready = flow.start(package.bpmn, spec.key)
    tasks.create_all(db, case, spec, ready)
    case.workflow = flow.dumps(workflow)
    case.metrics = metrics.for_case(case, spec, [])
    event(db, case, principal, "submitted", ready=ready)
    actionlog.record(db, principal, "onething.case.submit", target_type="onething_case", target_id=case.number,
                     summary=f"提交{spec.name}")
    db.commit()
    return case


def _clean_fields(case: Case, spec: pkg.PackageSpec, given: dict[str, Any]) -> dict[str, Any]:
    allowed = {f"{m.key}.{f.key}": f for m in spec.matters for f in m.form}
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValidationFailed(f"没有这些表单项:{'、'.join(unknown)}", code="unknown_field",
                               details={"fields": unknown})
    problems = {k: p for k, v in given.items() if (p := check_value(allowed[k], v))}
    if problems:
        raise ValidationFailed(";".join(problems.values()), code="invalid_field", details={"fields": problems})
    return {k: str(v).strip() for k, v in given.items()}


def supplement(db: Session, principal: Principal, case_id: int, task_id: int, note: str) -> Case:
    """The applicant answers a department's request for more information; the matter is back in its queue."""
    case = _case_for_applicant(db, principal, case_id, lock=True)
    note = (note or "").strip()
    if not 1 <= len(note) <= 2000:
        raise ValidationFailed("请填写补充说明(不超过 2000 字)", code="note_required")
    tasks.resume(db, case, task_id, note, _actor(principal))
    event(db, case, principal, "supplemented", task=task_id, note=note)
    db.commit()
    return case


def withdraw(db: Session, principal: Principal, case_id: int) -> Case:
    case = _case_for_applicant(db, principal, case_id, lock=True)
    if case.status not in ("draft", "consented"):
        raise Conflict("已提交的办件不能撤回,请联系办理部门", code="cannot_withdraw")
    case.status, case.closed_at = "withdrawn", utcnow()
    event(db, case, principal, "withdrawn")
    db.commit()
    return case


# ---- reading ------------------------------------------------------------------------------------------------

def get(db: Session, principal: Principal, case_id: int) -> Case:
    return _case_for_applicant(db, principal, case_id)


def list_mine(db: Session, principal: Principal, *, limit: int = 50) -> list[Case]:
    """A citizen's own cases; the cases a person started for applicants (a bureau admin's too)."""
    stmt = select(Case).order_by(Case.id.desc()).limit(limit)
    if principal.kind == "citizen":
        stmt = stmt.where(Case.applicant_id_number == principal.subject)
    elif principal.kind == "user":
        stmt = stmt.where(Case.acting_for == principal.name)
    else:
        raise Forbidden("系统凭证不能查看办件", code="person_required")
    return list(db.scalars(stmt))


def case_dict(db: Session, case: Case, *, detail: bool = True) -> dict[str, Any]:
    spec = packages.version(db, case.package_key, case.package_version).spec
    out: dict[str, Any] = {
        "id": case.id, "number": case.number, "package": case.package_key, "package_name": spec.name,
        "package_version": case.package_version, "status": case.status,
        "applicant": {"id_number": case.applicant_id_number, "name": case.applicant_name},
        "acting_for": case.acting_for, "created_at": case.created_at, "consented_at": case.consented_at,
        "submitted_at": case.submitted_at, "due_at": case.due_at, "closed_at": case.closed_at,
        "metrics": case.metrics or {},
    }
    if not detail:
        return out
    rows = list(db.scalars(select(CaseTask).where(CaseTask.case_id == case.id).order_by(CaseTask.id)))
    out.update({
        "inputs": case.inputs, "plan": case.plan, "consent_text": CONSENT_TEXT,
        "evidence": ev.preview(case.evidence or {}),
        "paper": ev.paper_needed(case.evidence or {}),
        "missing": missing(case, spec) if case.status == "consented" else [],
        "eligibility": eligibility(case, spec) if case.status == "consented" else [],
        "forms": forms(case, spec) if case.status == "consented" else {},
        "matters": [tasks.task_dict(t, brief=True) for t in rows],
        "events": [{"at": e.at, "actor": e.actor, "kind": e.kind, "detail": _public(e.detail)}
                   for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))],
    })
    return out


def _public(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (detail or {}).items() if k not in ("ip",)}


def any_case(db: Session) -> bool:
    return db.scalar(select(Case.id).limit(1)) is not None


def get_case_row(db: Session, case_id: int) -> Case:
    """The case as stored, for other services of this domain and the demo (no access check)."""
    return _get(db, case_id)


def replay_times(db: Session, case_id: int, start: datetime, step: Callable[[], timedelta]) -> None:
    """Re-time a case as if submitted at ``start`` with each decision ``step()`` after its matter opened (the
    demo's history). Matters open when the ones they need are decided; events follow their subjects."""
    case = _get(db, case_id)
    package = packages.version(db, case.package_key, case.package_version)
    spec = package.spec
    case.created_at, case.consented_at = start - timedelta(minutes=12), start - timedelta(minutes=9)
    case.submitted_at = start if case.submitted_at else None
    case.due_at = workdays.add_working_days(start, spec.deadline_days) if case.submitted_at else None
    rows = {t.matter: t for t in tasks.of_case(db, case.id)}
    for m in spec.matters:  # a matter's needs come before it in a package's order or its BPMN's
        task = rows.get(m.key)
        if task is None or task.started_at is None:
            continue
        needs = [rows[n].decided_at for n in package.needs[m.key] if rows[n].decided_at]
        task.started_at = max(needs, default=start)
        task.due_at = workdays.add_working_days(task.started_at, m.deadline_days)
        if task.decided_at is not None:
            task.decided_at = task.started_at + step()
    decided = [t.decided_at for t in rows.values() if t.decided_at]
    if case.closed_at is not None and decided:
        case.closed_at = max(decided)
    by_task = {t.id: t for t in rows.values()}
    for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)):
        e.at = _event_time(e, case, by_task) or e.at
    case.metrics = metrics.for_case(case, spec, list(rows.values()))
    db.commit()


def _event_time(e: CaseEvent, case: Case, by_task: dict[int, CaseTask]) -> datetime | None:
    task = by_task.get((e.detail or {}).get("task"))
    if task is not None:
        return task.decided_at or task.started_at
    return {"created": case.created_at, "consent": case.consented_at, "evidence": case.consented_at,
            "submitted": case.submitted_at, "completed": case.closed_at, "closed": case.closed_at}.get(e.kind)
