"""What the public reads on the portal: an open dataset, its resources, items, history, home figures and
rankings. Everything here sees only datasets with status "open"; any other id — withdrawn, never opened,
private or unknown — is the same ``dataset_not_found``, so the portal does not reveal what exists."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import desc, func, or_, select
from sqlalchemy.orm import Session

from govdata.catalog import projection
from govdata.config import local_tz
from govdata.db import utcnow
from govdata.errors import NotFound
from govdata.ingest import service as ingest
from govdata.opendata import datafiles
from govdata.opendata.models import OpenDataset, UsageDaily
from govdata.standards import service as standards

# Downloads and the API: each is a CKAN "resource" of the package. Its id is the package id with the last two
# hex digits replaced by the resource's number (package ids end in 00), so a resource id finds its package.
RESOURCES = (
    ("01", "csv", "CSV", "text/csv"),
    ("02", "xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("03", "json", "JSON", "application/json"),
    ("04", "api", "API", "application/json"),
)
RANKINGS = ("views", "downloads", "api_calls", "rating")


def not_found(ident: str) -> NotFound:
    return NotFound(f"数据集不存在或未开放:{ident}", code="dataset_not_found")


def get_open(db: Session, ident: str) -> OpenDataset:
    """An open dataset by code, CKAN name or CKAN id."""
    ident = (ident or "").strip()[:100]
    # the three unique indexes answer the OR; the status is tested on the row (as a condition in the query it
    # led SQLite to scan the status index over every dataset)
    dataset = db.scalar(select(OpenDataset).where(
        or_(OpenDataset.code == ident, OpenDataset.slug == ident, OpenDataset.package_id == ident)).limit(1))
    if dataset is None or dataset.status != "open":
        raise not_found(ident)
    return dataset


def resource_id(dataset: OpenDataset, number: str) -> str:
    return dataset.package_id[:-2] + number


def get_resource(db: Session, rid: str) -> tuple[OpenDataset, dict[str, Any]]:
    rid = (rid or "").strip()[:40]
    number = rid[-2:]
    spec = next((r for r in RESOURCES if r[0] == number), None)
    if spec is None or len(rid) != 36:
        raise NotFound(f"资源不存在:{rid}", code="resource_not_found")
    dataset = db.scalar(select(OpenDataset).where(OpenDataset.status == "open",
                                                  OpenDataset.package_id == rid[:-2] + "00"))
    if dataset is None or (spec[1] == "api" and not dataset.has_api):
        raise NotFound(f"资源不存在:{rid}", code="resource_not_found")
    return dataset, resource_dict(dataset, spec)


def resource_dict(dataset: OpenDataset, spec: tuple[str, str, str, str]) -> dict[str, Any]:
    number, kind, fmt, mimetype = spec
    path = (f"/api/3/action/datastore_search?resource_id={resource_id(dataset, '01')}" if kind == "api"
            else f"/open/datasets/{dataset.slug}/download.{kind}")
    name = {"csv": "CSV 数据文件", "xlsx": "Excel 数据文件", "json": "JSON 数据文件", "api": "数据接口"}[kind]
    return {"id": resource_id(dataset, number), "kind": kind, "format": fmt, "mimetype": mimetype,
            "name": f"{dataset.name} {name}", "path": path,
            "datastore_active": dataset.has_api and kind in ("csv", "api")}


def resources(dataset: OpenDataset) -> list[dict[str, Any]]:
    """The downloads, and the API unless the department opens the data as files only (``has_api``)."""
    return [resource_dict(dataset, spec) for spec in RESOURCES if dataset.has_api or spec[1] != "api"]


def columns(dataset: OpenDataset) -> list[datafiles.Column]:
    return datafiles.columns_of(dataset.data_key, {i["key"]: i["name"] for i in dataset.items})


def rating(dataset: OpenDataset) -> float | None:
    return round(dataset.rating_sum / dataset.rating_count, 1) if dataset.rating_count else None


def items_with_standards(db: Session, dataset: OpenDataset) -> list[dict[str, Any]]:
    """The opened items, each with its standard data element (name, definition) when it has one."""
    codes = {i["data_element"] for i in dataset.items if i.get("data_element")}
    elements = standards.elements_by_code(db, codes) if codes else {}
    out = []
    for item in dataset.items:
        element = elements.get(item.get("data_element") or "")
        out.append({**item, "element": standards.element_as_dict(element) if element else None})
    return out


def history(db: Session, dataset: OpenDataset) -> list[dict[str, Any]]:
    """Update history: the published versions, the one the portal serves marked."""
    return [{"number": v.number, "published_at": v.published_at or v.created_at, "rows": v.rows_stored,
             "score": v.score, "served": v.number == dataset.version_number}
            for v in ingest.published_history(db, dataset.code)]


def still_open_in_catalog(db: Session, dataset: OpenDataset) -> bool:
    doc = projection.find_published(db, dataset.code)
    return bool(doc and doc.get("open"))


def _open() -> Any:
    return OpenDataset.status == "open"


def home(db: Session, *, limit: int = 6) -> dict[str, Any]:
    """The home page's figures: one GROUP BY per (department, theme) gives the totals and both breakdowns."""
    groups = db.execute(select(OpenDataset.provider, OpenDataset.provider_name, OpenDataset.theme_code,
                               OpenDataset.theme_name, func.count(), func.sum(OpenDataset.row_count),
                               func.sum(OpenDataset.views), func.sum(OpenDataset.downloads),
                               func.sum(OpenDataset.api_calls))
                        .where(_open()).group_by(OpenDataset.provider, OpenDataset.provider_name,
                                                 OpenDataset.theme_code, OpenDataset.theme_name)).all()
    providers: Counter[tuple[str, str]] = Counter()
    themes: Counter[tuple[str, str]] = Counter()
    sums = [0, 0, 0, 0, 0]
    for provider, provider_name, theme, theme_name, n, *figures in groups:
        providers[(provider, provider_name)] += n
        themes[(theme, theme_name)] += n
        sums = [a + int(b or 0) for a, b in zip(sums, [n, *figures], strict=True)]
    used = OpenDataset.views + OpenDataset.downloads + OpenDataset.api_calls
    return {
        "datasets": sums[0], "rows": sums[1], "views": sums[2], "downloads": sums[3], "api_calls": sums[4],
        "providers": len(providers), "themes": len(themes),
        "by_provider": _ranked(providers), "by_theme": _ranked(themes),
        "newest": list(db.scalars(select(OpenDataset).where(_open())
                                  .order_by(desc(OpenDataset.opened_at), OpenDataset.code).limit(limit))),
        "most_used": list(db.scalars(select(OpenDataset).where(_open())
                                     .order_by(desc(used), OpenDataset.code).limit(limit))),
    }


