"""REST API of the catalog. Resource codes contain "/": routes take them with the ``path`` converter, the
routes with a suffix (``/submit``) being declared before the bare one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from govdata import exports
from govdata.catalog import demands, lists, projection, search, service
from govdata.catalog.diff import diff
from govdata.catalog.schemas import DemandIn, DemandReply, ResourceIn, ReviewIn
from govdata.db import get_db
from govdata.principal import Principal
from govdata.standards import service as standards
from govdata.web.deps import Paging, api_principal, person_principal

router = APIRouter(prefix="/api/v1", tags=["catalog 信息资源目录"])


@router.get("/resources")
def list_resources(q: str | None = Query(None, max_length=200), org: str | None = None,
                   share_type: str | None = None, classification: str | None = None, format: str | None = None,
                   open: bool | None = None, update_cycle: str | None = None,
                   sort: str = Query("relevance", pattern="^(relevance|newest|name)$"),
                   status: str | None = Query(None, pattern="^(draft|submitted|published|rejected|all)$"),
                   paging: Paging = Depends(), db: Session = Depends(get_db),
                   principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    """The published catalog with search and facets; with ``status`` the working copies the caller may see."""
    if status:
        total, rows = service.list_working(db, principal, status=None if status == "all" else status, org=org, q=q,
                                           page=paging.page, page_size=paging.page_size)
        return {"total": total, "items": [service.resource_dict(db, r) for r in rows]}
    result = search.search(db, q=q, provider=org, classification=classification, share_type=share_type,
                           format=format, open=open, update_cycle=update_cycle, page=paging.page,
                           page_size=paging.page_size, sort=sort)
    return {"total": result.total, "items": [e.document for e in result.entries],
            "facets": {k: [{"value": v, "count": n} for v, n in vals] for k, vals in result.facets.items()}}


@router.post("/resources", status_code=201)
def create_resource(data: ResourceIn, db: Session = Depends(get_db),
                    principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.resource_dict(db, service.create(db, principal, data))


@router.post("/resources/{code:path}/submit")
def submit_resource(code: str, db: Session = Depends(get_db),
                    principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.resource_dict(db, service.submit(db, principal, code))


@router.post("/resources/{code:path}/review")
def review_resource(code: str, data: ReviewIn, db: Session = Depends(get_db),
                    principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.resource_dict(db, service.review(db, principal, code, data))


@router.get("/resources/{code:path}/revisions")
def resource_revisions(code: str, db: Session = Depends(get_db),
                       principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    resource = service.get_resource(db, code)
    if not service.sees_working_copy(principal, resource):
        projection.published(db, code)  # others may see only that a published resource exists
        return {"total": 0, "items": []}
    revs = service.revisions(db, code)
    return {"total": len(revs), "items": [{"version": r.version, "event": r.event, "actor": r.actor,
                                            "at": r.at.isoformat(), "comment": r.comment} for r in revs]}


@router.get("/resources/{code:path}/diff")
def resource_diff(code: str, from_version: int | None = Query(None, alias="from"),
                  to_version: int | None = Query(None, alias="to"), db: Session = Depends(get_db),
                  principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    """Changes between two revisions; by default from the published (or previous) one to the latest."""
    resource = service.get_resource(db, code)
    if not service.sees_working_copy(principal, resource):
        projection.published(db, code)
        return {"from": None, "to": None, "fields": {}, "items_added": [], "items_removed": [],
                "items_changed": {}}
    to_v = to_version or resource.version
    default_from = resource.published_version if resource.published_version not in (None, to_v) else to_v - 1
    from_v = from_version or max(default_from, 1)
    old, new = service.revision(db, code, from_v), service.revision(db, code, to_v)
    return {"from": from_v, "to": to_v, **diff(old.snapshot, new.snapshot)}


@router.get("/resources/{code:path}/table-schema")
def resource_table_schema(code: str, db: Session = Depends(get_db),
                          principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    """The resource's items as a Frictionless Table Schema (for other tools to read)."""
    return standards.resource_table_schema(db, service.read_for(db, principal, code))


@router.get("/resources/{code:path}")
def get_resource(code: str, db: Session = Depends(get_db),
                 principal: Principal = Depends(api_principal)) -> dict[str, Any]:
    return service.read_for(db, principal, code)


@router.put("/resources/{code:path}")
def update_resource(code: str, data: ResourceIn, db: Session = Depends(get_db),
                    principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    return service.resource_dict(db, service.update(db, principal, code, data))


@router.delete("/resources/{code:path}", status_code=204)
def delete_resource(code: str, db: Session = Depends(get_db),
                    principal: Principal = Depends(person_principal)) -> None:
    service.delete_resource(db, principal, code)


@router.get("/lists/{kind}")
def get_list(kind: str, org: str | None = None, format: str = Query("json", pattern="^(json|xlsx|csv)$"),
             db: Session = Depends(get_db), _: Principal = Depends(api_principal)) -> Any:
    listing = lists.build(db, kind, org)
    if format == "json":
        return listing
    headers, rows = lists.as_table(listing)
    filename = f"{kind}-list.{format}"
    if format == "csv":
        return Response(exports.csv_bytes(headers, rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return Response(exports.xlsx_bytes([(listing["title"], headers, rows)]), media_type=exports.XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/open-demands", status_code=201)
def create_demand(data: DemandIn, db: Session = Depends(get_db),
                  principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    demand = demands.create(db, principal, data)
    return {"id": demand.id, "status": demand.status, "due_date": demand.due_date.isoformat()}


@router.post("/open-demands/{demand_id}/reply")
def reply_demand(demand_id: int, data: DemandReply, db: Session = Depends(get_db),
                 principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    demand = demands.reply(db, principal, demand_id, data)
    return {"id": demand.id, "status": demand.status, "reply": demand.reply}


# ---- catalog workbook (bulk import and export) ---------------------------------------------------
# Imported here rather than at the top so that this section stays self-contained.
from fastapi import File, Form, UploadFile  # noqa: E402

from govdata.catalog import workbook  # noqa: E402


@router.post("/catalog/import")
def import_catalog(file: UploadFile = File(..., description="编目工作簿(.xlsx)"),
                   publish: bool = Form(False, description="导入后直接发布(仅大数据局管理员)"),
                   db: Session = Depends(get_db), principal: Principal = Depends(person_principal)) -> dict[str, Any]:
    """Register every resource of a catalog workbook, or none: on any row error the answer is 422
    ``import_failed`` with ``details`` listing each error (sheet, row, column, code, message). Departments
    import drafts of their own resources; bureau admins may publish at once."""
    limits = workbook.Limits()
    data = file.file.read(limits.max_bytes + 1)  # never more than the limit (+1 byte to tell it was exceeded)
    report = workbook.import_workbook(db, principal, data, publish=publish, source=file.filename, limits=limits)
    return report.as_dict()


@router.get("/catalog/export")
def export_catalog(format: str = Query("xlsx", pattern="^xlsx$"),
                   scope: str = Query("published", pattern="^(published|working)$"),
                   db: Session = Depends(get_db), principal: Principal = Depends(api_principal)) -> Response:
    """The published catalog (or, with ``scope=working``, the working copies the caller may see) as a catalog
    workbook that ``POST /catalog/import`` reads back."""
    data = workbook.export_workbook(db, principal, working=scope == "working")
    filename = "catalog-working.xlsx" if scope == "working" else "catalog.xlsx"
    return Response(data, media_type=exports.XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
