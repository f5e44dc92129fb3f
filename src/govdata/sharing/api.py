"""REST API of the sharing workflow: requests, decisions, grants, renewals, revocations, rate limits."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from govdata.db import get_db
from govdata.principal import Principal
from govdata.sharing import evaluation, grants, limits, service
from govdata.sharing.schemas import Decision, RateLimitSet, Renew, RequestAmend, RequestCreate, Revoke
from govdata.web.deps import Paging, api_principal, person_principal

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing 共享申请与授权"])
Side = Literal["consumer", "provider", "todo"]


def _request(db: Session, req: Any) -> dict[str, Any]:
    return service.request_dict(db, req, history=True)


@router.post("/requests", status_code=201)
def create_request(data: RequestCreate, db: Session = Depends(get_db),
                   principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Apply for a resource. Unconditional resources answer ``granted`` at once."""
    return _request(db, service.create_request(db, principal, data))


@router.get("/requests")
def list_requests(side: Side | None = None, status: str | None = Query(None, max_length=24),
                  resource: str | None = Query(None, max_length=40), paging: Paging = Depends(),
                  db: Session = Depends(get_db), principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    rows, total = service.list_requests(db, principal, side=side, status=status, resource=resource,
                                        page=paging.page, page_size=paging.page_size)
    return {"total": total, "items": service.request_dicts(db, rows)}


@router.get("/requests/{request_id}")
def get_request(request_id: int, db: Session = Depends(get_db),
                principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return _request(db, service.get_request(db, principal, request_id))


@router.post("/requests/{request_id}/decide")
def decide(request_id: int, data: Decision, db: Session = Depends(get_db),
           principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """The provider's data admin decides, then (conditional sharing) a bureau admin verifies."""
    return _request(db, service.decide(db, principal, request_id, data))


@router.put("/requests/{request_id}")
def amend(request_id: int, data: RequestAmend, db: Session = Depends(get_db),
          principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Change a request that was sent back for changes; it goes to the provider again."""
    return _request(db, service.amend(db, principal, request_id, data))


@router.post("/requests/{request_id}/withdraw")
def withdraw(request_id: int, data: Revoke | None = None, db: Session = Depends(get_db),
             principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return _request(db, service.withdraw(db, principal, request_id, data.reason if data else ""))


@router.get("/grants")
def list_grants(side: Literal["consumer", "provider"] | None = None,
                status: str | None = Query(None, max_length=16), resource: str | None = Query(None, max_length=40),
                expiring_within: int | None = Query(None, ge=0, le=3650), db: Session = Depends(get_db),
                principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    rows = grants.list_grants(db, principal, side=side, status=status, resource=resource,
                              expiring_within=expiring_within)
    return {"total": len(rows), "items": grants.grant_dicts(db, rows)}


@router.get("/grants/{grant_id}")
def get_grant(grant_id: int, db: Session = Depends(get_db),
              principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return grants.grant_dicts(db, [grants.get(db, principal, grant_id)])[0]


@router.post("/grants/{grant_id}/revoke")
def revoke(grant_id: int, data: Revoke | None = None, db: Session = Depends(get_db),
           principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Takes effect on the next gateway call."""
    grant = grants.revoke(db, principal, grant_id, data.reason if data else "")
    return grants.grant_dicts(db, [grant])[0]


@router.post("/grants/{grant_id}/renew", status_code=201)
def renew(grant_id: int, data: Renew, db: Session = Depends(get_db),
          principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """A renewal request: granted at once for unconditional resources, otherwise decided like a new one."""
    return _request(db, service.renew(db, principal, grant_id, data.days, data.comment))


@router.put("/rate-limits/{credential_id}")
def set_rate_limit(credential_id: int, data: RateLimitSet, db: Session = Depends(get_db),
                   principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    limits.set_limit(db, principal, credential_id, data.per_minute)
    return {"credential_id": credential_id, "per_minute": data.per_minute}


# ---- evaluation (评价) ------------------------------------------------------------------------------------

@router.get("/evaluation")
def get_evaluation(month: str | None = Query(None, max_length=7, description="YYYY-MM,默认本月"),
                   db: Session = Depends(get_db), principal: Principal = Depends(person_principal)
                   ) -> dict[str, Any]:
    """The month's evaluation: providers ranked by a composite score, consumers' use of their grants."""
    return evaluation.monthly(db, month or evaluation.current_month())


@router.get("/evaluation/months")
def evaluation_months(db: Session = Depends(get_db),
                      principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Months with sharing activity, newest first."""
    return {"items": evaluation.months(db)}
