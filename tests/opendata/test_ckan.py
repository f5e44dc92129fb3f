"""The CKAN Action API, exercised through ``ckanapi.RemoteCKAN`` against the served app (and a few raw requests):
results, CKAN's envelope and error shapes, paging, sorting, facets, the datastore, hostile input, rate limits."""

from __future__ import annotations

import time

import ckanapi
import pytest
import requests

from govdata.catalog import service as catalog
from govdata.catalog.schemas import ResourceIn, ReviewIn
from govdata.config import get_settings
from govdata.db import utcnow
from govdata.opendata import developers, listing, service, usage
from govdata.opendata.models import ApiKey, Developer, OpenDataset
from govdata.principal import CLI
from tests.opendata.conftest import Portal, post_counting

INJECTIONS = ("'; DROP TABLE open_datasets; --", '" OR 1=1 --', "%' OR '1'='1", "\\'); SELECT 1; --", "*:* OR 1")


@pytest.fixture(autouse=True)
def unlimited(monkeypatch):
    """No anonymous rate limit unless a test sets one (every call here comes from 127.0.0.1)."""
    monkeypatch.setenv("GOVDATA_OPEN_ANONYMOUS_PER_MINUTE", "0")
    get_settings.cache_clear()
    developers.reset()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    developers.reset()


@pytest.fixture
def ckan(live_server):
    with ckanapi.RemoteCKAN(live_server) as remote:
        yield remote


def _slug(db, code: str) -> str:
    return db.get(OpenDataset, code).slug


def _flushed(db) -> None:
    """Write the usage counts gathered in memory; a new transaction then sees them and any the server wrote."""
    usage.flush(db)
    db.commit()
    db.expire_all()


def test_status_lists_and_organisations(db, portal: Portal, ckan):
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.10")
    assert status["site_url"] == get_settings().base_url.rstrip("/")
    assert "公共数据开放" in status["site_title"]

    names = ckan.action.package_list()
    expected = sorted(_slug(db, c) for c in (portal.hospitals, portal.companies, portal.people))
    assert names == expected  # private, no_version and withdrawn are not there
    assert ckan.action.package_list(limit=1, offset=1) == expected[1:2]

    assert ckan.action.organization_list(sort="name asc") == ["ga", "scj", "wj"]
    orgs = {o["name"]: o for o in ckan.action.organization_list(all_fields=True)}
    assert orgs["wj"]["title"] == "柳州市卫生健康委员会" and orgs["wj"]["package_count"] == 1
    assert orgs["scj"]["package_count"] == 1  # the withdrawn dataset does not count
    wj = ckan.action.organization_show(id="wj", include_datasets=True)
    assert wj["id"] == orgs["wj"]["id"] and [p["name"] for p in wj["packages"]] == [_slug(db, portal.hospitals)]
    assert ckan.action.organization_show(id=wj["id"])["name"] == "wj"
    with pytest.raises(ckanapi.NotFound):
        ckan.action.organization_show(id="nobody")

    groups = ckan.action.group_list(all_fields=True)
    assert sum(g["package_count"] for g in groups) == 3 and all(g["title"] for g in groups)
    assert sorted(ckan.action.group_list()) == sorted(g["name"] for g in groups)
    tags = ckan.action.tag_list()
    assert "医疗健康" in tags and "柳州市卫生健康委员会" in tags and tags == sorted(tags)
    assert ckan.action.tag_list(query="医疗") == ["医疗健康"]


