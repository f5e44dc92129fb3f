"""DCAT-AP 3.0.1 export of the published catalog (``catalog_entries``), as Turtle and JSON-LD via rdflib.

What is emitted (every mandatory property of the DCAT-AP 3.0.1 shapes, and every object typed with the
class the range shapes ask for, since validation runs without inference):

* one ``dcat:Catalog`` — title and description in zh and en, ``dct:publisher`` (the organisation named by
  ``GOVDATA_PUBLISHER_ORG``, else the root of the organisation tree, else the platform itself),
  ``foaf:homepage``, ``dct:language``, ``dct:modified`` (latest publication; absent when empty),
  ``dcat:themeTaxonomy`` (EU data themes), ``dcat:dataset``, ``dcat:service``;
* one ``dcat:Dataset`` per published resource — identifier (the resource code), title and description
  (zh; the name when the summary is empty), publisher (the provider as ``foaf:Agent``), contact point
  (``vcard:Kind``), accrual periodicity (EU frequency), theme (EU data theme where the classification
  has a clear counterpart) and keywords (classification path, item names), issued / modified, access
  rights (EU access-right), language, version and one ``dcat:Distribution`` whose access URL is the
  resource's address on the platform API;
* one ``dcat:DataService`` for the platform API, serving every dataset.

No ``dct:license``: the platform configures no open licence yet, and a wrong licence is worse than none.

IRIs: everything is minted under ``GOVDATA_BASE_URL`` (never the request's Host header). Resource codes
contain "/" and are percent-encoded in IRIs (``{base}/dcat/dataset/105%2F000001``). A dataset's
distribution, contact point and rights statement are blank nodes: they belong to the dataset, and IRIs
such as ``<dataset>#distribution`` give every dataset its own namespace, which makes rdflib's Turtle
serializer quadratic (it scans all namespaces when abbreviating each IRI).

Visibility: the full catalog needs a bearer token; ``?open=true`` lists only the resources open to the
public and needs none. Public descriptions leave out personal data (the responsible person's name,
mobile numbers) and the share conditions, which are addressed to government users. See
``docs/decisions.md`` (DCAT export, issue 3).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, SKOS, XSD
from rdflib.plugins.serializers.jsonld import from_rdf
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import projection
from govdata.catalog.models import CatalogEntry
from govdata.config import get_settings
from govdata.db import get_db
from govdata.errors import NotFound, Unauthenticated
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.standards import enums
from govdata.web.deps import api_principal, bearer_token

logger = logging.getLogger(__name__)

DCT = DCTERMS
DCAT = Namespace("http://www.w3.org/ns/dcat#")  # rdflib's DCAT is version 2: no dcat:version
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
FREQUENCY = Namespace(EU + "frequency/")
ACCESS_RIGHT = Namespace(EU + "access-right/")
LANGUAGE = Namespace(EU + "language/")
FILE_TYPE = Namespace(EU + "file-type/")
DATA_THEME_SCHEME = URIRef(EU + "data-theme")
DATA_THEME = Namespace(EU + "data-theme/")
IANA = Namespace("http://www.iana.org/assignments/media-types/")
PUBLISHER_TYPE = Namespace("http://purl.org/adms/publishertype/")

PREFIXES = {"dcat": DCAT, "dct": DCT, "foaf": FOAF, "vcard": VCARD, "skos": SKOS, "rdfs": RDFS, "xsd": XSD}
JSONLD_CONTEXT = {prefix: str(ns) for prefix, ns in PREFIXES.items()}  # inline: parsing it fetches nothing
TURTLE = "text/turtle; charset=utf-8"
JSONLD = "application/ld+json"
PLATFORM_NAME = "govdata 政务数据治理与共享平台"
CHUNK = 1000  # datasets per streamed part

FREQUENCIES = {  # update_cycle → EU frequency authority
    "realtime": "CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
    "quarterly": "QUARTERLY", "half_yearly": "BIANNUAL", "yearly": "ANNUAL",
}
# Classification (its first three digits: 类 + 项) → EU data theme, only where the counterpart is clear.
# 社会信用 (104) and the department classes (3xx) have none: they get keywords only.
THEMES = {
    "101": "SOCI", "102": "ECON", "103": "ENVI", "105": "GOVE",
    "201": "HEAL", "202": "EDUC", "203": "SOCI", "204": "ECON", "205": "REGI", "206": "SOCI",
    "207": "ECON", "208": "TRAN", "209": "JUST", "210": "ENVI", "211": "EDUC",
}
THEME_LABELS = {  # the EU vocabulary's English preferred labels
    "ECON": "Economy and finance", "EDUC": "Education, culture and sport", "ENVI": "Environment",
    "GOVE": "Government and public sector", "HEAL": "Health", "JUST": "Justice, legal system and public safety",
    "REGI": "Regions and cities", "SOCI": "Population and society", "TRAN": "Transport",
}
# Resources shared through the platform API are served as JSON; for the other share methods the
# platform does not know the file type (信息资源格式 such as 电子表格 is a category, not a file type).
MEDIA_TYPES = {"api": ("JSON", "application/json")}

_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,23}[0-9]$")
_MOBILE = re.compile(r"^(?:\+?86[ -]?)?1[3-9][0-9]{9}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


# ---- IRIs --------------------------------------------------------------------------------------

def base_url() -> str:
    return get_settings().base_url.rstrip("/")


def _segment(value: str) -> str:
    return quote(value, safe="")


def dataset_iri(base: str, code: str) -> URIRef:
    return URIRef(f"{base}/dcat/dataset/{_segment(code)}")


def agent_iri(base: str, org_code: str) -> URIRef:
    return URIRef(f"{base}/dcat/agent/{_segment(org_code)}")


def service_iri(base: str) -> URIRef:
    return URIRef(f"{base}/dcat/service/api")


def access_url(base: str, code: str) -> URIRef:
    return URIRef(f"{base}/api/v1/resources/{_segment(code)}")


# ---- building ----------------------------------------------------------------------------------

def new_graph() -> Graph:
    graph = Graph(bind_namespaces="core")
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns)
    return graph


class Builder:
    """Adds descriptions to one graph; nodes shared by many datasets (agents, vocabulary terms) once."""

    def __init__(self, graph: Graph, base: str, *, public: bool) -> None:
        self.g, self.base, self.public = graph, base, public
        self._done: set[URIRef] = set()
        self.service = service_iri(base)

    def _once(self, node: URIRef) -> bool:
        if node in self._done:
            return False
        self._done.add(node)
        return True

    def typed(self, node: URIRef, *classes: URIRef) -> URIRef:
        """A term of a controlled vocabulary, typed as the range shapes require."""
        if self._once(node):
            for cls in classes:
                self.g.add((node, RDF.type, cls))
        return node

    def agent(self, code: str | None, name: str) -> URIRef:
        node = agent_iri(self.base, code) if code else URIRef(f"{self.base}/dcat/platform")
        if self._once(node):
            g = self.g
            g.add((node, RDF.type, FOAF.Agent))
            g.add((node, RDF.type, FOAF.Organization))
            g.add((node, FOAF.name, Literal(name, lang="zh")))
            if code:
                g.add((node, DCT.identifier, Literal(code)))
                kind = PUBLISHER_TYPE.LocalAuthority  # every organisation of a municipal tree
                if self._once(kind):
                    g.add((kind, RDF.type, SKOS.Concept))
                    g.add((kind, SKOS.prefLabel, Literal("Local Authority", lang="en")))
                g.add((node, DCT.type, kind))
        return node

    def theme(self, key: str) -> URIRef:
        node = DATA_THEME[key]
        if self._once(node):
            self.g.add((node, RDF.type, SKOS.Concept))
            self.g.add((node, SKOS.prefLabel, Literal(THEME_LABELS[key], lang="en")))
            self.g.add((node, SKOS.inScheme, DATA_THEME_SCHEME))
        return node

    def theme_scheme(self) -> URIRef:
        if self._once(DATA_THEME_SCHEME):
            self.g.add((DATA_THEME_SCHEME, RDF.type, SKOS.ConceptScheme))
            self.g.add((DATA_THEME_SCHEME, DCT.title, Literal("Data theme", lang="en")))
        return DATA_THEME_SCHEME

    def data_service(self, publisher: URIRef, datasets: Iterable[URIRef] = ()) -> URIRef:
        g, node = self.g, self.service
        g.add((node, RDF.type, DCAT.DataService))
        g.add((node, DCT.title, Literal("政务数据共享交换接口", lang="zh")))
        g.add((node, DCT.title, Literal("Government data sharing and exchange API", lang="en")))
        g.add((node, DCT.description, Literal("信息资源目录与数据共享交换的 REST 接口,需凭访问令牌调用。", lang="zh")))
        g.add((node, DCT.description, Literal("REST API of the resource catalogue and data exchange; "
                                              "calls need an access token.", lang="en")))
        g.add((node, DCAT.endpointURL, URIRef(f"{self.base}/api/v1/")))
        g.add((node, DCAT.endpointDescription, URIRef(f"{self.base}/openapi.json")))
        g.add((node, DCT.publisher, publisher))
        g.add((node, DCT.accessRights, self.typed(ACCESS_RIGHT.RESTRICTED, DCT.RightsStatement)))
        for ds in datasets:
            g.add((node, DCAT.servesDataset, ds))
        return node

    def dataset(self, doc: dict[str, Any], published_at: datetime) -> URIRef:
        g, code = self.g, doc["code"]
        ds = dataset_iri(self.base, code)
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, DCT.identifier, Literal(code)))
        g.add((ds, DCT.title, Literal(doc["name"], lang="zh")))
        g.add((ds, DCT.description, Literal(doc.get("summary") or doc["name"], lang="zh")))
        g.add((ds, DCT.publisher, self.agent(doc["provider"], doc["provider_name"])))
        g.add((ds, DCAT.contactPoint, self._contact(doc)))
        frequency = FREQUENCIES.get(doc.get("update_cycle", ""))
        if frequency:
            g.add((ds, DCT.accrualPeriodicity, self.typed(FREQUENCY[frequency], DCT.Frequency)))
        theme = THEMES.get((doc.get("classification_code") or "")[:3])
        if theme:
            g.add((ds, DCAT.theme, self.theme(theme)))
        for keyword in _keywords(doc):
            g.add((ds, DCAT.keyword, Literal(keyword, lang="zh")))
        if doc.get("publish_date"):
            g.add((ds, DCT.issued, Literal(date.fromisoformat(doc["publish_date"]), datatype=XSD.date)))
        g.add((ds, DCT.modified, Literal(published_at, datatype=XSD.dateTime)))
        g.add((ds, DCT.accessRights, self.typed(_access_right(doc), DCT.RightsStatement)))
        g.add((ds, DCT.language, self.typed(LANGUAGE.ZHO, DCT.LinguisticSystem)))
        g.add((ds, DCAT.version, Literal(str(doc.get("version", 1)))))
        g.add((ds, DCAT.distribution, self._distribution(doc)))
        return ds

    def _contact(self, doc: dict[str, Any]) -> BNode:
        g, node = self.g, BNode()
        g.add((node, RDF.type, VCARD.Kind))
        person = (doc.get("responsible_person") or "").strip()
        name = doc["provider_name"] if self.public or not person else person
        g.add((node, VCARD.fn, Literal(name, lang="zh")))
        g.add((node, VCARD["organization-name"], Literal(doc["provider_name"], lang="zh")))
        contact = (doc.get("contact") or "").strip()
        if self.public:
            contact = public_contact(contact) or ""
        if _EMAIL.match(contact):
            g.add((node, VCARD.hasEmail, URIRef("mailto:" + quote(contact, safe="@+"))))
        elif _PHONE.match(contact):
            g.add((node, VCARD.hasTelephone, URIRef(_tel(contact))))
        elif contact:  # free text: only for government users (public_contact never returns it)
            g.add((node, VCARD.note, Literal(contact, lang="zh")))
        return node

    def _distribution(self, doc: dict[str, Any]) -> BNode:
        g, node = self.g, BNode()
        method = enums.SHARE_METHODS.get(doc.get("share_method", ""), doc.get("share_method", ""))
        fmt = enums.FORMATS.get(doc.get("format", ""), doc.get("format", ""))
        g.add((node, RDF.type, DCAT.Distribution))
        g.add((node, DCT.title, Literal(f"{doc['name']}({method})", lang="zh")))
        g.add((node, DCT.description, Literal(f"信息资源格式:{fmt};共享方式:{method}", lang="zh")))
        g.add((node, DCAT.accessURL, access_url(self.base, doc["code"])))
        g.add((node, DCAT.accessService, self.service))
        media = MEDIA_TYPES.get(doc.get("share_method", ""))
        if media:
            g.add((node, DCT.format, self.typed(FILE_TYPE[media[0]], DCT.MediaTypeOrExtent)))
            g.add((node, DCAT.mediaType, self.typed(IANA[media[1]], DCT.MediaType)))
        rights = _rights_text(doc, public=self.public)
        if rights:
            statement = BNode()
            g.add((statement, RDF.type, DCT.RightsStatement))
            g.add((statement, RDFS.label, Literal(rights, lang="zh")))
            g.add((node, DCT.rights, statement))
        return node


def _access_right(doc: dict[str, Any]) -> URIRef:
    if doc.get("open"):
        return ACCESS_RIGHT.PUBLIC
    return ACCESS_RIGHT.NON_PUBLIC if doc.get("share_type") == "none" else ACCESS_RIGHT.RESTRICTED


def _keywords(doc: dict[str, Any]) -> list[str]:
    words = [doc.get("classification") or ""] + [item.get("name") or "" for item in doc.get("items") or []]
    return list(dict.fromkeys(w.strip() for w in words if w and w.strip()))


def _rights_text(doc: dict[str, Any], *, public: bool) -> str:
    parts = []
    if not public and doc.get("share_type") == "conditional" and doc.get("share_condition"):
        parts.append(f"共享条件:{doc['share_condition']}")
    if not public and doc.get("share_type") == "none" and doc.get("share_basis"):
        parts.append(f"不予共享依据:{doc['share_basis']}")
    if doc.get("open") and doc.get("open_condition"):
        parts.append(f"开放条件:{doc['open_condition']}")
    return ";".join(parts)


def public_contact(contact: str | None) -> str | None:
    """What of a catalog entry's contact may be shown to the public: an e-mail address or a landline number
    (a department's), stripped; None for a mobile number (a person's) and for free text (it may name a person).
    Used by the public DCAT descriptions, the open-data portal's pages and its bulk metadata."""
    text = (contact or "").strip()
    if _EMAIL.match(text):
        return text
    if _PHONE.match(text) and not _MOBILE.match(re.sub(r"[ -]", "", text)):
        return text
    return None


