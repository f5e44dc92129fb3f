from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from govdata.audit import service
from govdata.db import get_db
from govdata.principal import Principal, require_role
from govdata.web.deps import Paging, api_principal

router = APIRouter(prefix="/api/v1/audit", tags=["audit trail 审计追溯"])


@router.get("/records")
def list_records(resource: str | None = Query(None, max_length=40),
                 consumer_org: str | None = Query(None, max_length=40),
                 provider_org: str | None = Query(None, max_length=40),
                 org: str | None = Query(None, max_length=40), kind: str | None = Query(None, max_length=40),
                 outcome: str | None = Query(None, max_length=40), since: datetime | None = None,
                 until: datetime | None = None, paging: Paging = Depends(), db: Session = Depends(get_db),
                 principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    rows, total = service.list_records(
        db, principal, resource=resource, consumer_org=consumer_org, provider_org=provider_org, org=org, kind=kind,
        outcome=outcome, since=since, until=until, page=paging.page, page_size=paging.page_size)
    return {"total": total, "items": [service.record_dict(r) for r in rows]}


@router.get("/records/{request_id}")
def get_record(request_id: str, db: Session = Depends(get_db),
               principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return service.record_dict(service.get_record(db, principal, request_id))


@router.get("/proof/{request_id}")
def get_proof(request_id: str, db: Session = Depends(get_db),
              principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return service.visible_proof(db, principal, request_id)


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(principal: Principal = Depends(api_principal)) -> PlainTextResponse:
    return PlainTextResponse(service.public_key_pem())


@router.post("/verify")
def verify(db: Session = Depends(get_db), principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    require_role(principal, "auditor")
    return service.verify(db).to_dict()
