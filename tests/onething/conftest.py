"""A small Liuzhou for one-thing services: the demo's organisations, the catalog resources the packages read (each
with a published version holding a few random people and, first, one known family), the four shipped packages,
the service centre's grants (except the lease filings, as in the demo), window staff and officers.

The family: 覃秀梅 (mother) and 韦建国 (father), married, one household in 城中区 (450202) that she owns; their
newborn 韦子涵 has a birth certificate and no ID number yet; their son 韦浩然 (6) is in the household with five
vaccinations; 韦建国 founded nothing yet and owns premises; 黄桂兰 (60, 25 years insured) is about to retire.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import pytest
from fastapi.testclient import TestClient
from stdnum.cn import ric

from govdata import security
from govdata.catalog import projection
from govdata.catalog import service as catalog
from govdata.catalog.schemas import ResourceIn
from govdata.demo import catalog_data, datasets
from govdata.demo import onething as demo_onething
from govdata.demo import service as demo_service
from govdata.ingest import readers
from govdata.ingest import service as ingest
from govdata.onething import packages
from govdata.orgs import service as orgs
from govdata.principal import CLI
from govdata.standards import service as standards
from tests.factories import PASSWORD, make_user, principal_of, token_for

OFFICERS = {"sp_staff": "450200-SP", "ga_staff": "450200-GA", "wj_staff": "450200-WJ", "yb_staff": "450200-YB",
            "rs_staff": "450200-RS", "sj_staff": "450200-SJ", "sw_staff": "450200-SW", "gjj_staff": "450200-GJJ",
            "cz_jy_staff": "450202-JY", "jy_staff": "450200-JY", "ga_admin": "450200-GA"}
REGION = "450202"


def _id(birth: date, seq: int, sex: str, region: str = REGION) -> str:
    body = f"{region}{birth:%Y%m%d}{seq:02d}{(1 if sex == '1' else 2) + (seq % 4) * 2}"
    return body + ric.calc_check_digit(body + "0")


TODAY = date.today()
MOTHER = {"id_number": _id(date(1994, 3, 8), 11, "2"), "name": "覃秀梅"}
FATHER = {"id_number": _id(date(1991, 7, 21), 23, "1"), "name": "韦建国"}
CHILD = {"id_number": _id(TODAY.replace(year=TODAY.year - 6) - timedelta(days=40), 31, "1"), "name": "韦浩然"}
# stdnum knows a county code from the year it came into use: in 1965 Liuzhou's was the city's own
RETIREE = {"id_number": _id(TODAY.replace(year=TODAY.year - 61), 45, "2", "450200"), "name": "黄桂兰"}
NEWBORN_BIRTH = TODAY - timedelta(days=9)
HOUSEHOLD = "450202118"
PREMISES = "450202001001GB00011F00010001"
EXISTING_COMPANY = "柳州市龙城鑫源商贸有限公司"


def _person(p: dict, relation: str) -> dict:
    return {"id_number": p["id_number"], "name": p["name"], "sex": "1" if int(p["id_number"][16]) % 2 else "2",
            "birth_date": ric.get_birth_date(p["id_number"]).isoformat(), "household_region": REGION,
            "household_number": HOUSEHOLD, "address": "柳州市城中区文昌路 18 号 3 栋 2 单元 501 室",
            "relation_to_head": relation}


# (provider, resource) → the family's rows, over a random clean row of that resource
FAMILY: dict[tuple[str, str], list[dict]] = {
    ("450200-GA", "户籍人口登记信息"): [_person(MOTHER, "12"), _person(FATHER, "02"), _person(CHILD, "20"),
                                        {**_person(RETIREE, "02"), "household_number": "450202207"}],
    ("450200-WJ", "出生医学证明信息"): [{
        "cert_no": "Q450201234", "newborn_name": "韦子涵", "newborn_sex": "2",
        "newborn_birth_date": NEWBORN_BIRTH.isoformat(), "mother_name": MOTHER["name"],
        "mother_id_number": MOTHER["id_number"], "father_name": FATHER["name"],
        "father_id_number": FATHER["id_number"], "hospital_name": "柳州市妇幼保健院",
        "issue_date": (NEWBORN_BIRTH + timedelta(days=1)).isoformat()}],
    ("450200-MZ", "婚姻登记信息"): [{
        "cert_no": "J450202-2019-000318", "registration_type": "1", "male_name": FATHER["name"],
        "male_id_number": FATHER["id_number"], "female_name": MOTHER["name"], "female_id_number": MOTHER["id_number"],
        "registration_date": "2019-05-20", "registration_authority": "柳州市城中区民政局"}],
    ("450200-RS", "社会保障卡信息"): [
        {"card_no": "A45020001", "id_number": MOTHER["id_number"], "name": MOTHER["name"], "card_status": "1",
         "bank_name": "柳州银行"},
        {"card_no": "A45020002", "id_number": RETIREE["id_number"], "name": RETIREE["name"], "card_status": "1",
         "bank_name": "中国工商银行柳州分行"}],
    ("450200-RS", "社会保险参保信息"): [
        {"id_number": MOTHER["id_number"], "name": MOTHER["name"], "insurance_type": "110", "insured_status": "1",
         "paid_months": "60", "employer_name": "柳州市鑫源商贸有限公司"},
        {"id_number": RETIREE["id_number"], "name": RETIREE["name"], "insurance_type": "110", "insured_status": "1",
         "paid_months": "300", "employer_name": "柳州钢铁集团有限公司"}],
    ("450200-ZR", "不动产登记信息"): [
        {"unit_no": "450202001001GB00010F00010501", "cert_no": "桂(2018)柳州市不动产权第0012345号",
         "right_holder": MOTHER["name"], "right_holder_id_number": MOTHER["id_number"], "right_holder_uscc": None,
         "location": "柳州市城中区文昌路 18 号 3 栋 2 单元 501 室"},
        {"unit_no": PREMISES, "cert_no": "桂(2020)柳州市不动产权第0054321号", "right_holder": FATHER["name"],
         "right_holder_id_number": FATHER["id_number"], "right_holder_uscc": None,
         "location": "柳州市城中区五星街 6 号 1 层 01 号商铺"}],
    ("450200-WJ", "预防接种信息"): [
        {"record_no": f"JZ{CHILD['id_number'][-6:]}{n}", "child_id_number": CHILD["id_number"],
         "child_name": CHILD["name"], "vaccine_code": code, "vaccine_name": name, "dose_no": "1",
         "vaccination_date": (ric.get_birth_date(CHILD["id_number"]) + timedelta(days=30 * n + 1)).isoformat()}
        for n, (code, name) in enumerate(datasets.VACCINES[:5])],
    ("450200-SJ", "营业执照信息"): [{"company_name": EXISTING_COMPANY}],
    ("450200-GJJ", "住房公积金缴存信息"): [{"account_no": "GJJ450200000123", "id_number": RETIREE["id_number"],
                                            "name": RETIREE["name"], "account_status": "1"}],
    ("450200-GA", "居住证信息"): [],
    ("450200-ZJ", "房屋租赁登记备案信息"): [],
    ("450200-JY", "学籍信息"): [],
}


def _implied(row: dict, columns: dict) -> dict:
    """Sex and birth date as the row's ID number says (the ingest checks they agree)."""
    if "id_number" in row and "sex" in columns and "sex" not in row:
        row = {**row, "sex": "1" if int(row["id_number"][16]) % 2 else "2"}
    if "id_number" in row and "birth_date" in columns and "birth_date" not in row:
        row = {**row, "birth_date": ric.get_birth_date(row["id_number"]).isoformat()}
    return row


