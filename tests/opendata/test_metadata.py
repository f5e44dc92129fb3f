"""The open catalog's metadata: DCAT-AP 3.0.1 (validated against the official SHACL shapes when ../shared holds
them) for the catalog and each dataset, and the bulk CSV / XLSX / JSON downloads — only what is on the portal."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF

from govdata.catalog.dcat import DCAT
from govdata.config import get_settings
from govdata.opendata import listing
from govdata.opendata.models import OpenDataset
from tests.catalog.test_dcat import SHAPE_FILES, SHAPES_DIR, assert_conforms
from tests.opendata.conftest import Portal

EU = "http://publications.europa.eu/resource/authority/"
IANA = "http://www.iana.org/assignments/media-types/"
DATETIME = URIRef("http://www.w3.org/2001/XMLSchema#dateTime")  # (rdflib's XSD object upsets pytest's collection)
HOSTILE = '=HYPERLINK("http://evil.example","点我")'


@pytest.fixture(scope="module")
def shapes() -> Graph:
    if not all((SHAPES_DIR / name).is_file() for name in SHAPE_FILES):
        pytest.skip(f"DCAT-AP shapes not found in {SHAPES_DIR}")
    graph = Graph()
    for name in SHAPE_FILES:
        graph.parse(SHAPES_DIR / name, format="turtle")
    return graph


def _base() -> str:
    return get_settings().base_url.rstrip("/")


def _datasets(graph: Graph) -> dict[str, URIRef]:
    return {str(graph.value(ds, DCTERMS.identifier)): ds for ds in graph.subjects(RDF.type, DCAT.Dataset)}


def _open_codes(portal: Portal) -> set[str]:
    return {portal.hospitals, portal.companies, portal.people}


def test_open_catalog_is_dcat_ap_and_lists_only_open_datasets(client, db, portal: Portal, shapes):
    ttl = client.get("/open/catalog.ttl")
    assert ttl.status_code == 200 and ttl.headers["content-type"] == "text/turtle; charset=utf-8"
    jsonld = client.get("/open/catalog.jsonld")
    assert jsonld.status_code == 200 and jsonld.headers["content-type"] == "application/ld+json"
    graph = Graph().parse(data=ttl.content, format="turtle")
    assert isomorphic(graph, Graph().parse(data=jsonld.content, format="json-ld"))
    assert_conforms(graph, shapes)

    datasets = _datasets(graph)
    assert set(datasets) == _open_codes(portal)  # not private, withdrawn, nor open-in-catalog without a version
    catalog = graph.value(predicate=RDF.type, object=DCAT.Catalog)
    assert catalog == URIRef(f"{_base()}/open/dcat/catalog")
    assert set(graph.objects(catalog, DCAT.dataset)) == set(datasets.values())

    hospitals = db.get(OpenDataset, portal.hospitals)
    ds = datasets[portal.hospitals]
    assert graph.value(ds, DCTERMS.title) == Literal("医疗机构名录", lang="zh")
    assert graph.value(ds, DCTERMS.accessRights) == URIRef(f"{EU}access-right/PUBLIC")
    assert graph.value(ds, DCAT.theme) == URIRef(f"{EU}data-theme/HEAL")
    assert graph.value(ds, DCTERMS.modified) == Literal(hospitals.data_updated_at, datatype=DATETIME)
    assert graph.value(ds, DCAT.landingPage) == URIRef(f"{_base()}/open/datasets/{hospitals.slug}")
    assert Literal("医疗健康", lang="zh") in set(graph.objects(ds, DCAT.keyword))
    contact = graph.value(ds, DCAT.contactPoint)
    assert contact is not None and graph.value(contact, URIRef("http://www.w3.org/2006/vcard/ns#hasTelephone"))

    distributions = {str(graph.value(d, DCAT.mediaType)).removeprefix(IANA): d
                     for d in graph.objects(ds, DCAT.distribution) if graph.value(d, DCAT.downloadURL)}
    assert set(distributions) == {"text/csv", "application/json",
                                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    csv_dist = distributions["text/csv"]
    assert graph.value(csv_dist, DCAT.downloadURL) == URIRef(f"{_base()}/open/datasets/{hospitals.slug}/download.csv")
    assert graph.value(csv_dist, DCTERMS.format) == URIRef(f"{EU}file-type/CSV")
    assert graph.value(csv_dist, DCTERMS.license) == URIRef(f"{EU}licence/CC_BY_4_0")

    service = graph.value(catalog, DCAT.service)
    assert graph.value(service, DCAT.endpointURL) == URIRef(f"{_base()}/api/3/action/")
    assert set(graph.objects(service, DCAT.servesDataset)) == set(datasets.values())
    api = [d for d in graph.objects(ds, DCAT.distribution) if graph.value(d, DCAT.accessService) == service]
    assert len(api) == 1 and "datastore_search?resource_id=" in str(graph.value(api[0], DCAT.accessURL))
    agent = graph.value(ds, DCTERMS.publisher)
    assert (agent, RDF.type, FOAF.Agent) in graph and graph.value(agent, FOAF.name) == Literal("柳州市卫生健康委员会",
                                                                                                 lang="zh")


def test_dataset_descriptions_and_not_open_is_404(client, db, portal: Portal, shapes):
    slug = db.get(OpenDataset, portal.companies).slug
    ttl = client.get(f"/open/datasets/{slug}.ttl")
    assert ttl.status_code == 200 and ttl.headers["content-type"] == "text/turtle; charset=utf-8"
    jsonld = client.get(f"/open/datasets/{slug}.jsonld")
    assert jsonld.status_code == 200 and "@context" in json.loads(jsonld.content)
    graph = Graph().parse(data=ttl.content, format="turtle")
    assert isomorphic(graph, Graph().parse(data=jsonld.content, format="json-ld"))
    assert_conforms(graph, shapes)
    assert set(_datasets(graph)) == {portal.companies}

    withdrawn = db.get(OpenDataset, portal.withdrawn).slug
    for ident in (withdrawn, listing.slug_of(portal.private), listing.slug_of(portal.no_version), "nothing-here"):
        for suffix in ("ttl", "jsonld"):
            assert client.get(f"/open/datasets/{ident}.{suffix}").status_code == 404, ident

    iri = client.get(f"/open/dcat/dataset/{slug}", headers={"Accept": "application/ld+json"}, follow_redirects=False)
    assert iri.status_code == 303 and iri.headers["location"] == f"/open/datasets/{slug}.jsonld"
    assert client.get(f"/open/dcat/dataset/{withdrawn}", follow_redirects=False).status_code == 404


def test_bulk_metadata_csv_xlsx_json(client, db, portal: Portal):
    hospitals = db.get(OpenDataset, portal.hospitals)
    hospitals.summary = HOSTILE
    db.commit()

    got = client.get("/open/metadata.csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert {r["资源代码"] for r in rows} == _open_codes(portal)
    row = next(r for r in rows if r["资源代码"] == portal.hospitals)
    assert row["摘要"] == "'" + HOSTILE  # a formula is text in Excel
    assert row["数据集名称"] == "医疗机构名录" and row["提供部门"] == "柳州市卫生健康委员会"
    assert row["数据量(行)"] == "30"
    assert row["CSV 下载"] == f"{_base()}/open/datasets/{hospitals.slug}/download.csv"
    assert row["页面地址"] == f"{_base()}/open/datasets/{hospitals.slug}" and row["许可协议"] == "CC-BY-4.0"

    xlsx = client.get("/open/metadata.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    table = list(sheet.iter_rows(values_only=True))
    header = table[0]
    assert header[0] == "资源代码" and len(table) == 4
    cells = {r[0]: dict(zip(header, r, strict=True)) for r in table[1:]}
    assert cells[portal.hospitals]["摘要"] == HOSTILE  # kept verbatim, as a text cell
    summary_cell = next(c for c in sheet.iter_rows(min_row=2) if c[0].value == portal.hospitals)[header.index("摘要")]
    assert summary_cell.data_type == "s"

    data = client.get("/open/metadata.json").json()
    assert data["count"] == 3 and {d["code"] for d in data["datasets"]} == _open_codes(portal)
    entry = next(d for d in data["datasets"] if d["code"] == portal.hospitals)
    assert entry["summary"] == HOSTILE and entry["rows"] == 30 and entry["api_url"].startswith(_base())
    assert set(entry) >= {"name", "department", "theme", "update_cycle", "version", "opened_at", "updated_at",
                          "license", "page_url", "csv_url", "xlsx_url", "json_url", "views", "downloads",
                          "api_calls", "rating"}
