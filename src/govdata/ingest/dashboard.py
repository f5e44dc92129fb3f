"""Quality over time and across departments (质量趋势与部门排名), the figures the seed's 评价/激励 rest on.

A resource's *current* quality is its latest published version's scores with timeliness recomputed for
today, so a department that stops updating falls in the ranking even without a bad upload.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import projection
from govdata.db import utcnow
from govdata.ingest import quality
from govdata.ingest import service as versions
from govdata.ingest.models import DatasetVersion
from govdata.orgs import service as orgs
from govdata.principal import Principal


def latest_published_versions(db: Session) -> list[DatasetVersion]:
    """One row per resource: its newest published version (one query, O(versions) with the index)."""
    newest = (select(DatasetVersion.resource_code, func.max(DatasetVersion.number).label("number"))
              .where(DatasetVersion.status == "published").group_by(DatasetVersion.resource_code).subquery())
    return list(db.scalars(select(DatasetVersion).join(
        newest, (DatasetVersion.resource_code == newest.c.resource_code) & (DatasetVersion.number == newest.c.number))))


def current_scores(version: DatasetVersion, update_cycle: str | None) -> dict[str, float]:
    dims = {d: version.quality.get(d, 0.0) for d in ("completeness", "validity", "uniqueness", "consistency")}
    return quality.with_overall(dims, quality.timeliness(update_cycle, version.created_at, utcnow()))


def department_ranking(db: Session) -> list[dict[str, Any]]:
    entries = {e.code: e for e in projection.published_entries(db)}
    catalogued: dict[str, int] = defaultdict(int)
    for entry in entries.values():
        catalogued[entry.provider] += 1
    per_org: dict[str, list[dict[str, float]]] = defaultdict(list)
    for version in latest_published_versions(db):
        entry = entries.get(version.resource_code)
        if entry is not None:
            per_org[entry.provider].append(current_scores(version, entry.update_cycle))
    names = orgs.names_by_code(db)
    rows = [_org_row(code, names.get(code, code), scores, catalogued[code]) for code, scores in per_org.items()]
    rows.sort(key=lambda r: (-r["score"], r["org"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def _org_row(code: str, name: str, scores: list[dict[str, float]], catalogued: int) -> dict[str, Any]:
    mean = {dim: round(sum(s[dim] for s in scores) / len(scores), 2) for dim in (*quality.WEIGHTS, "score")}
    return {"org": code, "org_name": name, "resources_with_data": len(scores), "resources_catalogued": catalogued,
            "coverage": round(len(scores) * 100 / catalogued, 1) if catalogued else 0.0, **mean}


def resource_trend(db: Session, principal: Principal, code: str) -> dict[str, Any]:
    doc = versions._readable(db, principal, code)
    rows = db.scalars(select(DatasetVersion).where(DatasetVersion.resource_code == code)
                      .order_by(DatasetVersion.number))
    points = [{"version": v.number, "created_at": v.created_at.isoformat(), "status": v.status,
               "rows_total": v.rows_total, "rows_rejected": v.rows_rejected, **v.quality} for v in rows]
    latest = versions.latest_published(db, code)
    return {"resource": code, "name": doc["name"], "points": points,
            "current": current_scores(latest, doc.get("update_cycle")) if latest else None}


def overview(db: Session) -> dict[str, Any]:
    total = db.execute(select(func.count(), func.coalesce(func.sum(DatasetVersion.rows_total), 0),
                              func.coalesce(func.sum(DatasetVersion.rows_rejected), 0))).one()
    held = db.scalar(select(func.count()).where(DatasetVersion.status == "held")) or 0
    return {"versions": total[0], "rows_total": int(total[1]), "rows_rejected": int(total[2]), "held": held}
