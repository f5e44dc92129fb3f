"""Pulling from a department's database, against real MariaDB and PostgreSQL servers.

Each run creates its own tables and a restricted account (SELECT on one table only) with a real password, and
drops them afterwards. The MariaDB tests are skipped when 127.0.0.1:3306 is unreachable, the PostgreSQL ones when
127.0.0.1:5432 is; the admin URLs can be changed with GOVDATA_TEST_SOURCE_MARIADB / GOVDATA_TEST_SOURCE_POSTGRES.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from govdata.ingest import connectors
from govdata.ingest.connectors import SourceError, SourceSpec
from tests.ingest.conftest import port_open

MARIADB_ADMIN = os.environ.get("GOVDATA_TEST_SOURCE_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
POSTGRES_ADMIN = os.environ.get("GOVDATA_TEST_SOURCE_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

ROWS = [
    (1, "张三", date(1990, 1, 2), datetime(2024, 1, 1, 8, 0, 0), Decimal("1234.5000"), "首条"),
    (2, "李四", date(1985, 12, 31), datetime(2024, 1, 2, 9, 30, 0), Decimal("0.0001"), None),
    (3, None, None, datetime(2024, 1, 3, 10, 0, 0), None, None),
    (4, "王五·测试", date(2000, 2, 29), datetime(2024, 2, 1, 0, 0, 0), Decimal("-42.0000"), 'a,b;"c" :x 100%'),
    (5, "O'Brien", date(1970, 1, 1), datetime(2024, 3, 1, 12, 0, 0), Decimal("99999999.9999"), ""),
    (9, "赵六", date(2024, 6, 30), datetime(2024, 6, 30, 23, 59, 59), Decimal("100000.0000"), "九"),
    (10, "钱七", date(2024, 7, 1), datetime(2024, 7, 1, 0, 0, 1), Decimal("0.0000"), "十"),
]
COLUMNS = ["id", "name", "birth", "updated_at", "amount", "备注"]
EXPECTED = [
    ("1", "张三", "1990-01-02", "2024-01-01 08:00:00", "1234.5000", "首条"),
    ("2", "李四", "1985-12-31", "2024-01-02 09:30:00", "0.0001", None),
    ("3", None, None, "2024-01-03 10:00:00", None, None),
    ("4", "王五·测试", "2000-02-29", "2024-02-01 00:00:00", "-42.0000", 'a,b;"c" :x 100%'),
    ("5", "O'Brien", "1970-01-01", "2024-03-01 12:00:00", "99999999.9999", ""),
    ("9", "赵六", "2024-06-30", "2024-06-30 23:59:59", "100000.0000", "九"),
    ("10", "钱七", "2024-07-01", "2024-07-01 00:00:01", "0.0000", "十"),
]


@dataclass
class Source:
    """A department database as the platform sees it: a restricted account with a password."""

    kind: str  # "mariadb" | "postgresql"
    admin_url: str
    admin: Engine
    url: str  # without the password
    password: str
    user: str
    table: str  # as a department would type it
    raw_table: str  # the same, as the admin addresses it in SQL
    secret_table: str  # exists, but the account may not read it

    def spec(self, *, table: str | None = None, query: str | None = None, **kw: Any) -> SourceSpec:
        if query is None and table is None:
            table = self.table
        return SourceSpec(url=self.url, password=self.password, table=table, query=query, **kw)

    def count(self) -> int:
        with self.admin.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {self.raw_table}")).scalar_one())


def _insert(conn: Any, table: str) -> None:
    conn.execute(text(f"INSERT INTO {table} VALUES (:id, :name, :birth, :updated_at, :amount, :note)"),
                 [dict(zip(["id", "name", "birth", "updated_at", "amount", "note"], r, strict=True)) for r in ROWS])


@pytest.fixture(scope="module")
def mariadb() -> Iterator[Source]:
    if not port_open(MARIADB_ADMIN):
        pytest.skip(f"MariaDB is not reachable at {make_url(MARIADB_ADMIN).host}:{make_url(MARIADB_ADMIN).port}")
    tag = secrets.token_hex(4)
    table, secret, user, fn = f"gd_src_{tag}", f"gd_src_{tag}_secret", f"govdata_src_{tag}", f"gd_src_{tag}_del"
    password = f"Pw@:/%#-{secrets.token_hex(6)}"
    admin = create_engine(MARIADB_ADMIN)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id INT PRIMARY KEY, name VARCHAR(50), birth DATE, "
                          "updated_at DATETIME, amount DECIMAL(14,4), `备注` VARCHAR(50)) CHARACTER SET utf8mb4"))
        _insert(conn, table)
        conn.execute(text(f"CREATE TABLE {secret} (id INT)"))
        conn.execute(text(f"CREATE FUNCTION {fn}() RETURNS INT MODIFIES SQL DATA "
                          f"BEGIN DELETE FROM {table}; RETURN 1; END"))
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY :pw"), {"pw": password})
        conn.execute(text(f"GRANT SELECT ON test.{table} TO '{user}'@'%'"))
        conn.execute(text(f"GRANT EXECUTE ON FUNCTION test.{fn} TO '{user}'@'%'"))
    url = make_url(MARIADB_ADMIN).set(username=user, password=None).render_as_string(hide_password=False)
    try:
        yield Source("mariadb", MARIADB_ADMIN, admin, url, password, user, table, table, secret)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
            conn.execute(text(f"DROP FUNCTION IF EXISTS {fn}"))
            conn.execute(text(f"DROP TABLE IF EXISTS {table}, {secret}"))
        admin.dispose()


@pytest.fixture(scope="module")
def postgres() -> Iterator[Source]:
    if not port_open(POSTGRES_ADMIN):
        pytest.skip(f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN).host}:{make_url(POSTGRES_ADMIN).port}")
    tag = secrets.token_hex(4)
    schema, user = f"gd_src_{tag}", f"govdata_src_{tag}"
    password = f"Pw@:/%#-{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_ADMIN)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        conn.execute(text(f"CREATE TABLE {schema}.people (id INT PRIMARY KEY, name TEXT, birth DATE, "
                          'updated_at TIMESTAMP, amount NUMERIC(14,4), "备注" TEXT)'))
        _insert(conn, f"{schema}.people")
        conn.execute(text(f"CREATE TABLE {schema}.secret (id INT)"))
        conn.execute(text(f"CREATE FUNCTION {schema}.del() RETURNS INT LANGUAGE sql SECURITY DEFINER "
                          f"AS 'DELETE FROM {schema}.people; SELECT 1'"))
        conn.execute(text(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {user}"))
        conn.execute(text(f"GRANT SELECT ON {schema}.people TO {user}"))
    url = make_url(POSTGRES_ADMIN).set(username=user, password=None).render_as_string(hide_password=False)
    try:
        yield Source("postgresql", POSTGRES_ADMIN, admin, url, password, user, f"{schema}.people", f"{schema}.people",
                     f"{schema}.secret")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"DROP ROLE IF EXISTS {user}"))
        admin.dispose()


@pytest.fixture(params=["mariadb", "postgresql"])
def source(request: pytest.FixtureRequest) -> Source:
    return request.getfixturevalue("mariadb" if request.param == "mariadb" else "postgres")


def _rows(frames: list[pl.DataFrame]) -> list[tuple[str | None, ...]]:
    return [row for frame in frames for row in frame.rows()]


def _fails(spec: SourceSpec, *, pull: bool = False) -> SourceError:
    with pytest.raises(SourceError) as caught:
        if pull:
            list(connectors.pull(spec, batch_rows=2))
        else:
            connectors.test_connection(spec)
    assert spec.password is None or spec.password not in f"{caught.value.message} {caught.value!r}"
    return caught.value


# ------------------------------------------------------------------------------------------------ pulling


def test_full_pull_in_batches_equals_the_data(source: Source) -> None:
    frames = list(connectors.pull(source.spec(), batch_rows=3))
    assert [f.height for f in frames] == [3, 3, 1]
    for frame in frames:
        assert frame.columns == COLUMNS
        assert set(frame.dtypes) == {pl.String}
    assert sorted(_rows(frames), key=lambda r: int(r[0] or 0)) == EXPECTED


def test_schema_qualified_table(source: Source) -> None:
    table = f"test.{source.table}" if source.kind == "mariadb" else source.table
    assert "." in table
    assert len(_rows(list(connectors.pull(source.spec(table=table))))) == len(ROWS)


def test_test_connection_lists_the_columns(source: Source) -> None:
    assert connectors.test_connection(source.spec()) == COLUMNS
    query = f"SELECT id, name AS 姓名 FROM {source.raw_table} WHERE id > 100;"
    assert connectors.test_connection(source.spec(query=query)) == ["id", "姓名"]


def test_query_pull(source: Source) -> None:
    query = (f"SELECT id, name, amount, 'a :b 100%' AS lit FROM {source.raw_table} "
             "WHERE amount IS NOT NULL AND name LIKE '%五%' OR id = 10;")
    frames = list(connectors.pull(source.spec(query=query)))
    assert frames[0].columns == ["id", "name", "amount", "lit"]
    assert sorted(_rows(frames)) == [("10", "钱七", "0.0000", "a :b 100%"), ("4", "王五·测试", "-42.0000", "a :b 100%")]


def test_empty_result_is_one_empty_frame_with_the_columns(source: Source) -> None:
    frames = list(connectors.pull(source.spec(query=f"SELECT id, name FROM {source.raw_table} WHERE id < 0")))
    assert len(frames) == 1
    assert frames[0].height == 0 and frames[0].columns == ["id", "name"]


def test_incremental_by_datetime(source: Source) -> None:
    spec = source.spec(mode="incremental", watermark_column="updated_at", last_watermark="2024-02-01 00:00:00")
    frames = list(connectors.pull(spec, batch_rows=2))
    assert [r[0] for r in _rows(frames)] == ["5", "9", "10"]  # after the watermark, ordered by it
    assert connectors.max_watermark(frames[-1], "updated_at") == "2024-07-01 00:00:01"
    # The next pull, from the new watermark, finds nothing new.
    again = source.spec(mode="incremental", watermark_column="updated_at", last_watermark="2024-07-01 00:00:01")
    assert _rows(list(connectors.pull(again))) == []


def test_incremental_by_number_and_first_pull(source: Source) -> None:
    first = list(connectors.pull(source.spec(mode="incremental", watermark_column="id"), batch_rows=100))
    assert [r[0] for r in _rows(first)] == ["1", "2", "3", "4", "5", "9", "10"]
    assert connectors.max_watermark(first[-1], "id") == "10"  # numerically, not "9" as text
    spec = source.spec(query=f"SELECT id, name FROM {source.raw_table}", mode="incremental",
                       watermark_column="id", last_watermark="4")
    assert _rows(list(connectors.pull(spec))) == [("5", "O'Brien"), ("9", "赵六"), ("10", "钱七")]


def test_closing_a_pull_early_does_not_read_the_rest(source: Source) -> None:
    query = ("SELECT seq AS n FROM seq_1_to_50000000" if source.kind == "mariadb"
             else "SELECT generate_series(1, 50000000) AS n")
    # As the admin: the restricted account may read its one table only.
    stream = connectors.pull(SourceSpec(url=source.admin_url, password=None, table=None, query=query), batch_rows=1000)
    assert next(stream).height == 1000
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 3
    assert connectors.test_connection(source.spec()) == COLUMNS  # the server is fine afterwards


# --------------------------------------------------------------------------------------------- failures


def test_unreachable_server_fails_quickly(source: Source) -> None:
    url = make_url(source.url).set(port=1).render_as_string(hide_password=False)
    started = time.monotonic()
    error = _fails(SourceSpec(url=url, password=source.password, table="t", query=None))
    assert time.monotonic() - started < 5
    assert error.code == "source_unreachable" and error.status == 502
    assert error.message.startswith("无法连接部门数据库 127.0.0.1:1:")


def test_wrong_password(source: Source) -> None:
    wrong = f"Wr0ng-{secrets.token_hex(6)}"
    spec = SourceSpec(url=source.url, password=wrong, table=source.table, query=None)
    if source.kind == "postgresql":
        try:
            connectors.test_connection(spec)
        except SourceError:
            pass
        else:
            pytest.skip("this PostgreSQL server trusts local connections: it accepts any password")
    error = _fails(spec)
    assert error.code == "source_failed" and error.details == {"reason": "auth"}
    assert "用户名或密码错误" in error.message and source.user in error.message
    assert wrong not in error.message and source.password not in error.message


def test_password_never_in_messages_or_logs(source: Source, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    typed = make_url(source.url).set(password=source.password).render_as_string(hide_password=False)
    url, password = connectors.split_url(typed)
    assert password == source.password and source.password not in url
    spec = SourceSpec(url=url, password=password, table=f"nope_{secrets.token_hex(3)}", query=None)
    messages = [_fails(spec).message, _fails(spec, pull=True).message]
    list(connectors.pull(SourceSpec(url=url, password=password, table=source.table, query=None)))
    for text_ in [*messages, caplog.text]:
        assert source.password not in text_


def test_unknown_table_is_named(source: Source) -> None:
    missing = f"nope_{secrets.token_hex(3)}"
    error = _fails(source.spec(table=missing))
    assert error.code == "source_failed" and missing in error.message
    if source.kind == "mariadb":  # MariaDB does not tell an account about tables it may not read
        assert error.details == {"reason": "permission"} and "不存在,或当前账号无权读取" in error.message
        error = _fails(SourceSpec(url=source.admin_url, password=None, table=missing, query=None))
    assert error.details == {"reason": "unknown_table"}
    assert missing in error.message and "不存在表" in error.message
    error = _fails(source.spec(query=f"SELECT * FROM {missing}"), pull=True)
    assert missing in error.message


def test_unknown_watermark_column_is_named(source: Source) -> None:
    error = _fails(source.spec(mode="incremental", watermark_column="changed_at", last_watermark="1"))
    assert error.details == {"reason": "unknown_column"}
    assert "changed_at" in error.message and "不存在字段" in error.message


def test_table_not_granted(source: Source) -> None:
    error = _fails(source.spec(table=source.secret_table))
    assert error.details == {"reason": "permission"} and "无权读取" in error.message
    assert source.secret_table.rpartition(".")[2] in error.message


def test_query_that_writes_is_refused_by_the_read_only_transaction(source: Source) -> None:
    function = f"{source.table}_del()" if source.kind == "mariadb" else source.table.replace(".people", ".del()")
    error = _fails(source.spec(query=f"SELECT {function} AS n"), pull=True)
    assert error.details == {"reason": "read_only"} and error.status == 422
    assert "修改数据" in error.message and "只读" in error.message
    assert source.count() == len(ROWS)


def test_postgres_data_modifying_cte_is_refused(postgres: Source) -> None:
    query = f"WITH d AS (DELETE FROM {postgres.raw_table} RETURNING *) SELECT * FROM d"
    connectors.check_definition(postgres.spec(query=query))  # a WITH query: only the server can tell
    error = _fails(postgres.spec(query=query), pull=True)
    assert error.details == {"reason": "read_only"} and "修改数据" in error.message
    assert postgres.count() == len(ROWS)


def test_select_into_is_refused(source: Source) -> None:
    into = (f"SELECT id FROM {source.raw_table} INTO OUTFILE '/tmp/{source.table}.txt'" if source.kind == "mariadb"
            else f"SELECT id INTO {source.table}_copy FROM {source.raw_table}")
    connectors.check_definition(source.spec(query=into))  # a SELECT: the wrapping subquery makes it invalid
    assert _fails(source.spec(query=into), pull=True).code == "source_failed"


def test_postgres_unknown_role(postgres: Source) -> None:
    url = make_url(postgres.url).set(username=f"nobody_{secrets.token_hex(3)}").render_as_string(False)
    error = _fails(SourceSpec(url=url, password="x-secret-x", table=postgres.table, query=None))
    assert error.details == {"reason": "auth"} and "不存在或不允许登录" in error.message


def test_postgres_password_failure_message() -> None:
    """The trusting local server cannot refuse a password: the mapping of libpq's refusal is checked directly."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    refusal = psycopg.OperationalError('connection failed: connection to server at "10.1.2.3", port 5432 failed: '
                                       'FATAL:  password authentication failed for user "biz"')
    spec = SourceSpec(url="postgresql+psycopg://biz@10.1.2.3/biz", password="S3cret-pw", table="t", query=None)
    error = connectors._connect_error(OperationalError("connect", None, refusal), spec)
    assert error.code == "source_failed" and error.details == {"reason": "auth"}
    assert error.message == "部门数据库拒绝登录:用户名或密码错误(用户 biz,10.1.2.3:5432)"


