"""Open-data portal benchmark (issue 7): search over 10,000 open datasets (the portal's search page and CKAN's
``package_search``), the download of a 1,000,000-row dataset (CSV and JSON) with ``datastore_search`` over it, and
200 concurrent anonymous readers.

Setup (one temporary var folder and database): ``migrate.upgrade``; then ``--datasets`` (10,000) rows of
``open_datasets`` inserted directly in bulk (SQLAlchemy ``insert`` executemany). Opening 10,000 datasets through
the pre-open check (``listing.check``) would only re-measure ingest and the check (bench/ingest.py), not the
portal. The rows are what ``listing`` writes: the metadata of a catalog document run through ``listing.describe``
(the app's own name, pinyin sort key, theme, keywords and ``search_text``), the document being one of the demo
catalog's 81 resources (``govdata.demo.catalog_data.RESOURCES``: names, summaries, items) given to one of 40
departments (city departments and district/county branches), with the district, year or quarter in the name and
summary so that the names differ, the catalog's themes, formats and update cycles, the direct identifiers
(姓名, 公民身份号码, phones) left out of the opened items as the check would require, skewed usage counts and
ratings. Each resource template has one small snapshot (50 rows of its opened items, a formula cell in row 2)
written with ``datafiles.write_snapshot``, shared by the ~120 datasets made from it (so previews and small
downloads read real Parquet with the dataset's own columns). Then one dataset of ``--rows`` (1,000,000) rows × 11
columns (market entities: names, credit codes, districts, streets, industry, founding date, capital, staff,
status, a text remark, update time; built vectorised with polars/numpy; a few remarks start with ``=``, ``-``,
``@``), written with ``datafiles.write_snapshot`` and listed the same way, and its first tenth as another dataset
(the memory of a download 10× smaller, for comparison). A developer (``developers.register``) with one API key
(``developers.create_key``), its limit lowered to 20 calls a minute (``developers.set_limits``).
On PostgreSQL ``VACUUM ANALYZE open_datasets`` follows the bulk insert (what autovacuum does soon after).

Server: ``uvicorn --factory govdata.app:create_app`` in its own process, 1 worker (its CPU and memory from /proc),
with ``GOVDATA_OPEN_ANONYMOUS_PER_MINUTE=0``: anonymous API calls are NOT rate limited in this benchmark (the
default, 60 a minute per address, would stop it after a minute); the developer key shows the limit working.

Load and figures:
1. Search, 1 client, sequential (keep-alive): ``--requests`` (≥ 300) portal search pages ``GET /open/datasets?…``
   and as many ``GET /api/3/action/package_search?q=…&rows=10&facet.field=["organization","groups","res_format"]``,
   interleaved, over a mix of ~30 queries (common and rare words, two words, no query, department/theme/format/
   cycle filters, sort by name/downloads); p50/p95/p99 per kind. Then the same in this process without HTTP:
   ``search.search`` (what the page calls) and ``ckan.package_search`` (the action), interleaved: the
   difference is the server's overhead (routing, templates, JSON, the socket). Checks: every answer 200; CKAN's
   ``count`` equals ``search.search``'s total for the same query and filters. Then a burst of 30 CKAN calls with
   the developer key (limit 20/min): exactly 20 answered, 10 refused with 429 + Retry-After; anonymous calls
   between them all answered.
2. The 1,000,000-row dataset over HTTP: ``/download.csv`` then ``/download.json``: time to the response
   headers, to the first byte and to the first 64 KiB, total time, MB/s, rows/s; the server's VmRSS sampled
   every 50 ms during the download and VmHWM before/after (flat memory: peak growth small next to the file).
   Checks: CSV starts with a UTF-8 BOM, 1,000,000 data lines + header, Chinese header, the ``=`` / ``-`` / ``@``
   remarks neutralised with a leading ``'`` (read back with polars); JSON starts with the fields, ends ``]}``
   and has 1,000,000 records. Then ``datastore_search`` over HTTP (filter + sort + limit 100, filter + q, a deep
   page): p50/p95, totals checked against polars.
3. ``--users`` (200) concurrent anonymous readers (asyncio + httpx, keep-alive, one connection each), each looping
   for ``--seconds`` after ``--warmup`` over a reader's path: home, a search, a dataset page, its preview, and
   one time in five the CSV of a small dataset. Every non-2xx answer and every exception is an error (target 0),
   by page kind. Answers/s, p50/p95/p99 per kind (of the requests begun in the window, however long they took),
   the server's and this process's CPU (on PostgreSQL also every postgres process's). Each page kind is first
   asked for 10 times per worker (a new process's first-use costs). Repeated with 2 uvicorn workers (--workers).

``--profile N`` (after the rest, the server stopped): every page kind through the ASGI app in this process, N of
each one at a time (wall and CPU per request, no socket), then N search pages + package_search calls and N reader
paths (home, dataset page, preview) under cProfile on every thread, the hot spots printed (wall clock less waits).

Run: .venv/bin/python bench/opendata.py [--datasets 10000] [--rows 1000000] [--requests 300] [--users 200]
                                        [--seconds 20] [--warmup 3] [--workers 1,2] [--datastore 30]
                                        [--profile 0] [--quick] [--keep]
                                        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
     --quick: --requests 100 --seconds 10 --rows 200000 --datastore 10 --workers 1
Exit status 1 when any request failed (non-2xx, exception), a check failed or the server logged an error.
Targets (product issue): with 10,000 open datasets portal search and package_search p95 ≤ 50 ms; the download of
a 1,000,000-row dataset starts streaming in under 1 s with flat memory; 200 concurrent anonymous readers served
without errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from harness import cpu_seconds, free_port  # noqa: E402

ROOT = HERE.parent
TARGET_P95_MS = 50.0
TARGET_START_S = 1.0
SNAPSHOT_ROWS = 50
KEY_PER_MINUTE = 20
BURST = 30
FACET_FIELDS = json.dumps(["organization", "groups", "res_format"])
IDENTIFIERS = {"DE0001", "DE0002"}  # 姓名, 公民身份号码: removed before opening, as the check requires
IDENTIFIER_WORDS = ("手机", "电话", "身份号码", "身份证")
FORMATS = ["database", "spreadsheet", "electronic_file", "service", "self_describing"]
CYCLES = ["realtime", "daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly"]
# 6 districts × 4 branch departments + 16 city departments = 40 departments
BRANCH_COUNTIES = ("450202", "450203", "450204", "450205", "450206", "450222")

# the search mix: (kind, query parameters of the portal page)
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("common word", {"q": "医疗"}), ("common word", {"q": "企业"}), ("common word", {"q": "学校"}),
    ("common word", {"q": "名录"}), ("common word", {"q": "登记"}), ("common word", {"q": "许可"}),
    ("rare word", {"q": "村卫生室"}), ("rare word", {"q": "传染病"}), ("rare word", {"q": "纳税信用"}),
    ("rare word", {"q": "预售许可"}), ("rare word", {"q": "螺蛳粉"}), ("rare word", {"q": "养老机构"}),
    ("two words", {"q": "柳南区 医疗"}), ("two words", {"q": "学校 名录"}), ("two words", {"q": "城中区 教育"}),
    ("two words", {"q": "2023年 许可"}), ("two words", {"q": "企业 信用"}), ("two words", {"q": "社会保障 参保"}),
    ("no query", {}), ("no query", {"page": "3"}),
    ("filter", {"provider": "450200-WJ"}), ("filter", {"theme": "201"}), ("filter", {"format": "spreadsheet"}),
    ("filter", {"update_cycle": "monthly"}), ("filter", {"q": "名录", "provider": "450202-JY"}),
    ("filter", {"q": "信息", "theme": "203"}),
    ("sort", {"sort": "name"}), ("sort", {"sort": "downloads"}), ("sort", {"q": "医疗", "sort": "name"}),
    ("sort", {"q": "登记", "sort": "downloads"}),
]
KINDS = ["common word", "rare word", "two words", "no query", "filter", "sort"]
READER_WORDS = ["医疗", "学校", "企业", "名录", "养老", "公积金", "许可", "柳南区", "信用", "社保", "药店", "交通"]


def quick(args: argparse.Namespace) -> None:
    args.requests, args.seconds, args.rows, args.datastore, args.workers = 100, 10, 200_000, 10, "1"


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p * len(s)))] if s else float("nan")


def mb(n: float) -> float:
    return n / 2**20


# ---- setup: departments, 10,000 open datasets, the 1,000,000-row dataset, a developer key ------------------------

def departments() -> list[tuple[str, str, str]]:
    """(code, name, abbreviation): the city's departments and the branches of 6 districts (40)."""
    from govdata.demo import data

    city = [(code, name, code.split("-")[1]) for code, name, _ in data.CITY_DEPARTMENTS]
    branches = [(f"{region}-{abbr}", f"{data.COUNTIES[region][0]}{suffix}", abbr)
                for region in BRANCH_COUNTIES for abbr, suffix in data.COUNTY_DEPARTMENTS]
    return city + branches