def _tel(contact: str) -> str:
    """RFC 3966 global number where it can be derived (0772-2800000 → tel:+86-772-2800000)."""
    number = re.sub(r"[ -]+", "-", contact.strip())
    if number.startswith("+"):
        return f"tel:{number}"
    if number.startswith("0"):
        return f"tel:+86-{number[1:]}"
    if _MOBILE.match(number.replace("-", "")):
        return f"tel:+86-{number}"
    return f"tel:{number};phone-context=+86"


def catalog_publisher(db: Session, code: str | None) -> tuple[str | None, str]:
    """(code, name) of the catalogue's publisher; (None, platform name) when there is no organisation."""
    code = get_settings().publisher_org if code is None else code
    if code:
        org = orgs.find_by_code(db, code)
        if org is not None:
            return org.code, org.name
        logger.warning("GOVDATA_PUBLISHER_ORG=%s names no organisation; the root organisation publishes", code)
    top = orgs.root(db)
    return (top.code, top.name) if top is not None else (None, PLATFORM_NAME)


def catalog_graph(db: Session, base_url: str, *, open_only: bool = False,
                  publisher_org: str | None = None) -> Graph:
    """The published catalog as one DCAT-AP 3.0.1 graph (the union of ``catalog_parts``).

    ``open_only`` keeps only resources open to the public and leaves out what is meant for government
    users (personal contact data, share conditions). ``publisher_org`` overrides ``GOVDATA_PUBLISHER_ORG``.
    Holds the whole graph in memory (about 1 KB per triple in rdflib's store): the routes stream
    ``catalog_parts`` instead.
    """
    graph = new_graph()
    for part in catalog_parts(db, base_url, open_only=open_only, publisher_org=publisher_org):
        graph += part
    return graph


