"""Organisation tree: create, change, move, delete, with the tree's rules checked before anything is written.

Rules: codes are unique and stable; the region code is a current GB/T 2260 code inside the parent's
region; a child is never at a higher level than its parent (city ≥ county ≥ township); a move never
makes a cycle; the unified social credit code, when given, passes its GB 32100 check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.errors import Conflict, NotFound, ValidationFailed
from govdata.i18n import N_
from govdata.orgs.models import LEVEL_RANK, LEVELS, ORG_TYPES, Organization
from govdata.orgs.schemas import OrgCreate, OrgUpdate
from govdata.principal import Principal, require_role
from govdata.standards import identifiers, regions

LEVEL_LABELS = {"city": N_("市级"), "county": N_("县区"), "township": N_("乡镇(街道)")}
TYPE_LABELS = {"government": N_("人民政府"), "department": N_("部门"), "institution": N_("事业单位")}

# Other domains register checks that refuse deleting an organisation they still reference
# (people, credentials, later resources); each returns a Chinese reason or None.
DeleteGuard = Callable[[Session, Organization], str | None]
_delete_guards: list[DeleteGuard] = []


def register_delete_guard(guard: DeleteGuard) -> None:
    if guard not in _delete_guards:
        _delete_guards.append(guard)


def get_by_code(db: Session, code: str) -> Organization:
    org = db.scalar(select(Organization).where(Organization.code == code))
    if org is None:
        raise NotFound(f"机构不存在:{code}", code="org_not_found")
    return org


def get_by_id(db: Session, org_id: int) -> Organization:
    org = db.get(Organization, org_id)
    if org is None:
        raise NotFound(f"机构不存在:{org_id}", code="org_not_found")
    return org


def find_by_code(db: Session, code: str) -> Organization | None:
    return db.scalar(select(Organization).where(Organization.code == code))


def all_orgs(db: Session) -> list[Organization]:
    """Every organisation (a city has hundreds, not millions): for lookups in bulk work such as imports."""
    return list(db.scalars(select(Organization).order_by(Organization.sort_order, Organization.code)))


def by_ids(db: Session, ids: set[int]) -> dict[int, Organization]:
    if not ids:
        return {}
    return {o.id: o for o in db.scalars(select(Organization).where(Organization.id.in_(ids)))}


def names_by_code(db: Session) -> dict[str, str]:
    return dict(db.execute(select(Organization.code, Organization.name)).all())


def root(db: Session) -> Organization | None:
    """The top of the tree (the first root by sort order), e.g. 柳州市人民政府."""
    return db.scalar(select(Organization).where(Organization.parent_id.is_(None))
                     .order_by(Organization.sort_order, Organization.code).limit(1))


def code_of(db: Session, org_id: int | None) -> str | None:
    if org_id is None:
        return None
    return db.scalar(select(Organization.code).where(Organization.id == org_id))


def codes_by_id(db: Session, ids: set[int | None]) -> dict[int, str]:
    """Organisation codes for many ids in one query (for listings of people, credentials, children)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.execute(select(Organization.id, Organization.code).where(Organization.id.in_(wanted))).all())


def as_dict(db: Session, org: Organization, parent_code: str | None = None) -> dict[str, Any]:
    division = regions.lookup(org.region_code)
    if parent_code is None:
        parent_code = code_of(db, org.parent_id)
    return {
        "code": org.code, "name": org.name, "short_name": org.short_name, "level": org.level,
        "type": org.org_type, "region_code": org.region_code,
        "region_name": division.name if division else None, "parent": parent_code,
        "uscc": org.uscc, "sort_order": org.sort_order,
        "created_at": org.created_at.isoformat(), "updated_at": org.updated_at.isoformat(),
    }


def _check_level_and_type(level: str, org_type: str) -> None:
    if level not in LEVELS:
        raise ValidationFailed(f"机构层级无效:{level}(应为 city、county 或 township)", code="invalid_level")
    if org_type not in ORG_TYPES:
        raise ValidationFailed(
            f"机构类型无效:{org_type}(应为 government、department 或 institution)", code="invalid_org_type")


