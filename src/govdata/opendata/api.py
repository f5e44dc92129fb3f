"""REST API of the open-data portal's management and community (/api/v1/opendata), JSON.

Staff (a person's bearer token): the opening workflow (candidates, settings, pre-open check, withdraw, a check's
report), the feedback inbox and answers, the showcase review, developers' key limits, assigning demands.
Public (no token): registering as a developer, filing a demand, submitting a showcase, rating or reporting on an
open dataset — throttled per client address (``developers.throttled``); bodies are capped at 1 MiB
(``BodyLimitMiddleware``). Errors are ``{"error": {"code", "message"}}`` with stable codes;
another department's item is 403, a dataset that is not open is 404 ``dataset_not_found``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from govdata.catalog import demands, projection
from govdata.catalog.schemas import PublicDemandIn
from govdata.db import get_db
from govdata.errors import Forbidden
from govdata.opendata import developers, feedback, listing, service, showcases
from govdata.opendata.models import OpenCheck, OpenDataset
from govdata.opendata.schemas import (
    CheckIn,
    DemandAssign,
    DeveloperIn,
    FeedbackAnswer,
    FeedbackIn,
    KeyLimits,
    OpenSettingsIn,
    ShowcaseIn,
    ShowcaseReview,
    WithdrawIn,
)
from govdata.principal import Principal
from govdata.web.deps import attempt_principal, person_principal, request_meta

router = APIRouter(prefix="/api/v1/opendata", tags=["opendata 公共数据开放"])


def check_dict(check: OpenCheck) -> dict[str, Any]:
    return {"id": check.id, "code": check.code, "provider": check.provider, "version_number": check.version_number,
            "passed": check.passed, "outcome": check.outcome, "k_threshold": check.k_threshold,
            "k_found": check.k_found, "settings": check.settings, "report": check.report,
            "requested_by": check.requested_by, "at": check.at.isoformat()}


def dataset_brief(dataset: OpenDataset) -> dict[str, Any]:
    return {"code": dataset.code, "slug": dataset.slug, "package_id": dataset.package_id, "status": dataset.status,
            "name": dataset.name, "provider": dataset.provider, "version_number": dataset.version_number,
            "row_count": dataset.row_count, "opened_at": dataset.opened_at.isoformat(),
            "withdrawn_reason": dataset.withdrawn_reason or None}


# ---- opening (listing) ----------------------------------------------------------------------------

@router.get("/candidates")
def candidates(db: Session = Depends(get_db), principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    rows = listing.candidates(db, principal)
    items = [{"code": r["code"], "name": r["name"], "provider": r["provider"], "provider_name": r["provider_name"],
              "state": r["state"], "latest_version": r["latest_version"], "behind": r["behind"],
              "dataset": dataset_brief(r["dataset"]) if r["dataset"] is not None else None,
              "check": check_dict(r["check"]) if r["check"] is not None else None} for r in rows]
    return {"total": len(items), "items": items}


def _visible_doc(db: Session, principal: Principal, code: str) -> dict[str, Any]:
    doc = projection.published(db, code)
    if not listing.can_see(principal, doc):
        raise Forbidden("只能查看本部门资源的开放设置", code="other_department")
    return doc


@router.get("/datasets/{code:path}/settings")
def get_settings_of(code: str, db: Session = Depends(get_db),
                    principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    _visible_doc(db, principal, code)
    return {"code": code, "settings": listing.settings_of(db, code)}


@router.put("/datasets/{code:path}/settings")
def put_settings(code: str, data: OpenSettingsIn, db: Session = Depends(get_db),
                 principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    saved = listing.save_settings(db, principal, code, data.model_dump())
    db.commit()
    return {"code": code, "settings": saved}


@router.post("/datasets/{code:path}/check")
def run_check(code: str, data: CheckIn, db: Session = Depends(get_db),
              principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    settings = data.settings.model_dump() if data.settings is not None else None
    check = listing.check(db, principal, code, open_it=data.open, settings=settings)
    return check_dict(check)


@router.post("/datasets/{code:path}/withdraw")
def withdraw(code: str, data: WithdrawIn, db: Session = Depends(get_db),
             principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return dataset_brief(listing.withdraw(db, principal, code, data.reason))


@router.get("/checks/{check_id}")
def get_check(check_id: int, db: Session = Depends(get_db),
              principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return check_dict(listing.get_check(db, principal, check_id))


# ---- feedback -----------------------------------------------------------------------------------

@router.get("/feedback")
def feedback_inbox(status: str | None = Query(None, max_length=16), db: Session = Depends(get_db),
                   principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    items = [feedback.staff_dict(i) for i in feedback.inbox(db, principal, status)]
    for item in items:
        for key in ("created_at", "replied_at", "due_date"):
            item[key] = item[key].isoformat() if item[key] else None
    return {"total": len(items), "items": items}


@router.post("/feedback/{feedback_id}/answer")
def feedback_answer(feedback_id: int, data: FeedbackAnswer, db: Session = Depends(get_db),
                    principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    item = feedback.answer(db, principal, feedback_id, data.reply)
    return {"id": item.id, "status": item.status, "reply": item.reply, "replied_by": item.replied_by}


@router.post("/datasets/{code:path}/feedback", status_code=201)
def dataset_feedback(code: str, data: FeedbackIn, request: Request,
                     db: Session = Depends(get_db)) -> dict[str, Any]:
    """Public: rate (kind "rating", 1–5) or report an error / ask a question on an open dataset."""
    developer_id = developers.key_owner(db, developers.key_from_headers(request.headers))
    ip = request_meta(request)[0]
    if data.kind == "rating":
        with developers.throttled("rating", ip):
            dataset = feedback.rate(db, code, data.rating or 0, developer_id=developer_id, ip=ip)
        return {"code": dataset.code, "rating": service.rating(dataset), "rating_count": dataset.rating_count}
    service.get_open(db, code)
    with developers.throttled("report", ip):
        item = feedback.report(db, code, data.kind, data.content, author=data.author, contact=data.contact,
                               developer_id=developer_id, attempt=attempt_principal(request))
    return {"id": item.id, "kind": item.kind, "status": item.status, "provider": item.provider,
            "due_date": item.due_date.isoformat() if item.due_date else None}


# ---- showcases ----------------------------------------------------------------------------------

def _showcase_json(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "created_at": item["created_at"].isoformat(),
            "reviewed_at": item["reviewed_at"].isoformat() if item.get("reviewed_at") else None}


@router.get("/showcases")
def showcase_list(status: str | None = Query(None, max_length=16), db: Session = Depends(get_db),
                  principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    items = showcases.dicts(db, showcases.for_review(db, principal, status), staff=True)
    return {"total": len(items), "items": [_showcase_json(i) for i in items]}


@router.post("/showcases", status_code=201)
def showcase_submit(data: ShowcaseIn, request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    """Public: submit a showcase (a contact is required; it is reviewed before it is shown)."""
    developer_id = developers.key_owner(db, developers.key_from_headers(request.headers))
    with developers.throttled("showcase", request_meta(request)[0]):
        item = showcases.submit(db, data, developer_id=developer_id, attempt=attempt_principal(request))
    return {"id": item.id, "status": item.status, "datasets": item.datasets}


@router.post("/showcases/{showcase_id}/review")
def showcase_review(showcase_id: int, data: ShowcaseReview, db: Session = Depends(get_db),
                    principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    item = showcases.review(db, principal, showcase_id, data)
    return {"id": item.id, "status": item.status, "review_comment": item.review_comment}


# ---- developers and keys ------------------------------------------------------------------------

@router.post("/developers", status_code=201)
def developer_register(data: DeveloperIn, request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    """Public: register a developer account (usable at once; keys are created on /open/developer)."""
    with developers.throttled("register", request_meta(request)[0]):
        developer = developers.register(db, data, attempt_principal(request))
    return developers.developer_dict(developer)


@router.get("/keys")
def key_list(developer: int | None = Query(None), db: Session = Depends(get_db),
             principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    rows = developers.all_keys(db, principal, developer_id=developer)
    items = [{**developers.key_dict(k), "developer": developers.developer_dict(d)} for k, d in rows]
    return {"total": len(items), "items": items}


@router.put("/keys/{key_id}/limits")
def key_limits(key_id: int, data: KeyLimits, db: Session = Depends(get_db),
               principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return developers.key_dict(developers.set_limits(db, principal, key_id, data))


# ---- demands ------------------------------------------------------------------------------------

def _demand_json(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "created_at": item["created_at"].isoformat(),
            "due_date": item["due_date"].isoformat() if item["due_date"] else None,
            "replied_at": item["replied_at"].isoformat() if item["replied_at"] else None}


@router.get("/demands")
def demand_list(status: str | None = Query(None, max_length=16), org: str | None = Query(None, max_length=32),
                db: Session = Depends(get_db)) -> dict[str, Any]:
    """Public: the 开放需求清单 (no contacts)."""
    items = [_demand_json(d) for d in demands.public_list(db, status=status or None, org=org or None)]
    return {"total": len(items), "items": items}


@router.post("/demands", status_code=201)
def demand_file(data: PublicDemandIn, request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    """Public: file a demand to open data."""
    with developers.throttled("demand", request_meta(request)[0]):
        demand = demands.file_public(db, data, attempt_principal(request))
    return {"id": demand.id, "status": demand.status, "target_org": demand.target_org,
            "due_date": demand.due_date.isoformat() if demand.due_date else None}


@router.get("/demands/{demand_id}")
def demand_show(demand_id: int, db: Session = Depends(get_db)) -> dict[str, Any]:
    return _demand_json(demands.public_get(db, demand_id))


@router.post("/demands/{demand_id}/assign")
def demand_assign(demand_id: int, data: DemandAssign, db: Session = Depends(get_db),
                  principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    demand = demands.assign(db, principal, demand_id, data.target_org)
    return {"id": demand.id, "target_org": demand.target_org, "status": demand.status}
