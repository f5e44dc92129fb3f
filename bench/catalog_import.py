"""Catalog workbook import benchmark: a 10,000-resource workbook (about 8 items each, bound to the shipped data
elements) imported end to end — read, validate, write, publish and index — into a fresh SQLite database.

Run: .venv/bin/python bench/catalog_import.py [--resources 10000] [--items 8] [--profile]
Target (issue 3): ≤ 30 s for 10,000 rows.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

WORK = Path(tempfile.mkdtemp(prefix="govdata-bench-"))
os.environ["GOVDATA_VAR_DIR"] = str(WORK)
os.environ["GOVDATA_DATABASE_URL"] = f"sqlite:///{WORK / 'bench.db'}"

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from govdata import migrate  # noqa: E402
from govdata.catalog import search, workbook  # noqa: E402
from govdata.catalog.classifications import BASE_TREE  # noqa: E402
from govdata.catalog.models import CatalogEntry, Resource, ResourceItem, ResourceRevision  # noqa: E402
from govdata.db import new_session  # noqa: E402
from govdata.orgs import service as orgs  # noqa: E402
from govdata.orgs.schemas import OrgCreate  # noqa: E402
from govdata.principal import CLI  # noqa: E402
from govdata.standards import enums, shipped  # noqa: E402
from govdata.standards import service as standards  # noqa: E402

DEPARTMENTS = [
    "公安局", "卫生健康委员会", "教育局", "民政局", "人力资源和社会保障局", "自然资源和规划局", "生态环境局",
    "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局", "文化广电旅游局", "应急管理局",
    "市场监督管理局", "医疗保障局", "统计局", "税务局", "财政局", "司法局", "审计局", "退役军人事务局",
    "林业和园林局", "城市管理行政执法局", "行政审批局", "体育局", "科学技术局", "工业和信息化局", "发展和改革委员会",
    "国有资产监督管理委员会", "住房公积金管理中心", "不动产登记中心", "消防救援支队", "气象局", "档案馆",
    "地方金融监督管理局", "投资促进局", "大数据发展局", "机关事务管理局",
]
SUBJECTS = [
    "户籍人口", "流动人口", "婚姻登记", "出生医学证明", "死亡医学证明", "社会保险参保", "养老金发放", "医保结算",
    "学籍", "教师资格", "企业登记", "个体工商户", "食品经营许可", "药品经营许可", "建设工程规划许可", "不动产登记",
    "住房公积金缴存", "公共租赁住房", "低保对象", "特困人员", "残疾人", "退役军人", "道路运输许可", "机动车检验",
    "水质监测", "空气质量监测", "污染源排放", "安全生产许可", "行政处罚", "信用评价", "税收征管", "财政补贴发放",
    "科技项目", "旅游景区", "体育场馆", "文物保护单位", "气象观测", "档案查阅", "法律援助", "人民调解",
]
KINDS = [
    "信息", "登记信息", "许可信息", "台账", "统计数据", "明细", "名录", "档案信息", "办理记录", "监测数据",
]
PLACES = [
    "城中区", "鱼峰区", "柳南区", "柳北区", "柳江区", "柳城县", "鹿寨县", "融安县", "融水苗族自治县", "三江侗族自治县",
]
ITEM_WORDS = ["办理日期", "经办人", "受理编号", "审批状态", "办理结果", "所属网格", "备注说明", "数据来源", "更新时间",
              "业务类型", "有效期限", "发证机关", "核验结果", "补贴金额", "申请事由"]
CLASS_PATHS = [path for code, path in BASE_TREE if len(code) == 3] + ["部门"]


def setup() -> None:
    migrate.upgrade()
    with new_session() as db:
        standards.load_shipped(db)
        orgs.create(db, CLI, OrgCreate(code="LZ", name="柳州市人民政府", level="city", type="government",
                                       region_code="450200"))
        for n, name in enumerate(DEPARTMENTS, start=1):
            orgs.create(db, CLI, OrgCreate(code=f"450200-{n:02d}", name=f"柳州市{name}", level="city",
                                           region_code="450200", parent="LZ"))


def build_workbook(resources: int, items_per: int, seed: int = 3) -> bytes:
    """Realistic rows: Chinese names and summaries, every enumeration as its Chinese label, items bound to the
    shipped data elements with their own data types, and some free items."""
    rng = random.Random(seed)
    elements = [(e["code"], e["name"], e["data_type"]) for e in shipped.elements()]
    book = Workbook(write_only=True)
    sheet, items_sheet = book.create_sheet(workbook.RESOURCE_SHEET), book.create_sheet(workbook.ITEM_SHEET)
    sheet.append([h for _, h in workbook.RESOURCE_COLUMNS])
    items_sheet.append([h for _, h in workbook.ITEM_COLUMNS])
    start = date(2019, 1, 1)
    for n in range(resources):
        dept = n % len(DEPARTMENTS) + 1
        provider, provider_name = f"450200-{dept:02d}", f"柳州市{DEPARTMENTS[dept - 1]}"
        subject, place = rng.choice(SUBJECTS), rng.choice(PLACES)
        name = f"{place}{subject}{rng.choice(KINDS)}(第{n + 1}批)"
        share = rng.choices(["无条件共享", "有条件共享", "不予共享"], weights=[5, 4, 1])[0]
        is_open = share != "不予共享" and rng.random() < 0.3
        sheet.append([
            None, name, provider, provider_name, rng.choice(CLASS_PATHS),
            f"{provider_name}在履行职责过程中产生的{place}{subject}数据,包括基本情况、办理过程和结果等,"
            f"按{rng.choice(['日', '月', '季度'])}汇总,用于跨部门业务协同和{subject}相关事项办理。",
            rng.choice(list(enums.FORMATS.values())), share,
            f"仅限用于{subject}相关业务办理,需经{provider_name}审核同意" if share == "有条件共享" else None,
            rng.choice(list(enums.SHARE_METHODS.values())),
            "《中华人民共和国个人信息保护法》第十三条" if share == "不予共享" else None,
            "是" if is_open else "否", "脱敏后开放统计数据" if is_open else None,
            rng.choice(list(enums.UPDATE_CYCLES.values())), start + timedelta(days=rng.randrange(2000)), None,
            rng.choice(list(enums.GRADES.values())), rng.choice(list(enums.SENSITIVITIES.values())),
            rng.choice(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆"]), f"0772-28{rng.randrange(10000, 99999)}",
        ])
        count = max(1, items_per + rng.randint(-2, 2))
        bound = rng.sample(elements, min(count - 1, len(elements)))
        rows = [(f"{code.lower()}_value", el_name, data_type, code) for code, el_name, data_type in bound]
        rows.append(("remark", rng.choice(ITEM_WORDS), "C", None))
        for pos, (key, item_name, data_type, element) in enumerate(rows):
            items_sheet.append([name, provider, key, item_name, data_type,
                                rng.choice([None, 18, 50, 100, 200]) if data_type == "C" else None,
                                "是" if pos == 0 else "否", "是" if pos == 0 else "否", element, None])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions")
    args = parser.parse_args()
    print(f"# govdata catalog import benchmark — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, SQLite (WAL)")
    setup()
    started = time.perf_counter()
    data = build_workbook(args.resources, args.items)
    print(f"workbook generated in {time.perf_counter() - started:.1f} s: {len(data) / 1048576:.1f} MB")

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with new_session() as db:
        started = time.perf_counter()
        report = workbook.import_workbook(db, CLI, data, publish=True, source="bench.xlsx")
        total = time.perf_counter() - started
    if profiler:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

    with new_session() as db:
        stored = {m.__tablename__: db.scalar(select(func.count()).select_from(m))
                  for m in (Resource, ResourceItem, ResourceRevision, CatalogEntry)}
        hits = search.search(db, q="户籍人口", page_size=1).total
    assert stored["resources"] == report.resources == args.resources, stored
    assert stored["catalog_entries"] == args.resources and stored["resource_items"] == report.items, stored
    assert hits > 0

    t = report.timings
    print(f"\n## Import of a {args.resources:,}-resource catalog workbook (publish + index), one transaction")
    print(f"{'file size':<28}{len(data) / 1048576:>10.1f} MB")
    print(f"{'rows (信息资源 / 信息项)':<24}{report.resources:>14,} / {report.items:,}")
    print(f"{'total':<28}{total:>10.1f} s   target ≤ 30 s")
    print(f"{'resources per second':<28}{report.resources / total:>10,.0f}")
    print(f"{'rows per second (both sheets)':<28}{(report.resources + report.items) / total:>10,.0f}")
    for phase, label in (("read", "read (openpyxl, read-only)"), ("validate", "validate (every row)"),
                         ("write", "write (resources, items, revisions, commit)"),
                         ("publish", "publish + index (FTS)")):
        print(f"  {label:<46}{t.get(phase, 0):>7.1f} s  {t.get(phase, 0) / total:>4.0%}")
    print(f"stored: {stored}; search '户籍人口' finds {hits:,}")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
