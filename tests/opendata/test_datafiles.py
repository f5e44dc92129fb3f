"""Open-data data files: the snapshot, CSV/JSON/XLSX streams, preview and the CKAN datastore query.

No database: the store is pointed at a temporary folder (GOVDATA_DATA_URL), and once at S3 (moto)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from govdata import exports
from govdata.config import get_settings
from govdata.errors import ValidationFailed
from govdata.ingest.storage import DataStore, get_store, reset_store
from govdata.opendata import datafiles
from govdata.opendata.datafiles import Column, DatastoreInvalid

KEY = "opendata/RES-001/snap.parquet"
NAMES = {"name": "姓名", "dept": "部门", "age": "年龄", "amount": "金额", "born": "出生日期", "seen": "登记时间",
         "ok": "是否有效"}
SAMPLE = pl.DataFrame(
    {
        "name": ["张三", "=1+1", "+8613800000000", "-5", "@SUM(A1)", "\tTab", '普通, "引号"\n换行', None, "Alice",
                 "100%_x"],
        "dept": ["民政局", "公安局", "民政局", "税务局", "公安局", "民政局", "税务局", "公安局", "民政局", "税务局"],
        "age": [30, -5, 41, None, 30, 18, 65, 22, 41, 7],
        "amount": [1.5, -2.25, None, 0.0, 10.0, 3.75, -1.0, 2.5, 1e6, float("nan")],
        "born": [date(1990, 1, d) for d in range(1, 11)],
        "seen": [datetime(2024, 5, 1, 8, 30, 0)] * 9 + [datetime(2024, 5, 1, 8, 30, 0, 250000)],
        "ok": [True, False, None, True, True, False, True, True, False, True],
    },
    schema_overrides={"age": pl.Int64},
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DataStore]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVDATA_DATA_URL", (tmp_path / "store").as_uri())
        get_settings.cache_clear()
        reset_store()
        yield get_store()
    get_settings.cache_clear()
    reset_store()


@pytest.fixture
def sample(store: DataStore) -> list[Column]:
    datafiles.write_snapshot(SAMPLE, KEY)
    return datafiles.columns_of(KEY, NAMES)


def _big(rows: int) -> pl.LazyFrame:
    return pl.LazyFrame({"i": pl.int_range(0, rows, eager=True)}).with_columns(
        name=pl.format("用户{}", pl.col("i")),
        formula=pl.when(pl.col("i") % 3 == 0).then(pl.lit("=HYPERLINK(1)")).otherwise(pl.format("v{}", pl.col("i"))),
        dept=pl.format("部门{}", pl.col("i") % 20),
        amount=pl.col("i") * 0.5,
    )


def _expected_cell(value: object) -> str:
    """How the CSV writes one snapshot value (see the module docstring)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return exports.neutralise(value)
    return str(value)


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


# ---- snapshot ---------------------------------------------------------------------------------------------------


def test_write_snapshot_reports_hash_size_rows_and_row_groups(store: DataStore) -> None:
    sha, size, rows = datafiles.write_snapshot(_big(200_000), "snap/big.parquet")
    assert (sha, size, rows) == (store.sha256("snap/big.parquet"), store.size("snap/big.parquet"), 200_000)
    with store.local_path("snap/big.parquet") as path:
        meta = pq.read_metadata(path)
        assert meta.num_row_groups >= 3 and max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) \
            <= datafiles.ROW_GROUP_ROWS
        assert meta.row_group(0).column(0).compression == "ZSTD"
    assert datafiles.row_count("snap/big.parquet") == 200_000
    assert store.list("snap") == ["snap/big.parquet"]  # no temporary file left behind


def test_columns_of_types_and_chinese_names(sample: list[Column]) -> None:
    assert sample == [
        Column("name", "姓名", "text"), Column("dept", "部门", "text"), Column("age", "年龄", "int"),
        Column("amount", "金额", "numeric"), Column("born", "出生日期", "date"),
        Column("seen", "登记时间", "timestamp"), Column("ok", "是否有效", "bool"),
    ]
    assert datafiles.columns_of(KEY, {})[0] == Column("name", "name", "text")  # no name: the key
    assert datafiles.row_count(KEY) == 10


