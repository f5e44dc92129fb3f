"""Reading the trail: who may see which records, listing with filters, one record, its proof.

Auditors and bureau administrators see every record. Anyone else — a person or a department's system — sees
the records of their own organisation as consumer ("my calls") or as provider ("who read my data"). A record
they may not see does not exist for them: 404 ``audit_record_not_found``, never 403, so that request ids of other
departments cannot be probed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from govdata.audit.models import AuditRecord
from govdata.audit.proofs import not_found, record_proof
from govdata.config import local_tz
from govdata.principal import Principal

MAX_PAGE_SIZE = 500


def sees_everything(principal: Principal) -> bool:
    return principal.has_role("auditor")


def can_see(principal: Principal, consumer_org: str | None, provider_org: str | None) -> bool:
    org = principal.org_code
    return sees_everything(principal) or (org is not None and org in (consumer_org, provider_org))


def _visible(principal: Principal):
    if sees_everything(principal):
        return None
    if not principal.org_code:
        return false()
    return or_(AuditRecord.consumer_org == principal.org_code, AuditRecord.provider_org == principal.org_code)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=local_tz())


def list_records(db: Session, principal: Principal, *, resource: str | None = None, consumer_org: str | None = None,
                 provider_org: str | None = None, org: str | None = None, kind: str | None = None,
                 outcome: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 page: int = 1, page_size: int = 50) -> tuple[list[AuditRecord], int]:
    """Visible records, newest first, and how many match. ``org``: consumer or provider; ``outcome``: a code,
    or "refused" for every outcome but "ok"; ``since`` inclusive, ``until`` exclusive (naive: local time)."""
    conditions = [c for c in (
        _visible(principal),
        AuditRecord.resource == resource if resource else None,
        AuditRecord.consumer_org == consumer_org if consumer_org else None,
        AuditRecord.provider_org == provider_org if provider_org else None,
        or_(AuditRecord.consumer_org == org, AuditRecord.provider_org == org) if org else None,
        AuditRecord.kind == kind if kind else None,
        (AuditRecord.outcome != "ok" if outcome == "refused" else AuditRecord.outcome == outcome) if outcome else None,
        AuditRecord.at >= _aware(since) if since else None,
        AuditRecord.at < _aware(until) if until else None,
    ) if c is not None]
    page, page_size = max(1, page), min(max(1, page_size), MAX_PAGE_SIZE)
    total = db.scalar(select(func.count()).select_from(AuditRecord).where(*conditions)) or 0
    rows = db.scalars(select(AuditRecord).where(*conditions).order_by(AuditRecord.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    return list(rows), total


def get_record(db: Session, principal: Principal, request_id: str) -> AuditRecord:
    record = db.scalars(select(AuditRecord).where(AuditRecord.request_id == request_id)).first()
    if record is None or not can_see(principal, record.consumer_org, record.provider_org):
        raise not_found(request_id)
    return record


def visible_proof(db: Session, principal: Principal, request_id: str) -> dict[str, Any]:
    """The inclusion proof of a record the principal may see (archived records: see govdata.audit.archive)."""
    return record_proof(db, get_record(db, principal, request_id))


def record_dict(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.id, "request_id": record.request_id, "at": record.at.isoformat(), "kind": record.kind,
        "outcome": record.outcome, "consumer_org": record.consumer_org, "consumer_system": record.consumer_system,
        "consumer_person": record.consumer_person, "provider_org": record.provider_org,
        "resource": record.resource, "items": record.items, "query": record.query, "purpose": record.purpose,
        "rows": record.rows, "response_hash": record.response_hash, "extra": record.extra, "alg": record.alg,
        "prev_hash": record.prev_hash.hex(), "hash": record.hash.hex(),
    }