def test_statement_timeout(source: Source) -> None:
    query = "SELECT sleep(5) AS s" if source.kind == "mariadb" else "SELECT pg_sleep(5) AS s"
    started = time.monotonic()
    error = _fails(source.spec(query=query, statement_timeout_seconds=1), pull=True)
    assert error.details == {"reason": "timeout"} and "超时" in error.message
    assert time.monotonic() - started < 4


def test_duplicate_column_names_are_refused(postgres: Source) -> None:
    error = _fails(postgres.spec(query=f"SELECT id, id FROM {postgres.raw_table}"))
    assert "列名重复" in error.message and "id" in error.message


# ------------------------------------------------------------------------------------- definitions, URLs

URL = "mysql+pymysql://u@db.example.gov.cn:3306/biz"


def _spec(**kw: Any) -> SourceSpec:
    base: dict[str, Any] = {"url": URL, "password": "pw", "table": None, "query": None}
    return SourceSpec(**(base | kw))


def _invalid(spec: SourceSpec) -> SourceError:
    with pytest.raises(SourceError) as caught:
        connectors.check_definition(spec)
    assert caught.value.code == "invalid_source" and caught.value.status == 422
    return caught.value


@pytest.mark.parametrize("query", [
    "DROP TABLE x",
    "SELECT 1; DELETE FROM t",
    "SELECT 1; DELETE FROM t;",
    "select 1;;",
    "SELECT 1 -- ; nothing\n",
    "SELECT 1 /* ; DELETE FROM t */",
    "DELETE FROM t",
    "UPDATE t SET a = 1",
    "INSERT INTO t SELECT 1",
    "  ",
    ";",
    "EXPLAIN SELECT 1",
])
def test_check_definition_refuses_queries(query: str) -> None:
    _invalid(_spec(query=query))