# ---- CSV ----------------------------------------------------------------------------------------------------------


def test_csv_bom_chinese_header_neutralised_text_and_same_rows(sample: list[Column]) -> None:
    data = b"".join(datafiles.csv_stream(KEY, sample))
    rows = _csv_rows(data)
    assert rows[0] == ["姓名", "部门", "年龄", "金额", "出生日期", "登记时间", "是否有效"]
    expected = [[_expected_cell(v) for v in row] for row in SAMPLE.rows()]
    assert rows[1:] == expected
    names = [r[0] for r in rows[1:]]
    assert names[:6] == ["张三", "'=1+1", "'+8613800000000", "'-5", "'@SUM(A1)", "'\tTab"]
    assert names[6] == '普通, "引号"\n换行'  # quoting and Chinese round-trip
    assert names[9] == "100%_x"
    ages = [r[2] for r in rows[1:]]
    assert ages[1] == "-5"  # a number stays a number: only text cells are neutralised
    assert rows[10][5] == "2024-05-01T08:30:00.250000" and rows[1][5] == "2024-05-01T08:30:00"
    assert rows[10][3] == ""  # NaN → empty


def test_vectorised_neutralisation_matches_exports() -> None:
    values = ["=1", "+", "-", "@", "\t", "\r", "'=", " =x", "a=b", "", "中文", "=中文", "\n=", None, "−5", "＝1"]
    got = pl.Series(values, dtype=pl.String).to_frame("v").select(datafiles.neutralise_expr(pl.col("v")))["v"]
    assert got.to_list() == [exports.neutralise(v) for v in values]


def test_csv_streams_batch_by_batch(store: DataStore, monkeypatch: pytest.MonkeyPatch) -> None:
    datafiles.write_snapshot(_big(200_000), "snap/big.parquet")
    columns = datafiles.columns_of("snap/big.parquet", {"name": "姓名"})
    pulled = []
    original = store.iter_parquet_batches

    def counting(*args, **kwargs):
        for batch in original(*args, **kwargs):
            pulled.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(store, "iter_parquet_batches", counting)
    stream = datafiles.csv_stream("snap/big.parquet", columns)
    header = next(stream)
    assert header.startswith(b"\xef\xbb\xbf") and pulled == []  # the header goes out before any read
    first = next(stream)
    assert len(pulled) == 1 and first.count(b"\n") == pulled[0] <= datafiles.BATCH_ROWS
    chunks = [header, first, *stream]
    assert len(chunks) >= 2 + 200_000 // datafiles.BATCH_ROWS
    rows = _csv_rows(b"".join(chunks))
    assert len(rows) == 200_001 and rows[0] == ["i", "姓名", "formula", "dept", "amount"]
    assert rows[1] == ["0", "用户0", "'=HYPERLINK(1)", "部门0", "0.0"] and rows[200_000][0] == "199999"


def test_zero_rows(store: DataStore) -> None:
    datafiles.write_snapshot(SAMPLE.clear(), "snap/empty.parquet")
    columns = datafiles.columns_of("snap/empty.parquet", NAMES)
    assert _csv_rows(b"".join(datafiles.csv_stream("snap/empty.parquet", columns))) == [list(NAMES.values())]
    doc = json.loads(b"".join(datafiles.json_stream("snap/empty.parquet", columns)))
    assert doc["records"] == [] and [f["id"] for f in doc["fields"]] == list(NAMES)
    assert datafiles.preview("snap/empty.parquet", columns) == []
    result = datafiles.datastore_search("snap/empty.parquet", columns, q="x")
    assert result["records"] == [] and result["total"] == 0
    wb = load_workbook(io.BytesIO(b"".join(datafiles.xlsx_stream("snap/empty.parquet", columns))))
    assert [c.value for c in next(wb.active.iter_rows())] == list(NAMES.values())


def test_missing_snapshot_fails_before_streaming(store: DataStore) -> None:
    with pytest.raises(FileNotFoundError):
        datafiles.csv_stream("snap/none.parquet", [])
    with pytest.raises(FileNotFoundError):
        datafiles.json_stream("snap/none.parquet", [])


