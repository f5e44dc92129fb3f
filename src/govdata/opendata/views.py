"""The public portal's pages (公共数据开放网站, no login): home, search with facets, a dataset's page with its
preview, downloads and API address, rankings and the API documentation.

Everything reads through ``service`` and ``search``, which see only open datasets: any other id — private,
withdrawn, never opened or unknown — is the same ``dataset_not_found`` page. Dataset ids in URLs may be the
slug (CKAN name), the code or the CKAN package id; the pages link by slug. Codes contain "/", so the routes take
the id with the ``path`` converter, the ones with a suffix declared before the bare one.

Downloads stream: the response starts with the file's first chunk (the CSV header) while later batches are still
being read from the Parquet snapshot, so a file of any size starts at once in flat memory.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata.catalog import dcat, demands
from govdata.catalog import search as catalog_search
from govdata.config import get_settings
from govdata.db import get_db
from govdata.errors import ValidationFailed
from govdata.i18n import N_
from govdata.opendata import datafiles, developers, feedback, search, service, showcases, usage
from govdata.opendata.models import OpenDataset
from govdata.standards import enums
from govdata.web.deps import wants_partial
from govdata.web.templating import render
from govdata.web.text import excerpt, marked

router = APIRouter(prefix="/open", include_in_schema=False)

PAGE_SIZE = 20
PREVIEW_ROWS = 20
TEXT_MAX = 100  # longest accepted filter value; q is 200 like the catalog's search

FACET_TITLES = {"provider": N_("提供部门"), "theme": N_("主题"), "format": N_("资源格式"),
                "update_cycle": N_("更新周期"), "has_api": N_("接口服务")}
HAS_API = {"true": N_("提供接口"), "false": N_("不提供接口")}
RANKING_TITLES = {"views": N_("浏览量"), "downloads": N_("下载量"), "api_calls": N_("接口调用量"),
                  "rating": N_("用户评分")}
PERIODS = {"all": N_("全部时间"), "30d": N_("近 30 天")}
DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", datafiles.csv_stream),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", datafiles.xlsx_stream),
    "json": ("application/json", datafiles.json_stream),
}
KEEP = ("", "keep", None)  # treatments that leave a column as it is


def _page(request: Request, db: Session, name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    """A portal page; a full page shows the signed-in developer (if any) in the bar."""
    developer = None if wants_partial(request) else developers.resolve(db, request.cookies.get(developers.COOKIE))
    return render(request, name, {"enums": enums, "facet_titles": FACET_TITLES, "has_api_labels": HAS_API,
                                  "base_url": dcat.base_url(), "developer": developer, **context}, status=status)


# ---- home ----------------------------------------------------------------------------------------------------

@router.get("")
def portal_root() -> Response:
    return RedirectResponse("/open/", status_code=308)


@router.get("/")
def portal_home(request: Request, db: Session = Depends(get_db)) -> Response:
    figures = service.home(db)
    charts = {"providers": [{"name": name, "value": n} for _, name, n in figures["by_provider"]],
              "themes": [{"name": name or code, "value": n} for code, name, n in figures["by_theme"]]}
    return _page(request, db, "opendata/home.html", {"figures": figures, "charts": charts, **_community(db)})


def _community(db: Session, limit: int = 5) -> dict[str, Any]:
    """The latest approved showcases and the latest answered demands, shown on the home page."""
    answered = [d for d in demands.public_list(db, limit=100) if d["status"] != "pending"]
    answered.sort(key=lambda d: d["replied_at"] or d["created_at"], reverse=True)
    return {"showcases": showcases.dicts(db, showcases.list_public(db)[:limit]), "demands": answered[:limit]}


# ---- search --------------------------------------------------------------------------------------------------

def _flag(value: str | None) -> str:
    """``has_api`` as given in a URL → "true" / "false" / "" (any other text means no filter)."""
    text = (value or "").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return "true"
    if text in ("0", "false", "no", "off"):
        return "false"
    return ""


def datasets_url(state: dict[str, str], **changes: Any) -> str:
    params = {**state, **changes}
    query = {k: v for k, v in params.items() if v not in ("", None) and not (k == "page" and v == 1)}
    return "/open/datasets" + (f"?{urlencode(query)}" if query else "")


@router.get("/datasets")
def datasets(request: Request, q: str | None = Query(None, max_length=200),
             provider: str | None = Query(None, max_length=TEXT_MAX),
             theme: str | None = Query(None, max_length=TEXT_MAX),
             format: str | None = Query(None, max_length=TEXT_MAX),
             update_cycle: str | None = Query(None, max_length=TEXT_MAX),
             has_api: str | None = Query(None, max_length=10), sort: str | None = Query(None, max_length=TEXT_MAX),
             page: int = Query(1, ge=1, le=100000), db: Session = Depends(get_db)) -> Response:
    state = {"q": (q or "").strip(), "provider": (provider or "").strip(), "theme": (theme or "").strip(),
             "format": (format or "").strip(), "update_cycle": (update_cycle or "").strip(),
             "has_api": _flag(has_api), "sort": (sort or "").strip()}
    filters = search.Filters(provider=state["provider"] or None, theme=state["theme"] or None,
                             format=state["format"] or None, update_cycle=state["update_cycle"] or None,
                             has_api=(state["has_api"] == "true") if state["has_api"] else None)
    error, status = None, 200
    try:
        result = search.search(db, q=state["q"] or None, filters=filters, sort=state["sort"] or "relevance",
                               page=page, page_size=PAGE_SIZE)
    except ValidationFailed as exc:
        error, status = exc, exc.status
        result = search.Result(total=0)
    context = _results_context(state, result, page)
    context["error"] = error
    template = "opendata/_results.html" if wants_partial(request) else "opendata/datasets.html"
    response = _page(request, db, template, context, status=status)
    response.headers["Vary"] = "HX-Request"
    return response


def _results_context(state: dict[str, str], result: search.Result, page: int) -> dict[str, Any]:
    terms = [w for group in search.patterns(state["q"]) for w in group]
    return {
        "state": state, "total": result.total, "page": page,
        "pages": max((result.total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        "results": [_result_view(d, terms) for d in result.datasets],
        "facets": _facet_groups(result.facets, state), "sorts": search.SORTS,
        "url": lambda **changes: datasets_url(state, **changes),
        "active": [{"key": key, "title": FACET_TITLES[key], **_label(key, state[key], result.facets),
                    "clear": datasets_url(state, **{key: "", "page": 1})} for key in search.FACETS if state[key]],
        "clear_all": datasets_url({"q": state["q"], "sort": state["sort"]}),
    }


def _label(key: str, value: str, facets: dict[str, list[tuple[str, str, int]]]) -> dict[str, Any]:
    """A facet value's label; ``msgid`` when it is a Chinese label to translate (not a department's name)."""
    if key == "format":
        return {"label": enums.FORMATS.get(value, value), "msgid": value in enums.FORMATS}
    if key == "update_cycle":
        return {"label": enums.UPDATE_CYCLES.get(value, value), "msgid": value in enums.UPDATE_CYCLES}
    if key == "has_api":
        return {"label": HAS_API.get(value, value), "msgid": value in HAS_API}
    label = next((lab for v, lab, _ in facets.get(key, []) if v == value), value)
    return {"label": label, "msgid": False}


def _facet_groups(facets: dict[str, list[tuple[str, str, int]]], state: dict[str, str]) -> list[dict[str, Any]]:
    groups = []
    for key in search.FACETS:
        options = [_option(key, value, n, state, facets) for value, _, n in facets.get(key, []) if value != ""]
        if state[key] and all(o["value"] != state[key] for o in options):
            options.insert(0, _option(key, state[key], 0, state, facets))  # keep a chosen value, to clear it
        if options:
            groups.append({"key": key, "title": FACET_TITLES[key], "options": options})
    return groups


def _option(key: str, value: str, n: int, state: dict[str, str],
            facets: dict[str, list[tuple[str, str, int]]]) -> dict[str, Any]:
    selected = state[key] == value
    return {"value": value, "count": n, "selected": selected, **_label(key, value, facets),
            "url": datasets_url(state, **{key: "" if selected else value, "page": 1})}


def _result_view(dataset: OpenDataset, terms: list[str]) -> dict[str, Any]:
    return {"dataset": dataset, "name": marked(dataset.name, terms),
            "summary": excerpt(dataset.summary, terms, fold=_fold), "rating": service.rating(dataset)}


def _fold(text: str) -> str:
    """Text as the search compares it (the terms of ``search.patterns`` are folded the same way)."""
    return catalog_search.normalize(text).lower()




# ---- a dataset -----------------------------------------------------------------------------------------------

@router.get("/datasets/{ident:path}/preview")
def dataset_preview(ident: str, request: Request, db: Session = Depends(get_db)) -> Response:
    dataset = service.get_open(db, ident)
    response = _page(request, db, "opendata/_preview.html", {"dataset": dataset, **_preview(dataset)})
    response.headers["Vary"] = "HX-Request"
    return response


def _preview(dataset: OpenDataset) -> dict[str, Any]:
    columns = service.columns(dataset)
    return {"columns": columns, "rows": datafiles.preview(dataset.data_key, columns, n=PREVIEW_ROWS),
            "preview_rows": PREVIEW_ROWS}


@router.get("/datasets/{ident:path}/download.{fmt}")
def dataset_download(ident: str, fmt: str, db: Session = Depends(get_db)) -> Response:
    dataset = service.get_open(db, ident)
    if fmt not in DOWNLOADS:
        raise service.not_found(f"{ident}/download.{fmt}")
    media_type, stream = DOWNLOADS[fmt]
    body = stream(dataset.data_key, service.columns(dataset))  # xlsx: refuses too many rows before any work
    usage.count(dataset.code, "downloads")
    return StreamingResponse(body, media_type=media_type, headers={
        "Content-Disposition": content_disposition(dataset.name, dataset.slug, fmt),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})


def content_disposition(name: str, slug: str, ext: str) -> str:
    """``attachment`` with the Chinese name (RFC 5987 ``filename*``) and an ASCII fallback for old clients."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "-", slug) or "dataset"
    return f"attachment; filename=\"{fallback}.{ext}\"; filename*=UTF-8''{quote(f'{name}.{ext}', safe='')}"


