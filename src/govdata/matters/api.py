"""REST API of the register of government service matters and its online-service rates."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from govdata.db import get_db
from govdata.matters import service
from govdata.matters.schemas import MatterCreate, MatterUpdate
from govdata.principal import Principal
from govdata.web.deps import Paging, api_principal, person_principal

router = APIRouter(prefix="/api/v1/matters", tags=["matters 政务服务事项"])


@router.get("")
def list_matters(level: str | None = Query(None, max_length=16), region: str | None = Query(None, max_length=6),
                 org: str | None = Query(None, max_length=32),
                 status: str | None = Query(None, max_length=16, description="offline | online | full(今日状态)"),
                 q: str | None = Query(None, max_length=100, description="按名称或编码搜索"),
                 package: str | None = Query(None, max_length=40), category: str | None = Query(None, max_length=24),
                 paging: Paging = Depends(), db: Session = Depends(get_db),
                 _: Principal = Depends(api_principal)) -> dict[str, Any]:
    rows, total = service.list_matters(db, level=level, region=region, org=org, status=status, q=q,
                                       package=package, category=category, page=paging.page,
                                       page_size=paging.page_size)
    return {"total": total, "page": paging.page, "page_size": paging.page_size, "items": service.as_dicts(db, rows)}


@router.get("/rates")
def rates(at: date | None = Query(None, description="YYYY-MM-DD,默认今天"),
          level: str | None = Query(None, max_length=16), region: str | None = Query(None, max_length=6),
          db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> dict[str, Any]:
    """网上可办率 and 全程网办率 per level at a date, each against the seed's target in force then."""
    return service.rates(db, at=at, level=level or None, region=region or None)


@router.get("/trend")
def trend(level: str | None = Query(None, max_length=16), region: str | None = Query(None, max_length=6),
          db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> dict[str, Any]:
    """The rates per level at each year's end from 2019 (the current year: today)."""
    return service.trend(db, level=level or None, region=region or None)


@router.post("", status_code=201)
def create_matter(data: MatterCreate, db: Session = Depends(get_db),
                  principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Bureau admins register any matter; a department's data admin only its own organisation's."""
    return service.as_dicts(db, [service.create(db, principal, data)])[0]


@router.get("/{code}")
def get_matter(code: str, db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> dict[str, Any]:
    return service.as_dicts(db, [service.get(db, code)])[0]


@router.patch("/{code}")
def update_matter(code: str, data: MatterUpdate, db: Session = Depends(get_db),
                  principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Fields left out keep their value; the dates and the package can be cleared with null."""
    return service.as_dicts(db, [service.update(db, principal, code, data)])[0]