# ---- JSON, preview ------------------------------------------------------------------------------------------------


def _json_expected() -> list[dict]:
    out = []
    for row in SAMPLE.to_dicts():
        rec = {}
        for k, v in row.items():
            if isinstance(v, float) and v != v:
                v = None
            elif isinstance(v, datetime | date):
                v = v.isoformat()
            rec[k] = v
        out.append(rec)
    return out


def test_json_stream_parses_and_equals_rows(sample: list[Column]) -> None:
    chunks = list(datafiles.json_stream(KEY, sample))
    doc = json.loads(b"".join(chunks))
    assert doc["fields"][0] == {"id": "name", "name": "姓名", "type": "text"}
    assert doc["records"] == _json_expected()
    assert doc["records"][1]["name"] == "=1+1"  # JSON is data, not a spreadsheet: no apostrophe


def test_json_stream_several_batches(store: DataStore) -> None:
    datafiles.write_snapshot(_big(100_000), "snap/big.parquet")
    columns = datafiles.columns_of("snap/big.parquet", {})
    chunks = list(datafiles.json_stream("snap/big.parquet", columns))
    assert len(chunks) >= 2 + 100_000 // datafiles.BATCH_ROWS
    records = json.loads(b"".join(chunks))["records"]
    assert len(records) == 100_000 and records[-1] == {"i": 99_999, "name": "用户99999", "formula": "=HYPERLINK(1)",
                                                       "dept": "部门19", "amount": 49_999.5}


def test_preview_first_rows_json_ready(sample: list[Column]) -> None:
    rows = datafiles.preview(KEY, sample, n=3)
    assert rows == _json_expected()[:3]
    json.dumps(rows)
    assert len(datafiles.preview(KEY, sample)) == 10
    assert datafiles.preview(KEY, sample, n=0) == []


# ---- XLSX ---------------------------------------------------------------------------------------------------------


def test_xlsx_opens_and_formulas_are_text(sample: list[Column]) -> None:
    data = b"".join(datafiles.xlsx_stream(KEY, sample))
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == list(NAMES.values())
    formula = rows[2][0]
    assert formula.value == "=1+1" and formula.data_type == "s"
    assert all(c.data_type != "f" for r in rows for c in r)  # never a formula
    assert rows[1][0].value == "张三" and rows[1][2].value == 30 and rows[2][2].value == -5
    assert rows[1][4].value.date() == date(1990, 1, 1)
    assert rows[1][6].value == "是" and rows[2][6].value == "否"  # the platform's spreadsheet convention


def test_xlsx_refuses_too_many_rows_at_once(sample: list[Column]) -> None:
    with pytest.raises(ValidationFailed) as err:
        datafiles.xlsx_stream(KEY, sample, max_rows=5)  # raised on the call, before any streaming
    assert err.value.code == "too_many_rows_for_xlsx" and "CSV" in err.value.message


