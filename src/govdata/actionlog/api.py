from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from govdata.actionlog import service
from govdata.db import get_db
from govdata.principal import Principal, require_role
from govdata.web.deps import Paging, person_principal

router = APIRouter(prefix="/api/v1/action-log", tags=["action log 操作日志"])


@router.get("")
def search_actions(actor: str | None = None, action: str | None = None, target_type: str | None = None,
                   target_id: str | None = None, org: str | None = None, outcome: str | None = None,
                   since: datetime | None = None, until: datetime | None = None,
                   q: str | None = Query(None, max_length=100), paging: Paging = Depends(),
                   db: Session = Depends(get_db), principal: Principal = Depends(person_principal),
                   ) -> dict[str, Any]:
    require_role(principal, "auditor")
    f = service.ActionFilter(actor=actor, action=action, target_type=target_type, target_id=target_id, org=org,
                             outcome=outcome, since=since, until=until, q=q)
    total, rows = service.search(db, f, page=paging.page, page_size=paging.page_size)
    return {"total": total, "items": [service.as_dict(e) for e in rows]}
