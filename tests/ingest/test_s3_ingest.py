"""Ingest on an S3-compatible store (moto in server mode): the same service code as on the local folder, with
every object — versions, quarantine, uploads waiting for their job, rollback copies — in the bucket and none left
behind in the local store folder."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import openpyxl
import pytest
from moto.server import ThreadedMotoServer

from govdata.config import get_settings
from govdata.ingest import service
from govdata.ingest.storage import DataStore, get_store, reset_store
from govdata.jobs import service as jobs
from tests.ingest.conftest import csv_text, person, write_csv

BUCKET = "govdata-ingest-test"
GOOD = [person(n) for n in range(10)]
BAD = [person(100, name=""), person(101, region="999999")]
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


class Bucket:
    """The bucket as another S3 client sees it, under this test's prefix."""

    def __init__(self, endpoint: str, prefix: str) -> None:
        self.client: Any = boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS)
        self.prefix = prefix
        self.store = DataStore(f"s3://{BUCKET}/{prefix}", {"endpoint_url": endpoint, "key": "testing",
                                                           "secret": "testing",
                                                           "client_kwargs": {"region_name": "us-east-1"}})

    def keys(self, under: str = "") -> list[str]:
        found = self.client.list_objects_v2(Bucket=BUCKET, Prefix=f"{self.prefix}/{under}")
        return sorted(o["Key"][len(self.prefix) + 1:] for o in found.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=BUCKET, Key=f"{self.prefix}/{key}")["Body"].read()


def _local_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


@pytest.fixture
def bucket(s3_endpoint: str, db) -> Iterator[Bucket]:
    """GOVDATA_DATA_URL=s3://bucket/<fresh prefix>; the local store folder must stay as it was."""
    local_root = Path(get_settings().data_dir) / "store"
    local_before = _local_files(local_root)
    prefix = f"run-{uuid.uuid4().hex}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVDATA_DATA_URL", f"s3://{BUCKET}/{prefix}")
        mp.setenv("GOVDATA_S3_ENDPOINT_URL", s3_endpoint)
        mp.setenv("GOVDATA_S3_ACCESS_KEY", "testing")
        mp.setenv("GOVDATA_S3_SECRET_KEY", "testing")
        mp.setenv("GOVDATA_S3_REGION", "us-east-1")
        get_settings.cache_clear()
        reset_store()
        try:
            assert not get_store().is_local and get_store().url == f"s3://{BUCKET}/{prefix}"
            yield Bucket(s3_endpoint, prefix)
        finally:
            get_settings.cache_clear()
            reset_store()
    get_settings.cache_clear()
    reset_store()
    assert get_store().is_local
    assert _local_files(local_root) == local_before, "something was written to the local store folder"


def _ids(frame) -> list[str]:
    return sorted(frame["id_number"].to_list())


def test_ingest_a_file_read_the_quarantine_and_roll_back_on_s3(db, people, ga, bucket, tmp_path):
    service.set_policy(db, ga, people, 20)  # 2 bad rows of 12 are published
    v1 = service.ingest_file(db, ga, people, write_csv(tmp_path / "人口.csv", GOOD + BAD, encoding="gb18030"))
    assert (v1.number, v1.status, v1.rows_total, v1.rows_accepted, v1.rows_rejected) == (1, "published", 12, 10, 2)
    assert v1.errors_by_rule == {"required": 1, "region_code": 1}
    stored = bucket.keys()
    assert v1.data_key in stored and v1.rejected_key in stored and v1.report["errors_key"] in stored
    assert bucket.keys("uploads/") == []
    # Another client reads what was written: the very bytes whose digest the version recorded.
    assert bucket.store.sha256(v1.data_key) == v1.data_sha256 and len(bucket.read(v1.data_key)) == v1.data_bytes
    assert _ids(bucket.store.read_parquet(v1.data_key)) == _ids(service.read_rows(v1))
    assert _ids(service.read_rows(v1)) == sorted(r["id_number"] for r in GOOD)
    assert service.read_rows(v1).filter(id_number=GOOD[0]["id_number"])["name"].to_list() == [GOOD[0]["name"]]

    book = openpyxl.load_workbook(io.BytesIO(service.rejected_xlsx(db, ga, people, 1)))
    assert book.sheetnames == ["被拒绝的行", "错误明细"]
    rejected = list(book["被拒绝的行"].iter_rows(values_only=True))
    assert rejected[0][:2] == ("公民身份号码", "姓名") and len(rejected) == 3
    assert {r[0] for r in rejected[1:]} == {BAD[0]["id_number"], BAD[1]["id_number"]}
    assert book["错误明细"].max_row == 3

    v2 = service.ingest_file(db, ga, people, write_csv(tmp_path / "新.csv", GOOD[:3]))
    assert (v2.number, v2.rows_stored) == (2, 3)
    v3 = service.rollback(db, ga, people, 1)
    assert (v3.number, v3.status, v3.source_kind, v3.rows_stored) == (3, "published", "rollback", 10)
    assert v3.data_key != v1.data_key and v3.data_key in bucket.keys("versions/")
    assert bucket.read(v3.data_key) == bucket.read(v1.data_key)  # a server-side copy of the same object
    assert service.latest_published(db, people).number == 3
    assert _ids(service.read_rows(v3)) == sorted(r["id_number"] for r in GOOD)


def test_upload_job_on_s3_leaves_no_upload_behind(db, people, ga, bucket):
    first = jobs.get(db, service.start_upload(db, ga, people, io.BytesIO(csv_text(GOOD[:6]).encode()), "人口.csv").id)
    waiting = bucket.keys("uploads/")
    assert waiting == [f"uploads/{first.id}/__.csv"]  # the key keeps only safe characters
    assert bucket.read(waiting[0]) == csv_text(GOOD[:6]).encode()
    assert jobs.run_pending(db) == 1
    db.expire_all()
    done = jobs.get(db, first.id)
    assert done.status == "succeeded", (done.error_code, done.error_message)
    assert (done.result["version"], done.result["rows_accepted"]) == (1, 6)
    assert bucket.keys("uploads/") == [] and get_store().list("uploads") == []

    # merge: the base is read back from the bucket
    body = csv_text(GOOD[4:] + BAD).encode("gbk")
    second = service.start_upload(db, ga, people, io.BytesIO(body), "补充.csv", mode="merge")
    jobs.run_pending(db)
    db.expire_all()
    done = jobs.get(db, second.id)
    assert done.status == "succeeded", (done.error_code, done.error_message)
    assert (done.result["version"], done.result["rows_total"], done.result["rows_accepted"],
            done.result["rows_stored"]) == (2, 8, 6, 10)
    assert bucket.keys("uploads/") == []
    [v1, v2] = sorted(service.list_versions(db, ga, people), key=lambda v: v.number)
    assert (v2.source_kind, v2.mode, v2.source["filename"]) == ("upload", "merge", "补充.csv")
    for version in (v1, v2):
        assert version.data_key in bucket.keys("versions/")
        assert bucket.store.sha256(version.data_key) == version.data_sha256
    assert v2.rejected_key in bucket.keys("rejected/")
    assert _ids(service.read_rows(v2)) == sorted(r["id_number"] for r in GOOD)
