"""DCAT-AP 3.0.1 export: routes, content, visibility, and conformance to the official SHACL shapes.

The shapes live outside the repository (``<repo>/../shared/dcat-ap``); the conformance tests skip when they
are absent, so a fresh clone still passes ``make test``.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from pyshacl import validate
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF

from govdata.catalog import dcat
from govdata.catalog.dcat import DCAT
from govdata.config import get_settings
from tests.factories import liuzhou, publish, resource_spec, token_for, with_standards

SHAPES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "dcat-ap"
SHAPE_FILES = ("dcat-ap-3.0.1-shapes.ttl", "dcat-ap-3.0.1-range.ttl")
EU = "http://publications.europa.eu/resource/authority/"
HOSTILE_NAME = '<script>alert("x")</script> \'单引号\' "双引号" \\ 反斜杠'
HOSTILE_SUMMARY = 'line one\nline two """triple""" </script><img src=x onerror=alert(1)> & é'


def _base() -> str:
    return get_settings().base_url.rstrip("/")


@pytest.fixture(scope="module")
def shapes() -> Graph:
    if not all((SHAPES_DIR / name).is_file() for name in SHAPE_FILES):
        pytest.skip(f"DCAT-AP shapes not found in {SHAPES_DIR}")
    graph = Graph()
    for name in SHAPE_FILES:  # core constraints ∪ range constraints
        graph.parse(SHAPES_DIR / name, format="turtle")
    return graph


def assert_conforms(data: Graph, shapes: Graph) -> None:
    conforms, _, text = validate(data, shacl_graph=shapes, inference="none", abort_on_first=False,
                                 allow_warnings=False)
    assert conforms, text


def _catalog(db) -> dict[str, str]:
    """Four published resources: conditional, hostile text, 不予共享 (another provider), open."""
    liuzhou(db)
    with_standards(db)
    codes = {
        "conditional": publish(db, resource_spec()),
        "hostile": publish(db, resource_spec(
            name=HOSTILE_NAME, summary=HOSTILE_SUMMARY, responsible_person='<b>"李四"</b>',
            contact='"><script>x</script>', share_condition='仅限"出生一件事"<script>',
            update_cycle="monthly", items=[{"key": "evil", "name": "<img src=x onerror=alert(1)>",
                                            "data_type": "C", "length": 10}])),
        "none": publish(db, resource_spec(
            provider="GA", name="户籍人口信息", classification="基础/人口", share_type="none",
            share_condition="", share_basis="《中华人民共和国居民身份证法》", update_cycle="realtime")),
        "open": publish(db, resource_spec(
            name="医疗机构名录", classification="主题/医疗健康", share_type="unconditional", share_condition="",
            open=True, open_condition="注明来源", update_cycle="yearly", responsible_person="王五",
            contact="13800138000", summary="")),
    }
    return codes


def _parse(body: bytes | str, fmt: str) -> Graph:
    return Graph().parse(data=body, format=fmt)


def _datasets(graph: Graph) -> dict[str, URIRef]:
    return {str(graph.value(ds, DCTERMS.identifier)): ds for ds in graph.subjects(RDF.type, DCAT.Dataset)}


def test_catalog_in_turtle_and_json_ld(client, db):
    codes = _catalog(db)
    admin = token_for(client, "admin")
    ttl = client.get("/dcat/catalog.ttl", headers=admin)
    assert ttl.status_code == 200, ttl.text
    assert ttl.headers["content-type"] == "text/turtle; charset=utf-8"
    jsonld = client.get("/dcat/catalog.jsonld", headers=admin)
    assert jsonld.status_code == 200, jsonld.text
    assert jsonld.headers["content-type"] == "application/ld+json"
    assert "@context" in json.loads(jsonld.content)

    g = _parse(ttl.content, "turtle")
    assert isomorphic(g, _parse(jsonld.content, "json-ld"))
    datasets = _datasets(g)
    assert set(datasets) == set(codes.values())
    catalog = g.value(predicate=RDF.type, object=DCAT.Catalog)
    assert set(g.objects(catalog, DCAT.dataset)) == set(datasets.values())
    base = _base()
    for code, ds in datasets.items():
        assert ds == URIRef(f"{base}/dcat/dataset/{quote(code, safe='')}") and "%2F" in ds
        distribution = g.value(ds, DCAT.distribution)
        assert g.value(distribution, DCAT.accessURL) == URIRef(f"{base}/api/v1/resources/{quote(code, safe='')}")
    hostile = datasets[codes["hostile"]]
    assert g.value(hostile, DCTERMS.title) == Literal(HOSTILE_NAME, lang="zh")
    assert g.value(hostile, DCTERMS.description) == Literal(HOSTILE_SUMMARY, lang="zh")
    assert g.value(datasets[codes["conditional"]], DCTERMS.title) == Literal("出生医学证明信息", lang="zh")
    # summary left empty: the description falls back to the name (dct:description is mandatory)
    assert g.value(datasets[codes["open"]], DCTERMS.description) == Literal("医疗机构名录", lang="zh")

    rights = {code: str(g.value(datasets[code], DCTERMS.accessRights)).rsplit("/", 1)[-1]
              for code in codes.values()}
    assert rights == {codes["conditional"]: "RESTRICTED", codes["hostile"]: "RESTRICTED",
                      codes["none"]: "NON_PUBLIC", codes["open"]: "PUBLIC"}
    frequency = {code: str(g.value(datasets[code], DCTERMS.accrualPeriodicity)) for code in codes.values()}
    assert frequency == {codes["conditional"]: f"{EU}frequency/DAILY", codes["hostile"]: f"{EU}frequency/MONTHLY",
                         codes["none"]: f"{EU}frequency/CONT", codes["open"]: f"{EU}frequency/ANNUAL"}
    assert g.value(datasets[codes["open"]], DCAT.theme) == URIRef(f"{EU}data-theme/HEAL")
    ga = g.value(datasets[codes["none"]], DCTERMS.publisher)
    assert ga == URIRef(f"{base}/dcat/agent/GA") and (ga, RDF.type, FOAF.Agent) in g
    assert g.value(ga, FOAF.name) == Literal("柳州市公安局", lang="zh")
    # the catalogue's publisher: GOVDATA_PUBLISHER_ORG is unset, so the root of the tree
    assert g.value(catalog, DCTERMS.publisher) == URIRef(f"{base}/dcat/agent/LZ")
    service = g.value(catalog, DCAT.service)
    assert g.value(service, DCAT.endpointURL) == URIRef(f"{base}/api/v1/")
    assert set(g.objects(service, DCAT.servesDataset)) == set(datasets.values())
    # the full catalogue is for government users: the responsible person is named
    contact = g.value(datasets[codes["open"]], DCAT.contactPoint)
    assert str(g.value(contact, URIRef("http://www.w3.org/2006/vcard/ns#fn"))) == "王五"


def test_full_catalog_needs_a_token_the_open_catalog_does_not(client, db):
    codes = _catalog(db)
    for path in ("/dcat/catalog.ttl", "/dcat/catalog.jsonld"):
        assert client.get(path).status_code == 401
        r = client.get(path, headers={"Accept": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (401, "not_authenticated")
        assert client.get(f"{path}?open=true", headers={"Authorization": "Bearer nope"}).status_code == 401
    r = client.get("/dcat/catalog.ttl?open=true")
    assert r.status_code == 200, r.text
    g = _parse(r.content, "turtle")
    assert list(_datasets(g)) == [codes["open"]]
    assert isomorphic(g, _parse(client.get("/dcat/catalog.jsonld?open=true").content, "json-ld"))
    body = r.content.decode()
    # personal data and share conditions are for government users only
    assert "王五" not in body and "13800138000" not in body and "注明来源" in body
    # the configured base, never the Host header
    evil = client.get("/dcat/catalog.ttl?open=true", headers={"Host": "evil.example"}).content.decode()
    assert "evil.example" not in evil and f"{_base()}/dcat/dataset/" in evil
    with_token = _parse(client.get("/dcat/catalog.ttl?open=true", headers=token_for(client, "ga_admin")).content,
                        "turtle")
    assert list(_datasets(with_token)) == [codes["open"]]


def test_dataset_description_by_code_with_a_slash(client, db):
    codes = _catalog(db)
    ga = token_for(client, "ga_admin")
    code = codes["conditional"]
    expected = URIRef(f"{_base()}/dcat/dataset/{quote(code, safe='')}")
    for path in (code, quote(code, safe="")):  # as is, and percent-encoded
        r = client.get(f"/dcat/dataset/{path}", headers=ga)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/turtle; charset=utf-8"
        g = _parse(r.content, "turtle")
        assert list(_datasets(g).values()) == [expected]
    as_jsonld = client.get(f"/dcat/dataset/{code}?format=jsonld", headers=ga)
    assert as_jsonld.headers["content-type"] == "application/ld+json"
    assert isomorphic(_parse(as_jsonld.content, "json-ld"), g)
    by_accept = client.get(f"/dcat/dataset/{code}", headers={**ga, "Accept": "application/ld+json"})
    assert by_accept.headers["content-type"] == "application/ld+json"
    prefers_turtle = client.get(f"/dcat/dataset/{code}",
                                headers={**ga, "Accept": "application/ld+json;q=0.5, text/turtle"})
    assert prefers_turtle.headers["content-type"].startswith("text/turtle")
    r = client.get("/dcat/dataset/105/999999", headers={**ga, "Accept": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "resource_not_found")
    # without a token: only open resources; anything else is 401, whether it exists or not
    for path in (code, codes["none"], "105/999999"):
        assert client.get(f"/dcat/dataset/{path}").status_code == 401
    r = client.get(f"/dcat/dataset/{quote(codes['open'], safe='')}")
    assert r.status_code == 200 and list(_datasets(_parse(r.content, "turtle"))) == [codes["open"]]


def test_streamed_parts_make_the_same_catalog(db):
    """The routes stream the catalog in parts (memory bounded by one part); the union is the catalog."""
    codes = _catalog(db)
    whole = dcat.catalog_graph(db, _base())
    parts = list(dcat.catalog_parts(db, _base(), chunk=3))
    assert len(parts) == 3  # catalogue and API, then datasets 3 + 1
    turtle = b"".join(dcat.turtle_stream(dcat.catalog_parts(db, _base(), chunk=3)))
    assert turtle.count(b"@prefix dcat:") == 3
    jsonld = b"".join(dcat.jsonld_stream(dcat.catalog_parts(db, _base(), chunk=3)))
    assert len(json.loads(jsonld)["@graph"]) > len(codes)
    for streamed in (_parse(turtle, "turtle"), _parse(jsonld, "json-ld")):
        assert isomorphic(streamed, whole)
        assert set(_datasets(streamed)) == set(codes.values())


def test_publisher_is_configurable(db, monkeypatch):
    liuzhou(db)
    base = _base()

    def publisher(**kw) -> URIRef:
        g = dcat.catalog_graph(db, base, **kw)
        return g.value(g.value(predicate=RDF.type, object=DCAT.Catalog), DCTERMS.publisher)

    assert publisher() == URIRef(f"{base}/dcat/agent/LZ")
    assert publisher(publisher_org="DSJ") == URIRef(f"{base}/dcat/agent/DSJ")
    assert publisher(publisher_org="NOPE") == URIRef(f"{base}/dcat/agent/LZ")
    monkeypatch.setenv("GOVDATA_PUBLISHER_ORG", "DSJ")
    get_settings.cache_clear()
    try:
        assert publisher() == URIRef(f"{base}/dcat/agent/DSJ")
    finally:
        monkeypatch.delenv("GOVDATA_PUBLISHER_ORG")
        get_settings.cache_clear()


# ---- conformance to the official DCAT-AP 3.0.1 shapes (skipped when ../shared/dcat-ap is absent) ----

def test_catalog_conforms_to_dcat_ap_shapes(client, db, shapes):
    _catalog(db)
    admin = token_for(client, "admin")
    assert_conforms(_parse(client.get("/dcat/catalog.ttl", headers=admin).content, "turtle"), shapes)
    assert_conforms(_parse(client.get("/dcat/catalog.jsonld", headers=admin).content, "json-ld"), shapes)
    assert_conforms(_parse(client.get("/dcat/catalog.ttl?open=true").content, "turtle"), shapes)


def test_dataset_descriptions_conform_to_dcat_ap_shapes(client, db, shapes):
    codes = _catalog(db)
    admin = token_for(client, "admin")
    for code in codes.values():
        assert_conforms(_parse(client.get(f"/dcat/dataset/{code}", headers=admin).content, "turtle"), shapes)
    assert_conforms(_parse(client.get(f"/dcat/dataset/{codes['open']}").content, "turtle"), shapes)


def test_empty_catalog_conforms_to_dcat_ap_shapes(client, db, shapes):
    # no organisation at all: the platform itself is the publisher
    g = dcat.catalog_graph(db, _base())
    assert not _datasets(g)
    assert_conforms(g, shapes)
    liuzhou(db)  # organisations, nothing published
    r = client.get("/dcat/catalog.ttl", headers=token_for(client, "admin"))
    g = _parse(r.content, "turtle")
    assert not _datasets(g) and (None, DCTERMS.publisher, URIRef(f"{_base()}/dcat/agent/LZ")) in g
    assert_conforms(g, shapes)


def test_the_shapes_do_catch_a_broken_export(db, shapes):
    """Guards against a vacuous pass: without a mandatory property or a range type, validation fails."""
    liuzhou(db)
    with_standards(db)
    publish(db, resource_spec())
    g = dcat.catalog_graph(db, _base())
    g.remove((None, DCAT.accessURL, None))
    conforms, _, text = validate(g, shacl_graph=shapes, inference="none")
    assert not conforms and "dcat:accessURL" in text
    g = dcat.catalog_graph(db, _base())
    g.remove((None, RDF.type, DCTERMS.Frequency))
    conforms, _, text = validate(g, shacl_graph=shapes, inference="none")
    assert not conforms and "accrualPeriodicity" in text
