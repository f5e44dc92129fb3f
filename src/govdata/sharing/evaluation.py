"""Monthly evaluation of sharing (评价、激励): how well each provider department answers requests and serves its
data, and how each consumer department uses what it was granted.

Reads the requests received in the month (with their history, for deadlines), the grants active in it, the daily
call statistics (``sharing_call_stats``, ``sharing_grant_usage``) and the quality ranking — never the audit trail.
Months are calendar months in the platform time zone (``GOVDATA_TIMEZONE``).

Provider department, over the requests it received in the month:

- *decided*: conditional requests its data admin decided (``provider_decided_at`` set); hours to decide are
  ``created_at`` → ``provider_decided_at`` (average and median), conditional requests only.
- *overdue*: conditional requests whose provider step (from submission or amendment) ended, or is still open, after
  ``sharing_decide_working_days`` working days (Chinese holidays and 调休 counted).
- *on-time rate* = 100 × (decided or overdue − overdue) / (decided or overdue): of the requests whose deadline
  has been met or missed, the share met.
- *approval rate* = 100 × granted / (granted + rejected); withdrawn and open requests are left out.
- *quality*: the department's current score in the quality ranking (``ingest.dashboard.department_ranking``).
- *availability* = 100 × ok / (ok + provider failures), over calls to its resources that passed authorisation:
  outcomes ``provider_*`` and ``no_published_version`` are failures; refusals (not_granted, quota_exceeded …) are
  the consumer's and do not count.
- *latency*: average (``ms_total`` / calls) and p95 estimated from the latency buckets of the served calls (ok and
  provider failures) the way Prometheus' ``histogram_quantile`` does: linear within the bucket that holds the 95th
  percentile, the last finite bound (1000 ms) when it falls in the open bucket.
- *score* = weighted mean of the four 0–100 figures present, weights ``WEIGHTS``: on-time 30 %, approval 20 %,
  quality 30 %, availability 20 %. A figure without data (no requests, no calls) is left out and the other weights
  are scaled up to 100 %; a department with none has no score. Rank: by score, ties share a rank, no score last.

Consumer department: *held* — resources it held an active grant of at any time in the month; *used* — of those,
resources it called successfully; *use rate* = 100 × used / held; calls, rows received, refusals by code; *quota
peak* — the highest share of a grant's daily quota used on one day of the month (percent).
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.config import get_settings, local_tz
from govdata.db import utcnow
from govdata.errors import ValidationFailed
from govdata.ingest import dashboard
from govdata.orgs import service as orgs
from govdata.sharing.models import LATENCY_BUCKETS, CallStat, Grant, GrantUsage, SharingEvent, SharingRequest
from govdata.sharing.workdays import add_working_days

WEIGHTS = {"on_time": 0.3, "approval": 0.2, "quality": 0.3, "availability": 0.2}
PROVIDER_FAILURE_PREFIX = "provider_"
PROVIDER_FAILURES = ("no_published_version",)
ENTER_PROVIDER = ("submit", "amend")
LEAVE_PROVIDER = ("approve", "reject", "request_changes", "withdraw")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_BUCKETS = [name for name, _ in LATENCY_BUCKETS]


# ---- months -------------------------------------------------------------------------------------------------

def current_month() -> str:
    return datetime.now(local_tz()).strftime("%Y-%m")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in the platform time zone (422 ``invalid_month``)."""
    match = _MONTH.match(month or "")
    if not match:
        raise ValidationFailed(f"月份格式应为 YYYY-MM:{month}", code="invalid_month", details={"field": "month"})
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=local_tz())
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=local_tz())
    return start, end


def months(db: Session) -> list[str]:
    """Months with sharing activity (requests received or gateway calls), newest first."""
    found = {m for m in db.scalars(select(func.substr(CallStat.day, 1, 7)).distinct()) if m}
    local = local_tz()
    found |= {at.astimezone(local).strftime("%Y-%m") for at in db.scalars(select(SharingRequest.created_at))}
    return sorted(found, reverse=True)


# ---- the whole month ----------------------------------------------------------------------------------------

def monthly(db: Session, month: str) -> dict[str, Any]:
    start, end = month_bounds(month)
    requests = list(db.scalars(select(SharingRequest).where(SharingRequest.created_at >= start,
                                                            SharingRequest.created_at < end)))
    stats = list(db.scalars(select(CallStat).where(CallStat.day >= start.date().isoformat(),
                                                   CallStat.day < end.date().isoformat())))
    names = orgs.names_by_code(db)
    codes = orgs.codes_by_id(db, {r.provider_org_id for r in requests})
    providers = _providers(db, requests, stats, codes, names)
    consumers = _consumers(db, stats, start, end, names)
    return {"month": month, "start": start.isoformat(), "end": end.isoformat(), "generated_at": utcnow().isoformat(),
            "weights": dict(WEIGHTS), "totals": _totals(requests, stats), "providers": providers,
            "consumers": consumers}