def catalog_parts(db: Session, base_url: str, *, open_only: bool = False, publisher_org: str | None = None,
                  chunk: int = CHUNK) -> Iterator[Graph]:
    """The published catalog as graphs whose union is the catalog: the catalogue and its API first, then
    the datasets ``chunk`` at a time. Nodes shared by many datasets (agents, vocabulary terms) are in the
    first part that needs them.

    Cost: two queries (the catalog entries, the publisher), both run before this returns — the iterator
    touches no database. No query per dataset: each dataset is built from its ``CatalogEntry.document``,
    provider names included. Time is linear in the number of triples (about 30 per dataset plus one
    keyword per item name; measured ~1 ms per dataset to build and ~2 ms to write as Turtle); memory is
    the entries plus one part (``chunk`` datasets), not the whole graph — 100k datasets of ten items
    make some 4M triples, about 4 GB as one rdflib graph.
    """
    base = base_url.rstrip("/")
    # plain values, read now: the session may be closed (and its objects expired) while the parts are built
    rows = [(e.document, e.published_at) for e in projection.published_entries(db, open_only=open_only)]
    publisher = catalog_publisher(db, publisher_org)
    return _parts(rows, base, publisher, open_only, chunk)


def _parts(rows: list[tuple[dict[str, Any], datetime]], base: str, publisher: tuple[str | None, str],
           open_only: bool, chunk: int) -> Iterator[Graph]:
    build = Builder(new_graph(), base, public=open_only)
    pub_code, pub_name = publisher
    agent = build.agent(pub_code, pub_name)
    catalog = URIRef(f"{base}/dcat/{'open-catalog' if open_only else 'catalog'}")
    g = build.g
    g.add((catalog, RDF.type, DCAT.Catalog))
    if open_only:
        titles = (f"{pub_name}公共数据开放目录", "Open data catalogue")
        descriptions = (f"{pub_name}向社会开放的政务信息资源目录。",
                        "Government information resources open to the public.")
    else:
        titles = (f"{pub_name}政务信息资源目录", "Government information resource catalogue")
        descriptions = (f"{pub_name}已发布的政务信息资源目录,供政务部门共享使用。",
                        "Published government information resources, shared among government departments.")
    for text, lang in zip(titles, ("zh", "en"), strict=True):
        g.add((catalog, DCT.title, Literal(text, lang=lang)))
    for text, lang in zip(descriptions, ("zh", "en"), strict=True):
        g.add((catalog, DCT.description, Literal(text, lang=lang)))
    g.add((catalog, DCT.publisher, agent))
    g.add((catalog, FOAF.homepage, build.typed(URIRef(f"{base}/"), FOAF.Document)))
    for language in (LANGUAGE.ZHO, LANGUAGE.ENG):
        g.add((catalog, DCT.language, build.typed(language, DCT.LinguisticSystem)))
    g.add((catalog, DCAT.themeTaxonomy, build.theme_scheme()))
    if rows:
        g.add((catalog, DCT.modified, Literal(max(at for _, at in rows), datatype=XSD.dateTime)))
    g.add((catalog, DCAT.service, build.data_service(agent)))
    yield g
    for start in range(0, len(rows), chunk):
        build.g = g = new_graph()
        for doc, published_at in rows[start:start + chunk]:
            ds = build.dataset(doc, published_at)
            g.add((catalog, DCAT.dataset, ds))
            g.add((build.service, DCAT.servesDataset, ds))
        yield g


