from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from govdata.db import get_db
from govdata.orgs import service
from govdata.orgs.schemas import OrgCreate, OrgUpdate
from govdata.principal import Principal
from govdata.web.deps import Paging, api_principal, person_principal

router = APIRouter(prefix="/api/v1/orgs", tags=["organisations 组织机构"])


@router.get("")
def list_orgs(q: str | None = Query(None, max_length=100), level: str | None = None,
              parent: str | None = None, region_code: str | None = None, paging: Paging = Depends(),
              db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> dict[str, Any]:
    total, rows = service.list_orgs(db, q=q, level=level, parent=parent, region_code=region_code,
                                    page=paging.page, page_size=paging.page_size)
    return {"total": total, "items": service.as_dicts(db, rows)}


@router.get("/tree")
def org_tree(db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> list[dict[str, Any]]:
    return service.tree(db)


@router.post("", status_code=201)
def create_org(data: OrgCreate, db: Session = Depends(get_db),
               principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.as_dict(db, service.create(db, principal, data))


@router.get("/{code}")
def get_org(code: str, db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> dict[str, Any]:
    return service.as_dict(db, service.get_by_code(db, code))


@router.patch("/{code}")
def update_org(code: str, data: OrgUpdate, db: Session = Depends(get_db),
               principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.as_dict(db, service.update(db, principal, code, data))


@router.delete("/{code}", status_code=204)
def delete_org(code: str, db: Session = Depends(get_db), principal: Principal = Depends(person_principal)) -> None:
    service.delete(db, principal, code)
