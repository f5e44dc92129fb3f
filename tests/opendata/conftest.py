"""A small open-data portal: three departments' open resources with published versions, opened through the
pre-open check, plus resources that must never show: open in the catalog without a version, a version without
being open in the catalog (private), and one withdrawn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message

from govdata.ingest import service as ingest
from govdata.opendata import developers, listing, usage
from govdata.principal import CLI, Principal
from tests.factories import liuzhou, make_org, make_user, principal_of, publish, resource_spec, with_standards
from tests.ingest.conftest import PEOPLE_ITEMS, person, write_csv

HOSPITAL_ITEMS = [
    {"key": "org_name", "name": "医疗机构名称", "data_type": "C", "length": 100, "required": True,
     "primary_key": True, "data_element": "DE0030"},
    {"key": "level", "name": "医院等级", "data_type": "C", "length": 20},
    {"key": "district", "name": "所在区县", "data_type": "C", "length": 20},
    {"key": "beds", "name": "床位数", "data_type": "N", "length": 6},
]
COMPANY_ITEMS = [
    {"key": "credit_code", "name": "统一社会信用代码", "data_type": "C", "length": 18, "required": True,
     "primary_key": True, "data_element": "DE0006"},
    {"key": "company_name", "name": "企业名称", "data_type": "C", "length": 100, "data_element": "DE0013"},
    {"key": "founded", "name": "成立日期", "data_type": "D", "data_element": "DE0028"},
    {"key": "industry", "name": "所属行业", "data_type": "C", "length": 40},
]
PEOPLE_SETTINGS = {"treatments": {"id_number": "remove", "name": "remove", "phone": "remove", "birth_date": "year"},
                   "quasi_identifiers": ["sex", "birth_date", "region"], "k": 5}
DISTRICTS = ("城中区", "鱼峰区", "柳南区", "柳北区")


def hospitals(n: int = 30) -> list[dict[str, str]]:
    rows = [{"org_name": f"柳州市第{i + 1}医院", "level": ("三级甲等", "二级甲等", "一级")[i % 3],
             "district": DISTRICTS[i % 4], "beds": str(100 + 10 * i)} for i in range(n)]
    rows[1]["org_name"] = "=HYPERLINK(\"http://evil.example\")"  # a hostile cell that must stay text
    return rows


def companies(n: int = 40) -> list[dict[str, str]]:
    from stdnum.cn import uscc

    rows = []
    for i in range(n):
        body = f"91450200MA5{i:06d}"[:17]
        rows.append({"credit_code": body + uscc.calc_check_digit(body), "company_name": f"柳州市示例{i}号科技有限公司",
                     "founded": f"20{10 + i % 14:02d}-0{1 + i % 9}-15",
                     "industry": ("制造业", "软件和信息技术服务业")[i % 2]})
    return rows


@dataclass
class Portal:
    hospitals: str  # WJ, opened, no identifiers
    companies: str  # SCJ, opened, enterprise data
    people: str  # GA, opened after removing and generalising identifiers
    no_version: str  # open in the catalog, nothing published
    private: str  # a version, but not open in the catalog
    withdrawn: str  # opened once, then withdrawn
    bureau: Principal
    wj: Principal
    ga: Principal
    scj: Principal


def _publish_with_data(db: Session, tmp: Path, provider: str, name: str, items: list[dict], rows: list[dict],
                       *, open_: bool = True, summary: str = "", classification: str = "主题/医疗健康") -> str:
    spec = resource_spec(provider=provider, name=name, items=items, open=open_, share_type="unconditional",
                         share_condition="", summary=summary or name, classification=classification,
                         update_cycle="monthly", sensitivity="L1")
    code = publish(db, spec)
    path = write_csv(tmp / f"{provider}-{len(rows)}-{abs(hash(name))}.csv", rows, header=[i["key"] for i in items])
    ingest.ingest_file(db, CLI, code, path)
    return code


def build_portal(db: Session, tmp: Path) -> Portal:
    liuzhou(db)
    with_standards(db)
    make_org(db, "SCJ", parent="LZ", name="柳州市市场监督管理局")
    make_user(db, "scj_admin", "SCJ", "dept_admin")
    usage.reset()
    h = _publish_with_data(db, tmp, "WJ", "医疗机构名录", HOSPITAL_ITEMS, hospitals(), summary="全市医疗机构及床位")
    c = _publish_with_data(db, tmp, "SCJ", "企业登记信息", COMPANY_ITEMS, companies(),
                           classification="主题/市场监管", summary="在本市登记的企业")
    p = _publish_with_data(db, tmp, "GA", "户籍人口统计", PEOPLE_ITEMS, [person(n) for n in range(200)],
                           classification="基础/人口", summary="户籍人口按性别、出生年份、区县")
    no_version = publish(db, resource_spec(provider="WJ", name="疫苗接种点", items=HOSPITAL_ITEMS, open=True,
                                           share_type="unconditional", share_condition="", sensitivity="L1"))
    private = _publish_with_data(db, tmp, "WJ", "住院病人名单", HOSPITAL_ITEMS, hospitals(5), open_=False)
    withdrawn = _publish_with_data(db, tmp, "SCJ", "旧企业名录", COMPANY_ITEMS, companies(10),
                                   classification="主题/市场监管")
    listing.check(db, principal_of(db, "wj_admin"), h, open_it=True)
    listing.check(db, principal_of(db, "scj_admin"), c, open_it=True)
    listing.check(db, principal_of(db, "ga_admin"), p, open_it=True, settings=PEOPLE_SETTINGS)
    listing.check(db, principal_of(db, "scj_admin"), withdrawn, open_it=True)
    listing.withdraw(db, principal_of(db, "scj_admin"), withdrawn, "数据已停止维护")
    return Portal(hospitals=h, companies=c, people=p, no_version=no_version, private=private, withdrawn=withdrawn,
                  bureau=principal_of(db, "admin"), wj=principal_of(db, "wj_admin"), ga=principal_of(db, "ga_admin"),
                  scj=principal_of(db, "scj_admin"))


@pytest.fixture
def portal(db: Session, tmp_path: Path) -> Portal:
    return build_portal(db, tmp_path)


# ---- shared helpers of the community tests (developers, feedback, showcases, demands, API) ------------------------

@pytest.fixture
def fresh_limits() -> Iterator[None]:
    """Forget the in-memory throttles, key caches and counts before and after a test
    (``pytestmark = pytest.mark.usefixtures("fresh_limits")``)."""
    developers.reset()
    yield
    developers.reset()


def csrf(client: TestClient, path: str = "/open/developer") -> str:
    """The CSRF token of the form on a page (which also sets the CSRF cookie)."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@dataclass
class Posted:
    status: int
    body: bytes
    pulled: int  # bytes of the request body the application read


def post_counting(app: ASGIApp, path: str, body: bytes, *, content_type: str = "application/json",
                  chunk: int = 64 << 10, declare_length: bool = False) -> Posted:
    """POST ``body`` to the application in ``chunk``-sized messages (as a chunked upload arrives, without
    Content-Length unless ``declare_length``), counting how much of it the application pulled."""
    parts = [body[i:i + chunk] for i in range(0, len(body), chunk)]
    pulled, sent = 0, []
    headers = [(b"host", b"testserver"), (b"content-type", content_type.encode())]
    if declare_length:
        headers.append((b"content-length", str(len(body)).encode()))

    async def receive() -> Message:
        nonlocal pulled
        if not parts:
            return {"type": "http.disconnect"}
        part = parts.pop(0)
        pulled += len(part)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message: Message) -> None:
        sent.append(message)

    path_only, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path_only, "raw_path": path_only.encode(), "query_string": query.encode(), "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    with ThreadPoolExecutor(1) as thread:  # its own event loop, whatever runs in this thread
        thread.submit(anyio.run, app, scope, receive, send).result()
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return Posted(status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), pulled)
