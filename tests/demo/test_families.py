"""The demo's consistent people and companies: what the one-thing services rely on, checked in the versions the
demo loads (the latest published one of each resource), not only in the generator."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import pytest
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from govdata import db as dbmod
from govdata.catalog import projection
from govdata.demo import datasets, families
from govdata.demo import service as demo
from govdata.errors import NotFound
from govdata.ingest import service as ingest
from govdata.orgs import service as orgs
from govdata.principal import CLI
from govdata.standards import service as standards
from govdata.standards import validators
from tests.conftest import _empty_tables

MOBILE = re.compile(r"1[3-9][0-9]{9}")
LIUZHOU = set(families.LIUZHOU)


@dataclass
class Loaded:
    db: Session
    world: families.World
    before: dict[str, list]  # applicants() of every package before the datasets were loaded
    cache: dict[tuple[str, str], pl.DataFrame]

    def latest(self, resource: tuple[str, str]) -> pl.DataFrame:
        """The latest published version's rows."""
        if resource not in self.cache:
            code = next(e.code for e in projection.published_entries(self.db) if (e.provider, e.name) == resource)
            self.cache[resource] = ingest.read_rows(ingest.latest_published(self.db, code))
        return self.cache[resource]

    def by(self, resource: tuple[str, str], key: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.latest(resource).iter_rows(named=True):
            out[row[key]].append(row)
        return out


@pytest.fixture(scope="module")
def loaded(database_url: str) -> Iterator[Loaded]:
    """One database per module with the demo's organisations, catalog and datasets (the slow part, done once)."""
    dbmod.reset_caches() if dbmod.get_settings().database_url != database_url else None
    session = dbmod.new_session()
    try:
        for spec in demo.org_specs():
            orgs.create(session, CLI, spec)
        standards.load_shipped(session)
        demo.load_catalog(session)
        before = {package: families.applicants(session, package) for package in families.PACKAGES}
        datasets.load(session)
        yield Loaded(session, families.world(date.today()), before, {})
    finally:
        session.rollback()
        session.close()
        _empty_tables(database_url)


def test_the_world_has_the_planned_shape():
    world = families.world(date.today())
    n = len(world.families)
    assert n >= 1000 and len(world.companies) == 200
    assert len(world.founders) == 150 and len(world.retirees) == 100
    share = {
        "migrant": sum(f.migrant for f in world.families) / n,
        "newborn": sum(f.newborn is not None for f in world.families) / n,
        "child": sum(f.child is not None for f in world.families) / n,
        "own": sum(f.housing == "own" for f in world.families) / n,
        "rent": sum(f.housing == "rent" for f in world.families) / n,
    }
    assert 0.1 <= share["migrant"] <= 0.2 and 0.55 <= share["newborn"] <= 0.65
    assert 0.55 <= share["child"] <= 0.65 and 0.58 <= share["own"] <= 0.72 and 0.18 <= share["rent"] <= 0.32, share
    assert families.world(date.today()) is world  # built once a day
    again = families._Builder(date.today()).build()  # and deterministic
    assert [f.father.id_number for f in again.families] == [f.father.id_number for f in world.families]


def test_people_and_companies_carry_valid_numbers():
    world = families.world(date.today())
    today = world.today
    people = [p for f in world.families for p in f.parents] + [f.child for f in world.families if f.child]
    people += world.retirees
    assert len({p.id_number for p in people}) == len(people)
    for person in people:
        assert ric.is_valid(person.id_number), person.id_number
        assert validators.check_id_number(person.id_number) is None, person.id_number
        assert ric.get_birth_date(person.id_number) == person.birth
        assert int(person.id_number[16]) % 2 == (1 if person.sex == "1" else 0)
        assert MOBILE.fullmatch(person.phone)
    for family in world.families:
        for parent in family.parents:
            assert 24 <= parent.age(today) <= 42
        if family.child:
            age = family.child.age(today)
            assert 5.8 <= age <= 6.9 or 11.8 <= age <= 12.9
            assert all(family.child.age(today) + 20 < p.age(today) for p in family.parents)
        if family.newborn:
            assert 3 <= (today - family.newborn.birth).days <= 60
            assert family.newborn.name.startswith(family.father.surname)
            assert 0 <= (family.newborn.issued - family.newborn.birth).days <= 3
        if family.migrant:
            assert family.household_region not in LIUZHOU and family.father.region == family.household_region
        else:
            assert family.household_region == family.county and family.county in LIUZHOU
    for company in world.companies:
        assert uscc.is_valid(company.uscc) and company.uscc[2:8] in LIUZHOU
    assert len({c.uscc for c in world.companies}) == len({c.name for c in world.companies}) == 200
    for person in world.retirees:
        age = person.age(today)
        assert (59.5 <= age <= 60.5) if person.sex == "1" else (49.5 <= age <= 50.5 or 54.5 <= age <= 55.5)


def test_consistent_rows_are_kept_apart_from_the_random_rows(loaded):
    """generate_rows puts the consistent rows last, unbroken, and keeps the random ones off their keys and people."""
    code = next(e.code for e in projection.published_entries(loaded.db) if e.name == "户籍人口登记信息")
    doc = ingest.resource_doc(loaded.db, code)
    extra = families.rows(*families.HUKOU, date.today())[:120]
    frame = datasets.generate_rows(loaded.db, doc, 400, seed=5, bad_share=0.05, extra=extra,
                                   avoid=loaded.world.taken)
    assert frame.height == 400
    assert frame.tail(120).to_dicts() == [{k: row.get(k) for k in frame.columns} for row in extra]
    assert not set(frame.head(280)["id_number"].drop_nulls()) & loaded.world.taken


def test_every_family_is_the_same_family_in_every_department(loaded):
    world, today = loaded.world, date.today().isoformat()
    hukou = loaded.by(families.HUKOU, "id_number")
    permits = loaded.by(families.PERMIT, "id_number")
    marriages = loaded.by(families.MARRIAGE, "male_id_number")
    certificates = loaded.by(families.BIRTH, "mother_id_number")
    vaccinations = loaded.by(families.VACCINATION, "child_id_number")
    students = loaded.by(families.STUDENT, "student_id_number")
    insured = loaded.by(families.INSURANCE, "id_number")
    resident = loaded.by(families.RESIDENT_MEDICAL, "id_number")
    cards = loaded.by(families.CARD, "id_number")
    deeds = loaded.by(families.PROPERTY, "unit_no")
    leases = loaded.by(families.LEASE, "filing_no")
    licensed = set(loaded.latest(families.LICENCE)["uscc"])
    for family in world.families:
        father, mother = family.parents
        if family.migrant:  # no 户籍 here: a valid 居住证 each, in Liuzhou; the child is not in 户籍 either
            for parent in family.parents:
                assert parent.id_number not in hukou
                (permit,) = permits[parent.id_number]
                assert permit["valid_until"] > today and permit["residence_address"].startswith("广西壮族自治区柳州市")
                assert permit["household_region"] == family.household_region not in LIUZHOU
            assert family.child is None or family.child.id_number not in hukou
        else:  # one household: head and spouse, the school-age child as son or daughter
            (f,), (m,) = hukou[father.id_number], hukou[mother.id_number]
            assert f["household_number"] == m["household_number"] == family.household_number
            assert f["household_region"] == m["household_region"] == family.county
            assert {f["relation_to_head"], m["relation_to_head"]} == {families.HEAD, families.SPOUSE}
            assert f["marital_status"] == m["marital_status"] == families.MARRIED
            assert (f["name"], m["name"], f["sex"], m["sex"]) == (father.name, mother.name, "1", "2")
            if family.child:
                (c,) = hukou[family.child.id_number]
                assert c["household_number"] == family.household_number
                assert c["relation_to_head"] == (families.SON if family.child.sex == "1" else families.DAUGHTER)
        (marriage,) = marriages[father.id_number]
        assert (marriage["female_id_number"], marriage["male_name"], marriage["female_name"]) == \
            (mother.id_number, father.name, mother.name)
        assert marriage["registration_type"] == families.MARRIAGE_REGISTRATION
        assert marriage["registration_date"] < min([*(x.birth.isoformat() for x in (family.child, family.newborn)
                                                      if x), today])
        certs = {c["cert_no"]: c for c in certificates[mother.id_number]}
        if family.newborn:  # a birth certificate, and nothing else yet (the newborn has no ID number)
            cert = certs[family.newborn.cert_no]
            assert (cert["father_id_number"], cert["newborn_name"], cert["newborn_birth_date"]) == \
                (father.id_number, family.newborn.name, family.newborn.birth.isoformat())
            assert cert["hospital_name"] in datasets.HOSPITALS and cert["issue_date"] >= cert["newborn_birth_date"]
        if family.child:
            child = family.child
            assert family.child_cert in certs and certs[family.child_cert]["newborn_name"] == child.name
            shots = vaccinations[child.id_number]
            assert 4 <= len(shots) <= 8 and all(s["child_name"] == child.name for s in shots)
            assert all(child.birth.isoformat() <= s["vaccination_date"] <= today for s in shots)
            assert {(s["vaccine_code"], s["vaccine_name"]) for s in shots} <= set(datasets.VACCINES)
            if child.age(date.today()) > 10:
                (pupil,) = students[child.id_number]
                assert pupil["national_student_no"] == "G" + child.id_number and pupil["grade"] == "06"
                assert pupil["status"] == families.STUDYING and pupil["school_name"] in datasets.SCHOOLS
                assert pupil["guardian_name"] in (father.name, mother.name)
                assert pupil["household_region"] == family.household_region
            else:
                assert child.id_number not in students
        for parent in family.parents:  # insured as an employee of a demo company, or as a resident; a 社保卡
            job = world.jobs.get(parent.id_number)
            if job:
                (row,) = insured[parent.id_number]
                assert row["employer_uscc"] == job.company.uscc in licensed
                assert row["insurance_type"] == families.ENTERPRISE_PENSION and 12 <= int(row["paid_months"]) <= 240
            else:
                assert parent.id_number in resident and parent.id_number not in insured
            (card,) = cards[parent.id_number]
            assert card["card_status"] == families.CARD_ACTIVE and card["valid_until"] > today
        if family.housing == "own":
            (deed,) = deeds[family.unit_no]
            assert deed["right_holder_id_number"] == family.holder.id_number
            assert (deed["right_holder"], deed["location"]) == (family.holder.name, family.address)
        elif family.housing == "rent":
            (lease,) = leases[family.lease_no]
            assert lease["lessee_id_number"] == family.holder.id_number and lease["house_address"] == family.address
            assert lease["lease_start"] <= today < lease["lease_end"]


def test_the_held_property_export_leaves_the_consistent_rows_published(loaded):
    code = next(e.code for e in projection.published_entries(loaded.db) if e.name == "不动产登记信息")
    versions = ingest.list_versions(loaded.db, CLI, code)
    assert max(versions, key=lambda v: v.number).status == "held"
    published = set(loaded.latest(families.PROPERTY)["unit_no"])
    assert {f.unit_no for f in loaded.world.families if f.unit_no} <= published
    assert {c.premises for c in loaded.world.companies if c.premises} <= published


def test_companies_are_the_same_company_in_every_department(loaded):
    world = loaded.world
    licences = {r["uscc"]: r for r in loaded.latest(families.LICENCE).iter_rows(named=True)}
    taxpayers = {r["taxpayer_id"]: r for r in loaded.latest(families.TAXPAYER).iter_rows(named=True)}
    seals = loaded.by(families.SEAL, "uscc")
    deeds = loaded.by(families.PROPERTY, "right_holder_uscc")
    funds = loaded.by(families.FUND, "employer_uscc")
    parents = {p.name for f in world.families for p in f.parents}
    for company in world.companies:
        licence, taxpayer = licences[company.uscc], taxpayers[company.uscc]
        assert licence["company_name"] == taxpayer["taxpayer_name"] == company.name
        assert licence["legal_representative"] == taxpayer["legal_representative"] == company.legal.name in parents
        assert licence["registration_status"] == families.LICENCE_ACTIVE and licence["region_code"] == company.county
        assert seals[company.uscc] and all(s["org_name"] == company.name for s in seals[company.uscc])
        assert all(s["handler_id_number"] == company.legal.id_number for s in seals[company.uscc])
        if company.premises:
            (deed,) = deeds[company.uscc]
            assert (deed["unit_no"], deed["right_holder"]) == (company.premises, company.name)
        employees = [p for p, job in world.jobs.items() if job.company is company]
        assert company.legal.id_number in employees
        assert {r["id_number"] for r in funds[company.uscc]} >= set(employees)
    assert sum(c.premises is not None for c in world.companies) == 100
    names = loaded.latest(families.LICENCE)["company_name"]
    assert len(set(names) & {c.name for c in world.companies}) == 200
    assert names.is_in([c.name for c in world.companies]).sum() == 200  # no random company took a name


def test_people_about_to_retire_are_insured_and_not_yet_paid_a_pension(loaded):
    hukou = loaded.by(families.HUKOU, "id_number")
    insured = loaded.by(families.INSURANCE, "id_number")
    cards, medical = loaded.by(families.CARD, "id_number"), loaded.by(families.EMPLOYEE_MEDICAL, "id_number")
    funds = loaded.by(families.FUND, "id_number")
    pensions = set(loaded.latest(families.PENSION)["id_number"])
    for person in loaded.world.retirees:
        (row,) = hukou[person.id_number]
        assert row["relation_to_head"] == families.HEAD
        (insurance,) = insured[person.id_number]
        assert insurance["insurance_type"] == families.ENTERPRISE_PENSION
        assert insurance["insured_status"] == families.INSURED and int(insurance["paid_months"]) >= 180
        assert cards[person.id_number] and medical[person.id_number] and funds[person.id_number]
        assert person.id_number not in pensions


def test_founders_own_their_premises(loaded):
    deeds = loaded.by(families.PROPERTY, "unit_no")
    legal = {c.legal.id_number for c in loaded.world.companies}
    for founder in loaded.world.founders:
        (deed,) = deeds[founder.unit_no]
        assert deed["right_holder_id_number"] == founder.person.id_number and deed["location"] == founder.location
        assert founder.person.id_number not in legal


def test_sample_applicants_resolve_in_the_loaded_data(loaded):
    today = date.today()
    hukou = set(loaded.latest(families.HUKOU)["id_number"])
    certificates = loaded.by(families.BIRTH, "mother_id_number")
    newborns = families.applicants(loaded.db, "newborn", limit=20)
    assert len(newborns) == 20 and len({a["id_number"] for a in newborns}) == 20
    for applicant in newborns:
        assert applicant["inputs"] == {} and applicant["note"].startswith("新生儿 ")
        certs = certificates[applicant["id_number"]]
        recent = [c for c in certs if (today - date.fromisoformat(c["newborn_birth_date"])).days <= 60]
        assert recent and recent[0]["mother_name"] == applicant["name"]
        assert applicant["id_number"] in hukou and recent[0]["father_id_number"] in hukou
        assert recent[0]["hospital_name"] in applicant["note"]

    vaccinated = set(loaded.latest(families.VACCINATION)["child_id_number"])
    schooling = families.applicants(loaded.db, "school_enrolment", limit=20)
    assert len(schooling) == 20
    notes = " ".join(a["note"] for a in schooling)
    assert "随迁子女" in notes and "租房" in notes and "自有住房" in notes
    parents = {p.id_number: f for f in loaded.world.families for p in f.parents}
    for applicant in schooling:
        child = applicant["inputs"]["child_id_number"]
        assert child in vaccinated
        family = parents[applicant["id_number"]]
        assert family.child and family.child.id_number == child and family.child.name in applicant["note"]
        assert (child in hukou) != family.migrant

    deeds = loaded.by(families.PROPERTY, "unit_no")
    companies = set(loaded.latest(families.LICENCE)["company_name"])
    founders = families.applicants(loaded.db, "company_startup", limit=20)
    assert len(founders) == 20 and len({a["inputs"]["company_name"] for a in founders}) == 20
    for applicant in founders:
        assert applicant["inputs"]["company_name"] not in companies
        (deed,) = deeds[applicant["inputs"]["premises_unit_no"]]
        assert deed["right_holder_id_number"] == applicant["id_number"] and deed["right_holder"] == applicant["name"]

    insured = loaded.by(families.INSURANCE, "id_number")
    retiring = families.applicants(loaded.db, "retirement", limit=200)
    reached = {p.id_number for p in loaded.world.retirees if families.age_reached(p.id_number, date.today())}
    assert {a["id_number"] for a in retiring} == reached and len(reached) >= 40  # the others are months short
    for applicant in retiring:
        assert applicant["id_number"] in hukou and applicant["inputs"] == {}
        assert any(int(r["paid_months"]) >= 180 for r in insured[applicant["id_number"]])
    assert len(families.applicants(loaded.db, "retirement", limit=5)) == 5


def test_applicants_of_an_unknown_package_or_before_the_demo_is_loaded(loaded):
    assert loaded.before == {package: [] for package in families.PACKAGES}
    with pytest.raises(NotFound) as raised:
        families.applicants(loaded.db, "wedding")
    assert raised.value.code == "package_not_found"