@pytest.mark.parametrize("query", [
    "SELECT 1",
    "select * from t;",
    "  WITH a AS (SELECT 1 AS x) SELECT x FROM a ;  ",
    "(SELECT 1) UNION (SELECT 2)",
    "SELECT '#' AS h, a - b FROM t WHERE c = 'x:y'",
])
def test_check_definition_accepts_queries(query: str) -> None:
    connectors.check_definition(_spec(query=query))


@pytest.mark.parametrize("name", [
    "t; DROP TABLE x", "t;", '"t"', "`t`", "'t'", "a b", "a.b.c", ".t", "t.", "1t", "t--", "t/*", "",
    "x" * 65,
])
def test_check_definition_refuses_table_names(name: str) -> None:
    _invalid(_spec(table=name))


@pytest.mark.parametrize("name", ["people", "biz.people", "Orders_2024", "人口信息", "模式.表_1", "t$1"])
def test_check_definition_accepts_table_names(name: str) -> None:
    connectors.check_definition(_spec(table=name))


@pytest.mark.parametrize("kw", [
    {"table": "t", "query": "SELECT 1"},
    {},
    {"table": "t", "mode": "incremental"},
    {"table": "t", "mode": "incremental", "watermark_column": "a;b"},
    {"table": "t", "mode": "incremental", "watermark_column": "s.a"},
    {"table": "t", "mode": "sometimes"},
    {"table": "t", "timeout_seconds": 0},
    {"table": "t", "url": "mysql+pymysql://u:secret@h/db"},
])
def test_check_definition_refuses_definitions(kw: dict[str, Any]) -> None:
    error = _invalid(_spec(**kw))
    assert "secret" not in error.message


