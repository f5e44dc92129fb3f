"""Grants (授权): what a consumer department may read of a resource, until when, how much a day.

The gateway asks ``check_call`` on every call: no cache, so a revocation takes effect on the next call. Use
per grant and day is counted by an audit batch hook (``sharing.stats``), in the same transaction as the calls'
audit records, so a quota check made after an answer was sent already counts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.config import get_settings, local_tz
from govdata.db import utcnow
from govdata.errors import AppError, Conflict, Forbidden, NotFound
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.sharing import trail
from govdata.sharing.models import Grant, GrantUsage, SharingRequest

_G = Grant.__table__.c
_U = GrantUsage.__table__


class Refused(AppError):
    """A gateway call refused by the sharing rules (403 with a stable code)."""

    status = 403


@dataclass(frozen=True)
class CallGrant:
    id: int
    items: list[str]
    unmasked_items: list[str]
    row_scope: dict[str, list[str]]
    daily_quota: int | None


def issue(db: Session, req: SharingRequest) -> Grant:
    """A new grant from an approved request; an earlier active grant of the same pair is superseded."""
    now = utcnow()
    db.execute(update(Grant).where(Grant.consumer_org_id == req.consumer_org_id,
                                   Grant.resource_code == req.resource_code, Grant.status == "active")
               .values(status="superseded", revoked_at=now, revoke_reason=f"由申请 {req.id} 的新授权替代"))
    grant = Grant(request_id=req.id, resource_code=req.resource_code, provider_org_id=req.provider_org_id,
                  consumer_org_id=req.consumer_org_id, items=list(req.items), unmasked_items=list(req.unmasked_items),
                  row_scope=dict(req.row_scope), purpose=req.purpose, matter=req.matter,
                  daily_quota=req.daily_quota, status="active", starts_at=now, created_at=now,
                  expires_at=now + timedelta(days=req.days))
    db.add(grant)
    db.flush()
    return grant


def today() -> str:
    return datetime.now(local_tz()).date().isoformat()


# Built once: constructing a statement costs more than running it, and these run on every gateway call.
_CALL_GRANTS = (select(_G.id, _G.status, _G.expires_at, _G["items"], _G.unmasked_items, _G.row_scope,
                       _G.daily_quota)
                .where(_G.consumer_org_id == bindparam("org"), _G.resource_code == bindparam("code"))
                .order_by(_G.id.desc()).limit(5))
_USED_TODAY = select(_U.c.calls).where(_U.c.grant_id == bindparam("grant"), _U.c.day == bindparam("day"))


def check_call(db: Session, consumer_org_id: int, code: str) -> CallGrant:
    """The grant a call runs under, or a refusal: not_granted, grant_revoked, grant_expired, quota_exceeded."""
    rows = db.connection().execute(_CALL_GRANTS, {"org": consumer_org_id, "code": code}).all()
    if not rows:
        raise Refused(f"本部门未获得信息资源 {code} 的共享授权,请先申请", code="not_granted")
    now = utcnow()
    active = [r for r in rows if r.status == "active"]
    if not active:
        raise Refused(f"信息资源 {code} 的共享授权已被撤销", code="grant_revoked")
    grant = active[0]
    if grant.expires_at <= now:
        raise Refused(f"信息资源 {code} 的共享授权已过期,请申请续期", code="grant_expired")
    if grant.daily_quota is not None:
        used = db.connection().scalar(_USED_TODAY, {"grant": grant.id, "day": today()}) or 0
        if used >= grant.daily_quota:
            raise Refused(f"今日调用已达授权额度({grant.daily_quota} 次)", code="quota_exceeded")
    return CallGrant(grant.id, list(grant.items), list(grant.unmasked_items or []), dict(grant.row_scope or {}),
                     grant.daily_quota)


# ---- managing grants --------------------------------------------------------------------------------

def get(db: Session, principal: Principal, grant_id: int) -> Grant:
    grant = db.get(Grant, grant_id)
    visible = grant is not None and (principal.has_role("auditor") or principal.org_id in
                                     (grant.consumer_org_id, grant.provider_org_id))
    if not visible:
        raise NotFound(f"授权不存在:{grant_id}", code="grant_not_found")
    return grant


def revoke(db: Session, principal: Principal, grant_id: int, reason: str = "") -> Grant:
    grant = get(db, principal, grant_id)
    provider_admin = principal.org_id == grant.provider_org_id and principal.role == "dept_admin"
    if not (provider_admin or principal.is_platform_admin):
        raise Forbidden("只有提供部门的数据管理员或大数据局管理员可以撤销授权", code="forbidden")
    if grant.status != "active":
        raise Conflict("该授权已撤销", code="grant_revoked")
    grant.status, grant.revoked_at, grant.revoked_by, grant.revoke_reason = "revoked", utcnow(), principal.name, reason
    trail.record_grant(db, principal, grant, "revoke", reason)
    actionlog.record(db, principal, "sharing.revoke", target_type="sharing_grant", target_id=str(grant.id),
                     summary=f"撤销 {grant.resource_code} 的授权", after={"reason": reason})
    db.commit()
    return grant


def list_grants(db: Session, principal: Principal, *, side: str | None = None, status: str | None = None,
                resource: str | None = None, expiring_within: int | None = None) -> list[Grant]:
    stmt = select(Grant)
    if side == "consumer":
        stmt = stmt.where(Grant.consumer_org_id == principal.org_id)
    elif side == "provider":
        stmt = stmt.where(Grant.provider_org_id == principal.org_id)
    if not principal.has_role("auditor"):
        stmt = stmt.where(or_(Grant.consumer_org_id == principal.org_id, Grant.provider_org_id == principal.org_id))
    if status:
        stmt = stmt.where(Grant.status == status)
    if resource:
        stmt = stmt.where(Grant.resource_code == resource)
    if expiring_within is not None:
        stmt = stmt.where(Grant.status == "active", Grant.expires_at > utcnow(),
                          Grant.expires_at <= utcnow() + timedelta(days=expiring_within))
    return list(db.scalars(stmt.order_by(Grant.id.desc()).limit(1000)))


def usage(db: Session, grant_ids: list[int], day: str | None = None) -> dict[int, int]:
    if not grant_ids:
        return {}
    rows = db.execute(select(_U.c.grant_id, _U.c.calls).where(_U.c.grant_id.in_(grant_ids),
                                                              _U.c.day == (day or today())))
    return {r.grant_id: r.calls for r in rows}


def grant_status(grant: Grant, now: datetime | None = None) -> str:
    if grant.status != "active":
        return grant.status
    return "expired" if grant.expires_at <= (now or utcnow()) else "active"


def grant_dicts(db: Session, rows: list[Grant]) -> list[dict[str, Any]]:
    codes = orgs.codes_by_id(db, {g.provider_org_id for g in rows} | {g.consumer_org_id for g in rows})
    used = usage(db, [g.id for g in rows])
    now, notice = utcnow(), timedelta(days=get_settings().sharing_expiry_notice_days)
    out = []
    for g in rows:
        status = grant_status(g, now)
        out.append({
            "id": g.id, "request_id": g.request_id, "resource": g.resource_code,
            "provider": codes.get(g.provider_org_id), "consumer": codes.get(g.consumer_org_id),
            "items": g.items, "unmasked_items": g.unmasked_items, "row_scope": g.row_scope, "purpose": g.purpose,
            "matter": g.matter, "daily_quota": g.daily_quota, "calls_today": used.get(g.id, 0), "status": status,
            "starts_at": g.starts_at.isoformat(), "expires_at": g.expires_at.isoformat(),
            "expiring_soon": status == "active" and g.expires_at - now <= notice,
            "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None, "revoked_by": g.revoked_by,
            "revoke_reason": g.revoke_reason,
        })
    return out
