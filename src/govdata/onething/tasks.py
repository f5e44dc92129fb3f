"""Departments' work queues (部门待办): each matter of a submitted case is a task of its department.

A task opens when the BPMN process makes its matter ready (the matters it needs are done), pre-filled from the
evidence, the applicant's inputs and the earlier matters' outputs, with a deadline in working days. An officer
of that department accepts (recording the matter's outputs, e.g. the newborn's ID number), rejects with reasons,
or asks the applicant for more (the clock of waiting for the applicant is kept apart). A matter whose needed
matter was rejected is cancelled. The case closes when no matter is left: completed when all were accepted.
Advancing a case costs one (de)serialisation of its workflow state, O(matters).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.db import utcnow
from govdata.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govdata.onething import evidence as ev
from govdata.onething import flow, metrics, packages, rules
from govdata.onething import package as pkg
from govdata.onething.forms import check_value, context, forms, judge
from govdata.onething.locks import lock_case
from govdata.onething.models import OPEN_TASK_STATUSES, Case, CaseEvent, CaseTask
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.sharing import workdays

OFFICER_ROLES = ("dept_staff", "dept_admin")
DECISIONS = ("accept", "reject", "request_info")


def _department(db: Session, case: Case, spec: pkg.PackageSpec, matter: pkg.Matter) -> str:
    if matter.department_from:
        code = rules.evaluate(matter.department_from, context(case, spec))
        if isinstance(code, str) and orgs.find_by_code(db, code) is not None:
            return code
    return matter.department


def create_all(db: Session, case: Case, spec: pkg.PackageSpec, ready: list[str]) -> None:
    """A task per matter at submission: the ready ones open, the others wait for the matters they need."""
    for m in spec.matters:
        task = CaseTask(case_id=case.id, matter=m.key, name=m.name, org_code=_department(db, case, spec, m),
                        status="waiting", form={}, outputs={}, proposals={}, checks=[], paper=[])
        db.add(task)
        if m.key in ready:
            _open(case, spec, task, {})
    db.flush()


def _outputs(db: Session, case: Case) -> dict[str, dict[str, Any]]:
    rows = db.scalars(select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.status == "accepted"))
    return {t.matter: dict(t.outputs or {}) for t in rows}


def _open(case: Case, spec: pkg.PackageSpec, task: CaseTask, outputs: dict[str, dict[str, Any]]) -> None:
    matter = spec.matter(task.matter)
    names = context(case, spec, outputs=outputs)
    task.form = forms(case, spec, outputs=outputs, only=matter.key)[matter.key]
    task.proposals = {o.key: rules.evaluate(o.compute, names) for o in matter.outputs if o.compute}
    task.checks = [{"message": c.message, "ok": judge(c, names, case.evidence or {})} for c in matter.checks]
    task.paper = ev.paper_needed(case.evidence or {}, matter.evidence) + [
        {"evidence": None, "paper": name, "reason": "该事项须提交的材料"} for name in matter.materials]
    now = utcnow()
    task.status, task.started_at = "open", now
    task.due_at = workdays.add_working_days(now, matter.deadline_days)


# ---- the queue ---------------------------------------------------------------------------------------------

def _officer(principal: Principal) -> None:
    if principal.kind != "user" or principal.role not in OFFICER_ROLES or not principal.org_code:
        raise Forbidden("只有部门工作人员可以办理部门待办", code="officer_required")


def queue(db: Session, principal: Principal, *, status: str | None = None, limit: int = 200) -> list[CaseTask]:
    """The officer's department's tasks: open and waiting-for-applicant ones first by deadline (or one status)."""
    _officer(principal)
    stmt = select(CaseTask).where(CaseTask.org_code == principal.org_code)
    stmt = stmt.where(CaseTask.status == status) if status else stmt.where(CaseTask.status.in_(OPEN_TASK_STATUSES))
    return list(db.scalars(stmt.order_by(CaseTask.due_at, CaseTask.id).limit(limit)))


def get(db: Session, principal: Principal, task_id: int, *, lock: bool = False) -> CaseTask:
    stmt = select(CaseTask).where(CaseTask.id == task_id)
    task = db.scalar(stmt.with_for_update() if lock else stmt)
    if task is None or principal.kind != "user" or (task.org_code != principal.org_code
                                                    and not principal.is_platform_admin):
        raise NotFound(f"待办 {task_id} 不存在", code="task_not_found")
    return task


def task_detail(db: Session, principal: Principal, task_id: int) -> dict[str, Any]:
    """What the officer works from: the case, the pre-filled form, the proofs this matter uses, paper, checks."""
    task = get(db, principal, task_id)
    case = db.get(Case, task.case_id)
    spec = packages.version(db, case.package_key, case.package_version).spec
    matter = spec.matter(task.matter)
    used = {k: v for k, v in (case.evidence or {}).items() if k in matter.evidence}
    actionlog.record_alone(db, principal, "onething.task.view", target_type="onething_task", target_id=str(task.id),
                           summary=f"查看办件 {case.number} 的{task.name}")
    out = task_dict(task)
    out.update({"case": {"id": case.id, "number": case.number, "package": spec.name, "status": case.status,
                         "applicant": {"id_number": case.applicant_id_number, "name": case.applicant_name},
                         "submitted_at": case.submitted_at, "due_at": case.due_at},
                "evidence": ev.preview(used),
                "outputs_spec": [o.model_dump() for o in matter.outputs],
                "needs": packages.version(db, case.package_key, case.package_version).needs[task.matter]})
    return out


def task_dict(task: CaseTask, *, brief: bool = False) -> dict[str, Any]:
    now = utcnow()
    out: dict[str, Any] = {
        "id": task.id, "case_id": task.case_id, "matter": task.matter, "name": task.name,
        "department": task.org_code, "status": task.status, "started_at": task.started_at, "due_at": task.due_at,
        "decided_at": task.decided_at, "comment": task.comment, "info_request": task.info_request,
        "overdue": bool(task.status in OPEN_TASK_STATUSES and task.due_at and task.due_at < now),
        "outputs": task.outputs or {},
    }
    if not brief:
        out.update({"form": task.form, "proposals": task.proposals, "checks": task.checks, "paper": task.paper,
                    "decided_by": task.decided_by})
    return out


# ---- deciding ----------------------------------------------------------------------------------------------

def decide(db: Session, principal: Principal, task_id: int, decision: str, comment: str | None = None,
           outputs: dict[str, Any] | None = None) -> CaseTask:
    _officer(principal)
    lock_case(db, select(CaseTask.case_id).where(CaseTask.id == task_id).scalar_subquery())
    task = get(db, principal, task_id)
    case = db.scalar(select(Case).where(Case.id == task.case_id).with_for_update())
    if decision not in DECISIONS:
        raise ValidationFailed("decision 须为 accept、reject 或 request_info", code="invalid_decision")
    if task.status != "open":
        raise Conflict(f"该事项当前状态为 {task.status},不能办理", code="task_not_open")
    comment = (comment or "").strip() or None
    if decision in ("reject", "request_info") and not comment:
        raise ValidationFailed("请说明理由或需要补充的内容", code="reason_required")
    package = packages.version(db, case.package_key, case.package_version)
    now = utcnow()
    if decision == "request_info":
        task.status, task.info_request, task.comment = "needs_info", comment, comment
        _event(db, case, principal, "task.request_info", task=task.id, matter=task.matter, message=comment)
    else:
        if decision == "accept":
            task.outputs = _check_outputs(package.spec.matter(task.matter), task, outputs or {})
        task.status, task.comment, task.decided_at, task.decided_by = (
            "accepted" if decision == "accept" else "rejected", comment, now, principal.name)
        _event(db, case, principal, f"task.{task.status}", task=task.id, matter=task.matter, comment=comment)
        _advance(db, case, package, task)
    label = {"accept": "通过", "reject": "不予办理"}.get(decision, "要求补正")
    actionlog.record(db, principal, f"onething.task.{decision}", target_type="onething_task", target_id=str(task.id),
                     summary=f"办件 {case.number} {task.name}:{label}")
    db.commit()
    return task


def _check_outputs(matter: pkg.Matter, task: CaseTask, given: dict[str, Any]) -> dict[str, Any]:
    known = {o.key: o for o in matter.outputs}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValidationFailed(f"该事项没有这些办理结果项:{'、'.join(unknown)}", code="unknown_output",
                               details={"fields": unknown})
    values = {k: given.get(k, (task.proposals or {}).get(k)) for k in known}
    problems = {k: p for k, o in known.items() if (p := check_value(o, values[k]))}
    if problems:
        raise ValidationFailed(";".join(problems.values()), code="invalid_output", details={"fields": problems})
    return {k: (str(v).strip() if v is not None else None) for k, v in values.items()}


def _advance(db: Session, case: Case, package: pkg.Package, task: CaseTask) -> None:
    """Close the matter in the workflow; open (or cancel, when a needed matter failed) what became ready."""
    workflow = flow.loads(case.workflow)
    by_matter = {t.matter: t for t in db.scalars(select(CaseTask).where(CaseTask.case_id == case.id))}
    ready = flow.complete(workflow, task.matter, {"outcome": task.status})
    outputs = {m: dict(t.outputs or {}) for m, t in by_matter.items() if t.status == "accepted"}
    while ready:
        key = ready.pop(0)
        nxt = by_matter[key]
        failed = [n for n in package.needs[key] if by_matter[n].status in ("rejected", "cancelled")]
        if failed:
            nxt.status, nxt.decided_at = "cancelled", utcnow()
            nxt.comment = "前置事项未通过:" + "、".join(by_matter[n].name for n in failed)
            ready += flow.complete(workflow, key, {"outcome": "cancelled"})
        else:
            _open(case, package.spec, nxt, outputs)
    case.workflow = flow.dumps(workflow)
    if workflow.is_completed():
        statuses = {t.status for t in by_matter.values()}
        case.status = "completed" if statuses == {"accepted"} else "closed"
        case.closed_at = utcnow()
        _event(db, case, None, "completed" if case.status == "completed" else "closed")
    case.metrics = metrics.for_case(case, package.spec, list(by_matter.values()))


def resume(db: Session, case: Case, task_id: int, note: str, actor: str) -> None:
    task = db.scalar(select(CaseTask).where(CaseTask.id == task_id, CaseTask.case_id == case.id).with_for_update())
    if task is None:
        raise NotFound(f"待办 {task_id} 不存在", code="task_not_found")
    if task.status != "needs_info":
        raise Conflict("该事项没有要求补充材料", code="no_info_requested")
    asked = _last_request(db, case.id, task.id) or task.started_at or utcnow()
    waited = utcnow() - asked
    task.waiting_seconds = (task.waiting_seconds or 0) + int(waited.total_seconds())
    if task.due_at is not None:
        task.due_at += waited  # 补正期间不计入办理时限
    task.status = "open"
    task.comment = f"申请人补充:{note}"


def _last_request(db: Session, case_id: int, task_id: int) -> datetime | None:
    rows = db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "task.request_info")
                      .order_by(CaseEvent.id.desc()))
    return next((e.at for e in rows if (e.detail or {}).get("task") == task_id), None)


def _event(db: Session, case: Case, principal: Principal | None, kind: str, **detail: Any) -> None:
    actor = f"{principal.name}({principal.org_code})" if principal else "系统"
    db.add(CaseEvent(case_id=case.id, actor=actor, kind=kind, detail=detail, at=utcnow()))


def of_case(db: Session, case_id: int) -> list[CaseTask]:
    return list(db.scalars(select(CaseTask).where(CaseTask.case_id == case_id).order_by(CaseTask.id)))
