"""Ingest benchmark (issue 4): a generated GB18030 CSV of person records, 20 columns, 2 % bad rows of every kind
(required, type, length, codeset, id_number, credit_code, region_code, date, format, unique, cross_field),
ingested end to end — decode, parse, validate every rule, write Parquet, the quarantine, the report and the
version row — side by side with polars' plain CSV read (the floor) and ``frictionless validate``.

Each measurement runs in its own process so that peak memory (ru_maxrss) is its own.

Run: .venv/bin/python bench/ingest.py [--rows 1000000] [--no-frictionless] [--growth 100000,1000000,5000000]
Targets: ≥ 300,000 rows/s end to end at 1M rows, peak memory ≤ 1.5 GB, ≥ 20× faster than frictionless.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

CACHE = Path(os.environ.get("GOVDATA_BENCH_CACHE", Path(tempfile.gettempdir()) / "govdata-bench-ingest"))
KINDS = ("required", "type", "length", "codeset", "id_number", "credit_code", "region_code", "date", "format",
         "unique", "cross_field")
ITEMS = [  # key, Chinese name, data type, length, required, primary key, data element
    ("id_number", "公民身份号码", "C", 18, True, True, "DE0002"),
    ("name", "姓名", "C", 50, True, False, "DE0001"),
    ("sex", "性别", "C", 1, True, False, "DE0003"),
    ("ethnic", "民族", "C", 2, False, False, "DE0009"),
    ("birth_date", "出生日期", "D", None, True, False, "DE0004"),
    ("nationality", "国籍", "C", 3, False, False, "DE0010"),
    ("marital_status", "婚姻状况", "C", 2, False, False, "DE0020"),
    ("education", "学历", "C", 2, False, False, "DE0012"),
    ("household_region", "户籍地行政区划代码", "C", 6, True, False, "DE0005"),
    ("address", "住址", "C", 200, False, False, "DE0008"),
    ("phone", "手机号码", "C", 11, False, False, "DE0007"),
    ("email", "电子邮箱", "C", 100, False, False, "DE0017"),
    ("postcode", "邮政编码", "C", 6, False, False, "DE0018"),
    ("employer_credit_code", "工作单位统一社会信用代码", "C", 18, False, False, "DE0006"),
    ("employer_name", "工作单位名称", "C", 200, False, False, "DE0013"),
    ("registration_date", "登记日期", "D", None, False, False, "DE0015"),
    ("monthly_income", "月收入", "Y", None, False, False, "DE0016"),
    ("household_size", "家庭人口数", "I", None, False, False, "DE0022"),
    ("updated_at", "更新时间", "T", None, False, False, "DE0021"),
    ("remark", "备注", "M", None, False, False, "DE0024"),
]
RULES = [{"kind": "compare", "left": "registration_date", "op": ">=", "right": "birth_date",
          "message": "登记日期不应早于出生日期"}]
REGIONS = ["450202", "450203", "450204", "450205", "450206", "450222", "450223", "450224", "450225", "450226"]
DISTRICTS = ["城中区", "鱼峰区", "柳南区", "柳北区", "柳江区", "柳城县", "鹿寨县", "融安县", "融水苗族自治县",
             "三江侗族自治县"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
                "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦覃蓝莫")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红娥玲芬燕彩春菊凤洁梅琳素云莲真环雪荣爱妹香月"
             "莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓仪荷丹蓉眉君琴蕊薇菁梦岚"
             "苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可舒影荔思")
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = np.array(list("10X98765432"))


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    return np.stack([(values // 10 ** (width - 1 - i)) % 10 for i in range(width)], axis=1)


def _id_numbers(rng: np.random.Generator, n: int) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """Unique valid ID numbers (region, birth date, sequence and check digit) with their birth dates and sexes."""
    index = np.arange(n)
    region = np.array(REGIONS)[rng.integers(0, len(REGIONS), n)]
    days = (index // 1000) % 25000 + rng.integers(0, 1, n)  # (birth day, sequence) pairs never repeat below 25M
    birth = np.datetime64("1945-01-01") + days.astype("timedelta64[D]")
    seq = index % 1000
    ymd = birth.astype("datetime64[D]").astype(str)
    ymd_int = np.char.replace(ymd, "-", "").astype(np.int64)
    digits = np.concatenate([_digits(region.astype(np.int64), 6), _digits(ymd_int, 8), _digits(seq, 3)], axis=1)
    check = CHECK[(digits @ ID_WEIGHTS) % 11]
    ids = pl.Series(np.char.add(np.char.add(np.char.add(region, np.char.replace(ymd, "-", "")),
                                            np.char.zfill(seq.astype(str), 3)), check))
    sex = pl.Series(np.where(seq % 2 == 1, "1", "2"))
    return ids, pl.Series(ymd), sex, pl.Series(region)


def _credit_codes(count: int) -> list[str]:
    from stdnum.cn import uscc

    codes = []
    for i in range(count):
        body = f"91450200{i:09d}"[:17]
        codes.append(body + uscc.calc_check_digit(body + "0"))
    return codes


def generate(n: int, seed: int = 20261122) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    ids, birth, sex, region = _id_numbers(rng, n)
    pick = lambda pool: pl.Series(np.array(pool)[rng.integers(0, len(pool), n)])  # noqa: E731
    names = pick(SURNAMES) + pick(GIVEN) + pl.Series(np.where(rng.random(n) < 0.6, np.array(GIVEN)[
        rng.integers(0, len(GIVEN), n)], ""))
    district = pl.Series(np.array(DISTRICTS)[np.searchsorted(REGIONS, region.to_numpy()) % len(DISTRICTS)])
    credits = _credit_codes(997)
    reg_offset = rng.integers(0, 20000, n).astype("timedelta64[D]")
    registration = np.minimum(birth.to_numpy().astype("datetime64[D]") + reg_offset, np.datetime64("2025-12-31"))
    frame = pl.DataFrame({
        "id_number": ids, "name": names, "sex": sex,
        "ethnic": pl.Series(np.where(rng.random(n) < 0.8, "01", "12")),
        "birth_date": birth, "nationality": pl.Series(["CHN"] * n),
        "marital_status": pick(["10", "20", "21", "30", "40"]), "education": pick(["10", "20", "30", "60", "70"]),
        "household_region": region,
        "address": "广西壮族自治区柳州市" + district + pick(["文昌路", "潭中东路", "东环大道", "屏山大道", "柳石路"])
                   + pl.Series(rng.integers(1, 999, n)).cast(pl.String) + "号",
        "phone": "13" + pl.Series(rng.integers(100_000_000, 999_999_999, n)).cast(pl.String),
        "email": "user" + pl.Series(np.arange(n)).cast(pl.String) + "@example.cn",
        "postcode": pl.Series(["545001"] * n),
        "employer_credit_code": pick(credits),
        "employer_name": pick(["柳州市某某机械有限公司", "柳州市第一中学", "广西某某汽车集团有限公司",
                               "柳州市人民医院"]),
        "registration_date": pl.Series(registration.astype(str)),
        "monthly_income": pl.Series(rng.integers(150_000, 2_000_000, n) / 100).cast(pl.String),
        "household_size": pl.Series(rng.integers(1, 9, n)).cast(pl.String),
        "updated_at": pl.Series((np.datetime64("2025-01-01T00:00:00")
                                 + rng.integers(0, 86400 * 365, n).astype("timedelta64[s]")).astype("datetime64[ms]"))
                      .dt.strftime("%Y-%m-%d %H:%M:%S"),
        "remark": pick(["", "无", "迁入", "新生儿落户"]),
    })
    return _spoil(frame, rng)


def _good_rows(n: int, bad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    good = np.setdiff1d(np.arange(n), bad)
    return good[rng.integers(0, len(good), n)]


def _spoil(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """2 % of the rows, each broken in one way, every kind equally often."""
    n = frame.height
    bad = rng.choice(n, size=n // 50, replace=False)  # a "unique" row repeats a good row's person
    kind = np.full(n, "", dtype=object)
    kind[bad] = np.array(KINDS)[np.arange(len(bad)) % len(KINDS)]
    frame = frame.with_columns(pl.Series("_kind", kind, dtype=pl.String),
                               pl.Series("_other", _good_rows(n, bad, rng)).cast(pl.UInt32))
    k = pl.col("_kind")
    wrong_check = pl.col("id_number").str.slice(0, 17) + pl.when(pl.col("id_number").str.ends_with("0")).then(
        pl.lit("1")).otherwise(pl.lit("0"))
    return frame.with_columns(
        pl.when(k == "required").then(None).otherwise(pl.col("name")).alias("name"),
        pl.when(k == "type").then(pl.lit("三口")).otherwise(pl.col("household_size")).alias("household_size"),
        pl.when(k == "length").then(pl.col("address") + "附" * 200).otherwise(pl.col("address")).alias("address"),
        pl.when(k == "codeset").then(pl.lit("7")).when(k == "unique").then(pl.col("sex").gather(pl.col("_other")))
        .otherwise(pl.col("sex")).alias("sex"),
        pl.when(k == "id_number").then(wrong_check)
        .when(k == "unique").then(pl.col("id_number").gather(pl.col("_other")))
        .otherwise(pl.col("id_number")).alias("id_number"),
        pl.when(k == "credit_code").then(pl.col("employer_credit_code").str.slice(0, 17) + "I")
        .otherwise(pl.col("employer_credit_code")).alias("employer_credit_code"),
        pl.when(k == "region_code").then(pl.lit("459999")).otherwise(pl.col("household_region"))
        .alias("household_region"),
        pl.when(k == "date").then(pl.lit("2023-02-30")).otherwise(pl.col("registration_date"))
        .alias("registration_date"),
        pl.when(k == "format").then(pl.lit("2345678")).otherwise(pl.col("phone")).alias("phone"),
        pl.when(k == "cross_field").then(pl.lit("1944-12-31"))
        .when(k == "unique").then(pl.col("birth_date").gather(pl.col("_other")))  # the same person, twice
        .otherwise(pl.col("birth_date")).alias("birth_date"),
    ).drop("_kind", "_other")


def csv_file(n: int) -> tuple[Path, Path]:
    """The GB18030 CSV of n rows and the same data in UTF-8 (cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    utf8, gb = CACHE / f"people-{n}.utf8.csv", CACHE / f"people-{n}.gb18030.csv"
    if not gb.exists():
        generate(n).write_csv(utf8)
        decoder, tmp = codecs.getincrementaldecoder("utf-8")(), gb.with_suffix(".tmp")
        with utf8.open("rb") as src, tmp.open("wb") as out:
            while block := src.read(32 << 20):
                out.write(decoder.decode(block).encode("gb18030"))
        tmp.rename(gb)
    return gb, utf8


# -- the measured runs, each in a process of its own --------------------------------------------------------------

def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup() -> tuple[str, object]:
    """A fresh platform (SQLite in a temporary directory) with the person resource published; its code."""
    work = Path(tempfile.mkdtemp(prefix="govdata-bench-"))
    os.environ.update(GOVDATA_VAR_DIR=str(work), GOVDATA_DATABASE_URL=f"sqlite:///{work / 'bench.db'}",
                      GOVDATA_DATA_DIR=str(work / "data"))
    from govdata import migrate
    from govdata.catalog import service as catalog
    from govdata.catalog.schemas import ResourceIn, ReviewIn
    from govdata.db import new_session
    from govdata.ingest import service
    from govdata.orgs import service as orgs
    from govdata.orgs.schemas import OrgCreate
    from govdata.principal import CLI
    from govdata.standards import service as standards

    migrate.upgrade()
    db = new_session()
    standards.load_shipped(db)
    orgs.create(db, CLI, OrgCreate(code="GA", name="柳州市公安局", level="city", type="department",
                                   region_code="450200"))
    spec = ResourceIn.model_validate({
        "name": "人口基本信息", "provider": "GA", "summary": "基准测试", "classification": "基础/人口",
        "format": "database", "share_type": "conditional", "share_condition": "基准测试",
        "share_method": "database", "update_cycle": "daily", "grade": "general", "sensitivity": "L3", "rules": RULES,
        "items": [{"key": k, "name": nm, "data_type": t, "length": ln, "required": req, "primary_key": pk,
                   "data_element": de} for k, nm, t, ln, req, pk, de in ITEMS]})
    code = catalog.create(db, CLI, spec).code
    catalog.review(db, CLI, catalog.submit(db, CLI, code).code, ReviewIn(decision="approve"))
    service.set_policy(db, CLI, code, 100)
    return code, db


def run_ingest(path: Path) -> dict:
    from govdata.ingest import service
    from govdata.principal import CLI

    code, db = _setup()
    started = time.perf_counter()
    version = service.ingest_file(db, CLI, code, path)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, **service.summary(version), "timings": version.report.get("timings"),
            "peak_mb": _peak_mb()}


