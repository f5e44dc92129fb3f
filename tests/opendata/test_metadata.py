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

from govdata.catalog import dcat
from govdata.catalog.dcat import DCAT, VCARD
from govdata.config import get_settings
from govdata.opendata import listing
from govdata.opendata.models import OpenDataset
from tests.catalog.test_dcat import SHAPE_FILES, SHAPES_DIR, assert_conforms
from tests.opendata.conftest import Portal
from tests.opendata.test_pages import files_only

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


def test_files_only_dataset_has_no_api_in_bulk_metadata_or_dcat(client, db, portal: Portal, shapes):
    companies = files_only(db, portal, portal.companies)
    hospitals = db.get(OpenDataset, portal.hospitals)

    got = client.get("/open/metadata.csv")
    assert got.status_code == 200
    rows = {r["资源代码"]: r for r in csv.DictReader(io.StringIO(got.content.decode("utf-8-sig")))}
    assert set(rows) == _open_codes(portal)
    assert rows[portal.companies]["接口地址"] == ""
    assert rows[portal.companies]["CSV 下载"] == f"{_base()}/open/datasets/{companies.slug}/download.csv"
    assert rows[portal.hospitals]["接口地址"].startswith(f"{_base()}/api/3/action/datastore_search?resource_id=")

    xlsx = client.get("/open/metadata.xlsx")
    assert xlsx.status_code == 200
    table = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    cells = {r[0]: dict(zip(table[0], r, strict=True)) for r in table[1:]}
    assert cells[portal.companies]["接口地址"] is None
    assert cells[portal.companies]["JSON 下载"] == f"{_base()}/open/datasets/{companies.slug}/download.json"
    assert cells[portal.hospitals]["接口地址"] == rows[portal.hospitals]["接口地址"]

    data = client.get("/open/metadata.json").json()
    entries = {d["code"]: d for d in data["datasets"]}
    assert data["count"] == 3 and entries[portal.companies]["api_url"] is None
    assert entries[portal.companies]["xlsx_url"] == f"{_base()}/open/datasets/{companies.slug}/download.xlsx"
    assert entries[portal.hospitals]["api_url"] == rows[portal.hospitals]["接口地址"]

    graph = Graph().parse(data=client.get("/open/catalog.ttl").content, format="turtle")
    assert_conforms(graph, shapes)
    datasets = _datasets(graph)
    service = graph.value(graph.value(predicate=RDF.type, object=DCAT.Catalog), DCAT.service)
    served = set(graph.objects(service, DCAT.servesDataset))
    assert served == {datasets[portal.hospitals], datasets[portal.people]}  # not the file-only one

    def kinds(ds: URIRef) -> list[str]:
        return sorted("api" if graph.value(d, DCAT.accessService) == service else "download"
                      for d in graph.objects(ds, DCAT.distribution))

    assert kinds(datasets[portal.companies]) == ["download"] * 3
    assert kinds(datasets[portal.hospitals]) == ["api"] + ["download"] * 3
    one = Graph().parse(data=client.get(f"/open/datasets/{companies.slug}.ttl").content, format="turtle")
    assert_conforms(one, shapes)
    assert not list(one.subject_objects(DCAT.servesDataset))
    assert len(list(one.objects(_datasets(one)[portal.companies], DCAT.distribution))) == 3
    assert hospitals.has_api


@pytest.mark.parametrize(("contact", "public"), [
    ("0772-2800000", "0772-2800000"), ("  open@wj.example.gov.cn ", "open@wj.example.gov.cn"),
    ("13812345678", None), ("138 1234 5678", None), ("+86 138-1234-5678", None), ("请联系王科长", None), ("", None),
    (None, None),
])
def test_public_contact_is_an_email_or_a_landline(contact, public):
    assert dcat.public_contact(contact) == public


def test_bulk_metadata_and_dcat_show_only_a_public_contact(client, db, portal: Portal, shapes):
    hospitals = db.get(OpenDataset, portal.hospitals)
    companies = db.get(OpenDataset, portal.companies)
    hospitals.contact, companies.contact = "+86 138-1234-5678", "open@scj.example.gov.cn"
    db.commit()
    rows = {r["资源代码"]: r for r in csv.DictReader(io.StringIO(client.get("/open/metadata.csv")
                                                                 .content.decode("utf-8-sig")))}
    assert rows[portal.hospitals]["联系方式"] == "" and rows[portal.companies]["联系方式"] == "open@scj.example.gov.cn"
    assert rows[portal.people]["联系方式"] == "0772-2800000"
    entries = {d["code"]: d for d in client.get("/open/metadata.json").json()["datasets"]}
    assert entries[portal.hospitals]["contact"] is None
    assert entries[portal.companies]["contact"] == "open@scj.example.gov.cn"
    ttl = client.get("/open/catalog.ttl").content
    assert b"1234-5678" not in ttl and b"12345678" not in ttl
    graph = Graph().parse(data=ttl, format="turtle")
    assert_conforms(graph, shapes)
    point = graph.value(_datasets(graph)[portal.hospitals], DCAT.contactPoint)
    assert graph.value(point, VCARD.hasTelephone) is None and graph.value(point, VCARD.fn) == Literal(
        "柳州市卫生健康委员会", lang="zh")
