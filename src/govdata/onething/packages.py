"""Package versions: load a package file (checked against the catalog), keep every version, find the current one.

The bureau edits a package by loading a new file (``govdata onething load FILE`` or ``PUT
/api/v1/onething/packages/{key}``); the same content twice makes no new version. A running case keeps the
version it started with. Parsed packages are remembered per (key, version): the content never changes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.cn import ric

from govdata.actionlog import service as actionlog
from govdata.catalog import projection
from govdata.errors import NotFound
from govdata.ingest import service as ingest
from govdata.onething import package as pkg
from govdata.onething.models import PackageVersion
from govdata.orgs import service as orgs
from govdata.principal import Principal, require_role

SHIPPED_DIR = Path(__file__).parent / "packages"


def catalog_problems(db: Session, package: pkg.Package) -> list[str]:
    """Resources and items the package names must be published in the catalog; departments must exist."""
    problems = []
    entries = {(e.provider, e.name): e for e in projection.published_entries(db)}
    for ev in package.spec.evidence:
        entry = entries.get((ev.resource.provider, ev.resource.name))
        if entry is None:
            problems.append(f"evidence.{ev.key}: 目录中没有已发布的信息资源 {ev.resource.provider} {ev.resource.name}")
            continue
        items = {i["key"] for i in entry.document["items"]}
        unknown = sorted(set(package.spec.items_needed(ev.key)) - items)
        if unknown:
            problems.append(f"evidence.{ev.key}: 信息资源 {ev.resource.name} 没有信息项 {'、'.join(unknown)}")
    codes = {package.spec.operator} | {m.department for m in package.spec.matters}
    problems += [f"部门 {code} 不存在" for code in sorted(codes) if orgs.find_by_code(db, code) is None]
    return problems


def validate(db: Session | None, package: pkg.Package) -> None:
    if db is None:
        return
    problems = catalog_problems(db, package)
    if problems:
        raise pkg.PackageInvalid("套餐文件有误:" + ";".join(problems), details={"problems": problems})


def store(db: Session, principal: Principal, package: pkg.Package) -> tuple[PackageVersion, bool]:
    """A new version of the package (or the current one when the content is unchanged); returns (row, created)."""
    require_role(principal)
    validate(db, package)
    current = _latest(db, package.key)
    if current is not None and current.digest == package.digest:
        return current, False
    row = PackageVersion(key=package.key, version=(current.version + 1) if current else 1, name=package.spec.name,
                         content=package.content, bpmn=package.bpmn, digest=package.digest, active=True,
                         created_by=principal.name)
    db.add(row)
    db.flush()
    actionlog.record(db, principal, "onething.package.load", target_type="onething_package", target_id=package.key,
                     summary=f"载入一件事套餐 {package.spec.name} 第 {row.version} 版")
    db.commit()
    return row, True


def load_file(db: Session, principal: Principal, path: Path) -> tuple[PackageVersion, bool]:
    return store(db, principal, pkg.read_file(path))


def load_shipped(db: Session, principal: Principal) -> list[tuple[PackageVersion, bool]]:
    return [load_file(db, principal, path) for path in sorted(SHIPPED_DIR.glob("*.yaml"))]


def _latest(db: Session, key: str) -> PackageVersion | None:
    return db.scalar(select(PackageVersion).where(PackageVersion.key == key)
                     .order_by(PackageVersion.version.desc()).limit(1))


def current(db: Session, key: str) -> tuple[PackageVersion, pkg.Package]:
    """The version new cases start with (404 ``package_not_found`` when none is active)."""
    row = _latest(db, key)
    if row is None or not row.active:
        raise NotFound(f"没有可办理的一件事套餐 {key}", code="package_not_found")
    return row, parsed(row.key, row.version, row.content, row.bpmn)


def version(db: Session, key: str, number: int) -> pkg.Package:
    row = db.scalar(select(PackageVersion).where(PackageVersion.key == key, PackageVersion.version == number))
    if row is None:
        raise NotFound(f"一件事套餐 {key} 没有第 {number} 版", code="package_not_found")
    return parsed(row.key, row.version, row.content, row.bpmn)


@lru_cache(maxsize=128)
def parsed(key: str, number: int, content: str, bpmn: str) -> pkg.Package:
    spec_flow = pkg.flow_name(content)
    return pkg.parse(content, bpmn if spec_flow else None)


def list_current(db: Session) -> list[tuple[PackageVersion, pkg.Package]]:
    newest = (select(PackageVersion.key, func.max(PackageVersion.version).label("v"))
              .group_by(PackageVersion.key).subquery())
    rows = db.scalars(select(PackageVersion).join(newest, (PackageVersion.key == newest.c.key)
                                                  & (PackageVersion.version == newest.c.v))
                      .where(PackageVersion.active.is_(True)).order_by(PackageVersion.id))
    return [(row, parsed(row.key, row.version, row.content, row.bpmn)) for row in rows]


def versions(db: Session, key: str) -> list[PackageVersion]:
    return list(db.scalars(select(PackageVersion).where(PackageVersion.key == key)
                           .order_by(PackageVersion.version.desc())))


def set_active(db: Session, principal: Principal, key: str, active: bool) -> PackageVersion:
    require_role(principal)
    row = _latest(db, key)
    if row is None:
        raise NotFound(f"一件事套餐 {key} 不存在", code="package_not_found")
    row.active = active
    actionlog.record(db, principal, "onething.package.activate" if active else "onething.package.retire",
                     target_type="onething_package", target_id=key, summary=("启用" if active else "停用") + row.name)
    db.commit()
    return row


def summary(db: Session, row: PackageVersion, package: pkg.Package) -> dict[str, Any]:
    """What an applicant or officer sees of a package before starting: matters, departments, proofs."""
    names = orgs.names_by_code(db)
    spec = package.spec
    return {
        "key": spec.key, "version": row.version, "name": spec.name, "life_event": spec.life_event,
        "applicant_type": spec.applicant_type, "description": spec.description, "deadline_days": spec.deadline_days,
        "operator": {"code": spec.operator, "name": names.get(spec.operator, spec.operator)},
        "inputs": [f.model_dump(by_alias=True, exclude_none=True) for f in spec.inputs],
        "matters": [{"key": m.key, "name": m.name, "department": m.department,
                     "department_name": names.get(m.department, m.department), "deadline_days": m.deadline_days,
                     "needs": package.needs[m.key], "trips": m.trips} for m in spec.matters],
        "evidence": [{"key": e.key, "label": e.label, "provider": e.resource.provider,
                      "provider_name": names.get(e.resource.provider, e.resource.provider),
                      "resource": e.resource.name, "paper": e.paper} for e in spec.evidence],
        "paper_saved": sorted({e.paper for e in spec.evidence if e.paper}),
        "trips_without": sum(m.trips for m in spec.matters),
    }


def sample_applicants(db: Session, key: str, limit: int = 20) -> list[dict[str, Any]]:
    """Demo: people of the package's ``samples`` resource (its latest published version), for trying it out."""
    spec = current(db, key)[1].spec
    samples = spec.samples
    if samples is None:
        return []
    code = next((e.code for e in projection.published_entries(db, provider=samples.resource.provider)
                 if e.name == samples.resource.name), None)
    version = ingest.latest_published(db, code) if code else None
    if version is None:
        return []
    columns = list(dict.fromkeys([samples.id_number, samples.name, *samples.inputs.values(),
                                  *([samples.note] if samples.note else [])]))
    out, seen = [], set()
    for row in ingest.read_rows(version, columns).iter_rows(named=True):
        id_number = str(row[samples.id_number] or "")
        if id_number in seen or not ric.is_valid(id_number):
            continue
        seen.add(id_number)
        out.append({"id_number": id_number, "name": row[samples.name],
                    "note": str(row[samples.note]) if samples.note and row[samples.note] else "",
                    "inputs": {k: row[item] for k, item in samples.inputs.items()}})
        if len(out) >= limit:
            break
    return out
