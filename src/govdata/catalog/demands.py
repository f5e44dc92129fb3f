"""开放需求: demands from the public to open data. The portal (a later issue) lets anyone file one; today the
bureau records them on the public's behalf and the responsible department answers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.catalog import projection
from govdata.catalog.models import OpenDemand
from govdata.catalog.schemas import DemandIn, DemandReply
from govdata.config import local_tz
from govdata.db import utcnow
from govdata.errors import Forbidden, NotFound, ValidationFailed
from govdata.orgs import service as orgs
from govdata.principal import Principal, require_role

REPLY_DAYS = 15  # 答复期限, calendar days


def create(db: Session, principal: Principal, data: DemandIn) -> OpenDemand:
    require_role(principal)
    if data.target_org and orgs.find_by_code(db, data.target_org) is None:
        raise ValidationFailed(f"责任部门不存在:{data.target_org}", code="org_not_found")
    demand = OpenDemand(title=data.title, description=data.description, requester=data.requester,
                        contact=data.contact, target_org=data.target_org, status="pending",
                        due_date=(utcnow().astimezone(local_tz()) + timedelta(days=REPLY_DAYS)).date())
    db.add(demand)
    db.flush()
    actionlog.record(db, principal, "demand.create", target_type="open_demand", target_id=str(demand.id),
                     summary=f"登记开放需求 {demand.title}")
    db.commit()
    return demand


def reply(db: Session, principal: Principal, demand_id: int, data: DemandReply) -> OpenDemand:
    demand = db.get(OpenDemand, demand_id)
    if demand is None:
        raise NotFound(f"开放需求不存在:{demand_id}", code="demand_not_found")
    if not principal.is_platform_admin:
        require_role(principal, "dept_admin")
        if principal.org_code != demand.target_org:
            raise Forbidden("只能答复本部门负责的开放需求", code="other_department")
    if data.status not in ("accepted", "rejected", "opened"):
        raise ValidationFailed(f"办理状态无效:{data.status}(应为 accepted、rejected 或 opened)",
                               code="invalid_demand_status")
    if data.status == "opened":
        doc = projection.find_published(db, data.resource_code) if data.resource_code else None
        if doc is None or not doc["open"]:
            raise ValidationFailed("标记为已开放时须填写已发布且向社会开放的资源代码", code="resource_required")
    demand.status, demand.reply, demand.replied_at = data.status, data.reply, utcnow()
    demand.resource_code = data.resource_code if data.status == "opened" else None
    actionlog.record(db, principal, "demand.reply", target_type="open_demand", target_id=str(demand.id),
                     summary=f"答复开放需求 {demand.title}", after={"status": data.status, "reply": data.reply})
    db.commit()
    return demand