def _check_region(region_code: str, parent: Organization | None) -> None:
    if not regions.is_current(region_code):
        raise ValidationFailed(f"行政区划代码无效或已撤销:{region_code}", code="invalid_region_code")
    if parent is not None and not _region_within(region_code, parent.region_code):
        raise ValidationFailed(
            f"行政区划 {region_code} 不在上级机构的区划 {parent.region_code} 范围内", code="region_outside_parent")


def _region_within(child: str, parent: str) -> bool:
    """450206 lies within 450200 and 450000; a code lies within itself."""
    stripped = parent.rstrip("0")
    if len(stripped) % 2:
        stripped += "0"
    return child.startswith(stripped)


def _check_uscc(db: Session, uscc: str | None, exclude_id: int | None = None) -> str | None:
    if not uscc:
        return None
    uscc = identifiers.validate_uscc(uscc)
    clash = db.scalar(select(Organization).where(Organization.uscc == uscc))
    if clash is not None and clash.id != exclude_id:
        raise Conflict(f"统一社会信用代码 {uscc} 已被机构 {clash.code}({clash.name})使用", code="uscc_exists")
    return uscc


def _resolve_parent(db: Session, parent_code: str | None) -> Organization | None:
    if not parent_code:
        return None
    parent = find_by_code(db, parent_code)
    if parent is None:
        raise ValidationFailed(f"上级机构不存在:{parent_code}", code="unknown_parent")
    return parent


def _check_parent_level(level: str, parent: Organization | None) -> None:
    if parent is not None and LEVEL_RANK[level] < LEVEL_RANK[parent.level]:
        raise ValidationFailed(
            f"下级机构的层级({LEVEL_LABELS[level]})不能高于上级机构({LEVEL_LABELS[parent.level]})",
            code="level_above_parent")


def create(db: Session, principal: Principal, data: OrgCreate) -> Organization:
    require_role(principal)
    if find_by_code(db, data.code) is not None:
        raise Conflict(f"机构编码已存在:{data.code}", code="org_code_exists")
    _check_level_and_type(data.level, data.type)
    parent = _resolve_parent(db, data.parent)
    _check_parent_level(data.level, parent)
    _check_region(data.region_code, parent)
    uscc = _check_uscc(db, data.uscc)
    org = Organization(
        code=data.code, name=data.name, short_name=data.short_name or None, level=data.level,
        org_type=data.type, region_code=data.region_code, parent_id=parent.id if parent else None,
        uscc=uscc, sort_order=data.sort_order,
    )
    db.add(org)
    db.flush()
    actionlog.record(db, principal, "org.create", target_type="org", target_id=org.code,
                     summary=f"新建机构 {org.name}", after=as_dict(db, org))
    db.commit()
    return org


def _ancestor_ids(db: Session, org: Organization) -> set[int]:
    seen: set[int] = set()
    current = org
    while current.parent_id is not None and current.parent_id not in seen:
        seen.add(current.parent_id)
        current = get_by_id(db, current.parent_id)
    return seen


def update(db: Session, principal: Principal, code: str, data: OrgUpdate) -> Organization:
    require_role(principal)
    org = get_by_code(db, code)
    before = as_dict(db, org)
    changes = data.model_dump(exclude_unset=True)
    level = changes.get("level") or org.level
    org_type = changes.get("type") or org.org_type
    _check_level_and_type(level, org_type)
    parent = _new_parent(db, org, changes) if "parent" in changes else (
        get_by_id(db, org.parent_id) if org.parent_id else None)
    _check_parent_level(level, parent)
    region_code = changes.get("region_code") or org.region_code
    _check_region(region_code, parent)
    _check_children_fit(db, org, level, region_code)
    if "uscc" in changes:
        org.uscc = _check_uscc(db, changes["uscc"], exclude_id=org.id)
    if changes.get("name"):
        org.name = changes["name"]
    if "short_name" in changes:
        org.short_name = changes["short_name"] or None
    if changes.get("sort_order") is not None:
        org.sort_order = changes["sort_order"]
    org.level, org.org_type, org.region_code = level, org_type, region_code
    org.parent_id = parent.id if parent else None
    db.flush()
    after = as_dict(db, org)
    actionlog.record(db, principal, "org.update", target_type="org", target_id=org.code,
                     summary=f"修改机构 {org.name}", before=_changed(before, after, keep="code"),
                     after=_changed(after, before, keep="code"))
    db.commit()
    return org