def test_split_url() -> None:
    assert connectors.split_url("mysql://u:p%40ss%3A1@h:3307/biz") == ("mysql+pymysql://u@h:3307/biz", "p@ss:1")
    assert connectors.split_url("mariadb+pymysql://u@h/biz") == ("mariadb+pymysql://u@h/biz", None)
    assert connectors.split_url("postgresql://u:pw@h/biz?sslmode=require") == (
        "postgresql+psycopg://u@h/biz?sslmode=require", "pw")
    assert connectors.split_url("postgresql+psycopg://u@h/biz")[0] == "postgresql+psycopg://u@h/biz"


@pytest.mark.parametrize(("url", "code"), [
    ("sqlite:///var/x.db", "unsupported_driver"),
    ("sqlite://", "unsupported_driver"),
    ("file:///etc/passwd", "unsupported_driver"),
    ("oracle://u:p@h/db", "unsupported_driver"),
    ("postgresql+psycopg2://u@h/db", "unsupported_driver"),
    ("mysql+mysqldb://u@h/db", "unsupported_driver"),
    ("postgresql:///db", "invalid_source"),  # no server: a local socket
    ("postgresql://u@h/db?host=/var/run/postgresql", "invalid_source"),
    ("mysql://u@h/db?unix_socket=/tmp/mysql.sock", "invalid_source"),
    ("mysql://u@h/db?local_infile=1", "invalid_source"),
    ("not a url", "invalid_source"),
])
def test_split_url_refuses(url: str, code: str) -> None:
    with pytest.raises(SourceError) as caught:
        connectors.split_url(url)
    assert caught.value.code == code and caught.value.status == 422


