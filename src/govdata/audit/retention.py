"""Retention: with ``GOVDATA_AUDIT_RETENTION_DAYS`` > 0, once a day a background job archives every checkpointed
batch older than that many days to the data store (:func:`govdata.audit.archive.archive`). 0 keeps everything.

The schedule runs every minute on every worker; the job's dedupe key (the local date) makes it one job a day
across all servers.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from govdata.config import get_settings, local_tz
from govdata.db import new_session
from govdata.jobs import service as jobs
from govdata.principal import Principal

JOB_KIND = "audit.archive"
SCHEDULER = Principal(kind="system", name="scheduler", role="operator")
_enqueued: dict[str, str] = {}  # the last day this process queued the job (saves an insert a minute)


def cutoff(days: int, now: datetime | None = None) -> datetime:
    """Local midnight ``days`` days ago: records before it are archived."""
    today = (now or datetime.now(local_tz())).astimezone(local_tz()).date()
    return datetime.combine(today - timedelta(days=days), time(), tzinfo=local_tz())


def enqueue_due_archive(db: Session) -> int:
    """Schedule callback: queue today's archiving job unless it is queued already."""
    days = get_settings().audit_retention_days
    if days <= 0:
        return 0
    day = datetime.now(local_tz()).date().isoformat()
    if _enqueued.get("day") == day:
        return 0
    job = jobs.enqueue(db, SCHEDULER, JOB_KIND, {"before": cutoff(days).isoformat()}, target="audit",
                       dedupe_key=f"{JOB_KIND}:{day}")
    _enqueued["day"] = day
    return 1 if job is not None else 0


def run_archive(ctx: jobs.JobContext) -> dict[str, Any]:
    from govdata.audit.archive import archive

    before = datetime.fromisoformat(ctx.payload["before"])
    with new_session() as db:
        names = archive(db, before)
    return {"before": before.isoformat(), "files": len(names), "first": names[0] if names else None,
            "last": names[-1] if names else None}


jobs.register(JOB_KIND, run_archive)
jobs.register_schedule(enqueue_due_archive)