def test_xlsx_streams_in_chunks(store: DataStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datafiles, "XLSX_CHUNK", 1 << 16)
    datafiles.write_snapshot(_big(20_000), "snap/big.parquet")
    chunks = list(datafiles.xlsx_stream("snap/big.parquet", datafiles.columns_of("snap/big.parquet", {})))
    assert len(chunks) >= 2 and all(len(c) == 1 << 16 for c in chunks[:-1])
    sheet = load_workbook(io.BytesIO(b"".join(chunks)), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 20_001 and rows[1] == (0, "用户0", "=HYPERLINK(1)", "部门0", 0)


# ---- datastore_search ---------------------------------------------------------------------------------------------


def test_datastore_defaults(sample: list[Column]) -> None:
    result = datafiles.datastore_search(KEY, sample)
    assert result["fields"] == [{"id": "_id", "type": "int"}] + [{"id": c.key, "type": c.type} for c in sample]
    assert [r["_id"] for r in result["records"]] == list(range(1, 11))
    assert result["records"][0] == {"_id": 1, **_json_expected()[0]}
    assert (result["total"], result["total_was_estimated"], result["limit"], result["offset"]) == (10, False, 100, 0)
    assert not {"filters", "q", "sort", "resource_id", "_links"} & result.keys()


def test_datastore_filters(sample: list[Column]) -> None:
    result = datafiles.datastore_search(KEY, sample, filters={"dept": "民政局"})
    assert [r["_id"] for r in result["records"]] == [1, 3, 6, 9] and result["total"] == 4
    assert result["filters"] == {"dept": "民政局"}
    both = datafiles.datastore_search(KEY, sample, filters={"dept": ["公安局", "税务局"], "age": ["30", 22]})
    assert [r["_id"] for r in both["records"]] == [5, 8]
    assert datafiles.datastore_search(KEY, sample, filters={"age": None})["total"] == 1
    assert datafiles.datastore_search(KEY, sample, filters={"ok": "false"})["total"] == 3
    assert datafiles.datastore_search(KEY, sample, filters={"born": "1990-01-02"})["records"][0]["_id"] == 2
    assert datafiles.datastore_search(KEY, sample, filters={"amount": "-2.25"})["total"] == 1
    assert datafiles.datastore_search(KEY, sample, filters={"dept": []})["total"] == 0
    assert datafiles.datastore_search(KEY, sample, filters={"_id": [2, 4]})["total"] == 2
    with pytest.raises(DatastoreInvalid) as err:
        datafiles.datastore_search(KEY, sample, filters={"age": "abc"})
    assert err.value.field == "filters"


def test_datastore_q(sample: list[Column]) -> None:
    result = datafiles.datastore_search(KEY, sample, q="alice")  # case-insensitive substring
    assert [r["_id"] for r in result["records"]] == [9] and result["q"] == "alice"
    assert datafiles.datastore_search(KEY, sample, q="民政")["total"] == 4  # Chinese without segmentation
    assert datafiles.datastore_search(KEY, sample, q="%")["total"] == 1  # no LIKE wildcards: a literal %
    assert datafiles.datastore_search(KEY, sample, q="_")["total"] == 1
    assert datafiles.datastore_search(KEY, sample, q={"name": "三", "dept": "民政"})["total"] == 1
    assert datafiles.datastore_search(KEY, sample, q={"age": "4"})["total"] == 2  # a number as text
    assert datafiles.datastore_search(KEY, sample, q="  ")["total"] == 10


def test_datastore_fields_sort_paging(sample: list[Column]) -> None:
    result = datafiles.datastore_search(KEY, sample, fields="age, name", sort="age desc, name")
    assert result["fields"] == [{"id": "_id", "type": "int"}, {"id": "age", "type": "int"},
                                {"id": "name", "type": "text"}]
    assert [r["age"] for r in result["records"]] == [None, 65, 41, 41, 30, 30, 22, 18, 7, -5]  # nulls first on desc
    assert set(result["records"][0]) == {"_id", "age", "name"}
    assert [r["_id"] for r in result["records"][2:6]] == [3, 9, 5, 1]  # equal ages by name: "+…" < "A…", "@…" < "张"
    assert result["sort"] == "age desc, name"
    ascending = datafiles.datastore_search(KEY, sample, fields=["age"], sort=["age"])
    assert [r["age"] for r in ascending["records"]][-1] is None  # nulls last on asc
    pages = [datafiles.datastore_search(KEY, sample, sort='"dept" DESC', limit=3, offset=o)["records"]
             for o in (0, 3, 6, 9)]
    ids = [r["_id"] for page in pages for r in page]
    assert sorted(ids) == list(range(1, 11)) and [len(p) for p in pages] == [3, 3, 3, 1]
    assert datafiles.datastore_search(KEY, sample, limit="2", offset="8")["records"][0]["_id"] == 9
    assert datafiles.datastore_search(KEY, sample, sort="_id desc", limit=1)["records"][0]["_id"] == 10


def test_datastore_ids_are_stable_row_numbers(sample: list[Column]) -> None:
    every = {r["_id"]: r for r in datafiles.datastore_search(KEY, sample)["records"]}
    for query in ({"filters": {"dept": "公安局"}}, {"q": "民"}, {"sort": "amount"}, {"offset": 4, "limit": 3}):
        for record in datafiles.datastore_search(KEY, sample, **query)["records"]:
            assert record == every[record["_id"]]
    assert every[7]["name"] == SAMPLE["name"][6]


def test_datastore_limit_clamped_and_totals_over_row_groups(store: DataStore) -> None:
    datafiles.write_snapshot(_big(150_000), "snap/big.parquet")  # three row groups
    columns = datafiles.columns_of("snap/big.parquet", {})
    result = datafiles.datastore_search("snap/big.parquet", columns, limit=10**9)
    assert result["limit"] == 32_000 and result["total"] == 150_000
    assert [r["_id"] for r in result["records"]] == list(range(1, 32_001))  # file order without a sort
    small = datafiles.datastore_search("snap/big.parquet", columns, limit=500, max_limit=100)
    assert small["limit"] == 100 and len(small["records"]) == 100
    across = datafiles.datastore_search("snap/big.parquet", columns, offset=65_530, limit=10)["records"]
    assert [(r["_id"], r["i"]) for r in across] == [(n + 1, n) for n in range(65_530, 65_540)]
    page = datafiles.datastore_search("snap/big.parquet", columns, filters={"dept": "部门7"}, offset=7000, limit=5)
    assert page["total"] == 7_500 and [r["_id"] for r in page["records"]] == [140_008 + 20 * k for k in range(5)]
    no_total = datafiles.datastore_search("snap/big.parquet", columns, limit=0, include_total=False)
    assert no_total["records"] == [] and "total" not in no_total


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"limit": -1}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"limit": True}, "limit"),
        ({"offset": -3}, "offset"),
        ({"offset": "1; DROP TABLE x"}, "offset"),
        ({"filters": {"nope": 1}}, "filters"),
        ({"filters": ["name"]}, "filters"),
        ({"filters": {"name": {"$ne": 1}}}, "filters"),
        ({"fields": "name,nope"}, "fields"),
        ({"fields": "*"}, "fields"),
        ({"fields": 'name" FROM x --'}, "fields"),
        ({"sort": "nope desc"}, "sort"),
        ({"sort": "name sideways"}, "sort"),
        ({"sort": "name desc extra"}, "sort"),
        ({"sort": "name,"}, "sort"),
        ({"sort": "name; DROP TABLE x"}, "sort"),
        ({"sort": "(SELECT 1)"}, "sort"),
        ({"q": {"nope": "x"}}, "q"),
        ({"q": ["x"]}, "q"),
    ],
)
def test_datastore_invalid_arguments(sample: list[Column], arguments: dict, field: str) -> None:
    with pytest.raises(DatastoreInvalid) as err:
        datafiles.datastore_search(KEY, sample, **arguments)
    assert err.value.field == field and list(err.value.errors) == [field]
    assert err.value.status == 422 and isinstance(err.value, ValidationFailed)
    assert " / " in err.value.errors[field][0]  # Chinese / English


