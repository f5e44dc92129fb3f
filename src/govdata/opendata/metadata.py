"""The open catalog's metadata for machines: DCAT-AP 3.0.1 (Turtle, JSON-LD) and bulk downloads (CSV, XLSX, JSON).

Only datasets on the portal (``open_datasets`` with status open) are described — not every catalog entry whose open
flag is set: an entry without a published, checked version is not on the portal. The graphs reuse
``catalog.dcat``'s builder (agents, themes, contact points, vocabulary typing, streaming in parts) and differ where
the portal differs: each dataset has the CSV, XLSX and JSON downloads as distributions (``dcat:downloadURL``,
IANA ``dcat:mediaType``, EU file-type ``dct:format``, ``dct:license``) and, when the department opens it through
the API too (``has_api``; 共享方式 other than 文件下载), a fourth distribution served by the CKAN-compatible API,
which then ``dcat:servesDataset`` it — a file-only dataset has no API distribution and is not served by the API.
Also a landing page, ``dct:accessRights`` PUBLIC and ``dct:modified`` = when its data was last updated. A contact
point only where the catalog gives a contact, and only what may be public (``catalog.dcat.public_contact``: a
department's e-mail or landline, never a mobile number or free text); the bulk downloads' 联系方式 likewise.

IRIs: ``{base}/open/dcat/catalog``, ``{base}/open/dcat/dataset/{slug}`` (303 to the page or a description),
``{base}/open/dcat/service/ckan``; agents and vocabulary terms are shared with ``/dcat`` (the same departments).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, XSD
from sqlalchemy.orm import Session

from govdata import exports
from govdata.catalog import dcat
from govdata.catalog.dcat import ACCESS_RIGHT, DCAT, FILE_TYPE, FREQUENCY, IANA, LANGUAGE, THEMES
from govdata.config import local_tz
from govdata.db import get_db
from govdata.opendata import service
from govdata.opendata.models import OpenDataset
from govdata.standards import enums

DCT = DCTERMS
EU_LICENCE = "http://publications.europa.eu/resource/authority/licence/"
# license id → (title, reference URL, EU licence authority term, open per the Open Definition)
LICENSES: dict[str, tuple[str, str, str, bool]] = {
    "CC-BY-4.0": ("知识共享署名 4.0 (CC BY 4.0)", "https://creativecommons.org/licenses/by/4.0/", "CC_BY_4_0", True),
    "CC-BY-SA-4.0": ("知识共享署名-相同方式共享 4.0 (CC BY-SA 4.0)", "https://creativecommons.org/licenses/by-sa/4.0/",
                     "CC_BYSA_4_0", True),
    "CC0-1.0": ("知识共享零 1.0 (CC0 1.0)", "https://creativecommons.org/publicdomain/zero/1.0/", "CC0", True),
    "ODC-BY-1.0": ("开放数据共享署名许可 (ODC-By 1.0)", "https://opendatacommons.org/licenses/by/1-0/", "ODC_BY", True),
}
DOWNLOADS = ("csv", "xlsx", "json")
FILE_TYPES = {"csv": "CSV", "xlsx": "XLSX", "json": "JSON", "api": "JSON"}


def license_of(license_id: str) -> dict[str, Any]:
    title, url, _, is_open = LICENSES.get(license_id, (license_id, "", "", False))
    return {"id": license_id, "title": title, "url": url or None, "open": is_open}


# ---- plain values of a dataset (read before streaming; the session may be gone while parts are built) ----

def _plain(ds: OpenDataset) -> dict[str, Any]:
    return {
        "code": ds.code, "slug": ds.slug, "name": ds.name, "summary": ds.summary, "provider": ds.provider,
        "provider_name": ds.provider_name, "theme_code": ds.theme_code, "theme_name": ds.theme_name,
        "update_cycle": ds.update_cycle, "keywords": list(ds.keywords or []), "license_id": ds.license_id,
        "contact": ds.contact, "open_condition": ds.open_condition, "version": ds.version_number,
        "row_count": ds.row_count, "quality_score": ds.quality_score, "opened_at": ds.opened_at,
        "data_updated_at": ds.data_updated_at, "views": ds.views, "downloads": ds.downloads,
        "api_calls": ds.api_calls, "rating": service.rating(ds), "has_api": ds.has_api,
        "resources": service.resources(ds),  # without the API for a file-only dataset
    }


# ---- DCAT ---------------------------------------------------------------------------------------

def catalog_iri(base: str) -> URIRef:
    return URIRef(f"{base}/open/dcat/catalog")


def dataset_iri(base: str, slug_: str) -> URIRef:
    return URIRef(f"{base}/open/dcat/dataset/{slug_}")


def service_iri(base: str) -> URIRef:
    return URIRef(f"{base}/open/dcat/service/ckan")


class OpenBuilder(dcat.Builder):
    """catalog.dcat's builder with the portal's datasets, distributions and API."""

    def __init__(self, graph: Graph, base: str) -> None:
        super().__init__(graph, base, public=True)
        self.service = service_iri(base)

    def licence(self, license_id: str) -> URIRef | BNode:
        title, _, term, _ = LICENSES.get(license_id, (license_id, "", "", False))
        if term:
            return self.typed(URIRef(EU_LICENCE + term), DCT.LicenseDocument)
        node = BNode()
        self.g.add((node, RDF.type, DCT.LicenseDocument))
        self.g.add((node, RDFS.label, Literal(title or license_id)))
        return node

    def open_service(self, publisher: URIRef) -> URIRef:
        g, node = self.g, self.service
        g.add((node, RDF.type, DCAT.DataService))
        g.add((node, DCT.title, Literal("公共数据开放接口(CKAN 兼容)", lang="zh")))
        g.add((node, DCT.title, Literal("Open data API (CKAN compatible)", lang="en")))
        zh = "CKAN Action API:检索开放数据集(package_search),按条件查询数据(datastore_search)。无需登录。"
        g.add((node, DCT.description, Literal(zh, lang="zh")))
        g.add((node, DCT.description, Literal("CKAN Action API: search the open datasets (package_search) and query "
                                              "their rows (datastore_search); no sign-in needed.", lang="en")))
        g.add((node, DCAT.endpointURL, URIRef(f"{self.base}/api/3/action/")))
        g.add((node, DCAT.endpointDescription, URIRef(f"{self.base}/open/api")))
        g.add((node, DCT.publisher, publisher))
        g.add((node, DCT.accessRights, self.typed(ACCESS_RIGHT.PUBLIC, DCT.RightsStatement)))
        return node

    def open_dataset(self, d: dict[str, Any]) -> URIRef:
        g, base = self.g, self.base
        ds = dataset_iri(base, d["slug"])
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, DCT.identifier, Literal(d["code"])))
        g.add((ds, DCT.title, Literal(d["name"], lang="zh")))
        g.add((ds, DCT.description, Literal(d["summary"] or d["name"], lang="zh")))
        g.add((ds, DCT.publisher, self.agent(d["provider"], d["provider_name"])))
        if (d["contact"] or "").strip():
            g.add((ds, DCAT.contactPoint, self._contact(d)))
        frequency = dcat.FREQUENCIES.get(d["update_cycle"] or "")
        if frequency:
            g.add((ds, DCT.accrualPeriodicity, self.typed(FREQUENCY[frequency], DCT.Frequency)))
        theme = THEMES.get((d["theme_code"] or "")[:3])
        if theme:
            g.add((ds, DCAT.theme, self.theme(theme)))
        for keyword in d["keywords"]:
            g.add((ds, DCAT.keyword, Literal(keyword, lang="zh")))
        g.add((ds, DCT.issued, Literal(d["opened_at"], datatype=XSD.dateTime)))
        g.add((ds, DCT.modified, Literal(d["data_updated_at"], datatype=XSD.dateTime)))
        g.add((ds, DCT.accessRights, self.typed(ACCESS_RIGHT.PUBLIC, DCT.RightsStatement)))
        g.add((ds, DCT.language, self.typed(LANGUAGE.ZHO, DCT.LinguisticSystem)))
        g.add((ds, DCAT.version, Literal(str(d["version"]))))
        g.add((ds, DCAT.landingPage, self.typed(URIRef(f"{base}/open/datasets/{d['slug']}"), FOAF.Document)))
        for resource in d["resources"]:
            g.add((ds, DCAT.distribution, self._open_distribution(d, resource)))
        if d["has_api"]:
            g.add((self.service, DCAT.servesDataset, ds))
        return ds

    def _open_distribution(self, d: dict[str, Any], resource: dict[str, Any]) -> BNode:
        g, node = self.g, BNode()
        url = URIRef(self.base + resource["path"])
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCT.title, Literal(resource["name"], lang="zh")))
        g.add((node, DCAT.accessURL, url))
        if resource["kind"] in DOWNLOADS:
            g.add((node, DCAT.downloadURL, url))
        else:
            g.add((node, DCAT.accessService, self.service))
        g.add((node, DCT.format, self.typed(FILE_TYPE[FILE_TYPES[resource["kind"]]], DCT.MediaTypeOrExtent)))
        g.add((node, DCAT.mediaType, self.typed(IANA[resource["mimetype"]], DCT.MediaType)))
        g.add((node, DCT.license, self.licence(d["license_id"])))
        g.add((node, DCT.modified, Literal(d["data_updated_at"], datatype=XSD.dateTime)))
        if d["open_condition"]:
            statement = BNode()
            g.add((statement, RDF.type, DCT.RightsStatement))
            g.add((statement, RDFS.label, Literal(f"开放条件:{d['open_condition']}", lang="zh")))
            g.add((node, DCT.rights, statement))
        return node


def catalog_parts(db: Session, base: str, *, chunk: int = dcat.CHUNK) -> Iterator[Graph]:
    """The open catalog as graphs whose union is the catalog (the catalogue and its API, then ``chunk``
    datasets at a time). Reads the database now, builds while iterated."""
    rows = [_plain(ds) for ds in service.all_open(db)]
    publisher = dcat.catalog_publisher(db, None)
    return _parts(rows, base.rstrip("/"), publisher, chunk)


def _parts(rows: list[dict[str, Any]], base: str, publisher: tuple[str | None, str], chunk: int) -> Iterator[Graph]:
    build = OpenBuilder(dcat.new_graph(), base)
    agent = build.agent(*publisher)
    catalog, g = catalog_iri(base), build.g
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCT.title, Literal(f"{publisher[1]}公共数据开放目录", lang="zh")))
    g.add((catalog, DCT.title, Literal("Open data catalogue", lang="en")))
    g.add((catalog, DCT.description, Literal(f"{publisher[1]}在公共数据开放平台上向社会开放的数据集。", lang="zh")))
    g.add((catalog, DCT.description, Literal("Datasets open to the public on the open data portal.", lang="en")))
    g.add((catalog, DCT.publisher, agent))
    g.add((catalog, FOAF.homepage, build.typed(URIRef(f"{base}/open/"), FOAF.Document)))
    for language in (LANGUAGE.ZHO, LANGUAGE.ENG):
        g.add((catalog, DCT.language, build.typed(language, DCT.LinguisticSystem)))
    g.add((catalog, DCAT.themeTaxonomy, build.theme_scheme()))
    if rows:
        g.add((catalog, DCT.modified, Literal(max(r["data_updated_at"] for r in rows), datatype=XSD.dateTime)))
    g.add((catalog, DCAT.service, build.open_service(agent)))
    yield g
    for start in range(0, len(rows), chunk):
        build.g = g = dcat.new_graph()
        for row in rows[start:start + chunk]:
            g.add((catalog, DCAT.dataset, build.open_dataset(row)))
        yield g


def dataset_graph(db: Session, base: str, ident: str) -> Graph:
    """One open dataset, its distributions, department and the API serving it; NotFound if not open."""
    d = _plain(service.get_open(db, ident))
    build = OpenBuilder(dcat.new_graph(), base.rstrip("/"))
    build.open_service(build.agent(*dcat.catalog_publisher(db, None)))
    build.open_dataset(d)
    return build.g


# ---- bulk metadata ------------------------------------------------------------------------------

COLUMNS = (  # (JSON key, CSV/XLSX header)
    ("code", "资源代码"), ("name", "数据集名称"), ("department", "提供部门"), ("theme", "主题"), ("summary", "摘要"),
    ("update_cycle", "更新周期"), ("rows", "数据量(行)"), ("version", "版本"), ("opened_at", "开放时间"),
    ("updated_at", "数据更新时间"), ("license", "许可协议"), ("contact", "联系方式"), ("page_url", "页面地址"),
    ("api_url", "接口地址"),
    ("csv_url", "CSV 下载"), ("xlsx_url", "XLSX 下载"), ("json_url", "JSON 下载"), ("views", "浏览量"),
    ("downloads", "下载量"), ("api_calls", "接口调用量"), ("rating", "评分"),
)


def _local(at: datetime) -> str:
    return at.astimezone(local_tz()).isoformat(timespec="seconds")


def records(db: Session, base: str) -> list[dict[str, Any]]:
    """One record per open dataset, by code (the bulk downloads' rows). ``api_url`` is None for a dataset opened
    as files only; ``contact`` only what may be public (``dcat.public_contact``)."""
    out = []
    for d in (_plain(ds) for ds in service.all_open(db)):
        urls = {r["kind"]: base + r["path"] for r in d["resources"]}
        out.append({
            "code": d["code"], "name": d["name"], "department": d["provider_name"], "theme": d["theme_name"],
            "summary": d["summary"], "update_cycle": str(enums.UPDATE_CYCLES.get(d["update_cycle"],
                                                                                 d["update_cycle"])),
            "rows": d["row_count"], "version": d["version"], "opened_at": _local(d["opened_at"]),
            "updated_at": _local(d["data_updated_at"]), "license": d["license_id"],
            "contact": dcat.public_contact(d["contact"]),
            "page_url": f"{base}/open/datasets/{d['slug']}", "api_url": urls.get("api"), "csv_url": urls["csv"],
            "xlsx_url": urls["xlsx"], "json_url": urls["json"], "views": d["views"], "downloads": d["downloads"],
            "api_calls": d["api_calls"], "rating": d["rating"],
        })
    return out


# ---- routes -------------------------------------------------------------------------------------

router = APIRouter(tags=["opendata 开放目录元数据"])
HEADERS = {"Access-Control-Allow-Origin": "*"}  # public metadata: harvesters and browser apps may read it


def _catalog(db: Session, jsonld: bool) -> Response:
    parts = catalog_parts(db, dcat.base_url())
    if jsonld:
        return StreamingResponse(dcat.jsonld_stream(parts), media_type=dcat.JSONLD, headers=HEADERS)
    return StreamingResponse(dcat.turtle_stream(parts), media_type=dcat.TURTLE, headers=HEADERS)


@router.get("/open/catalog.ttl", response_class=Response)
def open_catalog_turtle(db: Session = Depends(get_db)) -> Response:
    """The open catalog as DCAT-AP 3 Turtle."""
    return _catalog(db, jsonld=False)


@router.get("/open/catalog.jsonld", response_class=Response)
def open_catalog_jsonld(db: Session = Depends(get_db)) -> Response:
    """The open catalog as DCAT-AP 3 JSON-LD."""
    return _catalog(db, jsonld=True)


def _dataset(db: Session, slug_: str, jsonld: bool) -> Response:
    graph = dataset_graph(db, dcat.base_url(), slug_)
    if jsonld:
        body = graph.serialize(format="json-ld", context=dcat.JSONLD_CONTEXT, auto_compact=True, encoding="utf-8")
        return Response(body, media_type=dcat.JSONLD, headers=HEADERS)
    return Response(graph.serialize(format="turtle", encoding="utf-8"), media_type=dcat.TURTLE, headers=HEADERS)


@router.get("/open/datasets/{slug}.ttl", response_class=Response)
def open_dataset_turtle(slug: str, db: Session = Depends(get_db)) -> Response:
    """One open dataset as DCAT-AP 3 Turtle (404 for anything not open)."""
    return _dataset(db, slug, jsonld=False)


@router.get("/open/datasets/{slug}.jsonld", response_class=Response)
def open_dataset_jsonld(slug: str, db: Session = Depends(get_db)) -> Response:
    """One open dataset as DCAT-AP 3 JSON-LD (404 for anything not open)."""
    return _dataset(db, slug, jsonld=True)


@router.get("/open/dcat/dataset/{slug}", response_class=Response)
def open_dataset_iri(slug: str, request: Request, db: Session = Depends(get_db)) -> Response:
    """The dataset's IRI: 303 to its Turtle, JSON-LD or page, by the Accept header."""
    dataset = service.get_open(db, slug)
    accept = request.headers.get("accept", "")
    if dcat.wants_jsonld(accept):
        target = f"/open/datasets/{dataset.slug}.jsonld"
    elif "text/turtle" in accept:
        target = f"/open/datasets/{dataset.slug}.ttl"
    else:
        target = f"/open/datasets/{dataset.slug}"
    return RedirectResponse(target, status_code=303)


@router.get("/open/metadata.csv", response_class=Response)
def metadata_csv(db: Session = Depends(get_db)) -> Response:
    """Every open dataset's metadata, one row each: UTF-8 CSV with a BOM, formulas neutralised."""
    rows = records(db, dcat.base_url())
    body = exports.csv_bytes([h for _, h in COLUMNS], ([r[k] for k, _ in COLUMNS] for r in rows))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={**HEADERS, "Content-Disposition": 'attachment; filename="open-metadata.csv"'})


@router.get("/open/metadata.xlsx", response_class=Response)
def metadata_xlsx(db: Session = Depends(get_db)) -> Response:
    """Every open dataset's metadata as an Excel workbook (text cells never formulas)."""
    rows = records(db, dcat.base_url())
    body = exports.xlsx_bytes([("开放数据目录", [h for _, h in COLUMNS], ([r[k] for k, _ in COLUMNS] for r in rows))])
    return Response(body, media_type=exports.XLSX_MEDIA_TYPE,
                    headers={**HEADERS, "Content-Disposition": 'attachment; filename="open-metadata.xlsx"'})


@router.get("/open/metadata.json", response_class=Response)
def metadata_json(db: Session = Depends(get_db)) -> Response:
    """Every open dataset's metadata as JSON: {"count", "datasets": [...]}."""
    rows = records(db, dcat.base_url())
    body = json.dumps({"count": len(rows), "datasets": rows}, ensure_ascii=False).encode("utf-8")
    return Response(body, media_type="application/json", headers=HEADERS)

