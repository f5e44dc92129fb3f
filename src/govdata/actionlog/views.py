from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.actionlog import service
from govdata.db import get_db
from govdata.errors import ValidationFailed
from govdata.i18n import N_
from govdata.principal import Principal, require_role
from govdata.web.deps import page_principal, wants_partial
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)

ACTION_LABELS = {
    "auth.login": N_("登录"), "auth.login_failed": N_("登录失败"), "auth.logout": N_("退出登录"),
    "org.create": N_("新建机构"), "org.update": N_("修改机构"), "org.delete": N_("删除机构"),
    "user.create": N_("新建人员"), "user.update": N_("修改人员"), "user.delete": N_("删除人员"),
    "user.password_reset": N_("重置密码"), "credential.create": N_("签发凭证"), "credential.revoke": N_("吊销凭证"),
    "demo.load": N_("加载演示数据"), "access.denied": N_("拒绝访问"),
    "standards.load": N_("加载数据标准"), "element.create": N_("新建数据元"), "element.update": N_("修改数据元"),
    "codeset.import": N_("导入代码集"), "resource.create": N_("登记信息资源"), "resource.update": N_("修改信息资源"),
    "resource.submit": N_("提交审核"), "resource.approve": N_("审核通过"), "resource.reject": N_("审核退回"),
    "resource.delete": N_("删除信息资源"), "catalog.import": N_("导入目录"),
    "catalog.import_failed": N_("目录导入失败"), "demand.create": N_("登记开放需求"),
    "demand.reply": N_("答复开放需求"),
}


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"时间格式无效:{value}", code="invalid_datetime") from exc


@router.get("/action-log")
def action_log_page(request: Request, actor: str | None = None, action: str | None = None,
                    target_id: str | None = None, outcome: str | None = None, since: str | None = None,
                    until: str | None = None, q: str | None = None, page: int = 1, db: Session = Depends(get_db),
                    principal: Principal = Depends(page_principal)) -> Response:
    require_role(principal, "auditor")
    filters = {"actor": actor or "", "action": action or "", "target_id": target_id or "",
               "outcome": outcome or "", "since": since or "", "until": until or "", "q": q or ""}
    f = service.ActionFilter(actor=actor or None, action=action or None, target_id=target_id or None,
                             outcome=outcome or None, since=_parse_time(since), until=_parse_time(until),
                             q=q or None)
    page = max(page, 1)
    total, rows = service.search(db, f, page=page, page_size=50)
    template = "actionlog/_rows.html" if wants_partial(request) else "actionlog/index.html"
    response = render(request, template, {
        "total": total, "entries": rows, "filters": filters, "page": page, "labels": ACTION_LABELS,
        "pages": (total + 49) // 50}, principal=principal)
    response.headers["Vary"] = "HX-Request"
    return response