def _totals(requests: list[SharingRequest], stats: list[CallStat]) -> dict[str, Any]:
    served = [s for s in stats if s.outcome == "ok" or is_provider_failure(s.outcome)]
    ok = sum(s.calls for s in stats if s.outcome == "ok")
    return {"requests": len(requests), "granted": sum(r.status == "granted" for r in requests),
            "calls": sum(s.calls for s in stats), "calls_ok": ok, "rows": sum(s.rows for s in stats),
            "availability": _percent(ok, sum(s.calls for s in served))}


def is_provider_failure(outcome: str) -> bool:
    return outcome.startswith(PROVIDER_FAILURE_PREFIX) or outcome in PROVIDER_FAILURES


def _percent(part: float, whole: float) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


# ---- providers ----------------------------------------------------------------------------------------------

def _providers(db: Session, requests: list[SharingRequest], stats: list[CallStat], codes: dict[int, str],
               names: dict[str, str]) -> list[dict[str, Any]]:
    by_org: dict[str, list[SharingRequest]] = defaultdict(list)
    for req in requests:
        by_org[codes.get(req.provider_org_id, str(req.provider_org_id))].append(req)
    calls: dict[str, list[CallStat]] = defaultdict(list)
    for stat in stats:
        if stat.provider_org:
            calls[stat.provider_org].append(stat)
    overdue = _overdue_ids(db, [r for r in requests if r.share_type == "conditional"])
    quality = {row["org"]: row["score"] for row in dashboard.department_ranking(db)}
    rows = [{"org": org, "org_name": names.get(org, org),
             **_request_figures(by_org.get(org, []), overdue), **_call_figures(calls.get(org, [])),
             "quality": quality.get(org)}
            for org in sorted(set(by_org) | set(calls))]
    for row in rows:
        row["score"] = composite(row)
    return rank(rows)


def _request_figures(requests: list[SharingRequest], overdue: set[int]) -> dict[str, Any]:
    conditional = [r for r in requests if r.share_type == "conditional"]
    hours = [(r.provider_decided_at - r.created_at).total_seconds() / 3600
             for r in conditional if r.provider_decided_at is not None]
    late = sum(r.id in overdue for r in conditional)
    counted = sum(r.id in overdue or r.provider_decided_at is not None for r in conditional)
    granted = sum(r.status == "granted" for r in requests)
    rejected = sum(r.status == "rejected" for r in requests)
    return {
        "received": len(requests), "conditional": len(conditional), "decided": len(hours), "overdue": late,
        "open": sum(r.status in ("pending_provider", "pending_bureau", "changes_requested") for r in requests),
        "granted": granted, "rejected": rejected, "withdrawn": sum(r.status == "withdrawn" for r in requests),
        "decide_hours_avg": round(statistics.fmean(hours), 1) if hours else None,
        "decide_hours_median": round(statistics.median(hours), 1) if hours else None,
        "on_time_rate": _percent(counted - late, counted),
        "approval_rate": _percent(granted, granted + rejected),
    }


def _call_figures(stats: list[CallStat]) -> dict[str, Any]:
    ok = [s for s in stats if s.outcome == "ok"]
    failed = [s for s in stats if is_provider_failure(s.outcome)]
    served = ok + failed
    n_ok, n_served = sum(s.calls for s in ok), sum(s.calls for s in served)
    buckets = {name: sum(getattr(s, name) for s in served) for name in _BUCKETS}
    return {
        "calls": sum(s.calls for s in stats), "calls_ok": n_ok, "failures": n_served - n_ok,
        "rows": sum(s.rows for s in ok), "availability": _percent(n_ok, n_served),
        "latency_avg_ms": round(sum(s.ms_total for s in served) / n_served, 1) if n_served else None,
        "latency_p95_ms": quantile(buckets, 0.95),
    }


def quantile(buckets: dict[str, int], q: float) -> float | None:
    """The q-quantile (0–1) of latencies counted per bucket (``LATENCY_BUCKETS``), None without calls."""
    total = sum(buckets.get(name, 0) for name in _BUCKETS)
    if not total:
        return None
    target, seen, lower = q * total, 0, 0.0
    for name, bound in LATENCY_BUCKETS:
        count = buckets.get(name, 0)
        if bound is None:
            return lower  # in the open bucket: the last finite bound
        if count and seen + count >= target:
            return round(lower + (bound - lower) * (target - seen) / count, 1)
        seen += count
        lower = float(bound)
    return lower


