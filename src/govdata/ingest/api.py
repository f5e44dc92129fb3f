"""REST API of data collection: upload a version (a job), follow the job, versions, reports, the quarantine,
comparisons, rollback, held versions, the publishing policy, source databases, quality rankings.

Resource codes contain "/", so these routes (declared with suffixes) are registered before the catalog's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from govdata import exports
from govdata.db import get_db
from govdata.errors import ValidationFailed
from govdata.ingest import dashboard, service, sources
from govdata.jobs import service as jobs
from govdata.jobs import worker
from govdata.principal import Principal
from govdata.web.deps import api_principal, person_principal

router = APIRouter(prefix="/api/v1", tags=["ingest 数据归集与治理"])


async def read_upload(request: Request) -> tuple[UploadFile, dict[str, str]]:
    """The multipart form's ``file`` and its text fields (the body limit applies while it streams in)."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed("请选择要上传的文件(表单字段 file)", code="file_required")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return upload, fields


@router.post("/resources/{code:path}/versions", status_code=202)
async def upload_version(code: str, request: Request, response: Response, db: Session = Depends(get_db),
                         principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    """Upload CSV (UTF-8/GBK/GB18030), Excel or JSON as a new version; answers the job to follow."""
    upload, fields = await read_upload(request)
    job = service.start_upload(db, principal, code, upload.file, upload.filename or "",
                               encoding=fields.get("encoding") or None, mode=fields.get("mode") or "replace")
    worker.wake()
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return jobs.job_dict(job)


@router.get("/jobs/{job_id}")
def get_job(job_id: str, db: Session = Depends(get_db),
            principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return jobs.job_dict(jobs.get_for(db, principal, job_id))


@router.get("/resources/{code:path}/versions")
def list_versions(code: str, db: Session = Depends(get_db),
                  principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    rows = service.list_versions(db, principal, code)
    latest = service.latest_published(db, code)
    return {"resource": code, "current": latest.number if latest else None,
            "items": [service.version_dict(v) for v in rows]}


@router.get("/resources/{code:path}/versions/{number}/report")
def version_report(code: str, number: int, sample: int = Query(100, ge=0, le=1000), db: Session = Depends(get_db),
                   principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return service.report(db, principal, code, number, sample=sample)


@router.get("/resources/{code:path}/versions/{number}/rejected", response_model=None)
def rejected_rows(code: str, number: int, format: str = Query("json", pattern="^(json|xlsx)$"),
                  limit: int = Query(1000, ge=1, le=10000), db: Session = Depends(get_db),
                  principal: Principal = Depends(api_principal)) -> Any:
    """The quarantine: JSON (the first ``limit`` rejected rows and errors) or the Excel workbook to correct."""
    if format == "xlsx":
        data = service.rejected_xlsx(db, principal, code, number)
        name = f"rejected-{service._safe(code)}-v{number}.xlsx"
        return Response(data, media_type=exports.XLSX_MEDIA_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    version = service.get_version(db, principal, code, number)
    frame = service.rejected_frame(version)
    return {"version": number, "rows_rejected": version.rows_rejected,
            "rows": frame.head(limit).to_dicts() if frame is not None else [],
            "errors": service.error_rows(version, limit=limit).to_dicts()}


@router.get("/resources/{code:path}/versions/{number}/compare")
def compare_versions(code: str, number: int, with_: int = Query(..., alias="with", ge=1),
                     db: Session = Depends(get_db), principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    """Rows added, removed and changed from version ``with`` to version ``number``."""
    return service.compare(db, principal, code, with_, number)


@router.post("/resources/{code:path}/versions/{number}/rollback", status_code=201)
def rollback(code: str, number: int, db: Session = Depends(get_db),
             principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.version_dict(service.rollback(db, principal, code, number))


@router.post("/resources/{code:path}/versions/{number}/publish")
def publish_held(code: str, number: int, db: Session = Depends(get_db),
                 principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.version_dict(service.decide(db, principal, code, number, publish=True))


@router.post("/resources/{code:path}/versions/{number}/discard")
def discard_held(code: str, number: int, db: Session = Depends(get_db),
                 principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.version_dict(service.decide(db, principal, code, number, publish=False))


class PolicyIn(BaseModel):
    hold_above_percent: float = Field(ge=0, le=100)


@router.get("/resources/{code:path}/ingest-policy")
def get_policy(code: str, db: Session = Depends(get_db),
               principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    service._readable(db, principal, code)
    return {"resource": code, "hold_above_percent": service.get_policy(db, code)}


@router.put("/resources/{code:path}/ingest-policy")
def put_policy(code: str, data: PolicyIn, db: Session = Depends(get_db),
               principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return {"resource": code, "hold_above_percent": service.set_policy(db, principal, code, data.hold_above_percent)}


@router.get("/resources/{code:path}/quality")
def quality_trend(code: str, db: Session = Depends(get_db),
                  principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return dashboard.resource_trend(db, principal, code)


@router.get("/quality/ranking")
def quality_ranking(db: Session = Depends(get_db), principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    """Departments ranked by the quality of their latest published versions (评价)."""
    return {"items": dashboard.department_ranking(db)}


class SourceIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    resource: str = Field(min_length=1, max_length=40)
    url: str = Field(min_length=1, max_length=500)
    password: str | None = Field(None, max_length=200)
    table: str | None = Field(None, max_length=200)
    query: str | None = Field(None, max_length=20000)
    mode: str = Field("full", pattern="^(full|incremental)$")
    watermark_column: str | None = Field(None, max_length=100)
    schedule: str = Field("cycle", max_length=100)
    test: bool = True


@router.get("/sources")
def list_sources(resource: str | None = None, db: Session = Depends(get_db),
                 principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return {"items": [sources.source_dict(s) for s in sources.list_sources(db, principal, resource)]}


@router.post("/sources", status_code=201)
def add_source(data: SourceIn, db: Session = Depends(get_db),
               principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    fields = data.model_dump(exclude={"test"})
    return sources.source_dict(sources.add_source(db, principal, fields, test=data.test))


@router.get("/sources/{ref}")
def get_source(ref: str, db: Session = Depends(get_db),
               principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return sources.source_dict(sources.get_source(db, principal, ref))


@router.delete("/sources/{ref}", status_code=204)
def delete_source(ref: str, db: Session = Depends(get_db), principal: Principal = Depends(person_principal)) -> None:
    sources.delete_source(db, principal, ref)


@router.post("/sources/{ref}/pull", status_code=202)
def pull_source(ref: str, response: Response, db: Session = Depends(get_db),
                principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    job = sources.start_pull(db, principal, ref)
    worker.wake()
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return jobs.job_dict(job)
