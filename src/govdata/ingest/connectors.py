"""Pulling rows from a department's own database (数据库共享方式).

A department registers a SQLAlchemy URL (MariaDB/MySQL through PyMySQL, PostgreSQL through psycopg), a password
(stored encrypted by :mod:`govdata.vault`; this module only ever sees it in memory) and either a table or a
read-only query. :func:`pull` streams the rows in batches of strings.

Safety, in layers:

* :func:`check_definition` accepts a table name (``table`` or ``schema.table``, letters/digits/``_``/``$``, no
  quotes) or a single ``SELECT``/``WITH`` statement: one trailing ``;`` is allowed, any other ``;`` is refused,
  as are the comment markers ``--`` and ``/*`` — anywhere, even inside string literals (no SQL lexer is involved,
  so nothing can be hidden from it; write ``chr(59)`` or use a view when a literal needs them).
* The query is wrapped as ``SELECT * FROM (<query>) AS src``, so it must be a single query expression.
* Everything runs inside a READ ONLY transaction (PostgreSQL ``SET TRANSACTION READ ONLY``, MariaDB/MySQL
  ``START TRANSACTION READ ONLY``) with a statement timeout, and the transaction is rolled back at the end: a query
  that tries to write (a data-modifying CTE, a function that deletes …) is refused by the server.
* Identifiers are quoted by the dialect and the watermark is a bound parameter.

Messages never contain the password, and URLs are logged through :func:`safe_url` only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, column, create_engine, literal_column, select, table, text
from sqlalchemy.engine import URL, CursorResult, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Select
from sqlalchemy.types import NullType

from govdata.config import local_tz
from govdata.errors import AppError

logger = logging.getLogger("govdata.ingest")

# drivername as typed -> drivername used
_DRIVERS = {
    "mysql+pymysql": "mysql+pymysql",
    "mariadb+pymysql": "mariadb+pymysql",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
}
# URL query options a department may set; anything else (host=/unix_socket= redirecting to local sockets,
# read_default_file=, local_infile= …) is refused.
_URL_OPTIONS = {
    "postgresql": {"sslmode", "application_name", "target_session_attrs"},
    "mysql": {"charset", "ssl_check_hostname", "ssl_verify_cert"},
}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_IDENT = r"[^\W\d]\w*(?:\$\w*)*"  # \w is Unicode: Chinese names are accepted
_IDENT_RE = re.compile(rf"{_IDENT}")
_TABLE_RE = re.compile(rf"{_IDENT}(?:\.{_IDENT})?")
_MAX_IDENT = 64
# SQLAlchemy's text() reads ":name" as a bind parameter; user queries are escaped so it stays literal.
_TEXT_BIND_RE = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
MODES = ("full", "incremental")


@dataclass(frozen=True)
class SourceSpec:
    url: str  # SQLAlchemy URL WITHOUT password
    password: str | None  # plaintext (the caller decrypts)
    table: str | None  # a table name, optionally "schema.table"
    query: str | None  # or a read-only SELECT/WITH query
    mode: str = "full"  # "full" | "incremental"
    watermark_column: str | None = None
    last_watermark: str | None = None  # as text; compared in SQL as a bound parameter
    timeout_seconds: int = 10  # connecting
    # Each statement on PostgreSQL (the query, then every FETCH of a batch); on MariaDB/MySQL the streamed
    # SELECT as a whole, so it bounds the whole pull there. 0 disables it.
    statement_timeout_seconds: int = 1800


class SourceError(AppError):
    """``source_unreachable``/``source_failed`` (502), ``invalid_source``/``unsupported_driver`` (422).

    ``details`` is ``{"reason": ...}`` for a failed source: ``unreachable``, ``timeout``, ``auth``,
    ``unknown_database``, ``unknown_table``, ``unknown_column``, ``permission``, ``read_only``, ``query``.
    """

    status = 502
    code = "source_failed"


def _invalid(message: str, code: str = "invalid_source") -> SourceError:
    return SourceError(message, code=code, status=422)


# ---------------------------------------------------------------------------------------------------- URLs


def _parse(url: str) -> URL:
    try:
        return make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise _invalid(f"无法识别的数据库连接地址:{safe_url(url)}") from exc


def split_url(url: str) -> tuple[str, str | None]:
    """A URL as typed by a user, possibly with a password → (url without password, password or None)."""
    parsed = _parse(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise _invalid(
            f"不支持的数据库类型 {parsed.drivername}:仅支持 MariaDB/MySQL(mysql+pymysql)和 PostgreSQL"
            "(postgresql+psycopg)",
            code="unsupported_driver",
        )
    if not parsed.host:
        raise _invalid("数据库连接地址须包含服务器地址(主机名或 IP)")
    allowed = _URL_OPTIONS[parsed.get_backend_name() if parsed.get_backend_name() == "postgresql" else "mysql"]
    refused = sorted(set(parsed.query) - allowed)
    if refused:
        raise _invalid(f"数据库连接地址中不允许的参数:{', '.join(refused)}(允许:{', '.join(sorted(allowed))})")
    clean = URL.create(driver, parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query)
    return clean.render_as_string(hide_password=False), parsed.password or None


def safe_url(url: str) -> str:
    """For display and logs: the password masked as ``***``."""
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        return re.sub(r"(//[^/@:]*:)[^@]*@", r"\1***@", url)
    return parsed.render_as_string(hide_password=True)


# ---------------------------------------------------------------------------------------------- definition


def _check_identifier(name: str, what: str, pattern: re.Pattern[str]) -> None:
    parts = name.split(".")
    if not pattern.fullmatch(name) or any(len(p) > _MAX_IDENT for p in parts):
        raise _invalid(f"{what}「{name}」不合法:只能包含字母、数字、下划线(可写成 模式名.表名),不能含引号、分号或空格")


def _check_query(query: str) -> None:
    body = _strip_semicolon(query)
    if not body:
        raise _invalid("查询语句为空")
    if ";" in body:
        raise _invalid("查询只能包含一条语句:分号只允许出现在末尾")
    if "--" in body or "/*" in body:
        raise _invalid("查询中不能包含注释(-- 或 /* */),请删去注释后再保存")
    first = re.match(r"[\s(]*(\w+)", body)
    if first is None or first.group(1).upper() not in {"SELECT", "WITH"}:
        raise _invalid("只能使用以 SELECT 或 WITH 开头的只读查询")


def _strip_semicolon(query: str) -> str:
    body = query.strip()
    return body[:-1].rstrip() if body.endswith(";") else body


def check_definition(spec: SourceSpec) -> None:
    """Refuses (``invalid_source``, 422) a definition that cannot be pulled safely; see the module docstring."""
    split_url(spec.url)
    if _parse(spec.url).password:
        raise _invalid("连接地址中不能包含密码:密码须单独填写并加密保存")
    has_table, has_query = bool(spec.table and spec.table.strip()), bool(spec.query and spec.query.strip())
    if has_table == has_query:
        raise _invalid("请填写表名或查询语句中的一项(且只能一项)")
    if has_table:
        _check_identifier(str(spec.table).strip(), "表名", _TABLE_RE)
    else:
        _check_query(str(spec.query))
    if spec.mode not in MODES:
        raise _invalid(f"归集方式须为 full(全量)或 incremental(增量),而不是 {spec.mode}")
    if spec.mode == "incremental":
        if not spec.watermark_column:
            raise _invalid("增量归集须指定增量字段(如更新时间或自增编号)")
        _check_identifier(spec.watermark_column, "增量字段", _IDENT_RE)
    if spec.timeout_seconds < 1 or spec.statement_timeout_seconds < 0:
        raise _invalid("超时时间须为正数")


# ---------------------------------------------------------------------------------------------- statements


def _source_from(spec: SourceSpec) -> Any:
    if spec.table:
        schema, _, name = spec.table.strip().rpartition(".")
        return table(name, schema=schema or None)
    body = _TEXT_BIND_RE.sub(r"\\:\1", _strip_semicolon(str(spec.query)))
    # The newline ends a MySQL "#" comment before the wrapper's closing parenthesis.
    return text(body + "\n").columns().subquery("src")


def _statement(spec: SourceSpec) -> Select[Any]:
    stmt = select(literal_column("*")).select_from(_source_from(spec))
    if spec.mode == "incremental" and spec.watermark_column:
        mark = column(spec.watermark_column)
        if spec.last_watermark is not None:
            # NullType: no cast is rendered, so the server compares the text with the column's own type.
            stmt = stmt.where(mark > bindparam("last_watermark", spec.last_watermark, type_=NullType()))
        stmt = stmt.order_by(mark)
    return stmt


# ---------------------------------------------------------------------------------------------- connecting


def _engine(spec: SourceSpec) -> Engine:
    url = make_url(split_url(spec.url)[0])
    if spec.password:
        url = url.set(password=spec.password)
    if url.get_backend_name() == "postgresql":
        args: dict[str, Any] = {"connect_timeout": max(2, spec.timeout_seconds)}
        if "application_name" not in url.query:
            args["application_name"] = "govdata-ingest"
    else:
        args = {"connect_timeout": spec.timeout_seconds, "local_infile": False}
        if "charset" not in url.query:
            args["charset"] = "utf8mb4"
    return create_engine(url, poolclass=NullPool, connect_args=args)


def _connect(engine: Engine, spec: SourceSpec) -> Connection:
    try:
        return engine.connect()
    except DBAPIError as exc:
        raise _connect_error(exc, spec) from None


def _begin_read_only(conn: Connection, spec: SourceSpec) -> None:
    timeout = spec.statement_timeout_seconds
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.execute(text("SELECT set_config('TimeZone', :tz, true)"), {"tz": local_tz().key})
        conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(timeout * 1000)})
        return
    if getattr(conn.dialect, "is_mariadb", False):
        conn.execute(text("SET SESSION max_statement_time = :s"), {"s": timeout})
    else:
        conn.execute(text("SET SESSION max_execution_time = :ms"), {"ms": timeout * 1000})
    # A slow consumer between two batches must not make the server drop the streaming connection.
    conn.execute(text("SET SESSION net_write_timeout = :s"), {"s": max(600, timeout)})
    conn.exec_driver_sql("START TRANSACTION READ ONLY")


# -------------------------------------------------------------------------------------------------- errors


def _driver_error(exc: DBAPIError) -> tuple[str, str]:
    """(SQLSTATE for PostgreSQL or MySQL error number as text, the server's message)."""
    orig: Any = exc.orig
    args = getattr(orig, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):  # PyMySQL: (errno, message)
        return str(args[0]), str(args[1]).strip()
    primary = getattr(getattr(orig, "diag", None), "message_primary", None)  # psycopg
    return getattr(orig, "sqlstate", None) or "", (primary or str(orig)).strip()


def _scrub(message: str, password: str | None) -> str:
    return message.replace(password, "***") if password else message


def _target(spec: SourceSpec) -> URL:
    return make_url(split_url(spec.url)[0])


def _where(spec: SourceSpec) -> str:
    url = _target(spec)
    port = url.port or _DEFAULT_PORTS["postgresql" if url.get_backend_name() == "postgresql" else "mysql"]
    return f"{url.host}:{port}"


def _failed(message: str, reason: str, spec: SourceSpec, status: int = 502) -> SourceError:
    code = "source_unreachable" if reason == "unreachable" else "source_failed"
    return SourceError(_scrub(message, spec.password), code=code, status=status, details={"reason": reason})


_UNREACHABLE_HINTS = (
    ("refused", "连接被拒绝(服务未启动或端口不对)"),
    ("timeout", "连接超时(网络不通或被防火墙拦截)"),
    ("timed out", "连接超时(网络不通或被防火墙拦截)"),
    ("name or service not known", "无法解析主机名"),
    ("translate host name", "无法解析主机名"),
    ("nodename nor servname", "无法解析主机名"),
    ("unreachable", "网络不可达"),
)


def _connect_error(exc: DBAPIError, spec: SourceSpec) -> SourceError:
    code, message = _driver_error(exc)
    lowered = message.lower()
    user, database = _target(spec).username or "", _target(spec).database or ""
    if code in {"1045", "28P01"} or "authentication failed" in lowered:
        return _failed(f"部门数据库拒绝登录:用户名或密码错误(用户 {user},{_where(spec)})", "auth", spec)
    if code == "28000" or re.search(r'role ".*" (does not exist|is not permitted to log in)', message):
        return _failed(f"部门数据库拒绝登录:用户 {user} 不存在或不允许登录({_where(spec)})", "auth", spec)
    if code == "1049" or re.search(r'database ".*" does not exist', message):
        return _failed(f"部门数据库服务器 {_where(spec)} 上不存在数据库 {database}", "unknown_database", spec)
    if code in {"1044", "42501"} or "permission denied" in lowered:
        return _failed(f"用户 {user} 无权访问数据库 {database}:{message}", "permission", spec)
    reason = next((hint for key, hint in _UNREACHABLE_HINTS if key in lowered), message)
    return _failed(f"无法连接部门数据库 {_where(spec)}:{reason}", "unreachable", spec)


def _quoted_name(message: str) -> str | None:
    found = re.search(r"[\"'`](.+?)[\"'`]", message)
    return found.group(1) if found else None


def _denied_table(message: str) -> str | None:
    found = re.search(r"for (?:table|relation|view)\s+(\S+)", message)
    return found.group(1).replace("`", "").replace('"', "") if found else None


def _query_error(exc: DBAPIError, spec: SourceSpec) -> SourceError:
    code, message = _driver_error(exc)
    name = _quoted_name(message)
    if code in {"42P01", "1146"}:
        return _failed(f"部门数据库中不存在表 {spec.table or name}(服务器:{message})", "unknown_table", spec)
    if code in {"42703", "1054"}:
        return _failed(f"部门数据库中不存在字段 {name}(服务器:{message})", "unknown_column", spec)
    if code in {"42501", "1142", "1143"}:
        # MariaDB/MySQL answer "denied" rather than "doesn't exist" when the account may not see the table.
        denied = _denied_table(message) or spec.table or "所查询的表"
        return _failed(f"表 {denied} 不存在,或当前账号无权读取(服务器:{message})", "permission", spec)
    if code in {"25006", "1792"} or "data-modifying" in message:
        return _failed(f"查询试图修改数据,已被拒绝:数据源只在只读事务中读取(服务器:{message})", "read_only", spec, 422)
    if code in {"57014", "1969", "3024"}:
        return _failed(f"查询超时(超过 {spec.statement_timeout_seconds} 秒)已被中止:{message}", "timeout", spec)
    if code in {"2003", "2006", "2013", "08006", "08003", "08000"} or "connection" in message.lower():
        return _failed(f"无法连接部门数据库 {_where(spec)}:连接中断({message})", "unreachable", spec)
    return _failed(f"部门数据库执行查询失败:{message}", "query", spec)


# ------------------------------------------------------------------------------------------------ values


def _hms(value: dt.timedelta) -> str:
    seconds = value.days * 86400 + value.seconds
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    text_ = f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return text_ + (f".{value.microseconds:06d}" if value.microseconds else "")


def _datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(local_tz()).replace(tzinfo=None)
    return value.isoformat(sep=" ")


def _number(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    return format(Decimal(repr(value)), "f")


_CONVERTERS: dict[type, Callable[[Any], str]] = {
    bool: lambda v: "true" if v else "false",
    int: str,
    float: _number,
    Decimal: lambda v: format(v, "f"),
    dt.datetime: _datetime,
    dt.date: dt.date.isoformat,
    dt.time: dt.time.isoformat,
    dt.timedelta: _hms,
    bytes: bytes.hex,
    bytearray: bytearray.hex,
    memoryview: lambda v: v.hex(),
    dict: lambda v: json.dumps(v, ensure_ascii=False, default=str),
    list: lambda v: json.dumps(v, ensure_ascii=False, default=str),
}


def to_text(value: Any) -> str | None:
    """A database value as the text the ingest pipeline stores (see :func:`pull`)."""
    if value is None or isinstance(value, str):
        return value
    convert = _CONVERTERS.get(type(value))
    if convert is None:
        convert = next((f for t, f in _CONVERTERS.items() if isinstance(value, t)), str)
    return convert(value)


def _frame(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> pl.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    data = [pl.Series(name, [to_text(v) for v in values], dtype=pl.String) for name, values in
            zip(names, columns, strict=True)]
    return pl.DataFrame(data)


def _column_names(keys: Sequence[str], spec: SourceSpec) -> list[str]:
    names = list(keys)
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise _failed(f"查询结果中的列名重复:{', '.join(duplicated)},请为这些列起别名(AS)", "query", spec, 422)
    return names


# -------------------------------------------------------------------------------------------------- public


def test_connection(spec: SourceSpec) -> list[str]:
    """Connect and return the column names of the table or query (nothing is read: LIMIT 0)."""
    check_definition(spec)
    engine = _engine(spec)
    try:
        with _connect(engine, spec) as conn:
            try:
                _begin_read_only(conn, spec)
                result = conn.execute(_statement(spec).limit(0))
                names = _column_names(list(result.keys()), spec)
                result.close()
                conn.rollback()
            except DBAPIError as exc:
                raise _query_error(exc, spec) from None
    finally:
        engine.dispose()
    return names


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported by one


def pull(spec: SourceSpec, *, batch_rows: int = 50000) -> Iterator[pl.DataFrame]:
    """Yield batches of the table or query, every column ``pl.String``.

    ``None`` stays null; dates ``YYYY-MM-DD``; datetimes ``YYYY-MM-DD hh:mm:ss`` (``.ffffff`` appended when there
    are microseconds; PostgreSQL ``timestamptz`` in the platform time zone); times ``hh:mm:ss``; Decimals and
    floats as plain text without exponent; booleans ``true``/``false``; bytes as hex; JSON as JSON text.
    Incremental: only rows with ``watermark_column > last_watermark`` (when set), ordered by the watermark.
    At least one frame is yielded (an empty one, with the columns, when there are no rows). Closing the
    generator early drops the connection instead of reading the rest of the result.
    """
    check_definition(spec)
    if batch_rows < 1:
        raise _invalid("每批行数须为正数")
    logger.info("pulling from %s (%s)", safe_url(spec.url), spec.table or "query")
    engine = _engine(spec)
    try:
        with _connect(engine, spec) as conn:
            yield from _stream(conn, spec, batch_rows)
    finally:
        engine.dispose()


def _stream(conn: Connection, spec: SourceSpec, batch_rows: int) -> Iterator[pl.DataFrame]:
    finished = False
    result: CursorResult[Any] | None = None
    try:
        _begin_read_only(conn, spec)
        result = conn.execution_options(yield_per=batch_rows).execute(_statement(spec))
        names = _column_names(list(result.keys()), spec)
        sent = False
        for rows in result.partitions():
            sent = True
            yield _frame(names, rows)
        if not sent:
            yield _frame(names, [])
        conn.rollback()
        finished = True
    except DBAPIError as exc:
        raise _query_error(exc, spec) from None
    finally:
        if not finished:
            _abandon(conn, result)


def _abandon(conn: Connection, result: CursorResult[Any] | None) -> None:
    """Drop the connection of an unfinished pull. PyMySQL would otherwise read (and discard) the rest of a
    streamed result before closing, which for a large table takes as long as the pull itself."""
    unbuffered = getattr(getattr(result, "cursor", None), "_result", None)
    if unbuffered is not None and getattr(unbuffered, "unbuffered_active", False):
        unbuffered.unbuffered_active = False
    conn.invalidate()


def _sort_key(values: list[str]) -> Callable[[str], Any]:
    try:
        numeric = all(Decimal(v).is_finite() for v in values)
    except InvalidOperation:
        numeric = False
    return Decimal if numeric else str


def max_watermark(batch: pl.DataFrame, column: str) -> str | None:
    """The largest value of ``column`` in ``batch`` (numerically when every value is a number, else as text —
    right for the ISO dates and datetimes :func:`pull` produces), or None when it has no values. Batches of an
    incremental pull are ordered by the watermark, so the last batch holds the new watermark."""
    values = [v for v in batch.get_column(column).to_list() if v is not None]
    if not values:
        return None
    return max(values, key=_sort_key(values))
