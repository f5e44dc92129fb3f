from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import Response

from govdata.db import get_db
from govdata.errors import AppError
from govdata.i18n import N_
from govdata.principal import Principal
from govdata.standards import api, enums, service
from govdata.web.deps import csrf_protect, page_principal
from govdata.web.templating import render

router = APIRouter(prefix="/standards", include_in_schema=False)
PAGE_SIZE = 200
IMPORTED = N_("代码集已导入")


@router.get("")
def element_index(request: Request, q: str | None = None, db: Session = Depends(get_db),
                  principal: Principal = Depends(page_principal)) -> Response:
    return render(request, "standards/index.html", {
        "elements": service.list_elements(db, q=q), "q": q or "", "data_types": enums.DATA_TYPES,
        "sensitivities": enums.SENSITIVITIES}, principal=principal)


@router.get("/codesets")
def codeset_index(request: Request, db: Session = Depends(get_db),
                  principal: Principal = Depends(page_principal)) -> Response:
    return render(request, "standards/codesets.html", {"codesets": service.list_codesets(db), "values": {}},
                  principal=principal)


@router.post("/codesets/import", dependencies=[Depends(csrf_protect)])
async def codeset_import(request: Request, db: Session = Depends(get_db),
                         principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("file")
    name = values.get("name", "").strip()
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise AppError("请选择要导入的 CSV 或 XLSX 文件", code="file_required", status=422)
        content = await upload.read(api.MAX_UPLOAD + 1)
        if len(content) > api.MAX_UPLOAD:
            raise AppError("文件超过 10 MB", code="payload_too_large", status=413)
        service.import_codeset(db, principal, name, values.get("title"), content=content, filename=upload.filename)
    except AppError as exc:
        db.rollback()
        return render(request, "standards/codesets.html", {
            "codesets": service.list_codesets(db), "values": values, "error": exc}, status=exc.status,
            principal=principal)
    return RedirectResponse(f"/standards/codesets/{name}?imported=1", status_code=303)


@router.get("/codesets/{name}")
def codeset_detail(name: str, request: Request, page: int = 1, imported: bool = False,
                   db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    codeset = service.get_codeset(db, name)
    page = max(page, 1)
    total, values = service.codeset_values(db, codeset, page=page, page_size=PAGE_SIZE)
    return render(request, "standards/codeset.html", {
        "codeset": codeset, "values": values, "total": total, "page": page, "page_size": PAGE_SIZE,
        "notice": IMPORTED if imported else None}, principal=principal)


@router.get("/codesets/{name}/download")
def codeset_download(name: str, format: str = "csv", db: Session = Depends(get_db),
                     _: Principal = Depends(page_principal)) -> Response:
    return api.download(service.export_codeset(db, name, format), name, format)