def _new_parent(db: Session, org: Organization, changes: dict[str, Any]) -> Organization | None:
    parent = _resolve_parent(db, changes["parent"])
    if parent is not None and (parent.id == org.id or org.id in _ancestor_ids(db, parent)):
        raise ValidationFailed(
            f"不能把机构 {org.code} 移到它自己或它的下级 {parent.code} 之下(会形成循环)", code="org_cycle")
    return parent


def _check_children_fit(db: Session, org: Organization, level: str, region_code: str) -> None:
    for child in db.scalars(select(Organization).where(Organization.parent_id == org.id)):
        if LEVEL_RANK[child.level] < LEVEL_RANK[level]:
            raise ValidationFailed(
                f"下级机构 {child.code} 的层级会高于本机构", code="level_above_parent")
        if not _region_within(child.region_code, region_code):
            raise ValidationFailed(
                f"下级机构 {child.code} 的行政区划 {child.region_code} 会超出本机构区划 {region_code}",
                code="region_outside_parent")


def _changed(a: dict[str, Any], b: dict[str, Any], keep: str) -> dict[str, Any]:
    """The fields of ``a`` that differ from ``b``, plus the identifying ``keep`` field."""
    return {k: v for k, v in a.items() if k == keep or (b.get(k) != v and k != "updated_at")}


def delete(db: Session, principal: Principal, code: str) -> None:
    require_role(principal)
    org = get_by_code(db, code)
    child_count = db.scalar(select(func.count()).where(Organization.parent_id == org.id)) or 0
    if child_count:
        raise Conflict(f"机构 {org.name} 还有 {child_count} 个下级机构,不能删除", code="org_has_children")
    for guard in _delete_guards:
        reason = guard(db, org)
        if reason:
            raise Conflict(reason, code="org_in_use")
    before = as_dict(db, org)
    db.delete(org)
    actionlog.record(db, principal, "org.delete", target_type="org", target_id=code,
                     summary=f"删除机构 {before['name']}", before=before)
    db.commit()


def list_orgs(db: Session, *, q: str | None = None, level: str | None = None, parent: str | None = None,
              region_code: str | None = None, page: int = 1, page_size: int = 50,
              ) -> tuple[int, list[Organization]]:
    stmt = select(Organization)
    if q:
        stmt = stmt.where(or_(Organization.name.contains(q, autoescape=True),
                              Organization.code.contains(q, autoescape=True)))
    if level:
        stmt = stmt.where(Organization.level == level)
    if parent:
        stmt = stmt.where(Organization.parent_id == get_by_code(db, parent).id)
    if region_code:
        stmt = stmt.where(Organization.region_code == region_code)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Organization.sort_order, Organization.code)
                      .offset((page - 1) * page_size).limit(page_size)).all()
    return total, list(rows)


def as_dicts(db: Session, rows: list[Organization]) -> list[dict[str, Any]]:
    parents = codes_by_id(db, {o.parent_id for o in rows})
    return [as_dict(db, o, parents.get(o.parent_id) if o.parent_id else None) for o in rows]


def tree(db: Session) -> list[dict[str, Any]]:
    """The whole tree as nested dicts, siblings by sort order then code. One query, O(n)."""
    orgs = db.scalars(select(Organization).order_by(Organization.sort_order, Organization.code)).all()
    nodes = {o.id: {"code": o.code, "name": o.name, "level": o.level, "type": o.org_type,
                    "region_code": o.region_code, "children": []} for o in orgs}
    roots = []
    for o in orgs:
        (nodes[o.parent_id]["children"] if o.parent_id in nodes else roots).append(nodes[o.id])
    return roots


def count_by_level(db: Session) -> dict[str, int]:
    rows = db.execute(select(Organization.level, func.count()).group_by(Organization.level)).all()
    return {level: n for level, n in rows}


def options(db: Session) -> list[tuple[str, str]]:
    """(code, indented name) pairs in tree order, for select boxes."""
    out: list[tuple[str, str]] = []

    def walk(nodes: list[dict[str, Any]], depth: int) -> None:
        for node in nodes:
            out.append((node["code"], "　" * depth + node["name"]))
            walk(node["children"], depth + 1)

    walk(tree(db), 0)
    return out
