from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.db import get_db
from govdata.errors import AppError
from govdata.principal import Principal
from govdata.standards import service
from govdata.standards.schemas import ElementCreate, ElementUpdate
from govdata.web.deps import api_principal, person_principal

router = APIRouter(prefix="/api/v1/standards", tags=["data standards 数据标准"])

MAX_UPLOAD = 10 * 1024 * 1024


@router.get("/elements")
def list_elements(q: str | None = Query(None, max_length=100), db: Session = Depends(get_db),
                  _: Principal = Depends(api_principal)) -> dict[str, Any]:
    rows = service.list_elements(db, q=q)
    return {"total": len(rows), "items": [service.element_as_dict(e) for e in rows]}


@router.get("/elements/{code}")
def get_element(code: str, db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> dict[str, Any]:
    return service.element_as_dict(service.get_element(db, code))


@router.post("/elements", status_code=201)
def create_element(data: ElementCreate, db: Session = Depends(get_db),
                   principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.element_as_dict(service.create_element(db, principal, data))


@router.put("/elements/{code}")
def update_element(code: str, data: ElementUpdate, db: Session = Depends(get_db),
                   principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.element_as_dict(service.update_element(db, principal, code, data))


@router.get("/codesets")
def list_codesets(db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> dict[str, Any]:
    rows = service.list_codesets(db)
    return {"total": len(rows), "items": rows}


@router.get("/codesets/{name}", response_model=None)
def get_codeset(name: str, format: Literal["json", "csv", "xlsx"] = "json", parent: str | None = None,
                db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> dict[str, Any] | Response:
    if format == "json":
        return service.codeset_detail(db, name, parent=parent)
    return download(service.export_codeset(db, name, format), name, format)


def download(content: bytes, name: str, fmt: str) -> Response:
    filename = quote(f"{name}.{fmt}")
    return Response(content, media_type=service.EXPORT_TYPES[fmt],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})


@router.post("/codesets/{name}/import")
def import_codeset(name: str, file: UploadFile = File(..., description="CSV 或 XLSX,表头 代码,名称[,上级代码]"),
                   title: str | None = Form(None, max_length=200), standard: str | None = Form(None, max_length=100),
                   version: str | None = Form(None, max_length=40),
                   description: str | None = Form(None, max_length=2000),
                   db: Session = Depends(get_db), principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    content = file.file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise AppError("文件超过 10 MB", code="payload_too_large", status=413)
    codeset = service.import_codeset(db, principal, name, title, content=content, filename=file.filename,
                                     standard=standard, version=version, description=description)
    return service.codeset_summary(db, codeset)
