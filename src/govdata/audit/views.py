"""Pages of the audit trail: ``/audit`` (records with filters), a record, and its proof as a download.

Everyone logged in may open them; what they list follows :mod:`govdata.audit.query` (auditors and bureau
administrators everything, others their own organisation's records as consumer or provider)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.audit import service
from govdata.config import local_tz
from govdata.db import get_db
from govdata.errors import ValidationFailed
from govdata.i18n import N_
from govdata.principal import Principal
from govdata.web.deps import page_principal, wants_partial
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50

KIND_LABELS = {"exchange.call": N_("数据调用"), "sharing.decision": N_("共享审批"), "audit.archive": N_("审计归档")}
OUTCOME_LABELS = {"ok": N_("成功"), "refused": N_("未成功")}
FILTERS = ("resource", "org", "kind", "outcome", "since", "until")


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD from the form as local midnight (``end``: the midnight after it, so the day is included)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"日期格式无效:{value}", code="invalid_date") from exc
    return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=local_tz())


@router.get("/audit")
def audit_page(request: Request, resource: str | None = None, org: str | None = None, kind: str | None = None,
               outcome: str | None = None, since: str | None = None, until: str | None = None, page: int = 1,
               db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    filters = dict(zip(FILTERS, (resource, org, kind, outcome, since, until), strict=True))
    filters = {k: (v or "").strip() for k, v in filters.items()}
    page = max(page, 1)
    rows, total = service.list_records(
        db, principal, resource=filters["resource"] or None, org=filters["org"] or None,
        kind=filters["kind"] or None, outcome=filters["outcome"] or None, since=_day(filters["since"]),
        until=_day(filters["until"], end=True), page=page, page_size=PAGE_SIZE)
    template = "audit/_rows.html" if wants_partial(request) else "audit/index.html"
    response = render(request, template, {
        "records": rows, "total": total, "filters": filters, "page": page,
        "pages": (total + PAGE_SIZE - 1) // PAGE_SIZE, "kinds": KIND_LABELS, "outcomes": OUTCOME_LABELS,
        "qs": urlencode({k: v for k, v in filters.items() if v}),
        "everything": service.can_see(principal, None, None)}, principal=principal)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/audit/{request_id}")
def record_page(request: Request, request_id: str, db: Session = Depends(get_db),
                principal: Principal = Depends(page_principal)) -> Response:
    record = service.get_record(db, principal, request_id)
    return render(request, "audit/record.html", {
        "r": record, "kinds": KIND_LABELS, "outcomes": OUTCOME_LABELS}, principal=principal)


@router.get("/audit/{request_id}/proof")
def proof_download(request_id: str, db: Session = Depends(get_db),
                   principal: Principal = Depends(page_principal)) -> Response:
    proof = service.visible_proof(db, principal, request_id)
    name = f"audit-proof-{proof['record_id']}.json"
    return Response(json.dumps(proof, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