def test_datastore_unknown_column_is_named(sample: list[Column]) -> None:
    with pytest.raises(DatastoreInvalid) as err:
        datafiles.datastore_search(KEY, sample, sort="name, 籍贯 desc")
    assert err.value.errors == {"sort": ['字段“籍贯”不存在 / field "籍贯" not in table']}


def test_datastore_only_offers_the_given_columns(sample: list[Column]) -> None:
    public = [c for c in sample if c.key != "age"]
    with pytest.raises(DatastoreInvalid):
        datafiles.datastore_search(KEY, public, fields="age")
    with pytest.raises(DatastoreInvalid):
        datafiles.datastore_search(KEY, public, filters={"age": 30})
    assert "age" not in datafiles.datastore_search(KEY, public)["records"][0]


def test_datastore_injection_is_inert(sample: list[Column], store: DataStore) -> None:
    before = store.sha256(KEY)
    for values in ({"filters": {"name": "' OR 1=1 --"}}, {"filters": {"name": ["x'); DROP TABLE t; --"]}},
                   {"q": "%' OR '1'='1"}, {"q": {"name": "') OR 1=1 --"}}, {"q": "\\' OR 1=1"}):
        result = datafiles.datastore_search(KEY, sample, **values)
        assert result["records"] == [] and result["total"] == 0
    for values in ({"sort": "name; DROP TABLE x"}, {"fields": "*"}, {"filters": {'name" OR 1=1 --': "x"}},
                   {"sort": 'name" desc; --'}, {"fields": "_id, (SELECT 1)"}):
        with pytest.raises(DatastoreInvalid):
            datafiles.datastore_search(KEY, sample, **values)
    assert store.sha256(KEY) == before and datafiles.datastore_search(KEY, sample)["total"] == 10