def dataset_graph(db: Session, base_url: str, code: str, *, public: bool = False,
                  publisher_org: str | None = None) -> Graph:
    """One published dataset with its distribution, contact point, provider and the API serving it.
    404 ``resource_not_found`` when the code is not published (or, with ``public``, not open)."""
    base = base_url.rstrip("/")
    entry = db.scalar(select(CatalogEntry).where(CatalogEntry.code == code))
    if entry is None or (public and not entry.open):
        raise NotFound(f"信息资源不存在或尚未发布:{code}", code="resource_not_found")
    graph = new_graph()
    build = Builder(graph, base, public=public)
    ds = build.dataset(entry.document, entry.published_at)
    build.data_service(build.agent(*catalog_publisher(db, publisher_org)), [ds])
    return graph


# ---- routes ------------------------------------------------------------------------------------

router = APIRouter(prefix="/dcat", tags=["dcat DCAT-AP 元数据"])


def optional_principal(request: Request, db: Session = Depends(get_db)) -> Principal | None:
    """The caller when a bearer token is sent (an invalid token is still refused), else None."""
    return api_principal(request, db) if bearer_token(request) is not None else None


def _require(principal: Principal | None,
             message: str = "完整目录仅向政务用户提供:请携带访问令牌,或以 ?open=true 获取开放目录") -> None:
    if principal is None:
        raise Unauthenticated(message, code="not_authenticated")