def test_safe_url() -> None:
    assert connectors.safe_url("mysql+pymysql://u:S3cr%40t@h:3306/biz") == "mysql+pymysql://u:***@h:3306/biz"
    assert connectors.safe_url("postgresql+psycopg://u@h/biz") == "postgresql+psycopg://u@h/biz"
    assert "S3cret" not in connectors.safe_url("weird://u:S3cret@h:notaport/x")


# ----------------------------------------------------------------------------------------------- helpers


def test_max_watermark() -> None:
    frame = pl.DataFrame({"n": ["9", "10", None, "-3"], "t": ["2024-01-02 00:00:00", "2024-01-10 08:00:00",
                                                             "2023-12-31 23:59:59", None],
                          "e": [None, None, None, None]}, schema={"n": pl.String, "t": pl.String, "e": pl.String})
    assert connectors.max_watermark(frame, "n") == "10"
    assert connectors.max_watermark(frame, "t") == "2024-01-10 08:00:00"
    assert connectors.max_watermark(frame, "e") is None
    assert connectors.max_watermark(frame.head(0), "n") is None


def test_to_text() -> None:
    assert connectors.to_text(Decimal("1E+3")) == "1000"
    assert connectors.to_text(Decimal("-0.00000010")) == "-0.00000010"
    assert connectors.to_text(1e-7) == "0.0000001"
    assert connectors.to_text(1e20) == "100000000000000000000"
    assert connectors.to_text(True) == "true"
    assert connectors.to_text(b"\x00\xff") == "00ff"
    assert connectors.to_text(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02 03:04:05"
    assert connectors.to_text(date(2024, 1, 2)) == "2024-01-02"
    assert connectors.to_text(None) is None
