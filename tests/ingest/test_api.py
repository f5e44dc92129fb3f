"""The ingest API as a department's client uses it: upload → job → version, report, quarantine, limits."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import openpyxl
import pytest

from govdata.config import get_settings
from govdata.ingest.storage import get_store
from govdata.jobs import service as jobs
from tests.factories import token_for
from tests.ingest.conftest import csv_text, person

GOOD = [person(n) for n in range(10)]
BAD = [person(100, name=""), person(101, region="999999")]


def _upload(client, code, headers, content: bytes, name="人口.csv", **fields):
    return client.post(f"/api/v1/resources/{code}/versions", headers=headers,
                       files={"file": (name, content, "text/csv")}, data=fields)


def _finish(db, response) -> dict:
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/jobs/{response.json()['id']}"
    jobs.run_pending(db)
    return response.json()


def test_upload_follow_the_job_and_read_the_report(client, db, people):
    headers = token_for(client, "ga_admin")
    job = _finish(db, _upload(client, people, headers, csv_text(GOOD + BAD).encode("gbk"), mode="replace"))
    assert job["status"] == "queued" and job["target"] == people
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=headers).json()
    assert done["status"] == "succeeded" and done["percent"] == 100
    result = done["result"]
    assert (result["version"], result["rows_total"], result["rows_accepted"], result["rows_rejected"]) == (1, 12, 10, 2)
    assert result["errors_by_rule"] == {"region_code": 1, "required": 1}
    assert set(result["quality"]) == {"completeness", "validity", "uniqueness", "consistency", "timeliness", "score"}

    listed = client.get(f"/api/v1/resources/{people}/versions", headers=headers).json()
    assert listed["items"][0]["source"]["encoding"] == "gb18030"
    assert listed["current"] is None and listed["items"][0]["status"] == "held"  # 2 of 12 rejected > 5 %
    report = client.get(f"/api/v1/resources/{people}/versions/1/report", headers=headers).json()
    assert {e["rule"] for e in report["errors_sample"]} == {"required", "region_code"}
    rejected = client.get(f"/api/v1/resources/{people}/versions/1/rejected", headers=headers).json()
    assert [r["原行号"] for r in rejected["rows"]] == [12, 13]
    xlsx = client.get(f"/api/v1/resources/{people}/versions/1/rejected?format=xlsx", headers=headers)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["被拒绝的行", "错误明细"] and book["被拒绝的行"].max_row == 3


def test_encoding_can_be_chosen_and_a_wrong_choice_is_a_clear_job_error(client, db, people):
    headers = token_for(client, "ga_admin")
    body = csv_text(GOOD).encode("gb18030")
    job = _finish(db, _upload(client, people, headers, body, encoding="utf-8"))
    failed = client.get(f"/api/v1/jobs/{job['id']}", headers=headers).json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "encoding_error"
    assert "UTF-8" in failed["error"]["message"] or "utf-8" in failed["error"]["message"]
    assert client.get(f"/api/v1/resources/{people}/versions", headers=headers).json()["items"] == []
    assert not get_store().exists(f"uploads/{job['id']}/__.csv")  # a refused file is not kept
    bad = _upload(client, people, headers, body, encoding="klingon")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_encoding"


def test_an_upload_over_the_limit_is_refused_and_nothing_is_stored(client, db, people, monkeypatch):
    from fastapi.testclient import TestClient

    from govdata.app import create_app

    before = get_store().list("uploads")
    monkeypatch.setenv("GOVDATA_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as small:
            headers = token_for(small, "ga_admin")
            big = b"id_number,name\n" + b"450202199001011234,x\n" * 60_000  # 1.2 MB
            response = _upload(small, people, headers, big)
            assert response.status_code == 413, response.text
            assert response.json()["error"]["code"] == "upload_too_large"
    finally:
        get_settings.cache_clear()
    assert get_store().list("uploads") == before
    assert jobs.recent(db, target=people) == []


def test_other_departments_cannot_upload_or_see(client, db, people):
    wj = token_for(client, "wj_admin")
    refused = _upload(client, people, wj, csv_text(GOOD).encode())
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.get(f"/api/v1/resources/{people}/versions", headers=wj).status_code == 404
    ga = token_for(client, "ga_admin")
    job = _finish(db, _upload(client, people, ga, csv_text(GOOD).encode()))
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=wj).status_code == 404
    assert client.get(f"/api/v1/resources/{people}/versions/1/report", headers=wj).status_code == 404


def test_unknown_resource_missing_file_and_unknown_version(client, db, people):
    ga = token_for(client, "ga_admin")
    assert _upload(client, "NOPE/1", ga, b"a\n1\n").json()["error"]["code"] == "resource_not_found"
    missing = client.post(f"/api/v1/resources/{people}/versions", headers=ga, data={"mode": "replace"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "file_required"
    assert client.get(f"/api/v1/resources/{people}/versions/9/report", headers=ga).json()["error"]["code"] == \
        "version_not_found"


def test_held_versions_are_published_by_the_department_and_policy_is_per_resource(client, db, people):
    ga = token_for(client, "ga_admin")
    put = client.put(f"/api/v1/resources/{people}/ingest-policy", headers=ga, json={"hold_above_percent": 0})
    assert put.json()["hold_above_percent"] == 0
    _finish(db, _upload(client, people, ga, csv_text(GOOD + BAD).encode()))
    assert client.get(f"/api/v1/resources/{people}/versions", headers=ga).json()["current"] is None
    published = client.post(f"/api/v1/resources/{people}/versions/1/publish", headers=ga).json()
    assert published["status"] == "published"
    assert client.get("/api/v1/quality/ranking", headers=ga).json()["items"][0]["org"] == "GA"
    bad = client.put(f"/api/v1/resources/{people}/ingest-policy", headers=ga, json={"hold_above_percent": 120})
    assert bad.status_code == 422


@pytest.mark.usefixtures("people")
def test_cli_ingest_prints_exactly_one_json_object(db, people, tmp_path, database_url):
    import os

    path = tmp_path / "人口.csv"
    path.write_bytes(csv_text(GOOD + BAD).encode("gb18030"))
    env = {**os.environ, "GOVDATA_DATABASE_URL": database_url}
    out = subprocess.run([sys.executable, "-m", "govdata.cli", "ingest", str(path), "--resource", people, "--json"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"version", "rows_total", "rows_accepted", "rows_rejected", "errors_by_rule", "quality"} <= set(result)
    assert (result["rows_total"], result["rows_accepted"], result["rows_rejected"]) == (12, 10, 2)
    assert result["errors_by_rule"] == {"region_code": 1, "required": 1}
    assert set(result["quality"]) == {"completeness", "validity", "uniqueness", "consistency", "timeliness", "score"}
    refused = subprocess.run([sys.executable, "-m", "govdata.cli", "ingest", str(path), "--resource", "NOPE/1",
                              "--json"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert refused.returncode == 2 and json.loads(refused.stdout)["error"]["code"] == "resource_not_found"
