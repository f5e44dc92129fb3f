"""REST API of one-thing services: citizens' sign-in (demo), packages, cases, departments' queues, metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from govdata import security
from govdata.db import get_db
from govdata.errors import Unauthenticated
from govdata.onething import citizens, metrics, packages, service, tasks
from govdata.onething import package as pkg
from govdata.onething.schemas import CaseCreate, CitizenSignIn, Consent, PackageUpload, Submit, Supplement, TaskDecision
from govdata.principal import Principal
from govdata.web.deps import api_principal, attempt_principal, bearer_token, person_principal, request_meta

router = APIRouter(prefix="/api/v1", tags=["onething 一件事"])


def onething_principal(request: Request, db: Session = Depends(get_db)) -> Principal:
    """A citizen's token (gdc_…) or any platform token."""
    token = bearer_token(request)
    if token and token.startswith(security.CITIZEN_TOKEN_PREFIX):
        principal = citizens.resolve(db, token)
        if principal is None:
            raise Unauthenticated("访问令牌无效或已过期,请重新核验身份", code="invalid_token")
        request.state.principal = principal.with_request(*request_meta(request))
        return request.state.principal
    return api_principal(request, db)


@router.post("/auth/citizen")
def citizen_sign_in(data: CitizenSignIn, request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    """The demo's stand-in for real-name verification (only on an instance loaded with ``govdata demo load``)."""
    token = citizens.sign_in(db, data.id_number, data.name, attempt_principal(request, data.id_number[:6]))
    return {"access_token": token, "token_type": "bearer", "expires_in": citizens.SESSION_HOURS * 3600}


@router.get("/onething/packages")
def list_packages(db: Session = Depends(get_db), _: Principal = Depends(onething_principal)) -> dict[str, Any]:
    return {"items": [packages.summary(db, row, p) for row, p in packages.list_current(db)]}


@router.get("/onething/packages/{key}")
def get_package(key: str, db: Session = Depends(get_db), _: Principal = Depends(onething_principal)) -> dict[str, Any]:
    row, p = packages.current(db, key)
    return {**packages.summary(db, row, p), "content": row.content, "bpmn": row.bpmn,
            "versions": [{"version": v.version, "created_at": v.created_at, "created_by": v.created_by,
                          "active": v.active} for v in packages.versions(db, key)]}


@router.put("/onething/packages/{key}")
def put_package(key: str, data: PackageUpload, db: Session = Depends(get_db),
                principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Load a new version of a package (bureau admins); the same content again makes no new version."""
    parsed = pkg.parse(data.content, data.flow)
    if parsed.key != key:
        raise pkg.PackageInvalid(f"文件中的 key ({parsed.key}) 与地址中的 {key} 不一致", code="package_key_mismatch")
    row, created = packages.store(db, principal, parsed)
    return {"key": row.key, "version": row.version, "created": created}


@router.post("/onething/cases", status_code=201)
def create_case(data: CaseCreate, db: Session = Depends(get_db),
                principal: Principal = Depends(onething_principal)) -> dict[str, Any]:
    """Start a case: the answer carries the evidence plan (which proofs, from which department). Nothing is
    fetched before consent."""
    case = service.start(db, principal, data.package, data.applicant)
    return service.case_dict(db, case)


@router.get("/onething/cases")
def list_cases(db: Session = Depends(get_db), principal: Principal = Depends(onething_principal)) -> dict[str, Any]:
    return {"items": [service.case_dict(db, c, detail=False) for c in service.list_mine(db, principal)]}


@router.get("/onething/cases/{case_id}")
def get_case(case_id: int, db: Session = Depends(get_db),
             principal: Principal = Depends(onething_principal)) -> dict[str, Any]:
    return service.case_dict(db, service.get(db, principal, case_id))


@router.post("/onething/cases/{case_id}/consent")
def consent(case_id: int, data: Consent | None = None, db: Session = Depends(get_db),
            principal: Principal = Depends(onething_principal)) -> dict[str, Any]:
    """Explicit consent (recorded); then every proof is fetched through the exchange gateway."""
    case = service.consent(db, principal, case_id, agree=(data or Consent()).agree)
    return service.case_dict(db, case)


@router.post("/onething/cases/{case_id}/submit")
def submit(case_id: int, data: Submit | None = None, db: Session = Depends(get_db),
           principal: Principal = Depends(onething_principal)) -> dict[str, Any]:
    data = data or Submit()
    case = service.submit(db, principal, case_id, fields=data.fields, inputs=data.inputs)
    return service.case_dict(db, case)


@router.post("/onething/cases/{case_id}/supplement")
def supplement(case_id: int, data: Supplement, db: Session = Depends(get_db),
               principal: Principal = Depends(onething_principal)) -> dict[str, Any]:
    """Answer a department's request for more information."""
    return service.case_dict(db, service.supplement(db, principal, case_id, data.task_id, data.note))


@router.post("/onething/cases/{case_id}/withdraw")
def withdraw(case_id: int, db: Session = Depends(get_db),
             principal: Principal = Depends(onething_principal)) -> dict[str, Any]:
    return service.case_dict(db, service.withdraw(db, principal, case_id))


@router.get("/onething/queue")
def queue(status: str | None = Query(None, max_length=16), db: Session = Depends(get_db),
          principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """The officer's department's tasks (open and waiting for the applicant, by deadline)."""
    return {"items": [tasks.task_dict(t) for t in tasks.queue(db, principal, status=status)]}


@router.get("/onething/tasks/{task_id}")
def get_task(task_id: int, db: Session = Depends(get_db),
             principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return tasks.task_detail(db, principal, task_id)


@router.post("/onething/tasks/{task_id}/decide")
def decide(task_id: int, data: TaskDecision, db: Session = Depends(get_db),
           principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    task = tasks.decide(db, principal, task_id, data.decision, data.comment, data.outputs)
    return tasks.task_dict(task)


@router.get("/onething/metrics")
def get_metrics(package: str | None = Query(None, max_length=40), db: Session = Depends(get_db),
                _: Principal = Depends(person_principal)) -> dict[str, Any]:
    return metrics.totals(db, package=package)
