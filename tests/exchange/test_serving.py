"""The serving store: a SQLite file per published version, built once, looked up by exact match through an index;
typed filters, row scope, limits, unknown items, hostile input, new versions, clean-up, concurrent builders,
warming."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from govdata.catalog import projection
from govdata.errors import ValidationFailed
from govdata.exchange import serving
from govdata.ingest import service as ingest
from govdata.ingest.storage import get_store, sha256_file
from govdata.jobs import service as jobs
from tests.ingest.conftest import person, write_csv

COLUMNS = ["id_number", "name", "sex", "birth_date", "region", "phone"]


def publish_version(db, ga, code: str, rows: list[dict[str, str]], tmp_path: Path):
    path = write_csv(tmp_path / f"v{len(list(tmp_path.iterdir()))}.csv", rows)
    version = ingest.ingest_file(db, ga, code, path)
    assert version.status == "published", version.errors_by_rule
    return version


@pytest.fixture
def collected(db, people, ga, tmp_path):
    """``people`` with one published version of 30 persons: 0–9 in 450202, the others in 450203."""
    rows = [person(n, region="450202" if n < 10 else "450203") for n in range(30)]
    version = publish_version(db, ga, people, rows, tmp_path)
    return SimpleNamespace(code=people, version=version, items=projection.published(db, people)["items"], rows=rows)


def parquet_version(tmp_path: Path, table: pa.Table, code: str = "T/000001", number: int = 1) -> SimpleNamespace:
    """A version written straight into the dataset store (any Parquet types), as ``DatasetVersion`` would be."""
    local = tmp_path / f"{code.replace('/', '_')}-{number}.parquet"
    pq.write_table(table, local)
    key = f"versions/test/{code.replace('/', '_')}-{number}-{sha256_file(local)[:8]}.parquet"
    get_store().put_file(local, key)
    return SimpleNamespace(resource_code=code, number=number, data_key=key, data_sha256=sha256_file(local))


def items_of(*keys: str, identifies: tuple[str, ...] = ()) -> list[dict]:
    return [{"key": k, "name": k, "primary_key": False, "identifies": k in identifies} for k in keys]


# ---- build and look up -------------------------------------------------------------------------------------------

def test_build_and_look_up_by_an_indexed_item(collected):
    c = collected
    path = serving.ensure(c.version, c.items)
    assert path.is_file() and path.parent.name == c.code.replace("/", "_")
    info = serving.info(c.version, c.items)
    assert info["rows"] == 30 and info["indexed"] == ["id_number", "name", "phone"]  # primary key, identifies
    wanted = c.rows[7]
    found = serving.lookup(c.version, c.items, {"id_number": wanted["id_number"]}, None, COLUMNS, 10)
    assert found == [{k: wanted[k] for k in COLUMNS}]
    assert serving.lookup(c.version, c.items, {"id_number": wanted["id_number"]}, None, ["name"], 10) == [
        {"name": wanted["name"]}]
    assert serving.lookup(c.version, c.items, {"id_number": "450202190001010000"}, None, COLUMNS, 10) == []


def test_a_lookup_builds_the_file_when_missing(collected):
    c = collected
    assert not serving.path_for(c.version, c.items).exists()
    assert serving.lookup(c.version, c.items, {"phone": c.rows[3]["phone"]}, None, ["name"], 5) == [
        {"name": c.rows[3]["name"]}]
    assert serving.path_for(c.version, c.items).exists()


def test_indexed_lookups_use_the_index_and_others_scan(collected):
    c = collected
    path = serving.ensure(c.version, c.items)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    indexed = " ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + serving._select(
        ("name",), ("id_number",), ()), ["x", 10]))
    scoped = " ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + serving._select(
        ("name",), ("id_number",), (("region", 2),)), ["x", "450202", "450203", 10]))
    scanned = " ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + serving._select(
        ("name",), ("sex",), ()), ["1", 10]))
    conn.close()
    assert "SEARCH rows USING INDEX" in indexed and "TEMP B-TREE" not in indexed
    assert "SEARCH rows USING INDEX" in scoped  # (sorting the one row found by rowid costs nothing)
    assert "SCAN" in scanned
    # a filter on a non-indexed item is allowed (a scan)
    found = serving.lookup(c.version, c.items, {"birth_date": c.rows[4]["birth_date"]}, None, ["id_number"], 10)
    assert {"id_number": c.rows[4]["id_number"]} in found


def test_results_are_in_the_versions_row_order_and_limited(collected):
    c = collected
    first = serving.lookup(c.version, c.items, {}, None, ["id_number"], 3)
    assert first == [{"id_number": r["id_number"]} for r in c.rows[:3]]
    assert serving.lookup(c.version, c.items, {"sex": "1"}, None, ["id_number"], 1000) == [
        {"id_number": r["id_number"]} for r in c.rows]
    assert serving.lookup(c.version, c.items, {}, None, ["id_number"], 0) == []
    assert serving.lookup(c.version, c.items, {}, None, ["id_number"], -5) == []


def test_row_scope_restricts_the_rows(collected):
    c = collected
    inside, outside = c.rows[2], c.rows[20]
    scope = {"region": ["450202"]}
    assert len(serving.lookup(c.version, c.items, {}, scope, ["id_number"], 100)) == 10
    assert len(serving.lookup(c.version, c.items, {}, {"region": ["450202", "450203", "450202"]}, ["id_number"],
                              100)) == 30
    assert serving.lookup(c.version, c.items, {"id_number": inside["id_number"]}, scope, ["name"], 10) == [
        {"name": inside["name"]}]
    assert serving.lookup(c.version, c.items, {"id_number": outside["id_number"]}, scope, ["name"], 10) == []
    assert serving.lookup(c.version, c.items, {}, {"region": []}, ["name"], 10) == []  # nothing allowed
    two = {"region": ["450203"], "sex": ["1"]}
    assert len(serving.lookup(c.version, c.items, {}, two, ["id_number"], 100)) == 20


def test_unknown_items_are_refused(collected):
    c = collected
    for filters, scope, columns in [({"nope": "1"}, None, ["name"]), ({}, {"nope": ["1"]}, ["name"]),
                                    ({}, None, ["name", "nope"])]:
        with pytest.raises(ValidationFailed) as exc:
            serving.lookup(c.version, c.items, filters, scope, columns, 10)
        assert exc.value.code == "unknown_item" and "nope" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        serving.lookup(c.version, c.items, {}, None, [], 10)
    assert exc.value.code == "no_items"
    with pytest.raises(ValidationFailed) as exc:
        serving.ensure(c.version, c.items, index_items=["nope"])
    assert exc.value.code == "unknown_item"


HOSTILE_VALUES = ["' OR '1'='1", "1; DROP TABLE rows; --", '" OR 1=1 --', "%", "_", "*", "\x00",
                  "450202' UNION SELECT sqlite_version(), 1, 1, 1, 1, 1 --"]
HOSTILE_KEYS = ['name" FROM rows --', "name; DROP TABLE rows", "rowid", "*", "sqlite_master", "id_number OR 1=1"]


def test_sql_injection_in_filter_and_scope_values_matches_nothing(collected):
    c = collected
    for value in HOSTILE_VALUES:
        assert serving.lookup(c.version, c.items, {"id_number": value}, None, COLUMNS, 10) == []
        assert serving.lookup(c.version, c.items, {"birth_date": value}, None, COLUMNS, 10) == []
        assert serving.lookup(c.version, c.items, {}, {"region": [value]}, COLUMNS, 10) == []
    assert len(serving.lookup(c.version, c.items, {}, None, ["id_number"], 100)) == 30  # the table is intact


def test_sql_injection_in_item_keys_is_an_unknown_item(collected):
    c = collected
    for key in HOSTILE_KEYS:
        for call in (lambda k=key: serving.lookup(c.version, c.items, {k: "1"}, None, ["name"], 10),
                     lambda k=key: serving.lookup(c.version, c.items, {}, {k: ["1"]}, ["name"], 10),
                     lambda k=key: serving.lookup(c.version, c.items, {}, None, [k], 10)):
            with pytest.raises(ValidationFailed) as exc:
                call()
            assert exc.value.code == "unknown_item"


def test_odd_item_keys_are_quoted(tmp_path):
    keys = ['a"b', "select", "rowid", "x y"]
    table = pa.table({k: [f"{k}-{i}" for i in range(5)] for k in keys})
    version = parquet_version(tmp_path, table, code="ODD/000001")
    items = items_of(*keys, identifies=('a"b',))
    assert serving.lookup(version, items, {'a"b': 'a"b-3'}, None, keys, 10) == [
        {k: f"{k}-3" for k in keys}]
    assert serving.lookup(version, items, {"rowid": "rowid-4"}, {"select": ["select-4"]}, ["x y"], 10) == [
        {"x y": "x y-4"}]


# ---- types ------------------------------------------------------------------------------------------------------

@pytest.fixture
def typed(tmp_path):
    table = pa.table({
        "code": pa.array(["A", "B", "C", None]),
        "count": pa.array([42, 7, -3, None], pa.int32()),
        "ratio": pa.array([1.5, 2.0, None, 0.25], pa.float64()),
        "active": pa.array([True, False, True, None]),
        "day": pa.array([date(2020, 1, 2), date(2021, 12, 31), None, date(2020, 1, 2)]),
        "amount": pa.array([Decimal("12.50"), Decimal("3.00"), None, None], pa.decimal128(10, 2)),
        "label": pa.array(["x", "y", "x", "z"]).dictionary_encode(),
    })
    version = parquet_version(tmp_path, table, code="TYPED/000001")
    items = items_of(*table.column_names, identifies=("code", "count"))
    return version, items, table.column_names


def test_typed_columns_and_filters(typed):
    version, items, names = typed
    assert serving.info(version, items) is None
    serving.ensure(version, items)
    kinds = serving.info(version, items)["columns"]
    assert kinds == {"code": "text", "count": "int", "ratio": "float", "active": "bool", "day": "text",
                     "amount": "text", "label": "text"}

    def codes(**filters):
        return [r["code"] for r in serving.lookup(version, items, filters, None, ["code"], 10)]

    assert codes(count="42") == ["A"] and codes(count=" -3 ") == ["C"] and codes(count="+7") == ["B"]
    assert codes(count="42.0") == [] and codes(count="abc") == [] and codes(count="1_000") == []
    assert codes(count="99999999999999999999999") == [] and codes(count="9999999999999999999") == []
    assert codes(ratio="1.5") == ["A"] and codes(ratio="1.50") == ["A"] and codes(ratio="2") == ["B"]
    assert codes(ratio="nan") == [] and codes(ratio="inf") == []
    assert codes(active="true") == ["A", "C"] and codes(active="否") == ["B"] and codes(active="maybe") == []
    assert codes(day="2020-01-02") == ["A", None] and codes(day="2020-1-2") == []
    assert codes(amount="12.50") == ["A"]
    assert codes(label="x") == ["A", "C"]
    row = serving.lookup(version, items, {"code": "A"}, None, names, 1)[0]
    assert row == {"code": "A", "count": 42, "ratio": 1.5, "active": True, "day": "2020-01-02", "amount": "12.50",
                   "label": "x"}
    assert serving.lookup(version, items, {"code": "C"}, None, ["active", "ratio"], 1) == [
        {"active": True, "ratio": None}]
    assert serving.lookup(version, items, {}, {"count": ["7", "x", "42"]}, ["code"], 10) == [
        {"code": "A"}, {"code": "B"}]


def test_an_item_missing_from_the_parquet_file_is_empty(typed):
    version, items, _ = typed
    later = [*items, {"key": "added_later", "name": "新增信息项"}]
    assert serving.lookup(version, later, {"code": "B"}, None, ["code", "added_later"], 5) == [
        {"code": "B", "added_later": None}]
    assert serving.lookup(version, later, {"added_later": "x"}, None, ["code"], 5) == []


# ---- versions, clean-up, concurrency ---------------------------------------------------------------------------------

def test_a_new_published_version_is_served_and_old_files_are_cleaned_up(db, people, ga, tmp_path):
    served = []
    for v in range(1, 5):
        rows = [person(n + 100 * v) for n in range(5)]
        publish_version(db, ga, people, rows, tmp_path)
        version = ingest.latest_published(db, people)
        assert version.number == v
        items = projection.published(db, people)["items"]
        got = serving.lookup(version, items, {"id_number": rows[0]["id_number"]}, None, ["name"], 5)
        assert got == [{"name": rows[0]["name"]}]
        served.append(serving.path_for(version, items))
    directory = served[0].parent
    assert sorted(p.name for p in directory.glob("*.sqlite")) == sorted(p.name for p in served[2:])
    assert not list(directory.glob(".build-*"))


def test_an_older_version_asked_for_is_rebuilt_and_kept(db, people, ga, tmp_path):
    versions = [publish_version(db, ga, people, [person(n + 10 * v) for n in range(3)], tmp_path) for v in range(3)]
    items = projection.published(db, people)["items"]
    for v in versions[1:]:
        serving.ensure(v, items)
    old = serving.ensure(versions[0], items)
    assert old.exists() and serving.path_for(versions[2], items).exists()
    assert serving.lookup(versions[0], items, {}, None, ["id_number"], 1) == [{"id_number": person(0)["id_number"]}]


def test_a_changed_layout_gets_a_new_file(collected):
    c = collected
    plain = serving.ensure(c.version, c.items)
    extra = serving.ensure(c.version, c.items, index_items=["birth_date"])
    assert plain != extra and extra.exists() and not plain.exists()  # same version, other layout: replaced
    assert serving.info(c.version, c.items, index_items=["birth_date"])["indexed"] == [
        "id_number", "name", "birth_date", "phone"]
    fewer = serving.ensure(c.version, c.items[:3])
    assert fewer != extra and serving.info(c.version, c.items[:3])["columns"].keys() == {"id_number", "name", "sex"}


def test_two_threads_building_at_once_make_one_file(collected, monkeypatch):
    c = collected
    builds = []
    real = serving._build

    def slow_build(version, layout):
        builds.append(threading.get_ident())
        time.sleep(0.3)
        real(version, layout)

    monkeypatch.setattr(serving, "_build", slow_build)
    barrier = threading.Barrier(3)
    paths, errors = [], []

    def run():
        try:
            barrier.wait()
            paths.append(serving.ensure(c.version, c.items))
            serving.lookup(c.version, c.items, {"id_number": c.rows[0]["id_number"]}, None, ["name"], 1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            serving.close_connections()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(builds) == 1 and len(set(paths)) == 1
    directory = paths[0].parent
    assert [p.name for p in directory.glob("*.sqlite")] == [paths[0].name]
    assert not list(directory.glob(".build-*"))


def test_a_builder_in_another_process_is_waited_for_or_skipped(collected):
    """flock on <resource>/.lock: an open file description of its own, as another process would hold."""
    c = collected
    layout = serving.layout_of(c.version, c.items)
    layout.directory.mkdir(parents=True, exist_ok=True)
    with open(layout.directory / ".lock", "a+b") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        assert serving._ensure(c.version, layout, wait=False) is False  # busy: the warmer moves on
        assert not layout.path.exists()
        waiter = threading.Thread(target=serving.ensure, args=(c.version, c.items))
        waiter.start()
        time.sleep(0.2)
        assert waiter.is_alive() and not layout.path.exists()  # waits for the other builder
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
        waiter.join(10)
    assert layout.path.exists()


def test_a_failed_build_leaves_nothing_behind(collected, monkeypatch):
    c = collected

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(serving, "_rows", broken)
    with pytest.raises(OSError):
        serving.ensure(c.version, c.items)
    directory = serving.path_for(c.version, c.items).parent
    assert not list(directory.glob("*.sqlite")) and not list(directory.glob(".build-*"))


def test_each_thread_has_its_own_connection(collected):
    c = collected
    wanted = c.rows[5]
    results = []

    def run():
        results.append(serving.lookup(c.version, c.items, {"name": wanted["name"]}, None, ["id_number"], 5))
        serving.close_connections()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[{"id_number": wanted["id_number"]}]] * 4


def test_a_200k_row_version_builds_and_answers(tmp_path):
    n = 200_000
    frame = pl.DataFrame({"i": pl.int_range(0, n, eager=True)}).select(
        id_number=pl.format("4502021990{}X", pl.col("i").cast(pl.String).str.zfill(7)),
        name=pl.format("张{}", pl.col("i")), region=pl.lit("450202"))
    version = parquet_version(tmp_path, frame.to_arrow(), code="BIG/000001")
    items = items_of("id_number", "name", "region", identifies=("id_number",))
    started = time.perf_counter()
    serving.ensure(version, items)
    assert serving.info(version, items)["rows"] == n
    last = "4502021990" + f"{n - 1:07d}" + "X"
    assert serving.lookup(version, items, {"id_number": last}, None, ["name"], 5) == [{"name": f"张{n - 1}"}]
    assert time.perf_counter() - started < 120  # not a benchmark (bench/serving.py is): only that it completes


# ---- file names ---------------------------------------------------------------------------------------------------

def test_directory_names_stay_inside_the_serving_folder_and_never_collide():
    assert serving.directory_name("101/000001") == "101_000001"
    names = {serving.directory_name(c) for c in ["a/b", "a_b", "../x", "..", "a/b/../../c", "a b", "区/1"]}
    assert len(names) == 7
    assert all("/" not in n and n not in (".", "..") and not n.startswith(".") for n in names)


# ---- warming ------------------------------------------------------------------------------------------------------

def test_warm_builds_the_latest_published_version_of_every_resource(db, collected, ga, tmp_path):
    c = collected
    assert serving.warm(db) == 1
    assert serving.path_for(c.version, c.items).exists()
    assert serving.warm(db) == 0
    newer = publish_version(db, ga, c.code, [person(n + 500) for n in range(4)], tmp_path)
    assert serving.warm(db, wait=False) == 1 and serving.path_for(newer, c.items).exists()


def test_warming_is_scheduled_and_a_job(db, collected, monkeypatch):
    c = collected
    assert serving.warm_due in jobs.SCHEDULES and "exchange.warm" in jobs.HANDLERS
    monkeypatch.setattr(serving, "_last_warm", [0.0])
    assert serving.warm_due(db) == 0 and serving.path_for(c.version, c.items).exists()
    serving.path_for(c.version, c.items).unlink()
    serving.warm_due(db)  # within WARM_SECONDS of the last warm: nothing done
    assert not serving.path_for(c.version, c.items).exists()
    from govdata.principal import CLI

    job = jobs.enqueue(db, CLI, "exchange.warm", {})
    db.commit()
    jobs.run_pending(db, kinds=["exchange.warm"])
    db.refresh(job)
    assert job.status == "succeeded" and job.result == {"built": 1}