def theme_codes() -> dict[str, str]:
    from govdata.catalog.classifications import BASE_TREE

    return {path: code for code, path in BASE_TREE}


def opened_items(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's items without direct identifiers, as ``listing`` stores opened items."""
    return [{"key": i["key"], "name": i["name"], "data_type": i.get("data_type"), "length": i.get("length"),
             "data_element": i.get("data_element"), "treatment": "keep", "treatment_label": ""}
            for i in template["items"]
            if i.get("data_element") not in IDENTIFIERS and not any(w in i["name"] for w in IDENTIFIER_WORDS)]


def small_snapshot(n: int, template: dict[str, Any]) -> tuple[str, str, int, int]:
    """50 rows of the template's opened items; returns (key, sha256, bytes, rows)."""
    from datetime import date

    import polars as pl

    from govdata.opendata import datafiles

    columns: dict[str, Any] = {}
    for item in opened_items(template):
        kind = item["data_type"]
        if kind == "N":
            columns[item["key"]] = pl.Series([(r * 37) % 1000 for r in range(SNAPSHOT_ROWS)], dtype=pl.Int64)
        elif kind == "D":
            columns[item["key"]] = pl.Series([date(2020, 1, 1) + timedelta(days=r * 11)
                                              for r in range(SNAPSHOT_ROWS)])
        else:
            values = [f"{item['name']}{r + 1:03d}" for r in range(SNAPSHOT_ROWS)]
            values[1] = "=HYPERLINK(\"http://evil.example\")"
            columns[item["key"]] = pl.Series(values, dtype=pl.String)
    key = f"open/bench/template-{n:03d}.parquet"
    sha, size, rows = datafiles.write_snapshot(pl.DataFrame(columns), key)
    return key, sha, size, rows


DESCRIBED = ("name", "summary", "name_pinyin", "provider", "provider_name", "theme_code", "theme_name",
             "classification_path", "format", "update_cycle", "has_api", "keywords", "open_condition", "contact",
             "catalog_version", "search_text")


def listing_row(doc: dict[str, Any], *, data: tuple[str, str, int, int], items: list[dict[str, Any]],
                opened: datetime, rng: random.Random) -> dict[str, Any]:
    """The ``open_datasets`` row ``listing`` would write for ``doc``: ``listing.describe`` on a listing object."""
    from govdata.opendata import listing
    from govdata.opendata.models import OpenDataset

    listed = OpenDataset()
    listing.describe(listed, doc)
    key, sha, size, rows = data
    popular = rng.paretovariate(1.1)
    views = int(popular * 40)
    rated = rng.randrange(0, 12) if rng.random() < 0.3 else 0
    return {
        **{name: getattr(listed, name) for name in DESCRIBED},
        "code": doc["code"], "slug": listing.slug_of(doc["code"]), "package_id": listing.package_id_of(doc["code"]),
        "status": "open", "withdrawn_reason": "", "license_id": "CC-BY-4.0", "items": items, "version_number": 1,
        "data_key": key, "data_sha256": sha, "data_bytes": size, "row_count": rows,
        "quality_score": round(rng.uniform(70, 99), 1), "opened_by": "bench", "opened_at": opened,
        "data_updated_at": opened + timedelta(days=rng.randrange(0, 60)), "modified_at": opened + timedelta(days=60),
        "views": views, "downloads": int(views * rng.uniform(0.05, 0.4)), "api_calls": int(views * rng.uniform(0, 2)),
        "rating_sum": sum(rng.randrange(3, 6) for _ in range(rated)), "rating_count": rated,
    }


def seed_datasets(n: int) -> tuple[list[str], list[str], dict[str, float]]:
    """``n`` open datasets (bulk insert); returns (their slugs, the slugs of the small ones, times)."""
    from sqlalchemy import insert

    from govdata.db import new_session
    from govdata.demo import data
    from govdata.demo.catalog_data import RESOURCES
    from govdata.opendata.models import OpenDataset

    times: dict[str, float] = {}
    started = time.perf_counter()
    snapshots = [small_snapshot(i, t) for i, t in enumerate(RESOURCES)]
    times["81 small snapshots"] = time.perf_counter() - started
    started = time.perf_counter()
    rng = random.Random(20261123)
    depts = departments()
    by_abbr: dict[str, list[tuple[str, str, str]]] = {}
    for dept in depts:
        by_abbr.setdefault(dept[2], []).append(dept)
    themes = theme_codes()
    county_of = {region: name for region, (name, _) in data.COUNTIES.items()}
    dept_classes = {d[0]: f"3{i + 1:02d}" for i, d in enumerate(depts)}
    rows = []
    first = datetime(2024, 1, 1, 9, tzinfo=UTC)
    for seq in range(n):
        t = rng.randrange(len(RESOURCES))
        template = RESOURCES[t]
        abbr = template["provider"].split("-")[1]
        choices = by_abbr.get(abbr) or depts
        dept = rng.choice(depts) if rng.random() < 0.1 else rng.choice(choices)
        region = dept[0].split("-")[0]
        area = county_of.get(region, "柳州市")
        year = rng.randrange(2016, 2026)
        suffix = rng.choice(["", "", f"({year}年)", f"({year}年度汇总)", f"({year}年第{rng.randrange(1, 5)}季度)"])
        base = template["name"]
        name = f"{area}{base}{suffix}" if region != "450200" or rng.random() < 0.3 else f"{base}{suffix}"
        summary = template["summary"].replace("柳州市", area) + f"数据范围:{area}{year}年。"
        path = template["classification"]
        cls = themes.get(path) or dept_classes[dept[0]]
        if path.startswith("部门/"):
            path = f"部门/{dept[0]}"
        doc = {"code": f"{cls}/{900000 + seq:06d}", "name": name, "summary": summary, "provider": dept[0],
               "provider_name": dept[1], "classification": path, "classification_code": cls,
               "format": template["format"] if rng.random() < 0.7 else rng.choice(FORMATS),
               "update_cycle": template["update_cycle"] if rng.random() < 0.7 else rng.choice(CYCLES),
               "open_condition": "", "contact": template.get("contact") or "", "version": 1,
               "items": opened_items(template)}
        opened = first + timedelta(minutes=seq * 97 % (700 * 24 * 60))
        rows.append(listing_row(doc, data=snapshots[t], items=doc["items"], opened=opened, rng=rng))
    times["describe (listing.describe)"] = time.perf_counter() - started
    started = time.perf_counter()
    with new_session() as db:
        for start in range(0, len(rows), 2000):
            db.execute(insert(OpenDataset), rows[start:start + 2000])
        db.commit()
    times["bulk insert"] = time.perf_counter() - started
    _analyze()
    return [r["slug"] for r in rows], [r["slug"] for r in rows[:500]], times


def _analyze() -> None:
    from sqlalchemy import text

    from govdata.db import get_engine

    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE open_datasets"))


BIG_ITEMS = [("org_name", "市场主体名称", "C"), ("credit_code", "统一社会信用代码", "C"), ("district", "所在区县", "C"),
             ("street", "所在街道(乡镇)", "C"), ("industry", "行业类别", "C"), ("founded", "成立日期", "D"),
             ("capital", "注册资本(万元)", "N"), ("staff", "从业人数", "N"), ("status", "登记状态", "C"),
             ("remark", "备注", "C"), ("updated_at", "数据更新时间", "T")]
TEXT_COLUMNS = [k for k, _, t in BIG_ITEMS if t == "C"]
PLANTED = {7: "=SUM(A1:A9)", 13: "-较上年减少", 17: "@柳州市场监管"}  # row % 100,000 → remark


def big_frame(rows: int) -> Any:
    """``rows`` market entities, vectorised (numpy picks, polars string building)."""
    import numpy as np
    import polars as pl

    from govdata.demo import data

    rng = np.random.default_rng(20261123)
    regions = list(data.COUNTIES)
    county = rng.integers(0, len(regions), rows)
    streets = np.array([[data.COUNTIES[r][1][j % len(data.COUNTIES[r][1])] for j in range(3)] for r in regions])
    words = np.array(list("鑫源华通龙城恒达广金桂江壶东中立冲宏盛新兴荣昌福顺和泰佳美百乐安康嘉信德隆永丰瑞祥"))
    kinds = np.array(["有限公司", "商贸有限公司", "科技有限公司", "诊所", "大药房", "超市", "幼儿园", "餐饮店",
                      "汽车维修部", "培训学校", "物业服务有限公司", "螺蛳粉店", "建材经营部", "农民专业合作社"])
    industries = np.array(["批发和零售业", "住宿和餐饮业", "制造业", "建筑业", "交通运输、仓储和邮政业",
                           "信息传输、软件和信息技术服务业", "租赁和商务服务业", "居民服务、修理和其他服务业",
                           "卫生和社会工作", "教育", "农、林、牧、渔业", "房地产业", "文化、体育和娱乐业"])
    statuses = np.array(["存续", "在业", "迁出", "注销", "吊销"])
    remarks = np.array(["经营场所已核实", "年报已公示", "列入经营异常名录后已移出", "地址变更", "名称变更"])
    pick = lambda pool, p=None: pool[rng.choice(len(pool), rows, p=p)]  # noqa: E731
    index = np.arange(rows)
    remark = np.where(rng.random(rows) < 0.1, pick(remarks), "")
    for where, value in PLANTED.items():
        remark[index % 100_000 == where] = value
    frame = pl.DataFrame({
        "org_name": pl.Series(np.array(regions)[county]).replace(
            {r: data.COUNTIES[r][0] for r in regions}),
        "a": pick(words), "b": pick(words), "kind": pick(kinds),
        "credit_code": pl.Series(rng.integers(0, 10**10, rows)).cast(pl.String).str.zfill(10),
        "district": pl.Series(np.array(regions)[county]).replace({r: data.COUNTIES[r][0] for r in regions}),
        "street": streets[county, rng.integers(0, 3, rows)],
        "industry": pick(industries),
        "founded": pl.Series(np.datetime64("1990-01-01") + rng.integers(0, 35 * 365, rows).astype("timedelta64[D]")),
        "capital": np.round(rng.lognormal(4.0, 1.5, rows), 2),
        "staff": rng.integers(1, 2000, rows).astype(np.int32),
        "status": pick(statuses, [0.6, 0.2, 0.05, 0.1, 0.05]),
        "remark": remark,
        "updated_at": (np.datetime64("2025-01-01T00:00:00") + rng.integers(0, 365 * 86400, rows)
                       .astype("timedelta64[s]")).astype("datetime64[us]"),
        "region": pl.Series(np.array(regions)[county]),
    })
    return frame.with_columns(
        org_name=pl.lit("柳州市") + pl.col("org_name") + pl.col("a") + pl.col("b") + pl.col("kind"),
        credit_code=pl.lit("91") + pl.col("region") + pl.col("credit_code"),
        remark=pl.when(pl.col("remark") != "").then(pl.col("remark")),
    ).select([key for key, _, _ in BIG_ITEMS])


def seed_big(rows: int) -> tuple[list[dict[str, Any]], Any, dict[str, float]]:
    """The big dataset listed, and its first tenth as another; returns (their rows as inserted, the tenth's first;
    the frame; times)."""
    from sqlalchemy import insert

    from govdata.db import new_session
    from govdata.opendata import datafiles
    from govdata.opendata.models import OpenDataset

    times: dict[str, float] = {}
    started = time.perf_counter()
    frame = big_frame(rows)
    times["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    key = "open/bench/market-entities.parquet"
    data = (key, *datafiles.write_snapshot(frame, key))
    times["write_snapshot"] = time.perf_counter() - started
    items = [{"key": k, "name": n, "data_type": t, "length": None, "data_element": None, "treatment": "keep",
              "treatment_label": ""} for k, n, t in BIG_ITEMS]
    doc = {"code": "204/000001", "name": "市场主体登记信息(全量)", "provider": "450200-SJ",
           "provider_name": "柳州市市场监督管理局", "summary": "全市各类市场主体的登记信息:名称、统一社会信用代码、"
           "所在区县和街道、行业、成立日期、注册资本、从业人数、登记状态。每日更新。",
           "classification": "主题/市场监管", "classification_code": "204", "format": "database",
           "update_cycle": "daily", "open_condition": "", "contact": "0772-2867330", "version": 1, "items": items}
    row = listing_row(doc, data=data, items=items, opened=datetime(2025, 6, 1, tzinfo=UTC), rng=random.Random(1))
    key = "open/bench/market-entities-tenth.parquet"
    tenth = {**doc, "code": "204/000002", "name": "市场主体登记信息(十分之一样本)"}
    tenth_row = listing_row(tenth, data=(key, *datafiles.write_snapshot(frame.head(rows // 10), key)), items=items,
                            opened=datetime(2025, 6, 1, tzinfo=UTC), rng=random.Random(2))
    with new_session() as db:
        db.execute(insert(OpenDataset), [row, tenth_row])
        db.commit()
    return [tenth_row, row], frame, times


def developer_key() -> str:
    """A developer's API key, limited to KEY_PER_MINUTE calls a minute."""
    from govdata.db import new_session
    from govdata.opendata import developers
    from govdata.opendata.schemas import DeveloperIn, KeyLimits
    from govdata.principal import CLI, Principal

    attempt = Principal(kind="anonymous", name="bench", role="anonymous", ip="127.0.0.1")
    with new_session() as db:
        developer = developers.register(db, DeveloperIn(email="bench@example.org", display_name="基准测试开发者",
                                                        password="Bench-Passw0rd-2026"), attempt)
        key, full = developers.create_key(db, developer, "基准测试", attempt)
        developers.set_limits(db, CLI, key.id, KeyLimits(per_minute=KEY_PER_MINUTE, per_day=100_000))
    return full


# ---- the server ----------------------------------------------------------------------------------------------------

@dataclass
class Server:
    port: int
    pid: int
    workers: int

    def pids(self) -> list[int]:
        children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == self.pid]
        return [self.pid, *children]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server and its worker processes so far."""
        return sum(cpu_seconds(pid) for pid in self.pids())

    def memory(self, field_name: str) -> int:
        """VmRSS or VmHWM of the serving process (1 worker: the server itself), bytes."""
        return _status(self.pid, field_name)


def _ppid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _status(pid: int, name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@contextmanager
def server(workers: int) -> Iterator[Server]:
    """``uvicorn --factory govdata.app:create_app`` with anonymous API calls unlimited."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "govdata.app:create_app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", "--no-access-log"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, "GOVDATA_OPEN_ANONYMOUS_PER_MINUTE": "0"}
    log = open(Path(os.environ["GOVDATA_VAR_DIR"]) / "server.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        harness.wait_ready(port, proc)
        yield Server(port, proc.pid, workers)
    finally:
        harness.stop(proc)
        log.close()


def server_errors(path: Path) -> int:
    """The server's errors, by exception (the last line of each traceback); returns how many ERROR lines."""
    if not path.exists():
        return 0
    lines = path.read_text(errors="replace").splitlines()
    requests = [line for line in lines if " ERROR " in line]
    exceptions = Counter(line for line in lines if re.match(r"^[\w.]+(Error|Exception|Timeout)\b", line))
    if requests or exceptions:
        print(f"server log: {len(requests)} errors; first: {requests[0][:200] if requests else '-'}", flush=True)
        for text, n in exceptions.most_common(5):
            print(f"  {n:>5} × {text[:300]}", flush=True)
    return len(requests) + sum(exceptions.values())


# ---- 1. search -----------------------------------------------------------------------------------------------------

def portal_url(params: dict[str, str]) -> str:
    return "/open/datasets" + (f"?{urlencode(params)}" if params else "")


def ckan_params(params: dict[str, str]) -> dict[str, str]:
    """The same search as CKAN's package_search: q, fq on organization/groups/update_cycle, sort; the catalog's
    format (资源格式) has no CKAN field and is left out."""
    from govdata.opendata import ckan

    out = {"rows": "10", "facet.field": FACET_FIELDS}
    if params.get("q"):
        out["q"] = params["q"]
    fq = []
    if params.get("provider"):
        fq.append(f"organization:{ckan.org_name(params['provider'])}")
    if params.get("theme"):
        fq.append(f"groups:{params['theme']}")
    if params.get("update_cycle"):
        fq.append(f"update_cycle:{params['update_cycle']}")
    if fq:
        out["fq"] = " AND ".join(fq)
    sort = {"name": "title_string asc", "downloads": "downloads desc"}.get(params.get("sort", ""))
    if sort:
        out["sort"] = sort
    if params.get("page"):
        out["start"] = str((int(params["page"]) - 1) * 10)
    return out


def search_kwargs(params: dict[str, str], page_size: int = 20) -> dict[str, Any]:
    from govdata.opendata import search

    filters = search.Filters(provider=params.get("provider"), theme=params.get("theme"),
                             format=params.get("format"), update_cycle=params.get("update_cycle"))
    return {"q": params.get("q"), "filters": filters, "sort": params.get("sort") or "relevance",
            "page": int(params.get("page", 1)), "page_size": page_size}


@dataclass
class Timings:
    ms: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # column → kind → samples
    errors: Counter = field(default_factory=Counter)

    def add(self, column: str, kind: str, ms: float) -> None:
        by_kind = self.ms.setdefault(column, {})
        by_kind.setdefault(kind, []).append(ms)
        by_kind.setdefault("all", []).append(ms)


def http_search(srv: Server, mix: list[tuple[str, dict[str, str]]], timings: Timings) -> dict[int, int]:
    """Portal page and package_search, interleaved, 1 client; returns CKAN's count per mix position."""
    import httpx

    counts: dict[int, int] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=60) as client:
        for _ in range(2):  # warm-up: every query once
            for params in {json.dumps(p, sort_keys=True) for _, p in QUERIES}:
                client.get(portal_url(json.loads(params)))
                client.get("/api/3/action/package_search", params=ckan_params(json.loads(params)))
        for position, (kind, params) in enumerate(mix):
            started = time.perf_counter()
            r = client.get(portal_url(params))
            ms = (time.perf_counter() - started) * 1000
            if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
                timings.errors[f"portal search {r.status_code}"] += 1
            timings.add("portal page (HTTP)", kind, ms)
            started = time.perf_counter()
            r = client.get("/api/3/action/package_search", params=ckan_params(params))
            ms = (time.perf_counter() - started) * 1000
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if r.status_code != 200 or not body.get("success"):
                timings.errors[f"package_search {r.status_code}"] += 1
            else:
                counts[position] = body["result"]["count"]
            timings.add("package_search (HTTP)", kind, ms)
    return counts


def inprocess_search(mix: list[tuple[str, dict[str, str]]], timings: Timings) -> dict[int, int]:
    """``search.search`` (the page's query) and ``ckan.package_search`` (the action), in this process."""
    from govdata.db import new_session
    from govdata.opendata import ckan, search

    totals: dict[int, int] = {}
    call = ckan.Call("package_search", "/api/3/action/package_search")
    with new_session() as db:
        for _, params in QUERIES:  # warm-up
            search.search(db, **search_kwargs(params))
            ckan.package_search(db, ckan_params(params), call)
        for position, (kind, params) in enumerate(mix):
            started, cpu = time.perf_counter(), time.process_time()
            result = search.search(db, **search_kwargs(params))
            timings.add("search.search (in-process)", kind, (time.perf_counter() - started) * 1000)
            timings.add("search.search CPU", kind, (time.process_time() - cpu) * 1000)
            if "format" not in params:
                totals[position] = result.total
            started, cpu = time.perf_counter(), time.process_time()
            ckan.package_search(db, ckan_params(params), call)
            timings.add("ckan.package_search (in-process)", kind, (time.perf_counter() - started) * 1000)
            timings.add("ckan.package_search CPU", kind, (time.process_time() - cpu) * 1000)
            db.rollback()
    return totals


def print_search(timings: Timings, columns: list[str]) -> None:
    print(f"\n{'kind of query':<14}" + "".join(f"{c:>34}" for c in columns))
    print(f"{'(ms)':<14}" + "".join(f"{'p50    p95    p99':>34}" for _ in columns))
    for kind in [*KINDS, "all"]:
        cells = ""
        for c in columns:
            xs = timings.ms[c].get(kind, [])
            cells += f"{pct(xs, .5):>20.1f}{pct(xs, .95):>7.1f}{pct(xs, .99):>7.1f}"
        count = len(timings.ms[columns[0]].get(kind, []))
        print(f"{kind:<14}{cells}   ({count} each)", flush=True)


def rate_limit_check(srv: Server, key: str) -> tuple[str, bool]:
    """BURST package_search calls with the key (limit KEY_PER_MINUTE a minute), an anonymous call after each."""
    import httpx

    if time.time() % 60 > 50:  # the whole burst inside one minute
        time.sleep(61 - time.time() % 60)
    got: Counter = Counter()
    anonymous: Counter = Counter()
    retry = set()
    started = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=60) as client:
        for _ in range(BURST):
            r = client.get("/api/3/action/package_search", params={"q": "医疗", "rows": "1"},
                           headers={"Authorization": key})
            got[r.status_code] += 1
            if r.status_code == 429:
                retry.add(r.headers.get("retry-after"))
            anonymous[client.get("/api/3/action/package_search", params={"q": "医疗", "rows": "1"}).status_code] += 1
    ok = got[200] == KEY_PER_MINUTE and got[429] == BURST - KEY_PER_MINUTE and set(anonymous) == {200} \
        and None not in retry
    line = (f"developer key limited to {KEY_PER_MINUTE}/min: {BURST} calls in {time.perf_counter() - started:.1f} s "
            f"→ {dict(got)} (Retry-After {sorted(r for r in retry if r)}); anonymous calls between them → "
            f"{dict(anonymous)} (GOVDATA_OPEN_ANONYMOUS_PER_MINUTE=0: unlimited in this benchmark): "
            f"{'as expected' if ok else 'WRONG'}")
    return line, ok


# ---- 2. the 1,000,000-row dataset ---------------------------------------------------------------------------------

@dataclass
class Download:
    fmt: str
    status: int
    size: int = 0
    headers_s: float = 0.0
    first_s: float = 0.0
    first64k_s: float = 0.0
    total_s: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    hwm_before: int = 0
    hwm_after: int = 0
    checks: list[str] = field(default_factory=list)
    ok: bool = True


def download(srv: Server, slug: str, fmt: str, dest: Path) -> Download:
    """Stream the file to ``dest``, the server's RSS sampled every 50 ms meanwhile."""
    import httpx

    result = Download(fmt, 0, rss_before=srv.memory("VmRSS"), hwm_before=srv.memory("VmHWM"))
    peak = [result.rss_before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], srv.memory("VmRSS"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=600) as client, \
                client.stream("GET", f"/open/datasets/{slug}/download.{fmt}") as r, dest.open("wb") as out:
            result.status = r.status_code
            result.headers_s = time.perf_counter() - started
            for chunk in r.iter_raw():
                now = time.perf_counter() - started
                if not result.size:
                    result.first_s = now
                result.size += len(chunk)
                if not result.first64k_s and result.size >= 65536:
                    result.first64k_s = now
                out.write(chunk)
        result.total_s = time.perf_counter() - started
    finally:
        done.set()
        sampler.join()
    result.rss_peak = max(peak[0], srv.memory("VmRSS"))
    result.hwm_after = srv.memory("VmHWM")
    result.ok = result.status == 200
    return result


def warm_downloads(srv: Server, slug: str) -> None:
    """A small dataset's CSV and JSON first: the server imports and sets up what a download uses (pyarrow's
    reader, polars' writers) once per process; that is not the big file's memory."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=60) as client:
        for fmt in ("csv", "json"):
            client.get(f"/open/datasets/{slug}/download.{fmt}").raise_for_status()


def check_csv(result: Download, path: Path, rows: int) -> None:
    import polars as pl

    head = path.open("rb").read(3)
    lines = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            lines += chunk.count(b"\n")
    frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    names = [n for _, n, _ in BIG_ITEMS]
    header = [c.lstrip("\ufeff") for c in frame.columns]
    planted = {i: frame["备注"][i] for base in range(0, rows, 100_000) for i in
               (base + k for k in PLANTED) if i < rows}
    neutral = all(v == "'" + PLANTED[i % 100_000] for i, v in planted.items())
    checks = [("BOM", head == b"\xef\xbb\xbf"), (f"{lines:,} lines = {rows:,} + header", lines == rows + 1),
              (f"{frame.height:,} rows read back", frame.height == rows), ("Chinese header", header == names),
              (f"{len(planted)} planted =/-/@ remarks neutralised with '", neutral and bool(planted))]
    result.checks = [f"{label}: {'ok' if good else 'WRONG'}" for label, good in checks]
    result.ok = result.ok and all(good for _, good in checks)


def check_json(result: Download, path: Path, rows: int) -> None:
    data = path.read_bytes()
    records = data.count(b'},{"') + 1 if b'"records": [{' in data else 0
    checks = [("starts with the fields", data.startswith(b'{"fields": [')), ("ends ]}", data.endswith(b"]}")),
              (f"{records:,} records", records == rows)]
    result.checks = [f"{label}: {'ok' if good else 'WRONG'}" for label, good in checks]
    result.ok = result.ok and all(good for _, good in checks)
    del data


def print_download(d: Download, rows: int) -> None:
    rate = mb(d.size) / d.total_s if d.total_s else float("nan")
    growth = d.rss_peak - d.rss_before
    print(f"{d.fmt:<5} {rows:>9,} {d.status:>4} {mb(d.size):>8.1f} {d.headers_s * 1000:>8.1f} {d.first_s * 1000:>8.1f} "
          f"{d.first64k_s * 1000:>8.1f} {d.total_s:>7.2f} {rate:>7.1f} {rows / d.total_s if d.total_s else 0:>10,.0f} "
          f"{mb(d.rss_before):>8.0f} {mb(d.rss_peak):>8.0f} {mb(growth):>+7.0f} ({growth / max(d.size, 1):>5.1%} of "
          f"the file) {mb(d.hwm_before):>7.0f}→{mb(d.hwm_after):.0f}", flush=True)
    print(f"{'':<16}checks: {'; '.join(d.checks)}", flush=True)


def datastore(srv: Server, rid: str, frame: Any, n: int) -> tuple[list[str], int]:
    """datastore_search variants over HTTP, n each interleaved; totals checked against the frame."""
    import httpx
    import polars as pl

    regions = frame["district"].unique().sort().to_list()
    variants = {
        "filter district + sort capital desc, limit 100":
            lambda i: ({"filters": json.dumps({"district": regions[i % len(regions)]}), "sort": "capital desc",
                        "limit": "100"}, frame.filter(pl.col("district") == regions[i % len(regions)]).height),
        "filter status + q '螺蛳粉', limit 100":
            lambda i: ({"filters": json.dumps({"status": "存续"}), "q": "螺蛳粉", "limit": "100"},
                       frame.filter((pl.col("status") == "存续") & pl.concat_str(
                           [pl.col(c).fill_null("") for c in TEXT_COLUMNS], separator="\x00").str.contains(
                           "螺蛳粉", literal=True)).height),
        "no filter, offset up to 90 % of the rows, limit 100":
            lambda i: ({"offset": str(frame.height * (i % 10) // 11), "limit": "100"}, frame.height),
    }
    ms: dict[str, list[float]] = {label: [] for label in variants}
    errors = 0
    wrong: list[str] = []
    expected: dict[tuple[str, int], int] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=120) as client:
        for i in range(n + 1):
            for label, make in variants.items():
                params, _ = make(i)
                started = time.perf_counter()
                r = client.get("/api/3/action/datastore_search", params={"resource_id": rid, **params})
                elapsed = (time.perf_counter() - started) * 1000
                if r.status_code != 200 or not r.json().get("success"):
                    errors += 1
                    wrong.append(f"{label}: {r.status_code} {r.text[:200]}")
                    continue
                result = r.json()["result"]
                if i < 3:  # totals checked on the first few (polars in this process)
                    key = (label, i)
                    expected[key] = make(i)[1]
                    if result["total"] != expected[key] or len(result["records"]) > 100:
                        wrong.append(f"{label}: total {result['total']} ≠ {expected[key]}")
                if i:  # the first round warms up
                    ms[label].append(elapsed)
    lines = [f"  {label:<54} p50 {pct(xs, .5):>7.1f} ms   p95 {pct(xs, .95):>7.1f} ms   ({len(xs)} calls)"
             for label, xs in ms.items()]
    lines += [f"  WRONG: {w}" for w in wrong[:5]]
    return lines, errors + len(wrong)


# ---- 3. concurrent readers ----------------------------------------------------------------------------------------

READER_KINDS = ("home", "search", "dataset page", "preview", "small CSV")


@dataclass
class Readers:
    users: int
    workers: int
    seconds: float
    ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in READER_KINDS})
    errors: Counter = field(default_factory=Counter)  # (kind, status or exception) → n
    completed: int = 0  # answers received within the window (the rate)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    db_cpu: float = 0.0  # every postgres process on the machine

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.ms.values())


async def _readers(port: int, users: int, seconds: float, warmup: float, slugs: list[str], small: list[str],
                   run: Readers) -> None:
    import httpx

    loop = asyncio.get_running_loop()
    measure_from = loop.time() + warmup
    deadline = measure_from + seconds

    async def one(client: httpx.AsyncClient, kind: str, path: str) -> None:
        began = loop.time()
        try:
            r = await client.get(path)
        except (httpx.HTTPError, OSError) as exc:
            run.errors[(kind, type(exc).__name__)] += 1
            return
        ended = loop.time()
        if not 200 <= r.status_code < 300:
            run.errors[(kind, str(r.status_code))] += 1
            return
        if began >= measure_from:  # begun in the window: its latency, however long it took
            run.ms[kind].append((ended - began) * 1000)
        if measure_from <= ended <= deadline:
            run.completed += 1

    async def user(k: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(k)
        await asyncio.sleep(rng.random() * min(warmup, 1.0))  # arrivals spread over the first second
        while loop.time() < deadline:
            slug = rng.choice(slugs)
            path = [("home", "/open/"), ("search", portal_url({"q": rng.choice(READER_WORDS)})),
                    ("dataset page", f"/open/datasets/{slug}"), ("preview", f"/open/datasets/{slug}/preview")]
            if rng.random() < 0.2:
                path.append(("small CSV", f"/open/datasets/{rng.choice(small)}/download.csv"))
            for kind, url in path:
                if loop.time() >= deadline:
                    break
                await one(client, kind, url)

    limits = httpx.Limits(max_connections=users + 10, max_keepalive_connections=users + 10, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as client:
        await asyncio.gather(*(user(k, client) for k in range(users)))


def readers(srv: Server, users: int, seconds: float, warmup: float, slugs: list[str], small: list[str]) -> Readers:
    """The readers' load, after every page kind was asked for 10 times per worker one at a time (first-use costs of
    a new process — the jieba dictionary, templates, the database's cache — are not the readers')."""
    import httpx

    rng = random.Random(11)
    with httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=120) as client:
        for _ in range(10 * srv.workers):
            slug = rng.choice(slugs)
            for path in ("/open/", portal_url({"q": rng.choice(READER_WORDS)}), f"/open/datasets/{slug}",
                         f"/open/datasets/{slug}/preview", f"/open/datasets/{rng.choice(small)}/download.csv"):
                client.get(path)
    run = Readers(users, srv.workers, seconds)
    cpu, client_cpu, db_cpu = srv.cpu_seconds(), time.process_time(), postgres_cpu()
    asyncio.run(_readers(srv.port, users, seconds, warmup, slugs, small, run))
    run.server_cpu, run.client_cpu = srv.cpu_seconds() - cpu, time.process_time() - client_cpu
    after = postgres_cpu()
    run.db_cpu = sum(t - db_cpu.get(pid, 0.0) for pid, t in after.items())
    return run


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL process on this machine (other databases' work included; a process that
    ends before the second reading is lost, so the difference is a lower bound)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "postgres":
                    found[int(proc.name)] = cpu_seconds(int(proc.name))
            except OSError:
                continue
    return found


def print_readers(run: Readers, warmup: float) -> None:
    wall = run.seconds + warmup
    print(f"\n{run.users} readers, {run.workers} uvicorn worker(s), {run.seconds:g} s measured after {warmup:g} s "
          f"warm-up: {run.completed / run.seconds:,.1f} answers/s; server CPU {run.server_cpu / wall:.2f} cores, "
          f"this process (the clients) {run.client_cpu / wall:.2f} cores; server CPU per answer "
          f"{run.server_cpu * 1000 / max(run.requests, 1):.0f} ms"
          + (f"; PostgreSQL processes (all on this machine, at least) {run.db_cpu / wall:.2f} cores"
             if run.db_cpu else "")
          + f"; errors {sum(run.errors.values())}")
    print("  latency of the requests begun in the window (the last ones end after it: counted, not cut off)")
    print(f"  {'page':<14}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind in READER_KINDS:
        xs = run.ms[kind]
        errors = sum(n for (k, _), n in run.errors.items() if k == kind)
        print(f"  {kind:<14}{len(xs):>9}{pct(xs, .5):>9.1f}{pct(xs, .95):>9.1f}{pct(xs, .99):>9.1f}{errors:>8}")
    for (kind, what), n in run.errors.most_common(10):
        print(f"    error: {kind}: {what} × {n}")
    print("", end="", flush=True)


# ---- profile -------------------------------------------------------------------------------------------------------


def profile(count: int, slugs: list[str], small: list[str]) -> None:
    """Each page kind through the ASGI app in this process, one request at a time (wall and process CPU per
    request, no socket); then ``count`` search pages + package_search calls, and ``count`` reader paths (home,
    dataset page, preview), under cProfile."""

    import httpx

    from govdata.app import create_app

    app = create_app()
    rng = random.Random(3)
    kinds: dict[str, Any] = {
        "portal search page": lambda i: (portal_url(QUERIES[i % len(QUERIES)][1]), None),
        "package_search": lambda i: ("/api/3/action/package_search", ckan_params(QUERIES[i % len(QUERIES)][1])),
        "home": lambda i: ("/open/", None),
        "dataset page": lambda i: (f"/open/datasets/{rng.choice(slugs)}", None),
        "preview": lambda i: (f"/open/datasets/{rng.choice(slugs)}/preview", None),
        "small CSV": lambda i: (f"/open/datasets/{rng.choice(small)}/download.csv", None),
    }

    async def requests(plan: list[tuple[str, Any]], times: dict[str, list[tuple[float, float]]] | None) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:
            for i, (kind, make) in enumerate(plan):
                path, params = make(i)
                started, cpu = time.perf_counter(), time.process_time()
                r = await client.get(path, params=params)
                if times is not None:
                    times.setdefault(kind, []).append(((time.perf_counter() - started) * 1000,
                                                       (time.process_time() - cpu) * 1000))
                assert r.status_code == 200, (path, r.status_code)

    every = [(kind, make) for _ in range(count) for kind, make in kinds.items()]
    asyncio.run(requests(every[: 2 * len(kinds)], None))  # warm
    times: dict[str, list[tuple[float, float]]] = {}
    asyncio.run(requests(every, times))
    print(f"\n## in this process through the ASGI app (no socket), one request at a time, {count} of each "
          "interleaved: ms per request (process CPU includes the in-process client)")
    print(f"  {'page':<20}{'wall p50':>10}{'wall p95':>10}{'CPU p50':>10}{'CPU p95':>10}")
    for kind, xs in times.items():
        wall, cpu = [w for w, _ in xs], [c for _, c in xs]
        print(f"  {kind:<20}{pct(wall, .5):>10.1f}{pct(wall, .95):>10.1f}{pct(cpu, .5):>10.1f}{pct(cpu, .95):>10.1f}")
    for label, plan in (("portal search pages + package_search calls",
                         [(k, kinds[k]) for _ in range(count) for k in ("portal search page", "package_search")]),
                        ("reader paths (home, dataset page, preview)",
                         [(k, kinds[k]) for _ in range(count) for k in ("home", "dataset page", "preview")])):
        stats = _profiled(lambda plan=plan: asyncio.run(requests(plan, None)))
        print(f"\n## profile: {label}, {count} of each, through the ASGI app, cProfile on every thread (wall clock "
              "less waits); ms per request own / with callees, calls per request", flush=True)
        harness.print_hot(stats, len(plan), "tottime", 25, waits=False)
        harness.print_hot(stats, len(plan), "cumtime", 30, only="govdata/", waits=False)


def _profiled(fn: Any) -> Any:
    """pstats of ``fn`` run in a new thread, every thread it starts profiled too."""
    import cProfile
    import pstats

    profilers: list[cProfile.Profile] = []

    def start(frame: Any, event: str, arg: Any) -> None:
        sys.setprofile(None)
        profiler = cProfile.Profile()
        profilers.append(profiler)
        profiler.enable()

    threading.setprofile(start)
    worker = threading.Thread(target=fn)
    worker.start()
    worker.join()
    threading.setprofile(None)
    stats = pstats.Stats(profilers[0])
    for p in profilers[1:]:
        stats.add(p)
    return stats


# ---- the run -------------------------------------------------------------------------------------------------------

def run(work: Path, args: argparse.Namespace, backend: str) -> int:
    import logging

    from govdata import migrate

    started = time.perf_counter()
    migrate.upgrade()
    logging.disable(logging.INFO)
    setup = {"migrate": time.perf_counter() - started}
    slugs, small, times = seed_datasets(args.datasets)
    setup.update({f"{args.datasets:,} datasets: {k}": v for k, v in times.items()})
    bigs, frame, times = seed_big(args.rows)
    big = bigs[-1]
    setup.update({f"{args.rows:,}-row dataset: {k}": v for k, v in times.items()})
    key = developer_key()
    print("setup: " + "; ".join(f"{k} {v:.1f} s" for k, v in setup.items()) + f"; snapshot {mb(big['data_bytes']):.1f}"
          f" MB Parquet", flush=True)
    errors = 0
    rng = random.Random(7)
    mix = [QUERIES[i % len(QUERIES)] for i in range(args.requests)]
    rng.shuffle(mix)
    timings = Timings()
    verdicts: list[str] = []
    runs: list[Readers] = []
    workers = [int(w) for w in args.workers.split(",")]
    with server(1) as srv:
        print(f"\n## {backend}: 1. search over {args.datasets + 2:,} open datasets, 1 client, sequential; load "
              f"average {os.getloadavg()[0]:.1f}", flush=True)
        counts = http_search(srv, mix, timings)
        totals = inprocess_search(mix, timings)
        print_search(timings, [c for c in timings.ms if "CPU" not in c])
        print(f"({args.requests} requests of each HTTP kind, interleaved; in-process: the same mix in this process, "
              "without HTTP.) CPU time of this process per in-process call (SQLite runs in the calling thread, "
              "so on a loaded machine this is closer to an idle machine's latency; PostgreSQL's own work is not "
              "in it):")
        print_search(timings, [c for c in timings.ms if "CPU" in c])
        mismatched = [(mix[p][1], counts[p], totals[p]) for p in totals if p in counts and counts[p] != totals[p]]
        print(f"checks: {sum(timings.errors.values())} failed requests {dict(timings.errors) or ''}; "
              f"package_search count = search.search total for {len(totals) - len(mismatched)} of {len(totals)} "
              f"queries" + (f"; differ: {mismatched[:3]}" if mismatched else ""))
        errors += sum(timings.errors.values()) + len(mismatched)
        line, ok = rate_limit_check(srv, key)
        print(line, flush=True)
        errors += not ok
        for column in ("portal page (HTTP)", "package_search (HTTP)"):
            p95 = pct(timings.ms[column]["all"], .95)
            verdicts.append(f"{column}: p95 {p95:.1f} ms over all queries: " + (
                "met" if p95 <= TARGET_P95_MS else f"MISSED ({p95 / TARGET_P95_MS:.1f}× the target)")
                + "; worst kind {} p95 {:.1f} ms".format(*max(((k, pct(xs, .95)) for k, xs in timings.ms[column].items()
                                                               if k != "all"), key=lambda kv: kv[1])))

        print(f"\n## {backend}: 2. the {args.rows:,}-row dataset ({len(BIG_ITEMS)} columns), 1 client; server memory "
              "of the serving process (VmRSS sampled every 50 ms; VmHWM = its peak so far), after a small CSV and "
              f"JSON download; the first {args.rows // 10:,} rows as another dataset first, for comparison",
              flush=True)
        print(f"{'fmt':<5} {'rows':>9} {'HTTP':>4} {'MB':>8} {'head ms':>8} {'1st B ms':>8} {'64KiB ms':>8} "
              f"{'total s':>7} {'MB/s':>7} {'rows/s':>10} {'RSS MB':>8} {'peak MB':>8} {'growth':>7}{'':<20} "
              f"{'VmHWM MB':>9}")
        warm_downloads(srv, small[0])
        for fmt in ("csv", "json"):
            peaks = []
            for listed, n in zip(bigs, (args.rows // 10, args.rows), strict=True):
                dest = work / f"download.{fmt}"
                d = download(srv, listed["slug"], fmt, dest)
                peaks.append(d.rss_peak)
                (check_csv if fmt == "csv" else check_json)(d, dest, n)
                dest.unlink()
                print_download(d, n)
                errors += not d.ok
            verdicts.append(f"{fmt.upper()} download of {args.rows:,} rows: first byte {d.first_s * 1000:.0f} ms, "
                            f"first 64 KiB {d.first64k_s * 1000:.0f} ms (target < {TARGET_START_S:g} s: "
                            f"{'met' if d.first64k_s < TARGET_START_S else 'MISSED'}); server RSS peak "
                            f"{mb(d.rss_peak - d.rss_before):+.0f} MB over its RSS before, for a {mb(d.size):.0f} MB "
                            f"file; peak {mb(peaks[1]):.0f} MB vs {mb(peaks[0]):.0f} MB during the {args.rows // 10:,}"
                            f"-row file ({mb(peaks[1] - peaks[0]):+.0f} MB for 10× the rows)")
        rid = big["package_id"][:-2] + "01"
        print(f"datastore_search over HTTP on the {args.rows:,} rows (resource {rid}):")
        lines, bad = datastore(srv, rid, frame, args.datastore)
        print("\n".join(lines), flush=True)
        errors += bad
        del frame

        print(f"\n## {backend}: 3. concurrent anonymous readers: home, a search, a dataset page, its preview, one "
              "time in five the CSV of a small dataset (50 rows)", flush=True)
        if 1 in workers:
            runs.append(readers(srv, args.users, args.seconds, args.warmup, slugs, small))
            print_readers(runs[-1], args.warmup)
    for w in workers:
        if w > 1:
            with server(w) as srv:
                runs.append(readers(srv, args.users, args.seconds, args.warmup, slugs, small))
                print_readers(runs[-1], args.warmup)
    for r in runs:
        bad = sum(r.errors.values())
        errors += bad
        verdicts.append(f"{r.users} concurrent readers, {r.workers} worker(s): {bad} errors in "
                        f"{r.requests + bad:,} requests (target 0: {'met' if not bad else 'MISSED'})")
    errors += server_errors(Path(os.environ["GOVDATA_VAR_DIR"]) / "server.log")
    print(f"\n## {backend}: against the targets")
    for v in verdicts:
        print(f"  {v}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    if args.profile:
        profile(args.profile, slugs, small)
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=10_000, help="open datasets listed")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the big dataset")
    parser.add_argument("--requests", type=int, default=300, help="sequential requests of each kind (search)")
    parser.add_argument("--users", type=int, default=200, help="concurrent anonymous readers")
    parser.add_argument("--seconds", type=float, default=20, help="measured window of the readers")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--workers", default="1,2", help="uvicorn workers for the readers (1 always for 1 and 2)")
    parser.add_argument("--datastore", type=int, default=30, help="datastore_search calls of each variant")
    parser.add_argument("--profile", type=int, default=0,
                        help="requests of each page kind timed and profiled in-process (0: skip)")
    parser.add_argument("--quick", action="store_true", help="a short run: " + "100 requests, 10 s of readers, "
                        "200,000 rows, 1 worker")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (database, server log)")
    parser.add_argument("--postgres", help="also run on a fresh database of this PostgreSQL server (admin URL)")
    parser.add_argument("--database-url", help=argparse.SUPPRESS)  # the PostgreSQL run, in its own process
    args = parser.parse_args()
    if args.quick:
        quick(args)
    if not args.database_url:
        print(f"# open-data portal benchmark — {time.strftime('%Y-%m-%d %H:%M %Z')} {platform.node()}, "
              f"{os.cpu_count()} CPUs ({_cpu_model()}), Python {platform.python_version()}; code: {source_digest()}",
              flush=True)
    os.environ["GOVDATA_OPEN_ANONYMOUS_PER_MINUTE"] = "0"  # the server's and the in-process profile's
    if args.database_url:
        print(f"\n# PostgreSQL run — {time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)
    code = harness.in_scratch("govdata-bench-opendata-", args.database_url, args.keep,
                              lambda work, backend: run(work, args, backend))
    if args.postgres:
        code = max(code, harness.run_postgres(__file__, args.postgres, "govdata_bench_opendata"))
    return code


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def source_digest() -> str:
    """What was measured: a digest of every Python file under src/ (uncommitted work included)."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted((ROOT / "src").rglob("*.py")):
        h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                          check=False).stdout.strip()
    return f"git {head or '?'} + src/ sha256 {h.hexdigest()[:12]}"


if __name__ == "__main__":
    sys.exit(main())
