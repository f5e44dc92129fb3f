"""Ingest as a department uses it: a file becomes a version; bad rows are quarantined with their reasons; the
policy decides publish or hold; versions compare, merge and roll back; bad files change nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import polars as pl
import pytest
from sqlalchemy import update

from govdata.errors import AppError, Forbidden, NotFound
from govdata.ingest import dashboard, service
from govdata.ingest.models import DatasetVersion
from govdata.ingest.storage import get_store
from govdata.jobs import service as jobs
from tests.factories import principal_of
from tests.ingest.conftest import HEADER, id_number, person, write_csv

GOOD = [person(n) for n in range(20)]


def bad_rows() -> list[dict[str, str]]:
    """One row breaking each rule, in this order."""
    return [
        person(100, name=""),  # required
        person(101, id_number=person(101)["id_number"][:-1] + ("0" if person(101)["id_number"][-1] != "0" else "1")),
        person(102, sex="7"),  # codeset
        person(103, birth_date="1990-02-30"),  # date
        person(104, region="999999"),  # region_code
        person(105, phone="12345"),  # format
        person(106, name="张" * 51),  # length
        person(107, birth_date="2001-01-01"),  # cross_field: not the birth date inside the ID number
        dict(GOOD[0], name="李重复"),  # unique: the key of row 2 again
    ]


EXPECTED_ERRORS = {"required": 1, "id_number": 1, "codeset": 1, "date": 1, "region_code": 1, "format": 1,
                   "length": 1, "cross_field": 1, "unique": 1}


def _ingest(db, principal, code, path, **kwargs) -> DatasetVersion:
    return service.ingest_file(db, principal, code, path, **kwargs)


def test_a_gb18030_file_becomes_a_version_with_every_bad_row_quarantined(db, people, ga, tmp_path):
    service.set_policy(db, ga, people, 100)  # publish whatever passes
    path = write_csv(tmp_path / "人口.csv", GOOD + bad_rows(), encoding="gb18030")
    version = _ingest(db, ga, people, path)
    assert (version.number, version.status, version.rows_total, version.rows_accepted, version.rows_rejected) == (
        1, "published", 29, 20, 9)
    assert version.errors_by_rule == EXPECTED_ERRORS
    assert version.source["encoding"] == "gb18030" and version.source["filename"] == "人口.csv"
    assert version.quality == {"completeness": 96.55, "validity": 79.31, "uniqueness": 96.55, "consistency": 96.55,
                               "timeliness": 100.0, "score": pytest.approx(
                                   0.2 * 96.55 + 0.3 * 79.31 + 0.15 * 96.55 + 0.15 * 96.55 + 20, abs=0.01)}
    stored = service.read_rows(version)
    assert stored.columns == HEADER and sorted(stored["id_number"]) == sorted(r["id_number"] for r in GOOD)
    assert get_store().sha256(version.data_key) == version.data_sha256


def test_each_rejected_row_keeps_its_row_number_and_reasons(db, people, ga, tmp_path):
    version = _ingest(db, ga, people, write_csv(tmp_path / "p.csv", GOOD + bad_rows()))
    errors = service.error_rows(version)
    by_row = {r["row"]: r for r in errors.to_dicts()}
    assert by_row[22]["rule"] == "required" and by_row[22]["column"] == "name"  # header is row 1
    assert by_row[23]["rule"] == "id_number" and "校验" in by_row[23]["reason"]
    assert by_row[24] | {"reason": ""} == {"row": 24, "rule": "codeset", "column": "sex", "value": "7", "reason": ""}
    assert by_row[30]["rule"] == "unique" and "第 2 行" in by_row[30]["reason"]
    rejected = service.rejected_frame(version)
    assert sorted(rejected["原行号"]) == list(range(22, 31))


def test_the_policy_holds_a_version_with_too_many_rejects_and_others_keep_the_old_one(db, people, ga, tmp_path):
    first = _ingest(db, ga, people, write_csv(tmp_path / "a.csv", GOOD))
    held = _ingest(db, ga, people, write_csv(tmp_path / "b.csv", GOOD[:5] + bad_rows()))  # 9 of 14 rejected > 5 %
    assert (first.status, held.status) == ("published", "held")
    assert service.latest_published(db, people).number == 1
    published = service.decide(db, ga, people, 2, publish=True)
    assert published.status == "published" and published.decided_by == "ga_admin"
    assert service.latest_published(db, people).number == 2
    with pytest.raises(AppError) as refused:
        service.decide(db, ga, people, 2, publish=False)
    assert refused.value.code == "version_not_held"


def test_a_zero_threshold_holds_any_reject(db, people, ga, tmp_path):
    service.set_policy(db, ga, people, 0)
    version = _ingest(db, ga, people, write_csv(tmp_path / "a.csv", [*GOOD, person(100, name="")]))
    assert version.status == "held"
    assert service.decide(db, ga, people, 1, publish=False).status == "discarded"
    assert service.latest_published(db, people) is None


def test_the_quarantine_workbook_can_be_corrected_and_merged_back(db, people, ga, tmp_path):
    service.set_policy(db, ga, people, 100)
    _ingest(db, ga, people, write_csv(tmp_path / "a.csv", GOOD + bad_rows()))
    book = openpyxl.load_workbook(io.BytesIO(service.rejected_xlsx(db, ga, people, 1)))
    sheet = book["被拒绝的行"]
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["公民身份号码", "姓名", "性别", "出生日期", "户籍地行政区划代码", "手机号码"]
    assert header[6:] == ["原行号", "拒绝原因"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    required_row = next(r for r in rows if r[6] == 22)
    assert "必填" in required_row[7] or "为空" in required_row[7]
    assert book["错误明细"].max_row == 1 + 9
    # The department fixes the empty name and uploads the sheet as it is, in merge mode.
    sheet.cell(row=rows.index(required_row) + 2, column=2, value="王补正")
    fixed = tmp_path / "更正.xlsx"
    book.save(fixed)
    merged = _ingest(db, ga, people, fixed, mode="merge")
    # The fixed row and the repeated key (alone in this file, so no longer a repeat) are accepted: merge
    # replaces by key, so the department deletes from the sheet the rows it does not want.
    assert merged.number == 2 and merged.rows_accepted == 2 and merged.rows_rejected == 7
    assert merged.rows_stored == 21
    stored = service.read_rows(merged)
    assert stored.filter(pl.col("name") == "王补正").height == 1
    assert stored.filter(pl.col("id_number") == GOOD[0]["id_number"])["name"].to_list() == ["李重复"]


def test_merge_replaces_rows_by_key(db, people, ga, tmp_path):
    _ingest(db, ga, people, write_csv(tmp_path / "a.csv", GOOD))
    changed = dict(GOOD[3], phone="13900000000")
    merged = _ingest(db, ga, people, write_csv(tmp_path / "b.csv", [changed, person(50)]), mode="merge")
    stored = service.read_rows(merged)
    assert merged.rows_stored == 21
    assert stored.filter(pl.col("id_number") == GOOD[3]["id_number"])["phone"].to_list() == ["13900000000"]


def test_versions_compare_by_key_and_roll_back_without_rewriting_history(db, people, ga, tmp_path):
    _ingest(db, ga, people, write_csv(tmp_path / "a.csv", GOOD[:10]))
    second = [*GOOD[2:10], person(60), person(61)]
    second[0] = dict(second[0], phone="13900000001")
    v2 = _ingest(db, ga, people, write_csv(tmp_path / "b.csv", second))
    diff = service.compare(db, ga, people, 1, 2)
    assert (diff["added"], diff["removed"], diff["changed"]) == (2, 2, 1)
    assert diff["changed_sample"][0]["phone"] == "13900000001"
    v3 = service.rollback(db, ga, people, 1)
    assert (v3.number, v3.status, v3.source_kind, v3.source) == (3, "published", "rollback", {"from_version": 1})
    v1 = service.get_version(db, ga, people, 1)
    assert v3.data_sha256 == v1.data_sha256 and v3.rows_stored == 10
    assert service.read_rows(v3).equals(service.read_rows(v1))
    assert service.get_version(db, ga, people, 2).data_sha256 == v2.data_sha256


@pytest.mark.parametrize(("content", "name", "code"), [
    (b"id_number,name\n" + "450202199001011234,张三\n".encode("gbk") + "李四\n".encode(), "mixed.csv",
     "encoding_error"),
    ("姓名,性别\n张三,1\n".encode(), "no-id.csv", "missing_columns"),
    (b"", "empty.csv", "empty_file"),
    (b"PK\x03\x04 not really a workbook", "fake.xlsx", "unsupported_format"),
    (b"hello", "report.exe", "unsupported_format"),
    (b'[{"id_number": "1"', "cut.json", "invalid_json"),
])
def test_a_bad_file_is_refused_and_the_published_version_stays(db, people, ga, tmp_path, content, name, code):
    _ingest(db, ga, people, write_csv(tmp_path / "good.csv", GOOD))
    bad = tmp_path / name
    bad.write_bytes(content)
    with pytest.raises(AppError) as refused:
        _ingest(db, ga, people, bad)
    assert refused.value.code == code and refused.value.message
    db.rollback()
    assert [v.number for v in service.list_versions(db, ga, people)] == [1]
    assert service.read_rows(service.latest_published(db, people)).height == 20


def test_only_the_provider_department_submits_and_reads(db, people, tmp_path):
    path = write_csv(tmp_path / "a.csv", GOOD)
    wj = principal_of(db, "wj_admin")
    with pytest.raises(Forbidden):
        _ingest(db, wj, people, path)
    _ingest(db, principal_of(db, "admin"), people, path)  # the bureau may
    with pytest.raises(NotFound):
        service.list_versions(db, wj, people)
    assert len(service.list_versions(db, principal_of(db, "auditor"), people)) == 1


def test_an_upload_job_run_twice_makes_one_version(db, people, ga, tmp_path):
    path = write_csv(tmp_path / "a.csv", GOOD)
    with path.open("rb") as fh:
        job = service.start_upload(db, ga, people, fh, "人口.csv")
    assert jobs.run_pending(db) == 1
    # As if the worker died after committing the version but before marking the job done:
    from govdata.jobs.models import Job

    db.execute(update(Job).where(Job.id == job.id).values(status="queued"))
    db.commit()
    get_store().put_file(path, job.payload["upload_key"])  # the upload is still there
    assert jobs.run_pending(db) == 1
    assert [v.number for v in service.list_versions(db, ga, people)] == [1]
    done = jobs.get(db, job.id)
    db.refresh(done)
    assert done.status == "succeeded" and done.result["version"] == 1 and done.result["rows_accepted"] == 20
    assert not get_store().exists(job.payload["upload_key"])


def test_timeliness_falls_when_a_version_comes_late(db, people, ga, tmp_path):
    first = _ingest(db, ga, people, write_csv(tmp_path / "a.csv", GOOD))
    db.execute(update(DatasetVersion).where(DatasetVersion.id == first.id)
               .values(created_at=first.created_at - timedelta(days=31 + 15)))  # monthly, half a cycle late
    db.commit()
    second = _ingest(db, ga, people, write_csv(tmp_path / "b.csv", GOOD))
    assert 45 < second.quality["timeliness"] < 55
    assert second.quality["score"] < first.quality["score"]


def test_departments_are_ranked_by_their_current_quality(db, people, ga, tmp_path):
    service.set_policy(db, ga, people, 100)
    _ingest(db, ga, people, write_csv(tmp_path / "a.csv", GOOD + bad_rows()))
    ranking = dashboard.department_ranking(db)
    assert [r["org"] for r in ranking] == ["GA"]
    row = ranking[0]
    assert row["rank"] == 1 and row["resources_with_data"] == 1 and row["coverage"] == 100.0
    assert row["validity"] == 79.31 and 0 < row["score"] < 100
    trend = dashboard.resource_trend(db, ga, people)
    assert [p["version"] for p in trend["points"]] == [1] and trend["current"]["timeliness"] == 100.0


def test_every_version_is_in_the_action_log(db, people, ga, tmp_path):
    from govdata.actionlog.service import ActionFilter, search

    _ingest(db, ga, people, write_csv(tmp_path / "a.csv", [*GOOD, person(100, name="")]))
    _total, entries = search(db, ActionFilter(action="dataset."), page=1, page_size=10)
    assert [e.action for e in entries] == ["dataset.version_created"]
    assert entries[0].actor_name == "ga_admin" and "拒绝 1 行" in entries[0].summary


def test_id_numbers_of_other_regions_are_accepted(db, people, ga, tmp_path):
    row = person(7, id_number=id_number("19850304", 11, region="110101"), birth_date="1985-03-04")
    version = _ingest(db, ga, people, write_csv(tmp_path / "a.csv", [row]))
    assert version.rows_accepted == 1
