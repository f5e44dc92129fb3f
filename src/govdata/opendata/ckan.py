"""CKAN Action API (CKAN 2.10 semantics) over the open datasets, so ``ckanapi`` and CKAN harvesters work unchanged.

Routes: ``/api/3/action/{action}`` and ``/api/action/{action}`` (ckanapi's RemoteCKAN posts to the latter), GET with
query parameters or POST with a JSON body or a form, as CKAN's ``api.action`` view reads them. Answers are CKAN's
envelope ``{"help", "success", "result"}``; failures are CKAN's error dicts with its statuses — Not Found Error 404,
Validation Error 409 (field → [messages]), Authorization Error 403 — and an unknown action CKAN's 400 with the JSON
string ``"Bad request - Action name not known: <name>"``; a body or parameter that is not JSON (or nested too deep to
read) CKAN's 400 ``"Bad request - JSON Error: …"``. Over a rate limit: 429, ``Retry-After`` and
``{"__type": "Rate Limit Error"}`` (not a CKAN type; ckanapi raises CKANAPIError); a body over 1 MiB (the
``BodyLimitMiddleware`` cap for these paths): 413 ``{"__type": "Request Entity Too Large"}``. A call is counted
against the rate limit before its body is read.

Mapping: a package is an open dataset (``name`` its slug, ``id`` its package id, the resource code also accepted);
an organisation a department with open datasets (``name`` its lower-cased code); a group a theme (``name`` the
theme code); tags the keywords. Anything not open — withdrawn, never opened, private, unknown — is the same
Not Found. ``fq`` is a small, parsed subset of Solr syntax (see ``parse_fq``); nothing the caller sends reaches
SQL except as a bound value or a column chosen from a fixed table.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import ScalarResult, asc, desc, func, select
from sqlalchemy.orm import Session, load_only
from starlette.concurrency import run_in_threadpool

from govdata.catalog import dcat
from govdata.db import get_db
from govdata.errors import AppError, NotFound
from govdata.opendata import datafiles, developers, listing, metadata, search, service, usage
from govdata.opendata.models import OpenDataset
from govdata.standards import enums

logger = logging.getLogger("govdata.opendata.ckan")

CKAN_VERSION = "2.10.0"
ROWS_DEFAULT, ROWS_MAX = 10, 1000  # package_search rows (CKAN's ckan.search.rows_max)
DATASTORE_LIMIT, DATASTORE_MAX = 100, 32000  # CKAN's ckan.datastore.search.rows_max
GROUP_LIST_MAX, GROUP_LIST_ALL_FIELDS_MAX = 1000, 25
FACET_LIMIT = 50
ORG_NAMESPACE = uuid.UUID("0b6f2c1e-7d3a-5e49-8f21-6a4c9d2e1b70")
BIG = 10**15  # natural numbers beyond this are refused (they would overflow SQL integers)
JSON_TYPE = "application/json;charset=utf-8"


class CkanError(Exception):
    """A CKAN error dict with its HTTP status."""

    def __init__(self, status: int, error: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(error.get("message", ""))
        self.status, self.error, self.headers = status, error, headers


def invalid(field: str, message: str) -> CkanError:
    return CkanError(409, {"__type": "Validation Error", field: [message]})


def not_found(message: str) -> CkanError:
    return CkanError(404, {"__type": "Not Found Error", "message": f"Not found: {message}"})


# ---- parameters ---------------------------------------------------------------------------------

def natural(data: dict[str, Any], name: str, default: int | None, *, message: str = "Must be a natural number"
            ) -> int | None:
    """A non-negative integer parameter (int or digit string), ``default`` when absent, else Validation Error."""
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid(name, message)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d{1,16}\s*", value):
        number = int(value)
    else:
        raise invalid(name, message)
    if number < 0 or number > BIG:
        raise invalid(name, message)
    return number


def integer(data: dict[str, Any], name: str, default: int) -> int:
    """An integer parameter (negative allowed: facet.limit -1 is "no limit")."""
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= BIG:
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        return int(value)
    raise invalid(name, "Invalid integer")


def boolean(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y", "on"):
        return True
    if text in ("false", "0", "no", "n", "off"):
        return False
    raise invalid(name, "Value must be one of: true, false")


def text(data: dict[str, Any], name: str, *, required: bool = False, limit: int = 500) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise invalid(name, "Missing value")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise invalid(name, "Must be a string")
    return str(value)[:limit]


def json_param(data: dict[str, Any], name: str, *, objects_only: bool = False, lenient: bool = False) -> Any:
    """A parameter that may arrive as JSON text (GET) or as a value (POST): CKAN's json_validator."""
    value = data.get(name)
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # nested too deep is not JSON we read either
            if lenient:  # CKAN's unicode_or_json_validator: not JSON, so plain text
                return value
            raise invalid(name, "Could not parse as valid JSON") from None
    if objects_only and value is not None and not isinstance(value, dict):
        raise invalid(name, "Could not parse as valid JSON object")
    return value