@router.get("/datasets/{ident:path}")
def dataset_page(ident: str, request: Request, preview: bool = False, db: Session = Depends(get_db)) -> Response:
    if not ident.strip("/"):  # /open/datasets/
        return RedirectResponse("/open/datasets", status_code=308)
    dataset = service.get_open(db, ident)
    usage.count(dataset.code, "views")
    context: dict[str, Any] = {
        "dataset": dataset, "items": _items(db, dataset), "history": service.history(db, dataset),
        "rating": service.rating(dataset), "api": api_addresses(dataset) if dataset.has_api else None,
        "contact": dcat.public_contact(dataset.contact),
        "resources": service.resources(dataset), "inline_preview": preview,
        "showcases": showcases.for_dataset(db, dataset.code), "feedback": feedback.public_for(db, dataset.code),
        "feedback_pending": feedback.pending_of(db, dataset.code),
    }
    if preview:
        context.update(_preview(dataset))
    return _page(request, db, "opendata/dataset.html", context)


def _items(db: Session, dataset: OpenDataset) -> list[dict[str, Any]]:
    return [{**item, "generalised": item.get("treatment") not in KEEP}
            for item in service.items_with_standards(db, dataset)]


def api_addresses(dataset: OpenDataset) -> dict[str, str]:
    """The dataset's API addresses, absolute (from ``base_url``, never from the Host header); only for a dataset
    opened through the API (``has_api``): a file-only dataset's resource has no datastore to query."""
    root = dcat.base_url()
    rid = service.resource_id(dataset, "01")
    search_url = f"{root}/api/3/action/datastore_search?resource_id={rid}&limit=5"
    return {
        "package_show": f"{root}/api/3/action/package_show?id={dataset.slug}",
        "datastore_search": search_url, "resource_id": rid,
        "curl": f"curl -H 'Authorization: <API Key>' '{search_url}'",
        "ttl": f"{root}/open/datasets/{dataset.slug}.ttl", "jsonld": f"{root}/open/datasets/{dataset.slug}.jsonld",
    }


