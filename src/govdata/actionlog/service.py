"""Recording and searching administrative actions.

An action is written in the same transaction as the change it describes, so either both land or
neither does. Failed logins and refused accesses (HTTP 403 to a known person or system, recorded by the
web layer's error handler as ``access.denied``) have no change to ride on and are committed on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from govdata.actionlog.models import ActionLogEntry
from govdata.config import local_tz
from govdata.principal import Principal

_REDACTED_KEYS = {"password", "password_hash", "token", "token_hash", "secret"}


def redact(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: ("***" if k in _REDACTED_KEYS else v) for k, v in values.items()}


def record(db: Session, actor: Principal, action: str, *, target_type: str | None = None,
           target_id: str | None = None, summary: str | None = None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           outcome: str = "success") -> ActionLogEntry:
    entry = ActionLogEntry(
        actor_type=actor.kind, actor_name=actor.name, actor_org=actor.org_code, ip=actor.ip,
        user_agent=(actor.user_agent or "")[:300] or None, request_id=actor.request_id,
        action=action, outcome=outcome, target_type=target_type, target_id=target_id,
        summary=summary, before=redact(before), after=redact(after),
    )
    db.add(entry)
    return entry


def record_alone(db: Session, actor: Principal, action: str, **kwargs: Any) -> None:
    """Record and commit at once, for events with no change of their own (failed login, refusal)."""
    db.rollback()
    record(db, actor, action, **kwargs)
    db.commit()


@dataclass
class ActionFilter:
    actor: str | None = None
    action: str | None = None  # an exact action, or a prefix ending in "." (e.g. "org.")
    target_type: str | None = None
    target_id: str | None = None
    org: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None  # free text over summary, target and actor


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=local_tz())


def _filtered(f: ActionFilter) -> Select:
    stmt = select(ActionLogEntry)
    if f.actor:
        stmt = stmt.where(ActionLogEntry.actor_name == f.actor)
    if f.action:
        if f.action.endswith("."):
            stmt = stmt.where(ActionLogEntry.action.startswith(f.action, autoescape=True))
        else:
            stmt = stmt.where(ActionLogEntry.action == f.action)
    if f.target_type:
        stmt = stmt.where(ActionLogEntry.target_type == f.target_type)
    if f.target_id:
        stmt = stmt.where(ActionLogEntry.target_id == f.target_id)
    if f.org:
        stmt = stmt.where(ActionLogEntry.actor_org == f.org)
    if f.outcome:
        stmt = stmt.where(ActionLogEntry.outcome == f.outcome)
    if f.since:
        stmt = stmt.where(ActionLogEntry.at >= _aware(f.since))
    if f.until:
        stmt = stmt.where(ActionLogEntry.at < _aware(f.until))
    if f.q:
        stmt = stmt.where(or_(
            ActionLogEntry.summary.contains(f.q, autoescape=True),
            ActionLogEntry.target_id.contains(f.q, autoescape=True),
            ActionLogEntry.actor_name.contains(f.q, autoescape=True),
        ))
    return stmt


def search(db: Session, f: ActionFilter, *, page: int = 1, page_size: int = 50) -> tuple[int, list[ActionLogEntry]]:
    """Newest first. Cost: one indexed range scan for the page plus a count over the filtered set."""
    stmt = _filtered(f)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(ActionLogEntry.at.desc(), ActionLogEntry.id.desc())
        .offset((page - 1) * page_size).limit(page_size)
    ).all()
    return total, list(rows)


def recent(db: Session, limit: int = 10) -> list[ActionLogEntry]:
    return list(db.scalars(select(ActionLogEntry).order_by(ActionLogEntry.id.desc()).limit(limit)))


def as_dict(entry: ActionLogEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "at": entry.at.isoformat(), "actor_type": entry.actor_type,
        "actor": entry.actor_name, "actor_org": entry.actor_org, "ip": entry.ip,
        "user_agent": entry.user_agent, "request_id": entry.request_id, "action": entry.action,
        "outcome": entry.outcome, "target_type": entry.target_type, "target_id": entry.target_id,
        "summary": entry.summary, "before": entry.before, "after": entry.after,
    }
