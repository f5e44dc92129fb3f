"""The sharing workflow (数据调度: 申请、审批、校核): apply for a resource, decide, verify, grant.

无条件共享 is granted at once (and still recorded); 有条件共享 goes to the provider department's data admin
(within ``sharing_decide_working_days``), then to a bureau admin (校核, ``sharing_verify_working_days``); either can
approve, reject with reasons or send it back for changes, and the provider may narrow what is granted.
不予共享 cannot be applied for: the answer cites the negative-list basis. Every step is kept in the request's
history, written to the action log and to the tamper-evident audit trail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.catalog.projection import published
from govdata.config import get_settings
from govdata.db import utcnow
from govdata.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.sharing import grants, trail
from govdata.sharing.models import OPEN_STATUSES, SharingEvent, SharingRequest
from govdata.sharing.schemas import Decision, RequestAmend, RequestCreate
from govdata.sharing.workdays import add_working_days

APPLICANT_ROLES = ("dept_admin", "dept_staff")
STATUS_LABELS = {
    "pending_provider": "待提供部门审核", "pending_bureau": "待大数据局校核", "changes_requested": "退回修改",
    "granted": "已授权", "rejected": "未通过", "withdrawn": "已撤回",
}


# ---- checks on what is asked for ------------------------------------------------------------------

def item_keys(doc: dict[str, Any]) -> list[str]:
    return [item["key"] for item in doc["items"]]


def check_items(doc: dict[str, Any], items: list[str], field: str = "items") -> list[str]:
    """``items`` without repeats, in the resource's order; unknown keys are a 422 naming them."""
    known = item_keys(doc)
    unknown = sorted(set(items) - set(known))
    if unknown:
        raise ValidationFailed(f"信息资源 {doc['code']} 没有这些信息项:{'、'.join(unknown)}", code="unknown_item",
                               details={"field": field, "items": unknown})
    wanted = set(items)
    return [key for key in known if key in wanted]


def check_scope(doc: dict[str, Any], scope: dict[str, list[str]]) -> dict[str, list[str]]:
    check_items(doc, list(scope), "row_scope")
    clean: dict[str, list[str]] = {}
    for key, values in scope.items():
        kept = sorted({str(v).strip() for v in values if str(v).strip()})
        if not kept or len(kept) > 1000:
            raise ValidationFailed(f"行范围 {key} 需要 1 到 1000 个取值", code="invalid_row_scope",
                                   details={"field": "row_scope", "item": key})
        clean[key] = kept
    return clean


def _check_days(days: int) -> None:
    limit = get_settings().sharing_max_days
    if days > limit:
        raise ValidationFailed(f"申请期限不能超过 {limit} 天", code="term_too_long", details={"field": "days"})


def _shareable(db: Session, code: str) -> dict[str, Any]:
    doc = published(db, code)
    if doc["share_type"] == "none":
        basis = doc.get("share_basis") or "未注明"
        raise Forbidden(f"信息资源 {code} 属于不予共享类,不能申请。依据:{basis}", code="not_shareable",
                        details={"basis": basis})
    return doc


# ---- applying ---------------------------------------------------------------------------------------

def _require_applicant(principal: Principal) -> None:
    person = principal.kind in ("user", "cli") and principal.org_id is not None
    if not person or not principal.has_role(*APPLICANT_ROLES):
        raise Forbidden("只有部门数据管理员或工作人员可以代表本部门申请共享", code="forbidden")


def create_request(db: Session, principal: Principal, data: RequestCreate) -> SharingRequest:
    _require_applicant(principal)
    doc = _shareable(db, data.resource)
    provider = orgs.get_by_code(db, doc["provider"])
    if provider.id == principal.org_id:
        raise Conflict("本部门的信息资源无需申请共享", code="own_resource")
    if _open_request(db, principal.org_id, doc["code"]) is not None:
        raise Conflict("本部门对该资源已有办理中的申请,请等待办结或撤回后再申请", code="request_pending")
    items = check_items(doc, data.items)
    unmasked = check_items(doc, data.unmasked_items, "unmasked_items")
    if set(unmasked) - set(items):
        raise ValidationFailed("申请不脱敏的信息项必须是申请的信息项", code="unknown_item",
                               details={"field": "unmasked_items"})
    _check_days(data.days)
    now = utcnow()
    req = SharingRequest(
        resource_code=doc["code"], provider_org_id=provider.id, consumer_org_id=principal.org_id,
        share_type=doc["share_type"], items=items, unmasked_items=unmasked,
        row_scope=check_scope(doc, data.row_scope), purpose=data.purpose, matter=data.matter, basis=data.basis,
        days=data.days, daily_quota=data.daily_quota, status="pending_provider", created_by=principal.name,
        created_at=now, updated_at=now,
        deadline_at=add_working_days(now, get_settings().sharing_decide_working_days))
    db.add(req)
    db.flush()
    _event(db, principal, req, "submit", stage="new")
    if doc["share_type"] == "unconditional":
        _grant(db, principal, req, "无条件共享,自动授权")
    trail.record_step(db, principal, req, "submit", doc)
    actionlog.record(db, principal, "sharing.request", target_type="sharing_request", target_id=str(req.id),
                     summary=f"申请共享 {doc['code']} {doc['name']}", after={"items": items, "days": data.days})
    db.commit()
    return req