def test_package_search_query_filters_paging_sort_facets(db, portal: Portal, ckan):
    hospitals, companies = _slug(db, portal.hospitals), _slug(db, portal.companies)
    found = ckan.action.package_search(q="医疗机构")
    assert found["count"] == 1 and found["results"][0]["name"] == hospitals
    found = ckan.action.package_search(q="企业")  # 旧企业名录 is withdrawn
    assert [r["name"] for r in found["results"]] == [companies]
    assert ckan.action.package_search(q="*:*")["count"] == 3
    assert ckan.action.package_search()["count"] == 3

    assert [r["name"] for r in ckan.action.package_search(fq="organization:wj")["results"]] == [hospitals]
    assert ckan.action.package_search(fq='+organization:"scj"')["count"] == 1
    assert ckan.action.package_search(fq="organization:wj OR organization:scj")["count"] == 2
    assert ckan.action.package_search(fq="organization:wj AND organization:scj")["count"] == 0
    assert ckan.action.package_search(fq="-organization:wj")["count"] == 2
    assert ckan.action.package_search(fq="res_format:CSV")["count"] == 3
    assert ckan.action.package_search(fq="res_format:PDF")["count"] == 0
    assert [r["name"] for r in ckan.action.package_search(fq='tags:"医疗健康"')["results"]] == [hospitals]
    assert ckan.action.package_search(fq="metadata_modified:[2000-01-01T00:00:00Z TO *]")["count"] == 3
    assert ckan.action.package_search(fq="metadata_modified:[* TO 2000-01-01T00:00:00Z]")["count"] == 0
    assert ckan.action.package_search(fq="license_id:CC-BY-4.0 update_cycle:monthly")["count"] == 3

    by_name = ckan.action.package_search(sort="name asc", rows=2)
    everything = sorted(_slug(db, c) for c in (portal.hospitals, portal.companies, portal.people))
    assert by_name["count"] == 3 and [r["name"] for r in by_name["results"]] == everything[:2]
    assert [r["name"] for r in ckan.action.package_search(sort="name asc", rows=2, start=2)["results"]] == \
        everything[2:]
    assert [r["name"] for r in ckan.action.package_search(sort="name desc")["results"]] == everything[::-1]
    ids = {d.slug: d.package_id for d in db.query(OpenDataset)}
    assert [r["name"] for r in ckan.action.package_search(sort="id asc")["results"]] == sorted(everything, key=ids.get)
    assert ckan.action.package_search(rows=0)["results"] == []
    assert ckan.action.package_search(rows=5000)["count"] == 3  # clamped to 1000, not refused

    faceted = ckan.action.package_search(**{"facet.field": '["organization", "res_format", "tags"]'})
    assert faceted["facets"]["organization"] == {"wj": 1, "scj": 1, "ga": 1}
    assert faceted["facets"]["res_format"] == {"CSV": 3, "XLSX": 3, "JSON": 3, "API": 3}
    assert faceted["facets"]["tags"]["医疗健康"] == 1
    items = faceted["search_facets"]["organization"]["items"]
    assert {i["name"]: i["display_name"] for i in items}["wj"] == "柳州市卫生健康委员会"
    narrowed = ckan.action.package_search(fq="organization:wj", **{"facet.field": '["organization"]'})
    assert narrowed["facets"]["organization"] == {"wj": 1}  # counts over the results, as CKAN's


def test_package_show_by_id_name_and_code(db, portal: Portal, ckan):
    dataset = db.get(OpenDataset, portal.hospitals)
    by_code = ckan.action.package_show(id=portal.hospitals)
    for ident in (dataset.slug, dataset.package_id):
        shown = ckan.action.package_show(id=ident)
        assert [shown[k] for k in ("id", "name", "resources")] == [by_code[k] for k in ("id", "name", "resources")]
    assert by_code["id"] == dataset.package_id and by_code["name"] == dataset.slug
    assert by_code["title"] == "医疗机构名录" and by_code["notes"] == "全市医疗机构及床位"
    assert by_code["state"] == "active" and by_code["private"] is False and by_code["type"] == "dataset"
    assert by_code["organization"]["name"] == "wj" and by_code["license_id"] == "CC-BY-4.0"
    extras = {e["key"]: e["value"] for e in by_code["extras"]}
    assert extras["资源代码"] == portal.hospitals and extras["数据量"] == "30" and extras["更新周期"] == "每月"
    base = get_settings().base_url.rstrip("/")
    formats = {r["format"]: r for r in by_code["resources"]}
    assert set(formats) == {"CSV", "XLSX", "JSON", "API"} and by_code["num_resources"] == 4
    assert formats["CSV"]["url"] == f"{base}/open/datasets/{dataset.slug}/download.csv"
    assert formats["CSV"]["datastore_active"] is True and formats["XLSX"]["datastore_active"] is False
    assert all(r["package_id"] == dataset.package_id for r in by_code["resources"])
    _flushed(db)
    assert db.get(OpenDataset, portal.hospitals).api_calls == 3  # each package_show is an API call