def _overdue_ids(db: Session, requests: list[SharingRequest]) -> set[int]:
    """Conditional requests whose provider step took, or has taken so far, longer than the deadline."""
    if not requests:
        return set()
    days = get_settings().sharing_decide_working_days
    events: dict[int, list[SharingEvent]] = defaultdict(list)
    ids = [r.id for r in requests]
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for event in db.scalars(select(SharingEvent).where(SharingEvent.request_id.in_(chunk))
                                .order_by(SharingEvent.id)):
            events[event.request_id].append(event)
    now = utcnow()
    return {r.id for r in requests if _late(events.get(r.id, []), days, now)}


def _late(events: Iterable[SharingEvent], days: int, now: datetime) -> bool:
    entered: datetime | None = None
    for event in events:
        if event.action in ENTER_PROVIDER:
            entered = event.at
        elif entered is not None and event.stage == "pending_provider" and event.action in LEAVE_PROVIDER:
            if event.at > add_working_days(entered, days):
                return True
            entered = None
    return entered is not None and now > add_working_days(entered, days)


def composite(row: dict[str, Any]) -> float | None:
    figures = {"on_time": row.get("on_time_rate"), "approval": row.get("approval_rate"),
               "quality": row.get("quality"), "availability": row.get("availability")}
    present = {k: v for k, v in figures.items() if v is not None}
    if not present:
        return None
    weight = sum(WEIGHTS[k] for k in present)
    return round(sum(WEIGHTS[k] * v for k, v in present.items()) / weight, 1)


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows by score (highest first, no score last); equal scores share a rank (1, 1, 3)."""
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["org"]))
    previous, position = None, 0
    for index, row in enumerate(rows, 1):
        if row["score"] is None:
            row["rank"] = None
            continue
        if row["score"] != previous:
            previous, position = row["score"], index
        row["rank"] = position
    return rows


# ---- consumers ----------------------------------------------------------------------------------------------

def _consumers(db: Session, stats: list[CallStat], start: datetime, end: datetime,
               names: dict[str, str]) -> list[dict[str, Any]]:
    held_grants = list(db.scalars(select(Grant).where(Grant.starts_at < end, Grant.expires_at > start)
                                  .where((Grant.revoked_at.is_(None)) | (Grant.revoked_at > start))))
    codes = orgs.codes_by_id(db, {g.consumer_org_id for g in held_grants})
    held: dict[str, set[str]] = defaultdict(set)
    for grant in held_grants:
        held[codes.get(grant.consumer_org_id, str(grant.consumer_org_id))].add(grant.resource_code)
    calls: dict[str, list[CallStat]] = defaultdict(list)
    for stat in stats:
        if stat.consumer_org:
            calls[stat.consumer_org].append(stat)
    peaks = _quota_peaks(db, held_grants, codes, start, end)
    rows = []
    for org in sorted(set(held) | set(calls)):
        mine = calls.get(org, [])
        used = {s.resource_code for s in mine if s.outcome == "ok" and s.calls} & held[org]
        refusals: dict[str, int] = defaultdict(int)
        for stat in mine:
            if stat.outcome != "ok" and not is_provider_failure(stat.outcome):
                refusals[stat.outcome] += stat.calls
        rows.append({"org": org, "org_name": names.get(org, org), "grants_held": len(held[org]),
                     "grants_used": len(used), "use_rate": _percent(len(used), len(held[org])),
                     "calls": sum(s.calls for s in mine), "calls_ok": sum(s.calls for s in mine if s.outcome == "ok"),
                     "rows": sum(s.rows for s in mine), "refusals": dict(sorted(refusals.items())),
                     "refused": sum(refusals.values()), "quota_peak": peaks.get(org)})
    rows.sort(key=lambda r: (-r["calls"], -r["grants_held"], r["org"]))
    return rows


def _quota_peaks(db: Session, held: list[Grant], codes: dict[int, str], start: datetime,
                 end: datetime) -> dict[str, float]:
    quotas = {g.id: (codes.get(g.consumer_org_id, ""), g.daily_quota) for g in held if g.daily_quota}
    if not quotas:
        return {}
    first, last = start.date().isoformat(), (end.date() - timedelta(days=1)).isoformat()
    peaks: dict[str, float] = {}
    ids = list(quotas)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        rows = db.execute(select(GrantUsage.grant_id, func.max(GrantUsage.calls))
                          .where(GrantUsage.grant_id.in_(chunk), GrantUsage.day >= first, GrantUsage.day <= last)
                          .group_by(GrantUsage.grant_id))
        for grant_id, calls in rows:
            org, quota = quotas[grant_id]
            peaks[org] = max(peaks.get(org, 0.0), round(calls * 100 / quota, 1))
    return peaks