def _open_request(db: Session, consumer_org_id: int, code: str) -> SharingRequest | None:
    return db.scalar(select(SharingRequest).where(SharingRequest.consumer_org_id == consumer_org_id,
                                                  SharingRequest.resource_code == code,
                                                  SharingRequest.status.in_(OPEN_STATUSES)).limit(1))


def _grant(db: Session, principal: Principal, req: SharingRequest, comment: str) -> None:
    grant = grants.issue(db, req)
    req.status, req.grant_id, req.closed_at, req.deadline_at = "granted", grant.id, utcnow(), None
    _event(db, principal, req, "grant", stage=req.status, comment=comment, changes={"grant_id": grant.id})


def _event(db: Session, principal: Principal, req: SharingRequest, action: str, *, stage: str | None = None,
           comment: str = "", changes: dict[str, Any] | None = None) -> None:
    db.add(SharingEvent(request_id=req.id, actor=principal.name, actor_org=principal.org_code,
                        stage=stage or req.status, action=action, comment=comment, changes=changes or {}))
    req.updated_at = utcnow()


# ---- deciding ---------------------------------------------------------------------------------------

def _require_decider(principal: Principal, req: SharingRequest) -> None:
    if req.status == "pending_provider":
        if principal.org_id != req.provider_org_id or principal.role not in ("dept_admin", "bureau_admin"):
            raise Forbidden("只有提供部门的数据管理员可以审核该申请", code="not_decider")
    elif req.status == "pending_bureau":
        if not principal.is_platform_admin:
            raise Forbidden("只有大数据局管理员可以校核该申请", code="not_decider")
    else:
        raise Conflict(f"申请当前状态为“{STATUS_LABELS[req.status]}”,不能审批", code="not_pending")


def decide(db: Session, principal: Principal, request_id: int, data: Decision) -> SharingRequest:
    req = _locked(db, principal, request_id)
    _require_decider(principal, req)
    if data.decision != "approve" and not data.comment.strip():
        raise ValidationFailed("驳回或退回修改时必须说明理由", code="comment_required", details={"field": "comment"})
    stage = req.status
    if data.decision == "approve":
        changes = _narrow(db, req, data) if stage == "pending_provider" else {}
        _event(db, principal, req, "approve", stage=stage, comment=data.comment, changes=changes)
        if stage == "pending_provider":
            req.status, req.provider_decided_at = "pending_bureau", utcnow()
            req.deadline_at = add_working_days(utcnow(), get_settings().sharing_verify_working_days)
        else:
            _grant(db, principal, req, "大数据局校核通过")
    elif data.decision == "reject":
        _event(db, principal, req, "reject", stage=stage, comment=data.comment)
        req.status, req.closed_at, req.deadline_at = "rejected", utcnow(), None
        req.provider_decided_at = req.provider_decided_at or utcnow()
    else:
        _event(db, principal, req, "request_changes", stage=stage, comment=data.comment)
        req.status, req.deadline_at = "changes_requested", None
    trail.record_step(db, principal, req, data.decision, published(db, req.resource_code), comment=data.comment)
    actionlog.record(db, principal, f"sharing.{data.decision}", target_type="sharing_request",
                     target_id=str(req.id), summary=f"{STATUS_LABELS.get(stage, stage)}:{data.decision}")
    db.commit()
    return req