def test_resource_show_and_datastore_search(db, portal: Portal, ckan):
    hospitals = db.get(OpenDataset, portal.hospitals)
    csv_id = service.resource_id(hospitals, "01")
    resource = ckan.action.resource_show(id=csv_id)
    assert resource["format"] == "CSV" and resource["package_id"] == hospitals.package_id

    everything = ckan.action.datastore_search(resource_id=csv_id, limit=5)
    assert everything["total"] == 30 and len(everything["records"]) == 5 and everything["resource_id"] == csv_id
    assert [f["id"] for f in everything["fields"]] == ["_id", "org_name", "level", "district", "beds"]
    assert everything["_links"]["next"].startswith("/api/3/action/datastore_search?")
    assert "offset=5" in everything["_links"]["next"]
    assert isinstance(everything["records"][1]["org_name"], str)  # the formula cell is data, returned as text

    filtered = ckan.action.datastore_search(resource_id=csv_id, filters={"district": "城中区"},
                                            fields=["org_name", "beds"], sort="beds desc", limit=3, offset=1)
    assert filtered["total"] == 8 and len(filtered["records"]) == 3
    assert set(filtered["records"][0]) == {"_id", "org_name", "beds"}
    beds = [r["beds"] for r in filtered["records"]]
    assert beds == sorted(beds, reverse=True)
    assert ckan.action.datastore_search(resource_id=csv_id, q="第12医院")["total"] == 1
    assert ckan.action.datastore_search(resource_id=csv_id, q='{"district": "鱼峰"}')["total"] == 8  # JSON text
    assert ckan.action.datastore_search(resource_id=csv_id, q="[第12")["total"] == 0  # not JSON: plain text
    api_id = service.resource_id(hospitals, "04")
    assert ckan.action.datastore_search(resource_id=api_id, limit=0)["total"] == 30

    people = db.get(OpenDataset, portal.people)
    result = ckan.action.datastore_search(resource_id=service.resource_id(people, "01"), limit=3)
    columns = {f["id"] for f in result["fields"]}
    assert result["total"] == 200 and {"sex", "birth_date", "region"} <= columns
    assert not columns & {"id_number", "name", "phone"}  # removed before opening
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=service.resource_id(people, "01"), fields=["id_number"])
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=service.resource_id(people, "01"), filters={"phone": "13800130001"})
    _flushed(db)
    assert db.get(OpenDataset, portal.hospitals).api_calls == 6  # datastore_search calls, not resource_show


def test_what_is_not_open_is_not_found(db, portal: Portal, ckan):
    withdrawn = db.get(OpenDataset, portal.withdrawn)
    idents = [portal.private, portal.no_version, portal.withdrawn, withdrawn.slug, withdrawn.package_id,
              listing.slug_of(portal.private), listing.package_id_of(portal.private), "no-such-dataset"]
    messages = set()
    for ident in idents:
        with pytest.raises(ckanapi.NotFound) as caught:
            ckan.action.package_show(id=ident)
        messages.add(str(caught.value).replace(ident[:100], "<id>"))
    assert len(messages) == 1  # a private or withdrawn dataset answers exactly like an unknown id
    for rid in (service.resource_id(withdrawn, "01"), listing.package_id_of(portal.private)[:-2] + "01",
                "00000000-0000-0000-0000-000000000001", "x"):
        with pytest.raises(ckanapi.NotFound):
            ckan.action.resource_show(id=rid)
        with pytest.raises(ckanapi.NotFound):
            ckan.action.datastore_search(resource_id=rid)
    hospitals = db.get(OpenDataset, portal.hospitals)
    with pytest.raises(ckanapi.NotFound):  # a download has no datastore table
        ckan.action.datastore_search(resource_id=service.resource_id(hospitals, "02"))
    assert ckan.action.package_search(q="旧企业名录")["count"] == 0


