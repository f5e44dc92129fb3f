"""开放需求: demands from the public to open data. Anyone files one on the portal (``file_public``), or the bureau
records one on the public's behalf (``create``); the responsible department answers. A demand filed without a
department goes to the bureau, which assigns one (``assign``) or answers it itself. The public list (开放需求清单)
shows every demand with its reply and outcome, never the requester's contact."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.catalog import projection
from govdata.catalog.models import OpenDemand
from govdata.catalog.schemas import DemandIn, DemandReply, PublicDemandIn
from govdata.config import local_tz
from govdata.db import utcnow
from govdata.errors import Forbidden, NotFound, ValidationFailed
from govdata.orgs import service as orgs
from govdata.principal import Principal, require_role

REPLY_DAYS = 15  # 答复期限, calendar days
RELATED_LABEL = "相关数据:"  # how a public demand's related dataset is kept at the end of its description
STATUSES = {"pending": "待答复", "accepted": "已受理", "rejected": "不予开放", "opened": "已开放"}


def _due() -> date:
    return (utcnow().astimezone(local_tz()) + timedelta(days=REPLY_DAYS)).date()


def create(db: Session, principal: Principal, data: DemandIn) -> OpenDemand:
    require_role(principal)
    if data.target_org and orgs.find_by_code(db, data.target_org) is None:
        raise ValidationFailed(f"责任部门不存在:{data.target_org}", code="org_not_found")
    demand = OpenDemand(title=data.title, description=data.description, requester=data.requester,
                        contact=data.contact, target_org=data.target_org, status="pending",
                        due_date=_due())
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


def file_public(db: Session, data: PublicDemandIn, attempt: Principal) -> OpenDemand:
    """A demand filed by anyone on the portal, stored as typed (pages escape it). With a department it goes to
    that department; without, to the bureau to assign. Commits."""
    if data.target_org and orgs.find_by_code(db, data.target_org) is None:
        raise ValidationFailed(f"责任部门不存在:{data.target_org}", code="org_not_found")
    description = data.description + (f"\n\n{RELATED_LABEL}{data.related}" if data.related else "")
    demand = OpenDemand(title=data.title, description=description, requester=data.requester, contact=data.contact,
                        target_org=data.target_org or None, status="pending", due_date=_due())
    db.add(demand)
    db.flush()
    actionlog.record(db, attempt, "demand.file", target_type="open_demand", target_id=str(demand.id),
                     summary=f"公众提出开放需求 {demand.title}")
    db.commit()
    return demand


def assign(db: Session, principal: Principal, demand_id: int, target_org: str) -> OpenDemand:
    """The bureau sends a demand (one filed without a department, or a misdirected one still pending) to a
    department. Commits."""
    require_role(principal)
    demand = db.get(OpenDemand, demand_id)
    if demand is None:
        raise NotFound(f"开放需求不存在:{demand_id}", code="demand_not_found")
    if demand.status != "pending":
        raise ValidationFailed("已答复的开放需求不能再分派", code="demand_already_answered")
    if orgs.find_by_code(db, target_org) is None:
        raise ValidationFailed(f"责任部门不存在:{target_org}", code="org_not_found")
    before = {"target_org": demand.target_org}
    demand.target_org = target_org
    actionlog.record(db, principal, "demand.assign", target_type="open_demand", target_id=str(demand.id),
                     summary=f"分派开放需求 {demand.title}", before=before, after={"target_org": target_org})
    db.commit()
    return demand


def overdue(demand: OpenDemand, today: date | None = None) -> bool:
    """Still unanswered after its reply deadline (已超期)."""
    today = today or utcnow().astimezone(local_tz()).date()
    return demand.status == "pending" and demand.due_date is not None and demand.due_date < today


def public_dict(demand: OpenDemand, names: dict[str, str], today: date | None = None) -> dict[str, Any]:
    """A demand as the public list shows it: never the contact."""
    return {"id": demand.id, "title": demand.title, "description": demand.description,
            "requester": demand.requester, "target_org": demand.target_org,
            "target_name": names.get(demand.target_org or "", demand.target_org or ""),
            "status": demand.status, "status_label": STATUSES.get(demand.status, demand.status),
            "reply": demand.reply, "resource_code": demand.resource_code, "created_at": demand.created_at,
            "due_date": demand.due_date, "replied_at": demand.replied_at, "overdue": overdue(demand, today)}


def public_list(db: Session, *, status: str | None = None, org: str | None = None, unassigned: bool = False,
                limit: int = 500) -> list[dict[str, Any]]:
    """The 开放需求清单, newest first."""
    stmt = select(OpenDemand).order_by(OpenDemand.created_at.desc(), OpenDemand.id.desc())
    if status:
        if status not in STATUSES:
            raise ValidationFailed(f"办理状态无效:{status}", code="invalid_demand_status")
        stmt = stmt.where(OpenDemand.status == status)
    if org:
        stmt = stmt.where(OpenDemand.target_org == org)
    if unassigned:
        stmt = stmt.where(or_(OpenDemand.target_org.is_(None), OpenDemand.target_org == ""))
    names = orgs.names_by_code(db)
    today = utcnow().astimezone(local_tz()).date()
    return [public_dict(d, names, today) for d in db.scalars(stmt.limit(limit))]


def public_get(db: Session, demand_id: int) -> dict[str, Any]:
    demand = db.get(OpenDemand, demand_id)
    if demand is None:
        raise NotFound(f"开放需求不存在:{demand_id}", code="demand_not_found")
    return public_dict(demand, orgs.names_by_code(db))