def test_datastore_concurrent_calls(sample: list[Column]) -> None:
    queries = [{"filters": {"dept": "民政局"}}, {"q": "alice"}, {"sort": "age desc"}, {"offset": 5, "limit": 2}] * 10
    expected = [datafiles.datastore_search(KEY, sample, **q) for q in queries]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda q: datafiles.datastore_search(KEY, sample, **q), queries))
    assert got == expected


def test_datastore_records_match_json_stream(sample: list[Column]) -> None:
    streamed = json.loads(b"".join(datafiles.json_stream(KEY, sample)))["records"]
    searched = datafiles.datastore_search(KEY, sample)["records"]
    assert [{k: v for k, v in r.items() if k != "_id"} for r in searched] == streamed


# ---- S3 -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def s3_store() -> Iterator[DataStore]:
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                     region_name="us-east-1").create_bucket(Bucket="govdata-opendata")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GOVDATA_DATA_URL", f"s3://govdata-opendata/{uuid.uuid4().hex}")
            mp.setenv("GOVDATA_S3_ENDPOINT_URL", endpoint)
            mp.setenv("GOVDATA_S3_ACCESS_KEY", "testing")
            mp.setenv("GOVDATA_S3_SECRET_KEY", "testing")
            mp.setenv("GOVDATA_S3_REGION", "us-east-1")
            get_settings.cache_clear()
            reset_store()
            yield get_store()
    finally:
        get_settings.cache_clear()
        reset_store()
        server.stop()


def test_on_s3(s3_store: DataStore) -> None:
    assert not s3_store.is_local
    sha, size, rows = datafiles.write_snapshot(SAMPLE.lazy(), KEY)
    assert (sha, size, rows) == (s3_store.sha256(KEY), s3_store.size(KEY), 10)
    columns = datafiles.columns_of(KEY, NAMES)
    assert _csv_rows(b"".join(datafiles.csv_stream(KEY, columns)))[2][0] == "'=1+1"
    result = datafiles.datastore_search(KEY, columns, filters={"dept": "税务局"}, sort="age")
    assert [r["_id"] for r in result["records"]] == [10, 7, 4] and result["total"] == 3
    assert datafiles.preview(KEY, columns, n=1)[0]["name"] == "张三"


def test_zoned_timestamps_and_control_characters(store: DataStore) -> None:
    frame = pl.DataFrame({"at": [datetime(2024, 5, 1, 0, 30)], "text": ["a\x01b"]}).with_columns(
        pl.col("at").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Shanghai"))
    datafiles.write_snapshot(frame, "snap/tz.parquet")
    columns = datafiles.columns_of("snap/tz.parquet", {})
    assert columns[0].type == "timestamp"
    record = json.loads(b"".join(datafiles.json_stream("snap/tz.parquet", columns)))["records"][0]
    assert record == {"at": "2024-05-01T08:30:00+08:00", "text": "a\x01b"}
    assert _csv_rows(b"".join(datafiles.csv_stream("snap/tz.parquet", columns)))[1] == ["2024-05-01T08:30:00+08:00",
                                                                                         "a\x01b"]
    assert datafiles.datastore_search("snap/tz.parquet", columns)["records"][0] == {"_id": 1, **record}
    assert datafiles.preview("snap/tz.parquet", columns) == [record]
    assert datafiles.datastore_search("snap/tz.parquet", columns, filters={"at": "2024-05-01T00:30:00Z"})["total"] == 1
    sheet = load_workbook(io.BytesIO(b"".join(datafiles.xlsx_stream("snap/tz.parquet", columns)))).active
    assert [c.value for c in list(sheet.iter_rows())[1]] == [datetime(2024, 5, 1, 8, 30), "ab"]  # local wall clock
