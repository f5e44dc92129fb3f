"""Load the demo. Idempotent and resumable: what exists is kept, what is missing is created.

Demo passwords are generated at load time (never committed) and written to ``<var>/demo-accounts.txt``
with mode 0600, so ``make demo`` can print them again on a later start.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session
from stdnum.cn import uscc

from govdata.accounts import service as accounts
from govdata.accounts.schemas import UserCreate
from govdata.actionlog import service as actionlog
from govdata.catalog import projection
from govdata.catalog import service as catalog
from govdata.catalog.schemas import ResourceIn
from govdata.config import VAR_DIR
from govdata.demo import catalog_data, data, datasets, families
from govdata.demo import matters as matters_demo
from govdata.demo import onething as demo_onething
from govdata.demo import opendata as demo_opendata
from govdata.demo import sharing as demo_sharing
from govdata.orgs import service as orgs
from govdata.orgs.schemas import OrgCreate
from govdata.platform import service as platform
from govdata.principal import CLI
from govdata.standards import service as standards

DEMO_FLAG = "demo_loaded"
ACCOUNTS_FILE = VAR_DIR / "demo-accounts.txt"


def demo_uscc(region: str, code: str, org_type: str) -> str:
    """A well-formed credit code for a demo organisation: 11 = 机关 (government organ), 12 = 事业单位."""
    kind = "12" if org_type == "institution" else "11"
    body = str(int(hashlib.sha256(code.encode()).hexdigest(), 16))[:9]
    partial = kind + region + body
    return partial + uscc.calc_check_digit(partial)


def org_specs() -> list[OrgCreate]:
    """The demo tree in creation order (parents before children)."""
    city_code, city_name, city_region = data.CITY
    specs = [OrgCreate(code=city_code, name=city_name, level="city", type="government", region_code=city_region,
                       uscc=demo_uscc(city_region, city_code, "government"), short_name="柳州市政府")]
    for i, (code, name, kind) in enumerate(data.CITY_DEPARTMENTS):
        specs.append(OrgCreate(code=code, name=name, level="city", type=kind, region_code=city_region,
                               parent=city_code, uscc=demo_uscc(city_region, code, kind), sort_order=i))
    for i, (region, (county, townships)) in enumerate(data.COUNTIES.items()):
        gov = f"{region}-GOV"
        specs.append(OrgCreate(code=gov, name=f"{county}人民政府", level="county", type="government",
                               region_code=region, parent=city_code, uscc=demo_uscc(region, gov, "government"),
                               sort_order=100 + i))
        for abbr, suffix in data.COUNTY_DEPARTMENTS:
            code = f"{region}-{abbr}"
            specs.append(OrgCreate(code=code, name=f"{county}{suffix}", level="county", type="department",
                                   region_code=region, parent=gov, uscc=demo_uscc(region, code, "department")))
        for j, township in enumerate(townships, start=1):
            suffix = "办事处" if township.endswith("街道") else "人民政府"
            specs.append(OrgCreate(code=f"{region}-T{j:02d}", name=f"{township}{suffix}", level="township",
                                   type="government", region_code=region, parent=gov, sort_order=200 + j))
    return specs


def _demo_password() -> str:
    return f"Gd-{secrets.token_urlsafe(9)}-7a"


def load(db: Session, progress: Callable[[str], None] | None = None,
         report: Callable[[str], None] | None = None) -> list[tuple[str, str, str]]:
    """Create what is missing; returns (username, role, password) for accounts created now. ``report`` receives
    summary lines for the operator (the demo datasets' counts)."""
    for spec in org_specs():
        if orgs.find_by_code(db, spec.code) is None:
            orgs.create(db, CLI, spec)
            if progress:
                progress(spec.name)
    created = []
    for username, full_name, org_code, role in data.ACCOUNTS:
        if accounts.find_user(db, username) is None:
            password = _demo_password()
            accounts.create_user(db, CLI, UserCreate(username=username, full_name=full_name, password=password,
                                                     org=org_code, role=role))
            created.append((username, role, password))
    standards.load_shipped(db)
    load_catalog(db, progress)
    if platform.get_setting(db, DEMO_FLAG) is None:
        platform.set_setting(db, DEMO_FLAG, "450200")
        actionlog.record(db, CLI, "demo.load", target_type="platform", target_id="demo",
                         summary="加载柳州演示数据")
        db.commit()
    if created:
        _save_accounts(created)
    loaded = datasets.load(db, progress)  # dataset versions, quality scores, quarantined rows
    shared = demo_sharing.load(db)  # requests, grants, gateway calls in the audit trail
    registered = matters_demo.load(db)  # the register of government service matters (政务服务事项清单)
    onething = demo_onething.load(db, families.applicants)  # packages, the operator's grants, cases
    opened = demo_opendata.load(db)  # the open-data portal's datasets and a month of their usage
    if report:
        report(datasets.describe(loaded))
        if shared["requests"]:
            report(f"演示共享:{shared['requests']} 个共享申请,交换网关调用 {shared['calls']} 次")
        if registered:
            report(f"政务服务事项清单:{registered} 个事项")
        if onething["cases"]:
            report(f"一件事:{onething['cases']} 个演示办件(套餐 {onething['packages']} 个)")
        if opened["opened"]:
            report(f"数据开放:{opened['opened']} 个数据集已在开放平台开放")
    return created


def load_catalog(db: Session, progress: Callable[[str], None] | None = None) -> int:
    """Register and publish the demo catalog's resources that are not published yet (one transaction)."""
    published = {(e.provider, e.name) for e in projection.published_entries(db)}
    count = 0
    for raw in catalog_data.RESOURCES:
        if (raw["provider"], raw["name"]) in published:
            continue
        resource = catalog.create(db, CLI, ResourceIn.model_validate(raw), commit=False)
        catalog.publish_directly(db, CLI, resource)
        count += 1
        if progress:
            progress(raw["name"])
    db.commit()
    return count


def is_loaded(db: Session) -> bool:
    return platform.get_setting(db, DEMO_FLAG) is not None


def _save_accounts(created: list[tuple[str, str, str]], path: Path = ACCOUNTS_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    known = dict(_read_accounts(path))
    known.update({u: f"{r}\t{p}" for u, r, p in created})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for username, rest in known.items():
            fh.write(f"{username}\t{rest}\n")


def _read_accounts(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        username, _, rest = line.partition("\t")
        rows.append((username, rest))
    return rows


def saved_accounts() -> list[tuple[str, str, str]]:
    out = []
    for username, rest in _read_accounts(ACCOUNTS_FILE):
        role, _, password = rest.partition("\t")
        out.append((username, role, password))
    return out
