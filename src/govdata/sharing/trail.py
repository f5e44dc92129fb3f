"""Sharing steps written to the tamper-evident audit trail, in the same transaction as the step itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govdata.audit import service as audit
from govdata.orgs import service as orgs
from govdata.principal import Principal


def _codes(db: Session, *org_ids: int) -> dict[int, str]:
    return orgs.codes_by_id(db, set(org_ids))


def record_step(db: Session, principal: Principal, req: Any, action: str, doc: dict[str, Any],
                comment: str = "") -> None:
    """One sharing decision (submit, approve, reject, request_changes, amend, withdraw) as an audit record."""
    codes = _codes(db, req.consumer_org_id, req.provider_org_id)
    audit.append(db, kind="sharing.decision", outcome=action, consumer_org=codes.get(req.consumer_org_id),
                 provider_org=codes.get(req.provider_org_id), consumer_person=principal.name,
                 resource=doc["code"], items=list(req.items), purpose=req.purpose, rows=0,
                 query={"request": req.id, "status": req.status},
                 extra={"actor_org": principal.org_code, "comment": comment, "grant_id": req.grant_id,
                        "matter": req.matter})


def record_grant(db: Session, principal: Principal, grant: Any, action: str, comment: str = "") -> None:
    codes = _codes(db, grant.consumer_org_id, grant.provider_org_id)
    audit.append(db, kind="sharing.decision", outcome=action, consumer_org=codes.get(grant.consumer_org_id),
                 provider_org=codes.get(grant.provider_org_id), consumer_person=principal.name,
                 resource=grant.resource_code, items=list(grant.items), purpose=grant.purpose, rows=0,
                 query={"grant": grant.id}, extra={"actor_org": principal.org_code, "comment": comment})