HEADERS = {"Vary": "Accept, Authorization"}


def _render(graph: Graph, jsonld: bool) -> Response:
    if jsonld:
        body = graph.serialize(format="json-ld", context=JSONLD_CONTEXT, auto_compact=True, encoding="utf-8")
        return Response(body, media_type=JSONLD, headers=HEADERS)
    return Response(graph.serialize(format="turtle", encoding="utf-8"), media_type=TURTLE, headers=HEADERS)


def turtle_stream(parts: Iterable[Graph]) -> Iterator[bytes]:
    """One Turtle document from many graphs: each part is a complete Turtle text, prefixes included, and
    Turtle allows prefixes to be declared again and a subject to be described in several places."""
    for part in parts:
        yield part.serialize(format="turtle", encoding="utf-8")


def jsonld_stream(parts: Iterable[Graph]) -> Iterator[bytes]:
    """One JSON-LD document, ``{"@context", "@graph": [...]}``, from many graphs. Blank node ids are unique
    across parts (rdflib mints them process-wide)."""
    yield b'{"@context": ' + json.dumps(JSONLD_CONTEXT).encode() + b', "@graph": ['
    sep = b"\n"
    for part in parts:
        data = from_rdf(part, context_data=JSONLD_CONTEXT, auto_compact=True)
        if isinstance(data, dict):
            nodes = data["@graph"] if "@graph" in data else [{k: v for k, v in data.items() if k != "@context"}]
        else:
            nodes = data
        for node in nodes:
            yield sep + json.dumps(node, ensure_ascii=False).encode()
            sep = b",\n"
    yield b"\n]}\n"


