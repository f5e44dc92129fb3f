"""Opening resources on the portal: only open catalog entries with a published version that pass the pre-open
check; snapshots hold the generalised data; catalog changes and new versions keep the portal in step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from govdata.actionlog.models import ActionLogEntry as ActionLog
from govdata.catalog import service as catalog
from govdata.catalog.schemas import ResourceIn, ReviewIn
from govdata.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govdata.ingest import service as ingest
from govdata.ingest.storage import get_store
from govdata.jobs import service as jobs
from govdata.opendata import listing, service
from govdata.opendata.models import OpenCheck, OpenDataset
from govdata.principal import CLI
from tests.factories import principal_of
from tests.ingest.conftest import PEOPLE_ITEMS, person, write_csv
from tests.opendata.conftest import PEOPLE_SETTINGS


def test_only_checked_open_resources_with_versions_are_listed(db, portal):
    listed = {d.code for d in service.all_open(db)}
    assert listed == {portal.hospitals, portal.companies, portal.people}
    for code in (portal.private, portal.no_version, portal.withdrawn):
        with pytest.raises(NotFound) as exc:
            service.get_open(db, code)
        assert exc.value.code == "dataset_not_found"


def test_snapshot_holds_only_the_generalised_columns(db, portal):
    people = service.get_open(db, portal.people)
    frame = get_store().read_parquet(people.data_key)
    assert set(frame.columns) == {"sex", "birth_date", "region"}
    assert frame.height == 200
    assert sorted(frame["birth_date"].unique().to_list())[:2] == ["1960", "1961"]
    assert {i["key"]: i["treatment"] for i in people.items}["birth_date"] == "year"
    assert people.row_count == 200 and people.version_number == 1


def test_direct_identifiers_refuse_opening_and_the_report_says_why(db, portal):
    before = db.scalar(select(OpenDataset).where(OpenDataset.code == portal.people)).data_key
    check = listing.check(db, portal.ga, portal.people, open_it=True,
                          settings={"treatments": {}, "quasi_identifiers": [], "k": 5})
    assert check.outcome == "refused" and not check.passed
    codes = {(p["code"], p["key"]) for p in check.report["problems"]}
    assert ("direct_identifier", "id_number") in codes and ("direct_identifier", "name") in codes
    # the dataset stays as last opened: same snapshot
    assert service.get_open(db, portal.people).data_key == before


def test_k_anonymity_below_threshold_refuses(db, portal):
    settings = {**PEOPLE_SETTINGS, "treatments": {**PEOPLE_SETTINGS["treatments"], "birth_date": "keep"}}
    check = listing.check(db, portal.ga, portal.people, settings=settings)
    assert not check.passed
    assert check.k_found is not None and check.k_found < 5
    assert any(p["code"] == "k_anonymity" for p in check.report["problems"])


def test_k_threshold_cannot_go_below_the_platform_minimum(db, portal):
    with pytest.raises(ValidationFailed) as exc:
        listing.check(db, portal.ga, portal.people, settings={**PEOPLE_SETTINGS, "k": 2})
    assert exc.value.code == "k_below_platform_minimum"


def test_unknown_items_in_settings_are_refused(db, portal):
    with pytest.raises(ValidationFailed) as exc:
        listing.save_settings(db, portal.ga, portal.people, {"treatments": {"nope": "remove"}})
    assert exc.value.code == "unknown_item"
    with pytest.raises(ValidationFailed) as exc:
        listing.save_settings(db, portal.ga, portal.people, {"treatments": {"name": "shred"}})
    assert exc.value.code == "unknown_treatment"


def test_only_the_providers_data_officer_or_the_bureau_may_open(db, portal):
    with pytest.raises(Forbidden):
        listing.check(db, portal.wj, portal.people, open_it=True)
    with pytest.raises(Forbidden):
        listing.check(db, principal_of(db, "wj_staff"), portal.hospitals, open_it=True)
    assert listing.check(db, portal.bureau, portal.hospitals, open_it=True).outcome == "opened"


def test_not_open_in_catalog_or_without_version_cannot_open(db, portal):
    with pytest.raises(Conflict) as exc:
        listing.check(db, portal.wj, portal.private, open_it=True)
    assert exc.value.code == "not_open_in_catalog"
    with pytest.raises(Conflict) as exc:
        listing.check(db, portal.wj, portal.no_version, open_it=True)
    assert exc.value.code == "no_published_version"


def test_opening_and_withdrawing_are_in_the_action_log(db, portal):
    actions = set(db.scalars(select(ActionLog.action).where(ActionLog.target_id == portal.withdrawn)))
    assert {"opendata.opened", "opendata.withdraw"} <= actions
    with pytest.raises(ValidationFailed):
        listing.withdraw(db, portal.scj, portal.companies, "  ")


def test_catalog_republication_as_not_open_withdraws_at_once(db, portal):
    doc = catalog.read_for(db, CLI, portal.hospitals)
    data = {k: doc[k] for k in ResourceIn.model_fields if k in doc}
    data.update(open=False, items=doc["items"])
    catalog.update(db, portal.wj, portal.hospitals, ResourceIn.model_validate(data))
    catalog.submit(db, portal.wj, portal.hospitals)
    assert service.get_open(db, portal.hospitals)  # under review: the published entry is still open
    catalog.review(db, CLI, portal.hospitals, ReviewIn(decision="approve"))
    with pytest.raises(NotFound):
        service.get_open(db, portal.hospitals)
    assert db.get(OpenDataset, portal.hospitals).withdrawn_reason


def test_a_new_version_is_checked_and_served_by_the_refresh_job(db, portal, tmp_path):
    path = write_csv(tmp_path / "more.csv", [person(n) for n in range(250)], header=[i["key"] for i in PEOPLE_ITEMS])
    ingest.ingest_file(db, CLI, portal.people, path)
    assert listing.behind(db) == [(portal.people, 2)]
    assert listing.refresh_due(db) == 1
    assert listing.refresh_due(db) == 0  # one job per version
    jobs.run_pending(db, kinds=["opendata.refresh"])
    db.expire_all()
    people = service.get_open(db, portal.people)
    assert people.version_number == 2 and people.row_count == 250
    assert listing.behind(db) == []


def test_a_new_version_failing_the_check_keeps_the_old_snapshot(db, portal, tmp_path):
    rows = [person(n) for n in range(6)]  # six people, each of another birth year: classes of 1, k < 5
    path = write_csv(tmp_path / "few.csv", rows, header=[i["key"] for i in PEOPLE_ITEMS])
    ingest.ingest_file(db, CLI, portal.people, path)
    checked = listing.refresh(db, portal.people)
    assert checked is not None and checked.outcome == "refused"
    people = service.get_open(db, portal.people)
    assert people.version_number == 1 and people.row_count == 200
    row = next(r for r in listing.candidates(db, portal.ga) if r["code"] == portal.people)
    assert row["state"] == "open" and row["behind"]
    assert listing.behind(db) == []  # the refused version is not checked again and again


def test_candidates_show_each_state_to_the_department_and_all_to_the_bureau(db, portal):
    wj = {r["code"]: r["state"] for r in listing.candidates(db, portal.wj)}
    assert wj == {portal.hospitals: "open", portal.no_version: "no_version"}
    scj = {r["code"]: r["state"] for r in listing.candidates(db, portal.scj)}
    assert scj[portal.withdrawn] == "withdrawn"
    every = {r["code"] for r in listing.candidates(db, portal.bureau)}
    assert {portal.hospitals, portal.people, portal.companies, portal.withdrawn} <= every
    assert portal.private not in every
    assert listing.candidates(db, principal_of(db, "wj_staff"))  # staff see their department's


def test_checks_are_visible_to_the_department_and_bureau_only(db, portal):
    check = db.scalars(select(OpenCheck).where(OpenCheck.code == portal.people)).first()
    assert listing.get_check(db, portal.bureau, check.id).id == check.id
    assert listing.get_check(db, portal.ga, check.id).id == check.id
    with pytest.raises(NotFound):
        listing.get_check(db, portal.wj, check.id)


def test_files_only_datasets_have_no_api_resource(db, portal):
    doc = catalog.read_for(db, CLI, portal.companies)
    data = {k: doc[k] for k in ResourceIn.model_fields if k in doc}
    data.update(share_method="file", items=doc["items"])
    catalog.update(db, portal.scj, portal.companies, ResourceIn.model_validate(data))
    catalog.submit(db, portal.scj, portal.companies)
    catalog.review(db, CLI, portal.companies, ReviewIn(decision="approve"))
    companies = service.get_open(db, portal.companies)
    assert not companies.has_api
    assert [r["format"] for r in service.resources(companies)] == ["CSV", "XLSX", "JSON"]
    with pytest.raises(NotFound):
        service.get_resource(db, service.resource_id(companies, "04"))
    assert service.get_resource(db, service.resource_id(companies, "01"))[1]["datastore_active"] is False


def test_a_check_only_run_does_not_stop_the_refresh(db, portal, tmp_path):
    path = write_csv(tmp_path / "more.csv", [person(n) for n in range(250)], header=[i["key"] for i in PEOPLE_ITEMS])
    ingest.ingest_file(db, CLI, portal.people, path)
    assert listing.check(db, portal.ga, portal.people).outcome == "checked"  # looked at, not opened
    assert listing.behind(db) == [(portal.people, 2)]


def test_settings_are_saved_with_the_check_and_a_failed_check_leaves_no_snapshot(db, portal):
    before = set(get_store().list("open/"))
    listing.check(db, portal.ga, portal.people, open_it=True,
                  settings={"treatments": {}, "quasi_identifiers": [], "k": 7})
    assert listing.settings_of(db, portal.people)["k"] == 7
    assert set(get_store().list("open/")) == before
