"""The demo's open-data portal: the open catalog resources of many departments get a published version (those
without one) and are opened through the pre-open check by their own data officers, with the treatments a
department would choose for what the check finds (ID numbers and phones removed, names masked, addresses
cut to the district); then a month of usage, so the home page and rankings are alive on first start."""

from __future__ import annotations

import random
import zlib
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from govdata.catalog import demands, projection
from govdata.catalog.schemas import DemandReply, PublicDemandIn
from govdata.config import local_tz
from govdata.db import utcnow
from govdata.demo import datasets
from govdata.demo.sharing import officer
from govdata.errors import NotFound
from govdata.ingest import service as ingest
from govdata.opendata import feedback, listing, precheck, service, showcases, usage
from govdata.opendata.schemas import ShowcaseIn, ShowcaseReview
from govdata.principal import CLI, anonymous

# (department, resource name, rows): one or more open resources of each department that opens data
OPEN: tuple[tuple[str, str, int], ...] = (
    ("450200-WJ", "医疗机构名录", 0),  # has demo versions already
    ("450200-WJ", "法定传染病疫情统计信息", 600),
    ("450200-JY", "学校名录", 420),
    ("450200-RS", "人力资源服务机构名录", 180),
    ("450200-YB", "医保定点医药机构名录", 900),
    ("450200-SJ", "企业登记公示信息", 2400),
    ("450200-SJ", "食品经营许可证信息", 1500),
    ("450200-SW", "纳税信用A级纳税人名单", 800),
    ("450200-MZ", "养老机构名录", 160),
    ("450200-ZR", "国有建设用地使用权出让信息", 300),
    ("450200-ZJ", "商品房预售许可信息", 260),
    ("450200-GJJ", "住房公积金年度报告", 12),
    ("450200-DSJ", "政务数据共享交换统计信息", 480),
    ("450206-WJ", "柳江区村卫生室名录", 140),
)
# quasi-identifiers declared by the department (k-anonymity measured on them): small counts per district of a
# disease could point at the few people behind them
QUASI_IDENTIFIERS = {"法定传染病疫情统计信息": ["region_code"]}
# an open resource its department tries to open as it is: the check refuses it (a person's name left in), so
# the demo shows a refused report on /opendata
REFUSED = ("450200-JY", "校外培训机构名录", 150)
# what a department does with each kind of direct identifier the check finds
TREATMENT_OF = {"id_number": "remove", "name": "mask", "phone": "remove", "address": "region", "email": "remove"}


def load(db: Session) -> dict[str, int]:
    """Open the demo datasets that are not open yet; returns how many were opened and refused."""
    entries = {(e.provider, e.name): e for e in projection.published_entries(db, open_only=True)}
    opened = refused = 0
    for provider, name, rows in OPEN:
        entry = entries.get((provider, name))
        if entry is None or _is_listed(db, entry.code):
            continue
        doc = ingest.resource_doc(db, entry.code)
        if ingest.latest_published(db, entry.code) is None and rows:
            _ingest(db, doc, rows)
        if ingest.latest_published(db, entry.code) is None:
            continue
        check = listing.check(db, officer(db, provider), entry.code, open_it=True, settings=_settings(db, doc))
        opened += check.outcome == "opened"
        refused += check.outcome == "refused"
    refused += _refused_example(db, entries)
    if opened:
        _usage(db)
        _community(db)
    return {"opened": opened, "refused": refused}


def _refused_example(db: Session, entries: dict[tuple[str, str], Any]) -> int:
    provider, name, rows = REFUSED
    entry = entries.get((provider, name))
    if entry is None or listing.checks_of(db, entry.code, limit=1):
        return 0
    if ingest.latest_published(db, entry.code) is None:
        _ingest(db, ingest.resource_doc(db, entry.code), rows)
    empty = {"treatments": {}, "quasi_identifiers": [], "k": listing.settings_of(db, entry.code)["k"]}
    return int(listing.check(db, officer(db, provider), entry.code, open_it=True, settings=empty).outcome == "refused")


def _is_listed(db: Session, code: str) -> bool:
    try:
        service.get_open(db, code)
    except NotFound:  # not listed, or withdrawn: the demo may open it
        return False
    return True


def _ingest(db: Session, doc: dict[str, Any], rows: int) -> None:
    seed = zlib.crc32(doc["name"].encode())
    frame = datasets.generate_rows(db, doc, rows, seed=seed, bad_share=0.005)
    when = utcnow() - timedelta(days=3 + seed % 20)
    version = datasets.ingest_frame(db, doc, frame, when)
    datasets.date_version(db, version, when, doc.get("update_cycle"))


