"""The dataset store behaves the same on a local folder and on an S3-compatible store (moto in server mode)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import polars as pl
import pyarrow as pa
import pytest
from moto.server import ThreadedMotoServer

from govdata.config import get_settings
from govdata.ingest.storage import DataStore, get_store, reset_store, sha256_file

BUCKET = "govdata-test"
S3_BLOCK = 5 * 2**20  # the smallest multipart part, so a 12 MB file spans several blocks and parts


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def _s3_options(endpoint: str) -> dict:
    return {
        "endpoint_url": endpoint,
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"region_name": "us-east-1"},
        "default_block_size": S3_BLOCK,
    }


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> DataStore:
    if request.param == "local":
        return DataStore((tmp_path / "store").as_uri())
    endpoint = request.getfixturevalue("s3_endpoint")
    return DataStore(f"s3://{BUCKET}/{uuid.uuid4().hex}", _s3_options(endpoint))


@pytest.fixture
def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": list(range(1000)),
            "name": [f"单位{i}" for i in range(1000)],
            "amount": [i * 1.5 if i % 7 else None for i in range(1000)],
            "day": [date(2024, 1, 1 + i % 28) for i in range(1000)],
        }
    )


def _parquet(tmp_path: Path, df: pl.DataFrame, row_group_size: int = 300) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex}.parquet"
    df.write_parquet(path, row_group_size=row_group_size)
    return path


def _read(store: DataStore, key: str) -> bytes:
    with store.open(key) as fh:
        return fh.read()


def test_put_file_reads_back_bytes(store: DataStore, tmp_path: Path) -> None:
    src = tmp_path / "upload.csv"
    src.write_bytes("编码,名称\nA,甲\n".encode())
    store.put_file(src, "uploads/u1/upload.csv")
    assert _read(store, "uploads/u1/upload.csv") == src.read_bytes()


def test_parquet_round_trip(store: DataStore, tmp_path: Path, frame: pl.DataFrame) -> None:
    store.put_file(_parquet(tmp_path, frame), "versions/RES-001/v1.parquet")
    key = "versions/RES-001/v1.parquet"

    assert store.read_parquet(key).equals(frame)
    assert store.read_parquet(key, columns=["id", "day"]).equals(frame.select("id", "day"))
    batches = list(store.iter_parquet_batches(key, batch_rows=128))
    assert len(batches) > 1 and all(b.num_rows <= 128 for b in batches)
    assert pl.DataFrame(pa.Table.from_batches(batches)).equals(frame)
    schema = store.parquet_schema(key)
    assert schema.names == ["id", "name", "amount", "day"]
    assert schema.field("day").type == pa.date32()


def test_iter_parquet_batches_projects_columns(store: DataStore, tmp_path: Path, frame: pl.DataFrame) -> None:
    store.put_file(_parquet(tmp_path, frame), "v.parquet")
    batches = list(store.iter_parquet_batches("v.parquet", columns=["name"]))
    assert all(b.schema.names == ["name"] for b in batches)
    assert sum(b.num_rows for b in batches) == frame.height


def test_file_larger_than_block_size_round_trips(store: DataStore, tmp_path: Path) -> None:
    data = os.urandom(12 * 2**20 + 123)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    store.put_file(src, "uploads/big.bin")
    assert store.size("uploads/big.bin") == len(data)
    assert _read(store, "uploads/big.bin") == data
    assert store.sha256("uploads/big.bin") == hashlib.sha256(data).hexdigest()


def test_put_replaces_existing_key(store: DataStore) -> None:
    store.put_bytes(b"old" * 1000, "k/data.bin")
    with store.open("k/data.bin") as before:
        store.put_bytes(b"new!", "k/data.bin")
        if store.is_local:  # the old file stays whole for a reader that had it open
            assert before.read() == b"old" * 1000
    assert _read(store, "k/data.bin") == b"new!"
    assert store.list("k") == ["k/data.bin"]  # no temporary file left behind


def test_exists_size_delete(store: DataStore) -> None:
    store.put_bytes(b"12345", "a/b/c.txt")
    assert store.exists("a/b/c.txt")
    assert not store.exists("a/b")  # a 'directory' is not an object
    assert not store.exists("a/b/missing.txt")
    assert store.size("a/b/c.txt") == 5
    with pytest.raises(FileNotFoundError):
        store.size("a/b/missing.txt")
    store.delete("a/b/c.txt")
    assert not store.exists("a/b/c.txt")
    store.delete("a/b/c.txt")  # deleting a missing key is fine


def test_list_and_delete_prefix(store: DataStore) -> None:
    for key in ["versions/R1/a.parquet", "versions/R1/sub/b.parquet", "versions/R10/c.parquet", "other.txt"]:
        store.put_bytes(b"x", key)
    assert store.list("versions/R1") == ["versions/R1/a.parquet", "versions/R1/sub/b.parquet"]
    assert store.list("versions/R1/") == store.list("versions/R1")
    assert store.list("") == sorted(
        ["other.txt", "versions/R1/a.parquet", "versions/R1/sub/b.parquet", "versions/R10/c.parquet"]
    )
    assert store.list("nothing") == []

    store.delete_prefix("versions/R1")
    assert store.list("versions") == ["versions/R10/c.parquet"]
    store.delete_prefix("versions/R1")  # already gone


def test_copy(store: DataStore) -> None:
    store.put_bytes(b"content", "quarantine/q1.csv")
    store.copy("quarantine/q1.csv", "uploads/u2/q1.csv")
    assert _read(store, "uploads/u2/q1.csv") == b"content"
    assert store.exists("quarantine/q1.csv")
    with pytest.raises(FileNotFoundError):
        store.copy("quarantine/missing.csv", "uploads/x.csv")


def test_local_path(store: DataStore, frame: pl.DataFrame, tmp_path: Path) -> None:
    store.put_file(_parquet(tmp_path, frame), "versions/R/v.parquet")
    with store.local_path("versions/R/v.parquet") as path:
        assert path.suffix == ".parquet"
        assert pl.read_parquet(path).equals(frame)
    assert path.exists() == store.is_local  # an S3 download is removed afterwards
    with pytest.raises(FileNotFoundError), store.local_path("versions/R/missing.parquet"):
        pass


def test_sha256_matches_hashlib(store: DataStore, tmp_path: Path) -> None:
    data = os.urandom(3 * 2**20 + 7)
    store.put_bytes(data, "h.bin")
    expected = hashlib.sha256(data).hexdigest()
    assert store.sha256("h.bin") == expected
    (tmp_path / "h.bin").write_bytes(data)
    assert sha256_file(tmp_path / "h.bin") == expected


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a//b", "a\\b", "a/../../b", "./a", "", "a/*", "a/"])
def test_hostile_keys_rejected(store: DataStore, key: str) -> None:
    for call in (store.exists, store.delete, lambda k: store.put_bytes(b"x", k), store.open):
        with pytest.raises(ValueError):
            call(key)
    with pytest.raises(ValueError):
        store.copy("ok.txt", key)


@pytest.mark.parametrize("prefix", ["", "..", "/", "a/../.."])
def test_delete_prefix_refuses_root_and_escapes(store: DataStore, prefix: str) -> None:
    store.put_bytes(b"keep", "keep.txt")
    with pytest.raises(ValueError):
        store.delete_prefix(prefix)
    assert store.exists("keep.txt")


def test_local_store_stays_inside_root(tmp_path: Path) -> None:
    store = DataStore((tmp_path / "store").as_uri())
    with pytest.raises(ValueError):
        store.put_bytes(b"x", "../escaped.txt")
    assert not (tmp_path / "escaped.txt").exists()


@pytest.fixture
def s3_settings(s3_endpoint: str) -> Iterator[str]:
    url = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVDATA_DATA_URL", url)
        mp.setenv("GOVDATA_S3_ENDPOINT_URL", s3_endpoint)
        mp.setenv("GOVDATA_S3_ACCESS_KEY", "testing")
        mp.setenv("GOVDATA_S3_SECRET_KEY", "testing")
        mp.setenv("GOVDATA_S3_REGION", "us-east-1")
        get_settings.cache_clear()
        reset_store()
        yield url
    get_settings.cache_clear()
    reset_store()


def test_get_store_uses_settings(s3_settings: str, s3_endpoint: str) -> None:
    store = get_store()
    assert store.url == s3_settings and not store.is_local
    assert get_store() is store
    store.put_bytes(b"shared", "versions/R/x.bin")
    # Another server (a fresh client, no shared cache) sees the object at once.
    other = DataStore(s3_settings, _s3_options(s3_endpoint))
    assert other.list("versions") == ["versions/R/x.bin"]
    assert _read(other, "versions/R/x.bin") == b"shared"
    other.delete("versions/R/x.bin")
    assert not store.exists("versions/R/x.bin")
    assert store.list("versions") == []


def test_get_store_defaults_to_local_folder() -> None:
    reset_store()
    store = get_store()
    assert store.is_local
    assert store.url == get_settings().store_url()
    reset_store()