def _narrow(db: Session, req: SharingRequest, data: Decision) -> dict[str, Any]:
    """The provider approves less than was asked: fewer items, a shorter term, a lower quota."""
    changes: dict[str, Any] = {}
    if data.items is not None and set(data.items) != set(req.items):
        _no_wider(set(data.items) - set(req.items), "items", "审核只能缩减申请的信息项,不能增加")
        req.items = changes["items"] = [key for key in req.items if key in set(data.items)]
        req.unmasked_items = [key for key in req.unmasked_items if key in set(req.items)]
    if data.unmasked_items is not None and set(data.unmasked_items) != set(req.unmasked_items):
        _no_wider(set(data.unmasked_items) - set(req.unmasked_items), "unmasked_items", "审核只能缩减不脱敏的信息项")
        req.unmasked_items = changes["unmasked_items"] = [k for k in req.unmasked_items if k in data.unmasked_items]
    if data.days is not None and data.days != req.days:
        _no_wider(data.days > req.days, "days", "审核只能缩短申请期限")
        req.days = changes["days"] = data.days
    if data.daily_quota is not None and data.daily_quota != req.daily_quota:
        _no_wider(req.daily_quota is not None and data.daily_quota > req.daily_quota, "daily_quota",
                  "审核只能降低日调用量")
        req.daily_quota = changes["daily_quota"] = data.daily_quota
    return changes


def _no_wider(wider: Any, field: str, message: str) -> None:
    if wider:
        raise ValidationFailed(message, code="cannot_widen", details={"field": field})


# ---- the applicant's changes ------------------------------------------------------------------------

def _require_own(principal: Principal, req: SharingRequest) -> None:
    if principal.org_id != req.consumer_org_id or not principal.has_role(*APPLICANT_ROLES):
        raise Forbidden("只有申请部门可以修改或撤回该申请", code="forbidden")


def amend(db: Session, principal: Principal, request_id: int, data: RequestAmend) -> SharingRequest:
    req = _locked(db, principal, request_id)
    _require_own(principal, req)
    if req.status != "changes_requested":
        raise Conflict("只有被退回修改的申请可以修改后重新提交", code="not_amendable")
    doc = _shareable(db, req.resource_code)
    changes = data.model_dump(exclude_unset=True, exclude={"comment"})
    if "items" in changes:
        req.items = check_items(doc, changes["items"])
    if "unmasked_items" in changes:
        req.unmasked_items = check_items(doc, changes["unmasked_items"], "unmasked_items")
    req.unmasked_items = [key for key in req.unmasked_items if key in set(req.items)]
    if "row_scope" in changes:
        req.row_scope = check_scope(doc, changes["row_scope"] or {})
    if "days" in changes:
        _check_days(changes["days"])
    for field in ("purpose", "matter", "basis", "days", "daily_quota"):
        if field in changes:
            setattr(req, field, changes[field])
    req.status = "pending_provider"
    req.deadline_at = add_working_days(utcnow(), get_settings().sharing_decide_working_days)
    _event(db, principal, req, "amend", stage="changes_requested", comment=data.comment, changes=changes)
    trail.record_step(db, principal, req, "amend", doc, comment=data.comment)
    actionlog.record(db, principal, "sharing.amend", target_type="sharing_request", target_id=str(req.id))
    db.commit()
    return req


def withdraw(db: Session, principal: Principal, request_id: int, comment: str = "") -> SharingRequest:
    req = _locked(db, principal, request_id)
    _require_own(principal, req)
    if req.status not in OPEN_STATUSES:
        raise Conflict("该申请已办结,不能撤回", code="not_pending")
    _event(db, principal, req, "withdraw", comment=comment)
    req.status, req.closed_at, req.deadline_at = "withdrawn", utcnow(), None
    trail.record_step(db, principal, req, "withdraw", published(db, req.resource_code), comment=comment)
    actionlog.record(db, principal, "sharing.withdraw", target_type="sharing_request", target_id=str(req.id))
    db.commit()
    return req


def renew(db: Session, principal: Principal, grant_id: int, days: int, comment: str = "") -> SharingRequest:
    """Apply to extend a grant: granted at once for unconditional resources, else decided like a new request."""
    grant = grants.get(db, principal, grant_id)
    if principal.org_id != grant.consumer_org_id or not principal.has_role(*APPLICANT_ROLES):
        raise Forbidden("只有被授权部门可以申请续期", code="forbidden")
    if grant.status != "active":
        raise Conflict("已撤销的授权不能续期,请重新申请", code="grant_revoked")
    if _open_request(db, grant.consumer_org_id, grant.resource_code) is not None:
        raise Conflict("本部门对该资源已有办理中的申请", code="request_pending")
    original = db.get(SharingRequest, grant.request_id)
    data = RequestCreate(resource=grant.resource_code, items=grant.items, purpose=grant.purpose,
                         matter=grant.matter, basis=original.basis if original else grant.purpose, days=days,
                         daily_quota=grant.daily_quota, unmasked_items=grant.unmasked_items,
                         row_scope=grant.row_scope)
    req = create_request(db, principal, data)
    req.renews_grant_id = grant.id
    _event(db, principal, req, "renew", stage=req.status, comment=comment, changes={"renews_grant_id": grant.id})
    db.commit()
    return req