def _ranked(counts: Counter[tuple[str, str]]) -> list[tuple[str, str, int]]:
    return [(code, name, n) for (code, name), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))]


def rankings(db: Session, by: str, *, days: int | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Open datasets ranked by views, downloads, API calls (all time, or the last ``days``) or rating."""
    if by not in RANKINGS:
        raise ValueError(by)
    if by == "rating":
        avg = OpenDataset.rating_sum * 1.0 / func.nullif(OpenDataset.rating_count, 0)
        rows = db.scalars(select(OpenDataset).where(_open(), OpenDataset.rating_count > 0)
                          .order_by(desc(avg), desc(OpenDataset.rating_count), OpenDataset.code).limit(limit))
        return [{"dataset": d, "value": rating(d)} for d in rows]
    if days is None:
        column = getattr(OpenDataset, by)
        rows = db.scalars(select(OpenDataset).where(_open(), column > 0)
                          .order_by(desc(column), OpenDataset.code).limit(limit))
        return [{"dataset": d, "value": getattr(d, by)} for d in rows]
    since = utcnow().astimezone(local_tz()).date() - timedelta(days=days - 1)
    total = func.sum(getattr(UsageDaily, by))
    ranked = db.execute(select(UsageDaily.code, total).where(UsageDaily.day >= since).group_by(UsageDaily.code)
                        .having(total > 0).order_by(desc(total), UsageDaily.code).limit(limit * 2)).all()
    datasets = {d.code: d for d in db.scalars(select(OpenDataset).where(
        _open(), OpenDataset.code.in_([c for c, _ in ranked])))}
    return [{"dataset": datasets[c], "value": int(n)} for c, n in ranked if c in datasets][:limit]


def by_provider_usage(db: Session) -> list[tuple[str, str, int, int, int, int]]:
    """Per department: open datasets, views, downloads, API calls (the departments' ranking)."""
    rows = db.execute(select(OpenDataset.provider, OpenDataset.provider_name, func.count(),
                             func.sum(OpenDataset.views), func.sum(OpenDataset.downloads),
                             func.sum(OpenDataset.api_calls))
                      .where(_open()).group_by(OpenDataset.provider, OpenDataset.provider_name)
                      .order_by(desc(func.sum(OpenDataset.downloads + OpenDataset.api_calls)),
                                OpenDataset.provider)).all()
    return [(p, n, c, int(v or 0), int(d or 0), int(a or 0)) for p, n, c, v, d, a in rows]


def all_open(db: Session) -> list[OpenDataset]:
    """Every open dataset, by code (bulk metadata, DCAT)."""
    return list(db.scalars(select(OpenDataset).where(_open()).order_by(OpenDataset.code)))