def test_bad_input_is_a_validation_error_and_injection_is_harmless(db, portal: Portal, ckan):
    csv_id = service.resource_id(db.get(OpenDataset, portal.hospitals), "01")
    bad_calls = [
        ("package_search", {"sort": "bogus asc"}, "sort"),
        ("package_search", {"sort": "name; DROP TABLE open_datasets"}, "sort"),
        ("package_search", {"sort": "name"}, "sort"),
        ("package_search", {"fq": "secret_field:x"}, "fq"),
        ("package_search", {"fq": "organization:(wj"}, "fq"),
        ("package_search", {"fq": "organization:wj) OR (1=1"}, "fq"),
        ("package_search", {"fq": "metadata_modified:[yesterday TO *]"}, "fq"),
        ("package_search", {"rows": -1}, "rows"),
        ("package_search", {"rows": "ten"}, "rows"),
        ("package_search", {"start": -5}, "start"),
        ("package_search", {"facet.field": '["secret"]'}, "facet.field"),
        ("package_list", {"limit": -1}, "limit"),
        ("package_show", {}, "id"),
        ("datastore_search", {"resource_id": csv_id, "fields": ["nope"]}, "fields"),
        ("datastore_search", {"resource_id": csv_id, "filters": {"nope": 1}}, "filters"),
        ("datastore_search", {"resource_id": csv_id, "filters": '{"district": '}, "filters"),
        ("datastore_search", {"resource_id": csv_id, "sort": 'beds; DROP TABLE x'}, "sort"),
        ("datastore_search", {"resource_id": csv_id, "limit": -1}, "limit"),
        ("datastore_search", {}, "resource_id"),
    ]
    for action, params, field in bad_calls:
        with pytest.raises(ckanapi.ValidationError) as caught:
            ckan.call_action(action, params)
        assert field in caught.value.error_dict, (action, params, caught.value.error_dict)

    for text in INJECTIONS:
        assert ckan.action.package_search(q=text)["count"] == 0
        assert ckan.action.package_search(fq=f'organization:"{text.replace(chr(34), "")}"')["count"] == 0
        assert ckan.action.datastore_search(resource_id=csv_id, filters={"district": text})["total"] == 0
        assert ckan.action.datastore_search(resource_id=csv_id, q=text)["total"] == 0
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id=text)
    big = ckan.action.datastore_search(resource_id=csv_id, limit=10**9, offset=10**12)
    assert big["records"] == [] and big["limit"] == 32000
    assert len(ckan.action.package_list()) == 3  # nothing was dropped