# ---- package dicts ------------------------------------------------------------------------------

base_url = dcat.base_url


def ckan_time(value: datetime | None) -> str | None:
    """CKAN's timestamps: naive UTC, ISO 8601."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def org_name(code: str) -> str:
    return listing.slug_of(code) or "x"


def org_id(code: str) -> str:
    return str(uuid.uuid5(ORG_NAMESPACE, code))


def org_dict(code: str, title: str, count: int | None = None, created: datetime | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": org_id(code), "name": org_name(code), "title": title, "display_name": title, "description": "",
        "image_url": "", "image_display_url": "", "created": ckan_time(created), "is_organization": True,
        "approval_status": "approved", "state": "active", "type": "organization",
    }
    if count is not None:
        out["package_count"] = count
        out["num_followers"] = 0
    return out


def group_dict(code: str, title: str, count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": code, "name": code, "title": title, "display_name": title, "description": "", "image_url": "",
        "image_display_url": "", "is_organization": False, "approval_status": "approved", "state": "active",
        "type": "group",
    }
    if count is not None:
        out["package_count"] = count
        out["num_followers"] = 0
    return out


def resource_dict(dataset: OpenDataset, resource: dict[str, Any], position: int) -> dict[str, Any]:
    return {
        "id": resource["id"], "package_id": dataset.package_id, "name": resource["name"],
        "description": "", "format": resource["format"], "mimetype": resource["mimetype"],
        "url": base_url() + resource["path"], "url_type": None, "datastore_active": resource["datastore_active"],
        "size": None, "hash": "", "state": "active", "position": position,
        "last_modified": ckan_time(dataset.data_updated_at), "created": ckan_time(dataset.opened_at),
        "metadata_modified": ckan_time(dataset.modified_at),
    }


def package_dict(dataset: OpenDataset) -> dict[str, Any]:
    license_ = metadata.license_of(dataset.license_id)
    resources = [resource_dict(dataset, r, i) for i, r in enumerate(service.resources(dataset))]
    tags = [{"name": k, "display_name": k, "state": "active", "vocabulary_id": None} for k in dataset.keywords or []]
    groups = [group_dict(dataset.theme_code, dataset.theme_name)] if dataset.theme_code else []
    cycle = str(enums.UPDATE_CYCLES.get(dataset.update_cycle, dataset.update_cycle))
    score = round(dataset.quality_score, 1)
    return {
        "id": dataset.package_id, "name": dataset.slug, "title": dataset.name, "notes": dataset.summary,
        "url": f"{base_url()}/open/datasets/{dataset.slug}", "state": "active", "private": False, "type": "dataset",
        "license_id": dataset.license_id, "license_title": license_["title"], "license_url": license_["url"],
        "isopen": license_["open"],
        "author": dataset.provider_name, "author_email": None, "maintainer": dataset.provider_name,
        "maintainer_email": None, "version": str(dataset.version_number),
        "owner_org": org_id(dataset.provider), "organization": org_dict(dataset.provider, dataset.provider_name),
        "groups": groups, "tags": tags, "num_tags": len(tags), "resources": resources,
        "num_resources": len(resources), "metadata_created": ckan_time(dataset.opened_at),
        "metadata_modified": ckan_time(dataset.modified_at), "relationships_as_object": [],
        "relationships_as_subject": [],
        "extras": [{"key": "资源代码", "value": dataset.code}, {"key": "更新周期", "value": cycle},
                   {"key": "数据量", "value": str(dataset.row_count)}, {"key": "质量评分", "value": str(score)},
                   {"key": "版本", "value": str(dataset.version_number)}],
        "code": dataset.code, "update_cycle": dataset.update_cycle, "has_api": dataset.has_api,
        "row_count": dataset.row_count, "quality_score": score, "rating": service.rating(dataset),
        "views": dataset.views, "downloads": dataset.downloads, "api_calls": dataset.api_calls,
        "data_updated": ckan_time(dataset.data_updated_at),
    }


# ---- fq: a safe subset of Solr's filter syntax --------------------------------------------------

FQ_FIELDS = ("organization", "owner_org", "groups", "tags", "res_format", "license_id", "name", "id",
             "update_cycle", "has_api", "metadata_modified", "metadata_created")
_FQ_TOKEN = re.compile(r"""
    \s*(?:
      (?P<op>AND|OR|&&|\|\|)(?=\s|$)
    | (?P<sign>[+-]?)(?P<field>[A-Za-z_]+):
      (?: "(?P<quoted>(?:[^"\\]|\\.)*)"
        | \[(?P<lo>[^\s\]]+)\s+TO\s+(?P<hi>[^\s\]]+)\]
        | \((?P<alts>[^()]*)\)
        | (?P<bare>[^\s"()\[\]]+) )
    )""", re.VERBOSE)


@dataclass
class Clause:
    field: str
    values: list[str]  # any of (OR); a range is [lo, hi]
    negated: bool = False
    range: bool = False


def parse_fq(fq: str) -> list[list[Clause]]:
    """``fq`` as an AND of OR-groups of clauses. A clause is ``field:value``, ``field:"quoted value"``,
    ``field:(a OR b)``, ``metadata_modified:[2024-01-01T00:00:00Z TO *]``, optionally prefixed by ``+`` or ``-``
    (negation); clauses are joined by spaces, AND or OR (``organization:a OR organization:b``, as CKAN
    harvesters send). Anything else is a Validation Error on ``fq``."""
    groups: list[list[Clause]] = []
    pos, joiner = 0, "AND"
    while pos < len(fq):
        if not fq[pos:].strip():
            break
        match = _FQ_TOKEN.match(fq, pos)
        if not match:
            raise invalid("fq", f"无法解析的筛选条件 / cannot parse fq near: {fq[pos:pos + 40].strip()}")
        pos = match.end()
        if match.group("op"):
            joiner = "OR" if match.group("op") in ("OR", "||") else "AND"
            continue
        clause = _clause(match)
        if joiner == "OR" and groups:
            groups[-1].append(clause)
        else:
            groups.append([clause])
        joiner = "AND"
    return groups


def _clause(match: re.Match[str]) -> Clause:
    field = match.group("field")
    if field not in FQ_FIELDS:
        raise invalid("fq", f"不支持的筛选字段 / unsupported fq field: {field[:40]} (allowed: {', '.join(FQ_FIELDS)})")
    negated = match.group("sign") == "-"
    if match.group("lo") is not None:
        if field not in ("metadata_modified", "metadata_created"):
            raise invalid("fq", f"字段不支持范围 / range not supported on: {field}")
        return Clause(field, [match.group("lo"), match.group("hi")], negated, range=True)
    if match.group("alts") is not None:
        alts = [a.strip().strip('"') for a in re.split(r"\s+OR\s+", match.group("alts").strip())]
        if not all(alts):
            raise invalid("fq", f"无法解析的筛选条件 / cannot parse fq: {field}:({match.group('alts')[:40]})")
        return Clause(field, alts, negated)
    value = match.group("quoted")
    value = re.sub(r"\\(.)", r"\1", value) if value is not None else match.group("bare")
    return Clause(field, [value], negated)


@dataclass
class Row:
    """What fq tests of one open dataset."""

    code: str
    values: dict[str, set[str]]
    times: dict[str, datetime | None]


FQ_COLUMNS = (OpenDataset.code, OpenDataset.slug, OpenDataset.package_id, OpenDataset.provider,
              OpenDataset.theme_code, OpenDataset.license_id, OpenDataset.update_cycle, OpenDataset.has_api,
              OpenDataset.keywords, OpenDataset.modified_at, OpenDataset.opened_at)


def res_formats(dataset: OpenDataset) -> list[str]:
    """The formats of a dataset's resources as its package dict lists them (no API for a files-only dataset)."""
    return [r["format"] for r in service.resources(dataset)]


def _open_datasets(db: Session, *where: Any) -> ScalarResult[OpenDataset]:
    """Open datasets with only what fq, facets and ``service.resources`` read (not items, search text)."""
    return db.scalars(select(OpenDataset).options(load_only(*FQ_COLUMNS, OpenDataset.name))
                      .where(OpenDataset.status == "open", *where))


def _rows(db: Session) -> list[Row]:
    rows = []
    for ds in _open_datasets(db):
        org = {ds.provider.lower(), org_name(ds.provider), org_id(ds.provider)}
        rows.append(Row(ds.code, {
            "organization": org, "owner_org": org, "groups": {ds.theme_code}, "tags": set(ds.keywords or []),
            "res_format": {f.lower() for f in res_formats(ds)}, "license_id": {ds.license_id.lower()},
            "name": {ds.slug}, "id": {ds.package_id, ds.code}, "update_cycle": {ds.update_cycle},
            "has_api": {"true" if ds.has_api else "false"},
        }, {"metadata_modified": ds.modified_at, "metadata_created": ds.opened_at}))
    return rows


def _when(text_: str, field: str) -> datetime | None:
    if text_ == "*":
        return None
    raw = text_.upper()
    raw = raw.removesuffix("Z")
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid("fq", f"日期无效 / invalid date in {field}: {text_[:40]}") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _matches(row: Row, clause: Clause) -> bool:
    if clause.range:
        at = row.times[clause.field]
        lo, hi = (_when(v, clause.field) for v in clause.values)
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        hit = at is not None and (lo is None or at >= lo) and (hi is None or at <= hi)
    else:
        have = row.values[clause.field]
        folded = clause.field in ("organization", "owner_org", "res_format", "license_id", "has_api")
        hit = any((v.lower() if folded else v) in have for v in clause.values)
    return hit != clause.negated


# fields an unnegated single-value clause can hand to search.Filters (faster, and facets stay exact)
def _as_filter(clause: Clause, orgs: dict[str, str]) -> tuple[str, Any] | None:
    if clause.negated or clause.range or len(clause.values) != 1:
        return None
    value = clause.values[0]
    if clause.field in ("organization", "owner_org"):
        code = orgs.get(value.lower())
        return ("provider", code if code is not None else "\x00none")
    if clause.field == "groups":
        return ("theme", value)
    if clause.field == "update_cycle":
        return ("update_cycle", value)
    if clause.field == "has_api" and value.lower() in ("true", "false"):
        return ("has_api", value.lower() == "true")
    return None


def _org_lookup(db: Session) -> dict[str, str]:
    """Every form of an organisation's name in fq (name, id, code) → its code."""
    out: dict[str, str] = {}
    for (code,) in db.execute(select(OpenDataset.provider).where(OpenDataset.status == "open").distinct()):
        for key in (code.lower(), org_name(code), org_id(code)):
            out[key] = code
    return out


def filters_of(db: Session, fq: str | None) -> search.Filters:
    """The search filters an ``fq`` means: simple clauses as facet filters, the rest as the matching codes."""
    groups = parse_fq(fq or "")
    if not groups:
        return search.Filters()
    orgs = _org_lookup(db) if any(c.field in ("organization", "owner_org") for g in groups for c in g) else {}
    chosen: dict[str, Any] = {}
    rest: list[list[Clause]] = []
    impossible = False
    for group in groups:
        simple = _as_filter(group[0], orgs) if len(group) == 1 else None
        if simple is None:
            rest.append(group)
        elif simple[0] in chosen and chosen[simple[0]] != simple[1]:
            impossible = True  # two different values of one field, both required
        else:
            chosen[simple[0]] = simple[1]
    for group in rest:  # validates every date before any row is read
        for clause in group:
            for value in clause.values if clause.range else ():
                _when(value, clause.field)
    codes: tuple[str, ...] | None = None
    if impossible:
        codes = ()
    elif rest:
        codes = tuple(r.code for r in _rows(db) if all(any(_matches(r, c) for c in g) for g in rest))
    return search.Filters(codes=codes, **chosen)


# ---- sort ---------------------------------------------------------------------------------------

SORT_COLUMNS: dict[str, Any] = {
    "metadata_modified": OpenDataset.modified_at, "metadata_created": OpenDataset.opened_at,
    "name": OpenDataset.slug, "title": OpenDataset.name_pinyin, "title_string": OpenDataset.name_pinyin,
    "id": OpenDataset.package_id, "views_recent": OpenDataset.views, "views_total": OpenDataset.views,
    "downloads": OpenDataset.downloads, "api_calls": OpenDataset.api_calls,
}
SORT_FIELDS = ("score", *SORT_COLUMNS)
DEFAULT_SORT = "score desc, metadata_modified desc"


def parse_sort(sort: str, has_q: bool) -> tuple[str, list[Any] | None]:
    """(search sort key, SQL order terms or None) for CKAN's ``sort``: ``score`` first with a query means the
    portal's relevance order; without a query score is equal for all and is skipped, as in Solr."""
    clauses = [c.strip() for c in sort.split(",")]
    parsed = []
    for clause in clauses:
        match = re.fullmatch(r"([A-Za-z_]+)\s+(asc|desc)", clause, re.IGNORECASE)
        if not match or match.group(1) not in SORT_FIELDS:
            raise invalid("sort", f"排序无效 / invalid sort: {clause[:60]!r}; use '<field> asc|desc' with field in "
                                  f"{', '.join(SORT_FIELDS)}")
        parsed.append((match.group(1), match.group(2).lower()))
    if parsed[0][0] == "score" and has_q:
        return "relevance", None
    order = [(desc if way == "desc" else asc)(SORT_COLUMNS[field]) for field, way in parsed if field != "score"]
    if not order:
        order = [desc(OpenDataset.modified_at)]
    return "relevance", [*order, OpenDataset.code]


# ---- facets -------------------------------------------------------------------------------------

FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id", "update_cycle", "has_api")
_SEARCH_FACET = {"organization": "provider", "groups": "theme", "update_cycle": "update_cycle", "has_api": "has_api"}
_FILTER_OF = {"provider": "provider", "theme": "theme", "update_cycle": "update_cycle", "has_api": "has_api"}


def facet_fields(data: dict[str, Any]) -> list[str]:
    value = json_param(data, "facet.field")
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid("facet.field", "Must be a JSON list of field names")
    unknown = [v for v in value if v not in FACET_FIELDS]
    if unknown:
        raise invalid("facet.field", f"不支持的分面 / unsupported facet field: {unknown[0][:40]} "
                                     f"(allowed: {', '.join(FACET_FIELDS)})")
    return list(dict.fromkeys(value))


def _facet_counts(db: Session, field: str, result: search.Result, filters: search.Filters, q: str | None
                  ) -> list[tuple[str, str, int]]:
    """(name, display name, count) of one facet over the search's matches."""
    if field in _SEARCH_FACET:
        key = _SEARCH_FACET[field]
        chosen = getattr(filters, _FILTER_OF[key])
        items = result.facets.get(key, [])
        if chosen is not None:  # the portal's facets ignore their own filter; CKAN's count the results
            wanted = ("true" if chosen else "false") if isinstance(chosen, bool) else chosen
            items = [i for i in items if i[0] == wanted]
        if field == "organization":
            return [(org_name(v), label, n) for v, label, n in items]
        return list(items)
    counts: Counter[str] = Counter()
    if field == "res_format":  # every dataset has the three files; the API only where has_api
        if filters.has_api is None:  # the search's has_api facet already counted the matches: no second scan
            with_api = next((n for value, _, n in result.facets.get("has_api", []) if value == "true"), 0)
            total = result.total
        else:
            rows = db.execute(select(OpenDataset.has_api, func.count()).where(*search.conditions(q, filters))
                              .group_by(OpenDataset.has_api)).all()
            total, with_api = sum(n for _, n in rows), sum(n for has_api, n in rows if has_api)
        counts.update({spec[2]: total for spec in service.RESOURCES if spec[1] != "api"})
        counts["API"] = with_api
        return [(v, v, n) for v, n in counts.most_common() if n]
    column = OpenDataset.license_id if field == "license_id" else OpenDataset.keywords
    for (value,) in db.execute(select(column).where(*search.conditions(q, filters))):
        counts.update((value or []) if field == "tags" else [value])
    return [(v, v, n) for v, n in counts.most_common()]


def facets(db: Session, fields: list[str], limit: int, result: search.Result, filters: search.Filters,
           q: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    plain: dict[str, Any] = {}
    detailed: dict[str, Any] = {}
    for field in fields:
        items = sorted(_facet_counts(db, field, result, filters, q), key=lambda i: (-i[2], i[0]))
        items = [i for i in items if i[2] > 0]
        if limit >= 0:
            items = items[:limit]
        plain[field] = {name: n for name, _, n in items}
        detailed[field] = {"title": field, "items": [{"name": name, "display_name": label, "count": n}
                                                     for name, label, n in items]}
    return plain, detailed


# ---- actions ------------------------------------------------------------------------------------

Action = Callable[[Session, dict[str, Any], "Call"], Any]


@dataclass
class Call:
    """What an action may need of the request besides its parameters."""

    action: str
    path: str


def status_show(db: Session, data: dict[str, Any], call: Call) -> dict[str, Any]:
    """Site information: CKAN version (compatible), site title and address, extensions."""
    name = dcat.catalog_publisher(db, None)[1]
    return {"site_title": f"{name}公共数据开放平台", "site_description": "向社会开放的公共数据及其接口",
            "site_url": base_url(), "ckan_version": CKAN_VERSION, "error_emails_to": None,
            "locale_default": "zh_Hans_CN", "extensions": ["datastore"]}


def package_list(db: Session, data: dict[str, Any], call: Call) -> list[str]:
    """Names of the open datasets, by name; ``limit``/``offset``."""
    limit, offset = natural(data, "limit", None), natural(data, "offset", 0)
    stmt = select(OpenDataset.slug).where(OpenDataset.status == "open").order_by(OpenDataset.slug)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.scalars(stmt.offset(offset)))


def package_search(db: Session, data: dict[str, Any], call: Call) -> dict[str, Any]:
    """Search: q (Chinese words), fq (a subset of Solr syntax), rows, start, sort, facet.field, facet.limit."""
    q = text(data, "q", limit=200)
    q = None if q is None or q.strip() in ("", "*:*", "*") else q
    rows = min(natural(data, "rows", ROWS_DEFAULT, message="Must be a non-negative integer") or 0, ROWS_MAX)
    start = natural(data, "start", 0) or 0
    sort_text = text(data, "sort", limit=300) or DEFAULT_SORT
    sort_key, order = parse_sort(sort_text, q is not None)
    fields = facet_fields(data)
    facet_limit = integer(data, "facet.limit", FACET_LIMIT)
    filters = filters_of(db, text(data, "fq", limit=2000))
    result = search.search(db, q=q, filters=filters, sort=sort_key, page_size=max(rows, 1), order=order,
                           offset=start)
    plain, detailed = facets(db, fields, facet_limit, result, filters, q)
    datasets = result.datasets[:rows] if rows else []
    return {"count": result.total, "facets": plain, "results": [package_dict(d) for d in datasets],
            "sort": sort_text, "search_facets": detailed}


def package_show(db: Session, data: dict[str, Any], call: Call) -> dict[str, Any]:
    """One open dataset by id, name or resource code."""
    ident = text(data, "id", required=True, limit=200) or ""
    dataset = _dataset(db, ident)
    usage.count(dataset.code, "api_calls")
    return package_dict(dataset)


def _dataset(db: Session, ident: str) -> OpenDataset:
    try:
        return service.get_open(db, ident)
    except NotFound:
        raise not_found(f"数据集不存在或未开放 / dataset not found: {ident[:100]}") from None


def _organisations(db: Session) -> list[tuple[str, str, int, datetime]]:
    return [tuple(r) for r in db.execute(
        select(OpenDataset.provider, OpenDataset.provider_name, func.count(), func.min(OpenDataset.opened_at))
        .where(OpenDataset.status == "open").group_by(OpenDataset.provider, OpenDataset.provider_name))]


def _themes(db: Session) -> list[tuple[str, str, int]]:
    return [tuple(r) for r in db.execute(
        select(OpenDataset.theme_code, OpenDataset.theme_name, func.count())
        .where(OpenDataset.status == "open", OpenDataset.theme_code != "")
        .group_by(OpenDataset.theme_code, OpenDataset.theme_name))]


def _listing(data: dict[str, Any], entries: list[dict[str, Any]]) -> list[Any]:
    """CKAN's group/organization_list: sort (name, title, package_count; asc|desc), limit, offset, all_fields."""
    all_fields = boolean(data, "all_fields", False)
    cap = GROUP_LIST_ALL_FIELDS_MAX if all_fields else GROUP_LIST_MAX
    limit = min(natural(data, "limit", cap) or 0, cap)
    offset = natural(data, "offset", 0) or 0
    sort = (text(data, "sort", limit=60) or "title asc").strip()
    match = re.fullmatch(r"(name|title|package_count)(?:\s+(asc|desc))?", sort, re.IGNORECASE)
    if not match:
        raise invalid("sort", "排序无效 / invalid sort: use name, title or package_count, asc or desc")
    key = match.group(1).lower()
    reverse = (match.group(2) or ("desc" if key == "package_count" else "asc")).lower() == "desc"
    entries = sorted(entries, key=lambda e: (e[key], e["name"]), reverse=reverse)[offset:offset + limit]
    return entries if all_fields else [e["name"] for e in entries]


def organization_list(db: Session, data: dict[str, Any], call: Call) -> list[Any]:
    """Departments with open datasets (name = lower-cased code)."""
    return _listing(data, [org_dict(c, t, n, at) for c, t, n, at in _organisations(db)])


def organization_show(db: Session, data: dict[str, Any], call: Call) -> dict[str, Any]:
    """One department by id, name or code; ``include_datasets`` adds its open datasets (up to 1000)."""
    ident = (text(data, "id", required=True, limit=100) or "").strip()
    for code, title, count, created in _organisations(db):
        if ident in (org_id(code), org_name(code), code):
            out = org_dict(code, title, count, created)
            out.update({"extras": [], "tags": [], "groups": [], "users": []})
            if boolean(data, "include_datasets", False):
                found = search.search(db, filters=search.Filters(provider=code), sort="name", page_size=ROWS_MAX)
                out["packages"] = [package_dict(d) for d in found.datasets]
            return out
    raise not_found(f"组织不存在 / organization not found: {ident[:100]}")


def group_list(db: Session, data: dict[str, Any], call: Call) -> list[Any]:
    """Themes (主题) with open datasets (name = theme code)."""
    return _listing(data, [group_dict(c, t, n) for c, t, n in _themes(db)])


def tag_list(db: Session, data: dict[str, Any], call: Call) -> list[Any]:
    """Keywords of open datasets, by name; ``query`` keeps those containing it; ``all_fields`` gives dicts."""
    query = (text(data, "query", limit=100) or text(data, "q", limit=100) or "").lower()
    names: set[str] = set()
    for (keywords,) in db.execute(select(OpenDataset.keywords).where(OpenDataset.status == "open")):
        names.update(k for k in keywords or [] if query in k.lower())
    ordered = sorted(names)
    if boolean(data, "all_fields", False):
        return [{"id": k, "name": k, "vocabulary_id": None} for k in ordered]
    return ordered


def resource_show(db: Session, data: dict[str, Any], call: Call) -> dict[str, Any]:
    """One resource (CSV, XLSX, JSON download or the API) of an open dataset."""
    rid = text(data, "id", required=True, limit=100) or ""
    dataset, resource = _resource(db, rid)
    position = [r["id"] for r in service.resources(dataset)].index(resource["id"])
    return resource_dict(dataset, resource, position)


def _resource(db: Session, rid: str) -> tuple[OpenDataset, dict[str, Any]]:
    try:
        return service.get_resource(db, rid)
    except NotFound:
        raise not_found(f'Resource "{rid[:100]}" was not found.') from None


def datastore_search(db: Session, data: dict[str, Any], call: Call) -> dict[str, Any]:
    """Rows of an open dataset: filters, q, fields, sort, limit, offset, include_total (CKAN's datastore)."""
    rid = text(data, "resource_id", limit=100) or text(data, "id", limit=100)
    if not rid:
        raise invalid("resource_id", "Missing value")
    dataset, resource = _resource(db, rid)
    if not resource["datastore_active"]:
        raise not_found(f'Resource "{rid}" was not found.')
    filters = json_param(data, "filters", objects_only=True)
    q = json_param(data, "q", lenient=True)
    fields, sort = json_param(data, "fields"), json_param(data, "sort")
    limit = natural(data, "limit", DATASTORE_LIMIT)
    offset = natural(data, "offset", 0)
    include_total = boolean(data, "include_total", True)
    try:
        result = datafiles.datastore_search(dataset.data_key, service.columns(dataset), filters=filters, q=q,
                                            fields=fields, sort=sort, limit=limit, offset=offset,
                                            include_total=include_total, max_limit=DATASTORE_MAX)
    except datafiles.DatastoreInvalid as exc:
        raise CkanError(409, {"__type": "Validation Error", **exc.errors}) from None
    usage.count(dataset.code, "api_calls")
    result.update(resource_id=rid, include_total=include_total, records_format="objects",
                  _links=_links(call, data, result["limit"], result["offset"]))
    return result


def _links(call: Call, data: dict[str, Any], limit: int, offset: int) -> dict[str, str]:
    kept = {}
    for key in ("resource_id", "id", "filters", "q", "fields", "sort", "include_total"):
        value = data.get(key)
        if value is not None:
            kept[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if limit != DATASTORE_LIMIT:
        kept["limit"] = str(limit)
    path = f"/api/3/action/{call.action}"
    return {"start": f"{path}?{urlencode(kept)}", "next": f"{path}?{urlencode({**kept, 'offset': offset + limit})}"}


def help_show(db: Session, data: dict[str, Any], call: Call) -> str:
    """The documentation of an action (``name``)."""
    name = text(data, "name", required=True, limit=100) or ""
    function = ACTIONS.get(name)
    if function is None:
        raise not_found("Action function not found")
    return (function.__doc__ or name).strip()


ACTIONS: dict[str, Action] = {f.__name__: f for f in (
    status_show, package_list, package_search, package_show, organization_list, organization_show, group_list,
    tag_list, resource_show, datastore_search, help_show)}


# ---- the view -----------------------------------------------------------------------------------

router = APIRouter(tags=["ckan CKAN 兼容接口"])


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    # public, read-only, no cookies: browser apps on other sites may call it, as they may call CKAN sites
    return Response(content, status_code=status, media_type=JSON_TYPE,
                    headers={"Access-Control-Allow-Origin": "*", **(headers or {})})


async def _request_data(request: Request) -> dict[str, Any]:
    """Parameters as CKAN reads them: a form (one key with value "" or "1" is a JSON document), else the query
    string, else a JSON body. ValueError when the body is not a JSON object."""
    def mixed(pairs: list[tuple[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            out.setdefault(key, []).append(value)
        return {k: v[0] if len(v) == 1 else v for k, v in out.items()}

    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith(("application/x-www-form-urlencoded",
                                                               "multipart/form-data")):
        form = await request.form()
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        if len(pairs) == 1 and pairs[0][1] in ("", "1"):
            data = json.loads(pairs[0][0])
        elif pairs:
            data = mixed(pairs)
        else:
            data = mixed(parse_qsl(request.url.query, keep_blank_values=True))
    elif request.url.query:
        data = mixed(parse_qsl(request.url.query, keep_blank_values=True))
    else:
        body = await request.body() if request.method == "POST" else b""
        data = json.loads(body) if body.strip() else {}  # RecursionError when nested too deep
    if not isinstance(data, dict):
        raise ValueError(f"Request data JSON decoded to {type(data).__name__} but it needs to be a dictionary.")
    data.pop("callback", None)
    return data


def _run(db: Session, name: str, data: dict[str, Any], call: Call) -> Any:
    return ACTIONS[name](db, data, call)


def _from_app_error(exc: AppError) -> CkanError:
    if exc.status == 413:  # BodyLimitMiddleware, raised while the body was read
        return CkanError(413, {"__type": "Request Entity Too Large", "message": exc.message})
    if exc.status == 429:
        retry = str(getattr(exc, "retry_after", 60))
        return CkanError(429, {"__type": "Rate Limit Error", "message": exc.message}, {"Retry-After": retry})
    if exc.status in (401, 403):
        return CkanError(403, {"__type": "Authorization Error", "message": f"Access denied: {exc.message}"})
    if exc.status == 404:
        return not_found(exc.message)
    field = getattr(exc, "field", None) or exc.code
    return CkanError(409, {"__type": "Validation Error", field: [exc.message]})


@router.api_route("/api/3/action/{action}", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/api/action/{action}", methods=["GET", "POST"], include_in_schema=False)
async def action(action: str, request: Request, db: Session = Depends(get_db)) -> Response:
    """CKAN's action endpoint: dispatch, envelope, CKAN error shapes."""
    if action not in ACTIONS:
        return _json(400, f"Bad request - Action name not known: {action[:100]}")
    envelope: dict[str, Any] = {"help": f"{base_url()}/api/3/action/help_show?name={action}"}
    client = request.client.host if request.client else "-"
    try:
        # counted (or refused) before the body is read: a flood of bodies meets the rate limit first
        await run_in_threadpool(developers.take, db, developers.key_from_headers(request.headers), client)
        data = await _request_data(request)
    except AppError as exc:
        error = _from_app_error(exc)
        return _json(error.status, {**envelope, "success": False, "error": error.error}, error.headers)
    except RecursionError:
        return _json(400, "Bad request - JSON Error: nested too deeply")
    except (ValueError, UnicodeDecodeError) as exc:
        return _json(400, f"Bad request - JSON Error: {str(exc)[:200]}")
    try:
        result = await run_in_threadpool(_run, db, action, data, Call(action, request.url.path))
    except CkanError as exc:
        return _json(exc.status, {**envelope, "success": False, "error": exc.error}, exc.headers)
    except AppError as exc:
        error = _from_app_error(exc)
        return _json(error.status, {**envelope, "success": False, "error": error.error}, error.headers)
    except Exception:
        logger.exception("CKAN action %s failed", action)
        return _json(500, {**envelope, "success": False,
                           "error": {"__type": "Internal Server Error", "message": "Internal Server Error"}})
    return _json(200, {**envelope, "success": True, "result": result})