def _settings(db: Session, doc: dict[str, Any]) -> dict[str, Any]:
    version = ingest.latest_published(db, doc["code"])
    frame = ingest.read_rows(version)
    findings = precheck.detect(doc["items"], frame)
    return {"treatments": {f.key: TREATMENT_OF[f.kind] for f in findings if f.kind in TREATMENT_OF},
            "quasi_identifiers": QUASI_IDENTIFIERS.get(doc["name"], []),
            "k": listing.settings_of(db, doc["code"])["k"]}


def _usage(db: Session) -> None:
    """Thirty days of views, downloads and API calls, more for the popular kinds of data."""
    rng = random.Random(450200)
    today = utcnow().astimezone(local_tz()).date()
    for dataset in service.all_open(db):
        weight = 1 + zlib.crc32(dataset.code.encode()) % 7
        for back in range(30):
            day = today - timedelta(days=back)
            usage.add(db, dataset.code, day, views=rng.randint(5, 40) * weight,
                      downloads=rng.randint(0, 6) * weight,
                      api_calls=rng.randint(0, 30) * weight if dataset.has_api else 0)
    db.commit()


def _dataset(db: Session, name: str) -> Any:
    return next((d for d in service.all_open(db) if d.name == name), None)


def _community(db: Session) -> None:
    """Ratings, an error report answered and one waiting, open demands in each state, two reuse showcases."""
    public = anonymous("公众")
    hospitals, schools = _dataset(db, "医疗机构名录"), _dataset(db, "学校名录")
    companies = _dataset(db, "企业登记公示信息")
    for dataset, stars in ((hospitals, (5, 4, 5, 4)), (schools, (4, 5, 3)), (companies, (5, 5, 4, 3, 4))):
        if dataset is None:
            continue
        for i, star in enumerate(stars):
            feedback.rate(db, dataset.code, star, developer_id=None, ip=f"10.0.0.{i + 1}")
    if hospitals is not None:
        item = feedback.report(db, hospitals.code, "error", "柳州市工人医院的核定床位数与医院官网公布的不一致,请核实。",
                               author="市民李先生", contact="13800000000", attempt=public)
        feedback.answer(db, officer(db, hospitals.provider), item.id,
                        "已核实:官网数据为扩建前口径,本平台数据以卫生健康委核定为准,已通知医院更新官网。")
        feedback.report(db, hospitals.code, "question", "能否增加各医院的门诊时间?", author="张同学", attempt=public)
    _demands(db, public)
    used = [d.code for d in (hospitals, schools, companies) if d is not None]
    if len(used) >= 2:
        for title, kind, text, codes in (
            ("柳州就医地图", "app", "基于医疗机构名录和医保定点医药机构名录,在地图上查找附近的医院和定点药店。",
             used[:1]),
            ("柳州市企业成立趋势分析", "analysis", "用企业登记公示信息按年份、行业统计新设企业,观察营商环境变化。",
             used[-1:]),
        ):
            item = showcases.submit(db, ShowcaseIn(title=title, kind=kind, description=text,
                                                   url="https://example.org/" + str(abs(hash(title)) % 10_000),
                                                   datasets=codes, submitter="柳州开发者协会",
                                                   contact="dev@example.org"), developer_id=None, attempt=public)
            showcases.review(db, CLI, item.id, ShowcaseReview(decision="approve", comment="数据来源标注清楚"))


def _demands(db: Session, public: Any) -> None:
    filed = [
        # without a department: the bureau assigns it
        ("公交线路及站点数据", "希望开放公交线路、站点位置和首末班时间,用于出行应用。", None),
        ("公共停车场泊位信息", "希望开放公共停车场位置与实时空余泊位。", "450200-ZJ"),
        ("学校招生片区数据", "希望开放各区义务教育学校的招生片区。", "450200-JY"),
    ]
    made = []
    for title, text, org in filed:
        made.append(demands.file_public(db, PublicDemandIn(title=title, description=text, target_org=org,
                                                           requester="市民", contact="demo@example.org"), public))
    answered = made[-1]
    if answered.target_org:
        demands.reply(db, officer(db, answered.target_org), answered.id,
                      DemandReply(status="accepted", reply="已列入下季度开放计划,届时将在开放平台发布。"))