# ---- rankings and API documentation --------------------------------------------------------------------------

@router.get("/rankings")
def rankings(request: Request, by: Literal["views", "downloads", "api_calls", "rating"] = "views",
             period: Literal["all", "30d"] = "all", db: Session = Depends(get_db)) -> Response:
    days = 30 if period == "30d" and by != "rating" else None
    rows = service.rankings(db, by, days=days)
    departments = service.by_provider_usage(db)
    charts = {"ranking": [{"name": r["dataset"].name, "value": r["value"]} for r in rows[:10]],
              "departments": [{"name": name, "value": d + a} for _, name, _, _, d, a in departments[:10]]}
    return _page(request, db, "opendata/rankings.html", {
        "by": by, "period": period, "rows": rows, "departments": departments, "charts": charts,
        "titles": RANKING_TITLES, "periods": PERIODS})


@router.get("/api")
def api_docs(request: Request, db: Session = Depends(get_db)) -> Response:
    settings = get_settings()
    # the most viewed dataset that the API serves: a file-only one would make the examples fail
    sample = search.search(db, filters=search.Filters(has_api=True), sort="views", page_size=1).datasets
    example = sample[0] if sample else None
    return _page(request, db, "opendata/api_docs.html", {
        "example": example, "api": api_addresses(example) if example else None,
        "limits": {"anonymous": settings.open_anonymous_per_minute, "per_minute": settings.open_key_per_minute,
                   "per_day": settings.open_key_per_day}})