def _catalog_response(db: Session, principal: Principal | None, open_only: bool, jsonld: bool) -> Response:
    if not open_only:
        _require(principal)
    parts = catalog_parts(db, base_url(), open_only=open_only)  # queries now, builds while streaming
    if jsonld:
        return StreamingResponse(jsonld_stream(parts), media_type=JSONLD, headers=HEADERS)
    return StreamingResponse(turtle_stream(parts), media_type=TURTLE, headers=HEADERS)


@router.get("/catalog.ttl", response_class=Response)
def catalog_turtle(open: bool = False, db: Session = Depends(get_db),
                   principal: Principal | None = Depends(optional_principal)) -> Response:
    """The published catalog in Turtle; ``?open=true``: only open resources, no token needed."""
    return _catalog_response(db, principal, open, jsonld=False)


@router.get("/catalog.jsonld", response_class=Response)
def catalog_jsonld(open: bool = False, db: Session = Depends(get_db),
                   principal: Principal | None = Depends(optional_principal)) -> Response:
    """The published catalog in JSON-LD; ``?open=true``: only open resources, no token needed."""
    return _catalog_response(db, principal, open, jsonld=True)


@router.get("/dataset/{code:path}", response_class=Response)
def dataset_description(code: str, request: Request, format: str | None = Query(None, pattern="^(ttl|turtle|jsonld)$"),
                        db: Session = Depends(get_db),
                        principal: Principal | None = Depends(optional_principal)) -> Response:
    """One dataset: Turtle, or JSON-LD with ``?format=jsonld`` or ``Accept: application/ld+json``.
    Without a token only open resources are described; any other code answers 401, existing or not."""
    if principal is None:
        entry_open = db.scalar(select(CatalogEntry.open).where(CatalogEntry.code == code))
        if not entry_open:
            _require(principal, "未向社会开放的信息资源的元数据仅向政务用户提供:请携带访问令牌")
    jsonld = format == "jsonld" or (format is None and wants_jsonld(request.headers.get("accept", "")))
    return _render(dataset_graph(db, base_url(), code, public=principal is None), jsonld=jsonld)


def wants_jsonld(accept: str) -> bool:
    """application/ld+json preferred over text/turtle by the Accept header (q-values honoured)."""
    best: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best[media.lower()] = max(q, best.get(media.lower(), 0.0))
    return best.get(JSONLD, 0.0) > best.get("text/turtle", 0.0)
