"""Catalog search benchmark: Chinese keyword queries with facets over 10k, 30k and 100k published resources.

Run: .venv/bin/python bench/catalog_search.py [--sizes 10000,30000,100000] [--queries 240]
With GOVDATA_BENCH_POSTGRES=postgresql+psycopg://user@host/db the largest size is also measured on a
temporary PostgreSQL database (created and dropped here).

Entries are generated straight into ``organizations``/``resources``/``catalog_entries`` with bulk inserts
(bypassing the catalog service, which would spend minutes on reviews and revisions) and indexed with
``search.index_many``. Query latency is that of ``search.search``: facets, total and the page's entries.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORK = Path(tempfile.mkdtemp(prefix="govdata-bench-"))
os.environ["GOVDATA_VAR_DIR"] = str(WORK)
os.environ["GOVDATA_DATABASE_URL"] = f"sqlite:///{WORK / 'bench.db'}"

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from govdata import db as dbmod  # noqa: E402
from govdata import migrate  # noqa: E402
from govdata.catalog import search  # noqa: E402
from govdata.catalog.models import CatalogEntry, Classification, Resource  # noqa: E402
from govdata.orgs.models import Organization  # noqa: E402

# ---- vocabularies ------------------------------------------------------------------------------
# (code, name, weight, classification codes it publishes under, subjects in order of frequency)
DEPARTMENTS = [
    ("GA", "柳州市公安局", 6, ["101", "209"], ["户籍人口", "居民身份证", "流动人口居住登记", "居住证", "机动车登记",
     "机动车驾驶证", "交通违法", "出入境证件", "治安管理处罚", "犬只登记", "旅馆业住宿登记", "户口迁移", "出生登记",
     "网约车驾驶员背景核查"]),
    ("MZ", "柳州市民政局", 4, ["101", "206"], ["婚姻登记", "城乡居民最低生活保障", "特困人员供养", "社会组织登记",
     "殡葬服务", "养老机构", "临时救助", "残疾人两项补贴", "地名管理", "收养登记", "慈善组织认定", "低收入人口监测"]),
    ("RS", "柳州市人力资源和社会保障局", 5, ["203"], ["企业职工基本养老保险参保", "失业保险金申领", "工伤认定",
     "就业登记", "职业技能等级证书", "人才引进", "劳动用工备案", "社会保障卡", "职称评审", "劳动保障监察",
     "创业担保贷款", "高校毕业生就业"]),
    ("WJ", "柳州市卫生健康委员会", 4, ["201"], ["医疗机构执业许可", "医师执业注册", "护士执业注册", "预防接种",
     "出生医学证明", "死亡医学证明", "母婴保健技术服务", "传染病疫情报告", "家庭医生签约", "无偿献血",
     "职业健康检查", "计划生育家庭特别扶助", "婴幼儿照护服务机构备案"]),
    ("JY", "柳州市教育局", 4, ["202"], ["中小学学籍", "学前教育机构", "教师资格认定", "学生资助", "义务教育招生入学",
     "民办学校办学许可", "中考成绩", "校外培训机构", "学校基本情况统计", "教师继续教育学时"]),
    ("ZR", "柳州市自然资源和规划局", 4, ["103"], ["国有建设用地使用权出让", "建设工程规划许可", "土地利用现状调查",
     "地质灾害隐患点", "测绘资质", "林地征占用审批", "基本农田保护", "国土空间规划", "采矿许可", "地名地址"]),
    ("BDC", "柳州市不动产登记中心", 3, ["103", "205"], ["不动产登记簿", "不动产权证书", "不动产抵押登记",
     "预告登记", "查封登记", "房屋交易合同备案", "宗地信息", "不动产登记申请受理"]),
    ("ZJ", "柳州市住房和城乡建设局", 4, ["205"], ["建筑工程施工许可", "建筑业企业资质", "商品房预售许可",
     "公共租赁住房保障对象", "物业服务企业", "建设工程竣工验收备案", "燃气经营许可", "城镇老旧小区改造",
     "房屋安全鉴定", "施工图审查"]),
    ("SJ", "柳州市市场监督管理局", 6, ["102", "204"], ["企业法人营业执照", "个体工商户登记", "食品经营许可证",
     "食品生产许可", "行政处罚决定书", "企业年度报告", "特种设备使用登记", "计量器具检定", "药品零售许可",
     "经营异常名录", "商标注册", "产品质量监督抽查", "螺蛳粉生产企业名录"]),
    ("SW", "国家税务总局柳州市税务局", 4, ["102", "207"], ["纳税人登记", "纳税信用等级评价", "增值税发票",
     "欠税公告", "个人所得税汇算", "税收优惠备案", "重大税收违法失信案件", "社会保险费征缴"]),
    ("HB", "柳州市生态环境局", 3, ["210"], ["排污许可证核发", "环境影响评价审批", "空气质量监测",
     "地表水水质监测", "危险废物经营许可", "环境行政处罚", "污染源在线监测", "辐射安全许可", "噪声监测"]),
    ("JT", "柳州市交通运输局", 4, ["208"], ["道路运输经营许可", "出租汽车经营", "公交线路", "网约车运输证",
     "道路运输从业人员资格", "公路养护", "港口经营许可", "驾驶员培训机构", "城市轨道交通客流"]),
    ("NY", "柳州市农业农村局", 3, ["104", "210"], ["农药经营许可", "种子生产经营许可", "农机购置补贴",
     "家庭农场名录", "农民专业合作社", "动物防疫条件合格证", "耕地地力保护补贴", "农产品质量安全检测",
     "高标准农田建设"]),
    ("WL", "柳州市文化广电和旅游局", 3, ["211", "202"], ["A级旅游景区", "旅行社经营许可", "文物保护单位",
     "非物质文化遗产代表性项目", "公共图书馆", "网吧经营许可", "演出经营许可", "导游证", "星级饭店"]),
    ("YJ", "柳州市应急管理局", 3, ["209"], ["安全生产许可", "危险化学品经营许可", "应急避难场所",
     "生产安全事故", "自然灾害灾情", "安全生产行政处罚", "应急救援队伍", "烟花爆竹经营许可"]),
    ("TY", "柳州市退役军人事务局", 2, ["203", "206"], ["退役军人信息采集", "优抚对象", "烈士纪念设施",
     "退役士兵安置", "光荣牌悬挂", "军休干部"]),
    ("YB", "柳州市医疗保障局", 4, ["201", "203"], ["城乡居民基本医疗保险参保", "城镇职工基本医疗保险参保",
     "定点医药机构", "医保基金结算", "门诊慢特病认定", "异地就医备案", "医疗救助", "药品集中采购"]),
    ("SF", "柳州市司法局", 2, ["209"], ["律师执业许可", "公证机构", "法律援助", "人民调解组织", "司法鉴定机构",
     "社区矫正对象", "行政复议案件"]),
    ("CZ", "柳州市财政局", 2, ["207"], ["政府采购项目", "非税收入缴款", "预算公开", "财政专项资金",
     "会计人员继续教育", "政府债务"]),
    ("TJ", "柳州市统计局", 2, ["207", "101"], ["地区生产总值", "人口普查汇总", "经济普查", "居民消费价格指数",
     "规模以上工业统计", "统计执法检查"]),
    ("SWJ", "柳州市商务局", 2, ["204", "207"], ["外商投资企业", "对外贸易经营者备案", "成品油零售经营",
     "单用途商业预付卡备案", "再生资源回收经营者备案", "限额以上批发零售企业"]),
    ("GX", "柳州市工业和信息化局", 2, ["204"], ["规模以上工业企业", "专精特新中小企业", "汽车产业链企业",
     "新能源汽车推广应用", "工业园区", "无线电台执照"]),
    ("KJ", "柳州市科学技术局", 2, ["202"], ["高新技术企业认定", "科技型中小企业", "科技计划项目",
     "科技成果登记", "技术合同登记"]),
    ("SL", "柳州市水利局", 2, ["210", "103"], ["取水许可", "河道采砂许可", "水利工程", "河长制河湖名录",
     "水土保持方案审批", "水文监测站点"]),
    ("LY", "柳州市林业和园林局", 1, ["103", "210"], ["林木采伐许可", "古树名木", "城市公园", "林权登记",
     "野生动物保护"]),
    ("CG", "柳州市城市管理行政执法局", 2, ["205", "209"], ["户外广告设置许可", "城市道路占用挖掘许可",
     "建筑垃圾处置核准", "城市管理行政处罚", "生活垃圾分类", "数字城管案件"]),
    ("SP", "柳州市行政审批局", 3, ["102", "204"], ["政务服务事项办件", "投资项目审批", "企业开办",
     "工程建设项目审批", "电子证照"]),
    ("GJJ", "柳州市住房公积金管理中心", 2, ["203", "205"], ["住房公积金缴存", "住房公积金贷款",
     "住房公积金提取", "公积金缴存单位"]),
    ("DSJ", "柳州市大数据发展局", 2, ["104", "105"], ["政务数据共享申请", "数据资源目录", "电子印章",
     "政务云资源", "公共数据开放"]),
    ("CL", "柳州市残疾人联合会", 1, ["206"], ["残疾人证", "残疾人康复服务", "残疾人就业", "无障碍设施"]),
    ("MW", "柳州市民族宗教事务委员会", 1, ["206"], ["宗教活动场所", "少数民族人口", "民族团结进步示范单位"]),
    ("FG", "柳州市发展和改革委员会", 2, ["104", "207"], ["企业投资项目备案", "政府定价", "社会信用体系",
     "重点项目库", "粮食储备"]),
    ("FY", "柳州市中级人民法院", 2, ["104", "209"], ["失信被执行人", "裁判文书", "限制高消费",
     "诉讼案件审理"]),
    ("JCY", "柳州市人民检察院", 1, ["209"], ["公益诉讼案件", "刑事检察", "行贿犯罪档案查询"]),
    ("QX", "柳州市气象局", 1, ["210", "208"], ["气象灾害预警", "自动气象站观测", "雷电防护装置检测"]),
    ("XF", "柳州市消防救援支队", 1, ["209"], ["消防安全检查", "火灾事故", "消防安全重点单位"]),
    ("DA", "柳州市档案馆", 1, ["202"], ["馆藏档案目录", "婚姻登记档案", "开放档案"]),
    ("TYJ", "柳州市体育局", 1, ["211", "202"], ["公共体育场馆", "体育社会组织", "社会体育指导员"]),
    ("GZW", "柳州市国有资产监督管理委员会", 1, ["102", "207"], ["国有企业名录", "国有资产产权登记"]),
    ("ZW", "柳州市政务服务管理办公室", 2, ["105"], ["好差评", "12345热线工单", "政务服务中心窗口",
     "一件事一次办"]),
]
REGIONS = ["", "", "", "", "城中区", "鱼峰区", "柳南区", "柳北区", "柳江区", "柳城县", "鹿寨县", "融安县",
           "融水苗族自治县", "三江侗族自治县"]
SUFFIXES = ["信息", "信息", "信息", "登记信息", "名录", "数据", "台账", "清单", "办理记录", "核发信息", "变更记录",
            "统计", "查询接口", "年度汇总", "目录"]
ASPECTS = ["基本信息", "办理结果", "审批信息", "变更情况", "统计汇总", "核验结果", "监管记录"]
PURPOSES = ["可用于跨部门业务协同和政务服务一网通办", "供有关部门核验身份和资格", "支撑行业监管和统计分析",
            "为社会公众查询提供依据", "用于惠民惠企政策精准推送", "服务基层治理和网格化管理"]
CYCLES = {"realtime": "实时", "daily": "每日", "weekly": "每周", "monthly": "每月", "quarterly": "每季度",
          "yearly": "每年"}
COMMON_ITEMS = ["姓名", "公民身份号码", "性别", "出生日期", "民族", "联系电话", "住址", "统一社会信用代码",
                "单位名称", "法定代表人", "登记机关", "登记日期", "有效期起始日期", "有效期截止日期", "证件编号",
                "审批状态", "办理时间", "经办人", "备注", "数据更新时间", "行政区划代码", "经度", "纬度", "金额",
                "年度", "户籍地址", "受理编号", "申请人", "发证日期", "所属街道"]
FORMATS = ["database", "database", "database", "spreadsheet", "electronic_file", "service", "service",
           "self_describing", "image"]
SHARE = ["conditional"] * 6 + ["unconditional"] * 3 + ["none"]

# Query keywords, by how many entries they match: a few rare subjects, middling ones, very common words.
RARE = ["出生医学证明", "螺蛳粉", "献血", "古树名木", "光荣牌", "犬只", "无障碍", "雷电防护", "行贿", "收养",
        "网吧", "导游证", "烟花爆竹", "采砂", "殡葬"]
MEDIUM = ["婚姻登记", "养老保险", "营业执照", "驾驶证", "不动产", "排污许可", "学籍", "公积金", "低保", "医保",
          "居住证", "失信", "教师资格", "预防接种", "食品"]
COMMON = ["登记", "许可", "人口", "企业", "出生", "保险", "柳州", "信息", "住房", "证书"]
TWO_WORD = ["柳北区 婚姻登记", "鱼峰区出生", "卫生健康 出生", "企业 许可", "住房公积金 提取", "城中区 学籍",
            "食品经营许可证", "残疾人 补贴", "机动车 登记", "医疗 保险 参保"]


def _weighted(rng: random.Random, seq: list[str], skew: float = 1.1) -> str:
    weights = [1 / (i + 1) ** skew for i in range(len(seq))]
    return rng.choices(seq, weights)[0]


# ---- generation --------------------------------------------------------------------------------

def setup_reference_data() -> dict[str, dict]:
    """40 departments under a city government, and a department class (3xx) for each."""
    now = datetime.now(UTC)
    with dbmod.new_session() as db:
        if db.scalar(select(func.count()).select_from(Organization)):
            rows = db.execute(select(Organization.id, Organization.code)).all()
            return _dept_info({code: oid for oid, code in rows})
        db.execute(insert(Organization), [{"code": "LZ", "name": "柳州市人民政府", "level": "city",
                                           "org_type": "government", "region_code": "450200", "created_at": now,
                                           "updated_at": now}])
        parent = db.scalar(select(Organization.id).where(Organization.code == "LZ"))
        db.execute(insert(Organization), [
            {"code": code, "name": name, "level": "city", "org_type": "department", "region_code": "450200",
             "parent_id": parent, "sort_order": n, "created_at": now, "updated_at": now}
            for n, (code, name, *_rest) in enumerate(DEPARTMENTS)])
        db.execute(insert(Classification), [
            {"code": f"3{n + 1:02d}", "name": name, "path": f"部门/{code}", "parent_code": "3", "next_sequence": 1}
            for n, (code, name, *_rest) in enumerate(DEPARTMENTS)])
        db.commit()
        rows = db.execute(select(Organization.id, Organization.code)).all()
    return _dept_info({code: oid for oid, code in rows})


def _dept_info(ids: dict[str, int]) -> dict[str, dict]:
    with dbmod.new_session() as db:
        paths = dict(db.execute(select(Classification.code, Classification.path)).all())
    return {code: {"id": ids[code], "name": name, "weight": weight, "classes": [*classes, f"3{n + 1:02d}"],
                   "subjects": subjects, "paths": paths}
            for n, (code, name, weight, classes, subjects) in enumerate(DEPARTMENTS)}


def make_entry(rng: random.Random, dept_code: str, dept: dict, seq: int, taken: set) -> tuple[dict, dict]:
    subject = _weighted(rng, dept["subjects"])
    for attempt in range(1000):
        region = rng.choice(REGIONS)
        prefix = dept["name"] if rng.random() < 0.3 else region
        name = f"{prefix}{subject}{rng.choice(SUFFIXES)}"
        if attempt > 20:
            name += f"({rng.randrange(2005, 2026)}年{rng.randrange(1, 13)}月)"
        if (dept_code, name) not in taken:
            break
    taken.add((dept_code, name))
    cls = rng.choice(dept["classes"])
    cycle = rng.choice(list(CYCLES))
    items = rng.sample(COMMON_ITEMS, rng.randrange(3, 11))
    items += [f"{subject}{s}" for s in rng.sample(["编号", "类型", "状态", "日期", "机构", "等级", "事项"],
                                                   rng.randrange(2, 6))]
    region_text = region or "全市"
    summary = (f"本资源记录{region_text}{subject}的{rng.choice(ASPECTS)},由{dept['name']}按{CYCLES[cycle]}更新。"
               + (f"{rng.choice(PURPOSES)}。" if rng.random() < 0.7 else ""))
    code = f"{cls}/{seq:06d}"
    fmt, share, is_open = rng.choice(FORMATS), rng.choice(SHARE), rng.random() < 0.25
    published = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=seq * 7 + rng.randrange(5))
    doc = {"code": code, "name": name, "provider": dept_code, "provider_name": dept["name"], "summary": summary,
           "classification": dept["paths"][cls], "classification_code": cls, "format": fmt, "share_type": share,
           "share_condition": "", "share_method": "api", "share_basis": "", "open": is_open, "open_condition": "",
           "update_cycle": cycle, "status": "published", "version": 1,
           "items": [{"key": f"f{i}", "name": item, "data_type": "C", "length": 50, "required": i == 0,
                      "primary_key": i == 0, "data_element": None, "sensitivity": "L1", "identifies": False}
                     for i, item in enumerate(items)]}
    resource = {"code": code, "classification_code": cls, "name": name, "provider_org_id": dept["id"],
                "summary": summary, "format": fmt, "share_type": share, "share_method": "api", "open": is_open,
                "update_cycle": cycle, "status": "published", "version": 1, "published_version": 1,
                "created_by": "bench", "created_at": published, "updated_at": published}
    entry = {"code": code, "name": name, "provider": dept_code, "provider_name": dept["name"],
             "classification_code": cls, "classification_path": dept["paths"][cls], "format": fmt,
             "share_type": share, "share_method": "api", "open": is_open, "update_cycle": cycle, "version": 1,
             "published_at": published, "document": doc}
    return resource, entry


def grow(target: int, depts: dict[str, dict]) -> tuple[float, float]:
    """Publish generated entries until the catalog holds ``target``; returns (insert s, index s)."""
    codes = list(depts)
    weights = [depts[c]["weight"] for c in codes]
    with dbmod.new_session() as db:
        have = db.scalar(select(func.count()).select_from(CatalogEntry)) or 0
        taken = set(db.execute(select(CatalogEntry.provider, CatalogEntry.name)).all())
    rng = random.Random(have)
    t0 = time.perf_counter()
    with dbmod.new_session() as db:
        for start in range(have, target, 5000):
            resources, entries = [], []
            for seq in range(start, min(start + 5000, target)):
                dept_code = rng.choices(codes, weights)[0]
                resource, entry = make_entry(rng, dept_code, depts[dept_code], seq + 1, taken)
                resources.append(resource)
                entries.append(entry)
            db.execute(insert(Resource), resources)
            ids = dict(db.execute(select(Resource.code, Resource.id).where(
                Resource.code.in_([r["code"] for r in resources]))).all())
            for entry in entries:
                entry["resource_id"] = ids[entry["code"]]
            db.execute(insert(CatalogEntry), entries)
            db.commit()
    inserted = time.perf_counter() - t0
    t0 = time.perf_counter()
    columns = [getattr(CatalogEntry, c) for c in ("resource_id", "name", "provider", "provider_name",
               "classification_code", "classification_path", "format", "share_type", "open", "update_cycle",
               "published_at", "document")]
    with dbmod.new_session() as db:  # the import path: index_many over plain rows, in chunks
        last = db.scalar(text("SELECT coalesce(max(resource_id), 0) FROM catalog_search_docs")
                         if db.get_bind().dialect.name == "sqlite" else
                         text("SELECT coalesce(max(resource_id), 0) FROM catalog_search"))
        while True:
            chunk = db.execute(select(*columns).where(CatalogEntry.resource_id > last)
                               .order_by(CatalogEntry.resource_id).limit(10000)).all()
            if not chunk:
                break
            search.index_many(db, chunk)
            db.commit()
            last = chunk[-1].resource_id
    return inserted, time.perf_counter() - t0


# ---- measuring ---------------------------------------------------------------------------------

def query_mix(n: int, depts: dict[str, dict]) -> list[tuple[str, dict]]:
    """(category, search kwargs) — rare, medium and common keywords, two-word queries, each with and
    without a facet filter."""
    rng = random.Random(42)
    codes = list(depts)
    facet_filters: list[Callable[[], dict]] = [
        lambda: {"provider": rng.choice(codes)}, lambda: {"share_type": rng.choice(["conditional", "unconditional"])},
        lambda: {"open": True}, lambda: {"classification": rng.choice(["2", "201", "203", "1", "3"])},
        lambda: {"format": "database"}]
    mix = []
    for i in range(n):
        kind = ["rare", "medium", "common", "two words"][i % 4]
        q = rng.choice({"rare": RARE, "medium": MEDIUM, "common": COMMON, "two words": TWO_WORD}[kind])
        if (i // 4) % 2:
            mix.append((f"{kind} + facet", {"q": q, **rng.choice(facet_filters)()}))
        else:
            mix.append((kind, {"q": q}))
    return mix


def measure(mix: list[tuple[str, dict]]) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, list[int]]]:
    """Wall-clock and CPU (this process) milliseconds per search() call, by query category."""
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    totals: dict[str, list[int]] = {}

    def timed(label: str, kwargs: dict) -> int:
        start, start_cpu = time.perf_counter(), time.process_time()
        result = search.search(db, **kwargs)
        for key in (label, "all keyword queries") if kwargs.get("q") else (label,):
            wall.setdefault(key, []).append((time.perf_counter() - start) * 1000)
            cpu.setdefault(key, []).append((time.process_time() - start_cpu) * 1000)
        return result.total

    with dbmod.new_session() as db:
        for _cat, kwargs in mix[:20]:  # warm the page cache
            search.search(db, **kwargs)
        for cat, kwargs in mix:
            totals.setdefault(cat, []).append(timed(cat, kwargs))
        for label, kwargs in [("no q, newest first", {"q": None}),
                              ("no q, provider filter", {"q": None, "provider": "GA"})]:
            for _ in range(30):
                timed(label, kwargs)
    return wall, cpu, totals


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


def print_table(title: str, sizes: list[int], results: dict[int, dict[str, list[float]]],
                totals: dict[int, dict[str, list[int]]], what: str) -> None:
    print(f"\n## {title}: search() {what} in ms (p50 / p95 / p99)")
    labels = list(results[sizes[0]])
    print(f"{'query':<24}" + "".join(f"{f'{n:,}':>24}" for n in sizes) + "   matches at largest (min–max)")
    for label in labels:
        cells = "".join(f"{pct(results[n][label], 50):>8.1f}{pct(results[n][label], 95):>8.1f}"
                        f"{pct(results[n][label], 99):>8.1f}" for n in sizes)
        got = totals[sizes[-1]].get(label)
        span = f"   {min(got):,}–{max(got):,}" if got else ""
        print(f"{label:<24}{cells}{span}")
    print(f"{'(keyword queries)':<24}" + "".join(f"{len(results[n]['all keyword queries']):>24}" for n in sizes))


def run(sizes: list[int], queries: int, title: str) -> None:
    migrate.upgrade()
    depts = setup_reference_data()
    mix = query_mix(queries, depts)
    wall, cpu, totals = {}, {}, {}
    for n in sizes:
        inserted, indexed = grow(n, depts)
        size = ""
        if dbmod.get_settings().database_url.startswith("sqlite"):
            size = f", database file {(WORK / 'bench.db').stat().st_size / 2**20:,.0f} MB"
        if not dbmod.get_settings().database_url.startswith("sqlite"):
            # what autovacuum does shortly after an import: the visibility map lets facet counts without a
            # query use an index-only scan
            with dbmod.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE catalog_search"))
        print(f"({title}: grown to {n:,} entries — rows inserted in {inserted:.1f} s, "
              f"index_many over the new rows {indexed:.1f} s{size}; load average {os.getloadavg()[0]:.1f})")
        wall[n], cpu[n], totals[n] = measure(mix)
    print_table(title, sizes, wall, totals, "wall-clock latency")
    print_table(title, sizes, cpu, totals, "CPU time of this process" + (
        " (the client only: the server's work is in its own processes)" if title == "PostgreSQL" else ""))


def run_postgres(admin_url: str, size: int, queries: int) -> None:
    name = f"govdata_bench_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        os.environ["GOVDATA_DATABASE_URL"] = make_url(admin_url).set(database=name).render_as_string(
            hide_password=False)
        dbmod.reset_caches()
        run([size], queries, "PostgreSQL")
    finally:
        dbmod.reset_caches()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--queries", type=int, default=240)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    print(f"# govdata catalog search benchmark — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}")
    t0 = time.perf_counter()
    search.terms_of("出生医学证明")
    print(f"(jieba loaded in {time.perf_counter() - t0:.2f} s, once per process)")
    try:
        run(sizes, args.queries, "SQLite (WAL, FTS5)")
        if os.environ.get("GOVDATA_BENCH_POSTGRES"):
            run_postgres(os.environ["GOVDATA_BENCH_POSTGRES"], sizes[-1], args.queries)
    finally:
        dbmod.reset_caches()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