def test_raw_http_envelope_statuses_get_and_post(db, portal: Portal, live_server):
    base = get_settings().base_url.rstrip("/")
    slug = _slug(db, portal.hospitals)
    got = requests.get(f"{live_server}/api/3/action/package_show", params={"id": slug}, timeout=10)
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    assert got.headers["access-control-allow-origin"] == "*"
    body = got.json()
    assert set(body) == {"help", "success", "result"} and body["success"] is True
    assert body["help"] == f"{base}/api/3/action/help_show?name=package_show"
    posted = requests.post(f"{live_server}/api/action/package_show", json={"id": slug}, timeout=10).json()
    form = requests.post(f"{live_server}/api/3/action/package_show", data={"id": slug}, timeout=10).json()
    assert posted["result"]["id"] == form["result"]["id"] == body["result"]["id"]

    missing = requests.get(f"{live_server}/api/3/action/package_show", params={"id": "nope"}, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["success"] is False and missing.json()["error"]["__type"] == "Not Found Error"
    bad = requests.post(f"{live_server}/api/3/action/package_search", json={"sort": "x y"}, timeout=10)
    assert bad.status_code == 409 and bad.json()["error"]["__type"] == "Validation Error"
    assert isinstance(bad.json()["error"]["sort"], list)
    unknown = requests.get(f"{live_server}/api/3/action/package_create", timeout=10)
    assert unknown.status_code == 400 and unknown.json() == "Bad request - Action name not known: package_create"
    not_object = requests.post(f"{live_server}/api/3/action/package_search", data=b"[1, 2]",
                               headers={"Content-Type": "application/json"}, timeout=10)
    assert not_object.status_code == 400
    help_text = requests.get(f"{live_server}/api/3/action/help_show", params={"name": "package_search"}, timeout=10)
    assert "fq" in help_text.json()["result"]
    filters = requests.get(f"{live_server}/api/3/action/datastore_search", timeout=10, params={
        "resource_id": service.resource_id(db.get(OpenDataset, portal.hospitals), "01"),
        "filters": '{"district": "城中区"}', "include_total": "false", "limit": "2"}).json()["result"]
    assert "total" not in filters and len(filters["records"]) == 2


def _fresh_minute() -> None:
    """The limits count per calendar minute: start a burst well inside one."""
    if time.time() % 60 > 55:
        time.sleep(61 - time.time() % 60)


def test_rate_limits_anonymous_and_per_key(db, portal: Portal, live_server, ckan, monkeypatch):
    monkeypatch.setenv("GOVDATA_OPEN_ANONYMOUS_PER_MINUTE", "3")
    get_settings.cache_clear()
    developers.reset()
    _fresh_minute()
    for _ in range(3):
        ckan.action.package_list()
    with pytest.raises(ckanapi.CKANAPIError):
        ckan.action.package_list()
    refused = requests.get(f"{live_server}/api/3/action/package_list", timeout=10)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["success"] is False and refused.json()["error"]["__type"] == "Rate Limit Error"

    developer = Developer(email="dev@example.org", display_name="开发者", password_hash="x")
    db.add(developer)
    db.flush()
    key = "gdo_" + "k" * 40
    db.add(ApiKey(developer_id=developer.id, name="test", prefix=key[:8], key_hash=developers.key_hash(key),
                  per_minute=5, per_day=1000, created_at=utcnow()))
    db.commit()
    with ckanapi.RemoteCKAN(live_server, apikey=key) as keyed:
        for _ in range(5):  # the key's own limit, not the exhausted anonymous one
            keyed.action.package_list()
        with pytest.raises(ckanapi.CKANAPIError):
            keyed.action.package_list()
    with ckanapi.RemoteCKAN(live_server, apikey="gdo_unknown") as unknown, pytest.raises(ckanapi.NotAuthorized):
        unknown.action.package_list()


def _files_only(db, portal: Portal, code: str) -> None:
    """Republish a resource through the catalog as shared by file only: the portal then serves it without an API."""
    doc = catalog.read_for(db, CLI, code)
    data = {k: doc[k] for k in ResourceIn.model_fields if k in doc}
    data.update(share_method="file", items=doc["items"])
    catalog.update(db, portal.scj, code, ResourceIn.model_validate(data))
    catalog.submit(db, portal.scj, code)
    catalog.review(db, CLI, code, ReviewIn(decision="approve"))
    assert not service.get_open(db, code).has_api


def test_res_format_follows_each_datasets_resources(db, portal: Portal, ckan):
    _files_only(db, portal, portal.companies)
    companies = _slug(db, portal.companies)
    assert [r["format"] for r in ckan.action.package_show(id=companies)["resources"]] == ["CSV", "XLSX", "JSON"]

    faceted = ckan.action.package_search(**{"facet.field": '["res_format"]'})
    assert faceted["facets"]["res_format"] == {"CSV": 3, "XLSX": 3, "JSON": 3, "API": 2}
    with_api = ckan.action.package_search(fq="res_format:API", rows=10)
    assert with_api["count"] == 2 and companies not in [r["name"] for r in with_api["results"]]
    assert [r["name"] for r in ckan.action.package_search(fq="-res_format:api")["results"]] == [companies]
    assert ckan.action.package_search(fq="res_format:CSV")["count"] == 3
    only_scj = ckan.action.package_search(fq="organization:scj", **{"facet.field": '["res_format"]'})
    assert only_scj["facets"]["res_format"] == {"CSV": 1, "XLSX": 1, "JSON": 1}
    none = ckan.action.package_search(q="没有这样的数据", **{"facet.field": '["res_format"]'})
    assert none["count"] == 0 and none["facets"]["res_format"] == {}


def test_deeply_nested_json_is_a_bad_request_not_a_crash(db, portal: Portal, live_server):
    deep = "[" * 5000 + "]" * 5000
    url = f"{live_server}/api/3/action/package_search"
    posted = requests.post(url, data=f'{{"q": {deep}}}'.encode(), headers={"Content-Type": "application/json"},
                           timeout=10)
    assert posted.status_code == 400 and posted.json().startswith("Bad request - JSON Error")
    form = requests.post(url, data={f'{{"q": {deep}}}': ""}, timeout=10)  # a form holding one JSON document
    assert form.status_code == 400 and form.json().startswith("Bad request - JSON Error")
    csv_id = service.resource_id(db.get(OpenDataset, portal.hospitals), "01")
    got = requests.get(f"{live_server}/api/3/action/datastore_search", timeout=10,
                       params={"resource_id": csv_id, "filters": '{"district": ' + deep + "}"})
    assert got.status_code == 409 and got.json()["error"]["__type"] == "Validation Error"
    assert "filters" in got.json()["error"]
    fields = requests.get(f"{live_server}/api/3/action/datastore_search", timeout=10,
                          params={"resource_id": csv_id, "fields": deep})
    assert fields.status_code == 409 and "fields" in fields.json()["error"]
    assert requests.get(f"{live_server}/api/3/action/package_list", timeout=10).status_code == 200


def test_a_large_body_is_refused_before_it_is_read(db, portal: Portal, client):
    big = b'{"q": "' + b"x" * (2 << 20) + b'"}'  # 2 MiB
    for path in ("/api/3/action/package_search", "/api/action/package_search"):
        r = client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413, r.text
        assert r.json()["success"] is False and r.json()["error"]["__type"] == "Request Entity Too Large"
    # declared too big: nothing of it is read; sent without a length: reading stops at the cap (1 MiB)
    declared = post_counting(client.app, "/api/3/action/package_search", big, declare_length=True)
    assert declared.status == 413 and declared.pulled == 0
    streamed = post_counting(client.app, "/api/3/action/package_search", big)
    assert streamed.status == 413 and streamed.pulled <= (1 << 20) + (64 << 10) < len(big)
    small = client.post("/api/3/action/package_search", json={"q": "x" * 1000})
    assert small.status_code == 200 and small.json()["success"] is True


def test_the_rate_limit_comes_before_the_body_is_read(db, portal: Portal, client, monkeypatch):
    monkeypatch.setenv("GOVDATA_OPEN_ANONYMOUS_PER_MINUTE", "1")
    get_settings.cache_clear()
    developers.reset()
    _fresh_minute()
    big = b'{"q": "' + b"x" * (2 << 20) + b'"}'
    first = post_counting(client.app, "/api/3/action/package_search", big)
    assert first.status == 413  # counted, then refused while reading
    second = post_counting(client.app, "/api/3/action/package_search", big)
    assert second.status == 429 and second.pulled == 0  # refused without reading any of it
    assert b"Rate Limit Error" in second.body