@dataclass(frozen=True)
class World:
    codes: dict[tuple[str, str], str]


def _orgs(db) -> None:
    wanted = set(OFFICERS.values()) | {"450200-DSJ", "450200-MZ", "450200-ZR", "450200-ZJ", "450200-JY"}
    for spec in demo_service.org_specs():
        if spec.level == "city" or spec.code in wanted or spec.code == f"{REGION}-GOV":
            orgs.create(db, CLI, spec)


def _catalog(db) -> dict[tuple[str, str], str]:
    for raw in catalog_data.RESOURCES:
        if (raw["provider"], raw["name"]) in FAMILY:
            resource = catalog.create(db, CLI, ResourceIn.model_validate(raw), commit=False)
            catalog.publish_directly(db, CLI, resource)
    db.commit()
    return {(e.provider, e.name): e.code for e in projection.published_entries(db)}


def _version(db, code: str, rows: list[dict], seed: int) -> None:
    doc = ingest.resource_doc(db, code)
    base = datasets.generate_rows(db, doc, 6, seed=seed, bad_share=0.0).to_dicts()
    mine = [{**base[n % len(base)], **_implied(row, base[0])} for n, row in enumerate(rows)]
    frame = pl.DataFrame(mine + base[len(rows):], schema={c: pl.String for c in base[0]})
    frame = frame.unique(subset=[i["key"] for i in doc["items"] if i.get("primary_key")] or None, keep="first",
                         maintain_order=True)
    chunk = readers.Chunk(frame, rows=None, first_row=2)
    version = ingest.ingest_chunks(db, CLI, doc, [chunk], frame.columns, source_kind="upload",
                                   source={"filename": "family.csv", "format": "csv"},
                                   source_digest=lambda: hashlib.sha256(str(rows).encode()).hexdigest())
    assert version.status == "published", (code, version.status, ingest.error_rows(version).to_dicts()[:3])