# ---- reading ----------------------------------------------------------------------------------------

def _visible(principal: Principal, req: SharingRequest) -> bool:
    return principal.has_role("auditor") or principal.org_id in (req.consumer_org_id, req.provider_org_id)


def get_request(db: Session, principal: Principal, request_id: int) -> SharingRequest:
    req = db.get(SharingRequest, request_id)
    if req is None or not _visible(principal, req):
        raise NotFound(f"共享申请不存在:{request_id}", code="request_not_found")
    return req


def _locked(db: Session, principal: Principal, request_id: int) -> SharingRequest:
    req = db.scalar(select(SharingRequest).where(SharingRequest.id == request_id).with_for_update())
    if req is None or not _visible(principal, req):
        raise NotFound(f"共享申请不存在:{request_id}", code="request_not_found")
    return req


def list_requests(db: Session, principal: Principal, *, side: str | None = None, status: str | None = None,
                  resource: str | None = None, page: int = 1, page_size: int = 50
                  ) -> tuple[list[SharingRequest], int]:
    """``side``: "consumer" (what my department applied for), "provider" (what others asked of us), "todo" (what
    waits for me to decide); none: everything the principal may see."""
    stmt = select(SharingRequest)
    mine = principal.org_id
    if side == "consumer":
        stmt = stmt.where(SharingRequest.consumer_org_id == mine)
    elif side == "provider":
        stmt = stmt.where(SharingRequest.provider_org_id == mine)
    elif side == "todo":
        todo = [(SharingRequest.status == "pending_provider") & (SharingRequest.provider_org_id == mine)]
        if principal.is_platform_admin:
            todo.append(SharingRequest.status == "pending_bureau")
        stmt = stmt.where(or_(*todo))
    if not principal.has_role("auditor"):
        stmt = stmt.where(or_(SharingRequest.consumer_org_id == mine, SharingRequest.provider_org_id == mine))
    if status:
        stmt = stmt.where(SharingRequest.status == status)
    if resource:
        stmt = stmt.where(SharingRequest.resource_code == resource)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(SharingRequest.id.desc()).offset((page - 1) * page_size).limit(page_size))
    return list(rows), total


def events_of(db: Session, request_id: int) -> list[SharingEvent]:
    return list(db.scalars(select(SharingEvent).where(SharingEvent.request_id == request_id)
                           .order_by(SharingEvent.id)))


def request_dict(db: Session, req: SharingRequest, *, history: bool = False,
                 codes: dict[int, str] | None = None) -> dict[str, Any]:
    codes = codes or orgs.codes_by_id(db, {req.provider_org_id, req.consumer_org_id})
    now = utcnow()
    out: dict[str, Any] = {
        "id": req.id, "status": req.status, "status_label": STATUS_LABELS[req.status], "resource": req.resource_code,
        "provider": codes.get(req.provider_org_id), "consumer": codes.get(req.consumer_org_id),
        "share_type": req.share_type, "items": req.items, "unmasked_items": req.unmasked_items,
        "row_scope": req.row_scope, "purpose": req.purpose, "matter": req.matter, "basis": req.basis,
        "days": req.days, "daily_quota": req.daily_quota, "grant_id": req.grant_id,
        "renews_grant_id": req.renews_grant_id, "created_by": req.created_by,
        "created_at": req.created_at.isoformat(), "updated_at": req.updated_at.isoformat(),
        "deadline_at": req.deadline_at.isoformat() if req.deadline_at else None,
        "overdue": bool(req.deadline_at and req.deadline_at < now),
    }
    if history:
        out["history"] = [{"at": e.at.isoformat(), "actor": e.actor, "actor_org": e.actor_org, "stage": e.stage,
                           "action": e.action, "comment": e.comment, "changes": e.changes}
                          for e in events_of(db, req.id)]
    return out


def request_dicts(db: Session, rows: list[SharingRequest]) -> list[dict[str, Any]]:
    ids = {r.provider_org_id for r in rows} | {r.consumer_org_id for r in rows}
    codes = orgs.codes_by_id(db, ids)
    return [request_dict(db, r, codes=codes) for r in rows]