def run_polars(path: Path) -> dict:
    started = time.perf_counter()
    frame = pl.read_csv(path, infer_schema=False)
    return {"seconds": time.perf_counter() - started, "rows": frame.height, "peak_mb": _peak_mb()}


def run_frictionless(path: Path) -> dict:
    """``frictionless validate`` against the Table Schema the platform itself exports for the resource (types,
    required, maxLength, patterns, code-set enums, the primary key): the rules frictionless can express."""
    from frictionless import Resource, Schema

    from govdata.catalog import projection
    from govdata.standards import service as standards

    code, db = _setup()
    schema = Schema.from_descriptor(standards.resource_table_schema(db, projection.published(db, code)))
    started = time.perf_counter()
    resource = Resource(path=path.name, basepath=str(path.parent), encoding="gb18030", schema=schema)
    report = resource.validate(limit_errors=10**9)
    errors = sum(len(task.errors) for task in report.tasks)
    return {"seconds": time.perf_counter() - started, "errors": errors, "peak_mb": _peak_mb()}


def _child(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-frictionless", action="store_true")
    parser.add_argument("--growth", default="100000,1000000,5000000")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"))
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        result = {"ingest": run_ingest, "polars": run_polars, "frictionless": run_frictionless}[kind](Path(path))
        print(json.dumps(result, ensure_ascii=False, default=str))
        return
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"polars {pl.__version__}, {time.strftime('%Y-%m-%d')}")
    gb, utf8 = csv_file(args.rows)
    print(f"file: {gb.name} {gb.stat().st_size / 1e6:,.0f} MB GB18030, {args.rows:,} rows × {len(ITEMS)} columns")
    ingest, floor = _child("ingest", gb), _child("polars", utf8)
    rate = args.rows / ingest["seconds"]
    print(f"{'govdata ingest (end to end)':34} {ingest['seconds']:7.2f} s {rate:12,.0f} rows/s "
          f"peak {ingest['peak_mb']:6,.0f} MB  accepted {ingest['rows_accepted']:,} "
          f"rejected {ingest['rows_rejected']:,}")
    print(f"   phases: {ingest['timings']}  errors by rule: {ingest['errors_by_rule']}")
    print(f"{'polars read_csv (UTF-8, floor)':34} {floor['seconds']:7.2f} s "
          f"{args.rows / floor['seconds']:12,.0f} rows/s peak {floor['peak_mb']:6,.0f} MB  "
          f"→ ingest takes {ingest['seconds'] / floor['seconds']:.1f}× the floor")
    if not args.no_frictionless:
        fr = _child("frictionless", gb)
        print(f"{'frictionless validate':34} {fr['seconds']:7.2f} s {args.rows / fr['seconds']:12,.0f} rows/s "
              f"peak {fr['peak_mb']:6,.0f} MB  errors {fr['errors']:,} → ingest is "
              f"{fr['seconds'] / ingest['seconds']:.1f}× faster")
    sizes = [int(s) for s in args.growth.split(",") if s]
    if sizes:
        print("growth (end-to-end ingest):")
        for n in sizes:
            path, _ = csv_file(n)
            r = _child("ingest", path)
            print(f"  {n:>10,} rows  {r['seconds']:7.2f} s  {n / r['seconds']:10,.0f} rows/s  "
                  f"peak {r['peak_mb']:6,.0f} MB")


if __name__ == "__main__":
    main()