_HASHED: dict[str, str] = {}
_TOKENS: dict[str, dict[str, str]] = {}


def headers_for(client: TestClient, username: str) -> dict[str, str]:
    """An officer's API token, signed in once per test (each argon2 check costs ~0.4 s)."""
    if username not in _TOKENS:
        _TOKENS[username] = token_for(client, username)
    return _TOKENS[username]


@pytest.fixture(autouse=True)
def _forget_tokens() -> None:
    _TOKENS.clear()


@pytest.fixture
def world(db, monkeypatch) -> World:
    _orgs(db)
    standards.load_shipped(db)
    codes = _catalog(db)
    for n, (key, rows) in enumerate(FAMILY.items()):
        _version(db, codes[key], rows, seed=n)
    if not _HASHED:
        _HASHED["hash"] = security.hash_password(PASSWORD)
    monkeypatch.setattr(security, "hash_password", lambda _: _HASHED["hash"])  # the same password for all
    for username, org in OFFICERS.items():
        make_user(db, username, org, "dept_admin" if username.endswith("_admin") else "dept_staff")
    make_user(db, "admin", "450200-DSJ", "bureau_admin")
    monkeypatch.undo()
    packages.load_shipped(db, CLI)
    demo_onething.grant_operator(db)
    return World(codes)


@pytest.fixture
def officer(db, world):
    return lambda username: principal_of(db, username)


@pytest.fixture
def demo(db, world) -> World:
    """The world counts as a demo instance: the demo's identity check answers."""
    from govdata.platform import service as platform

    platform.set_setting(db, "demo_loaded", "450200")
    db.commit()
    return world


@pytest.fixture
def staff(client: TestClient) -> TestClient:
    """A second browser, for the officers (the applicant's client keeps its own cookies)."""
    return TestClient(client.app)


@pytest.fixture
def citizen_token(db, demo, client: TestClient):
    """A citizen's bearer headers after the demo's identity check."""

    def sign_in(person: dict) -> dict[str, str]:
        r = client.post("/api/v1/auth/citizen", json={"id_number": person["id_number"], "name": person["name"]})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return sign_in


from tests.exchange.conftest import _exchange_state  # noqa: E402,F401 - the gateway's caches reset per test
