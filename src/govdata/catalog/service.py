"""Registering, editing, submitting and reviewing resources; reading the working copies and the published
catalog.

Lifecycle (草稿 → 待审核 → 已发布, or 已退回 with reasons): the provider department edits a working copy;
every saved change becomes a numbered revision; a bureau admin approves (the working copy is published:
``catalog_entries`` is replaced and re-indexed) or rejects with a comment. Editing a published resource
leaves the published entry untouched until the change is approved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.catalog import projection
from govdata.catalog.classifications import DEPARTMENT_ROOT
from govdata.catalog.models import CatalogEntry, Classification, Resource, ResourceItem, ResourceRevision
from govdata.catalog.schemas import ResourceIn, ReviewIn
from govdata.catalog.validation import CheckedItem, check_resource
from govdata.db import utcnow
from govdata.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govdata.orgs import service as orgs
from govdata.orgs.models import Organization
from govdata.principal import Principal, require_role
from govdata.standards import enums

STATUS_LABELS = {"draft": "草稿", "submitted": "待审核", "published": "已发布", "rejected": "已退回"}


# ---- reading -----------------------------------------------------------------------------------

def get_resource(db: Session, code: str) -> Resource:
    resource = db.scalar(select(Resource).where(Resource.code == code))
    if resource is None:
        raise NotFound(f"信息资源不存在:{code}", code="resource_not_found")
    return resource


def items_of(db: Session, resource_id: int) -> list[ResourceItem]:
    return list(db.scalars(select(ResourceItem).where(ResourceItem.resource_id == resource_id)
                           .order_by(ResourceItem.position)))


def item_dict(item: ResourceItem) -> dict[str, Any]:
    return {"key": item.key, "name": item.name, "data_type": item.data_type, "length": item.length,
            "required": item.required, "primary_key": item.primary_key, "data_element": item.data_element,
            "sensitivity": item.sensitivity, "identifies": item.identifies}


def resource_dict(db: Session, resource: Resource, provider: Organization | None = None) -> dict[str, Any]:
    provider = provider or orgs.get_by_id(db, resource.provider_org_id)
    classification = db.get(Classification, resource.classification_code)
    return resource_doc(resource, provider, classification.path, [item_dict(i) for i in items_of(db, resource.id)])


def resource_doc(resource: Any, provider: Organization, classification_path: str,
                 items: list[dict[str, Any]]) -> dict[str, Any]:
    """A resource's JSON from its columns (a Resource, or any object with the same attributes)."""
    return {
        "code": resource.code, "name": resource.name, "provider": provider.code, "provider_name": provider.name,
        "summary": resource.summary, "classification": classification_path,
        "classification_code": resource.classification_code, "format": resource.format,
        "share_type": resource.share_type, "share_condition": resource.share_condition,
        "share_method": resource.share_method, "share_basis": resource.share_basis, "open": resource.open,
        "open_condition": resource.open_condition, "update_cycle": resource.update_cycle,
        "publish_date": resource.publish_date.isoformat() if resource.publish_date else None,
        "related_codes": list(resource.related_codes or []), "grade": resource.grade,
        "sensitivity": resource.sensitivity, "responsible_person": resource.responsible_person,
        "contact": resource.contact, "rules": list(resource.rules or []), "status": resource.status,
        "version": resource.version, "published_version": resource.published_version,
        "review_comment": resource.review_comment, "created_by": resource.created_by,
        "created_at": resource.created_at.isoformat(), "updated_at": resource.updated_at.isoformat(),
        "items": items,
    }


def _content(doc: dict[str, Any]) -> dict[str, Any]:
    """The part of a resource's JSON that a revision records (no status or bookkeeping)."""
    skip = {"status", "version", "published_version", "review_comment", "created_by", "created_at", "updated_at"}
    return {k: v for k, v in doc.items() if k not in skip}


def sees_working_copy(principal: Principal, resource: Resource) -> bool:
    """The provider department, bureau admins and auditors see the working copy; others the published entry."""
    return principal.has_role("auditor") or principal.org_id == resource.provider_org_id


def read_for(db: Session, principal: Principal, code: str) -> dict[str, Any]:
    """What ``principal`` may read of a resource: its working copy, or else its published entry (404 if none)."""
    resource = get_resource(db, code)
    if sees_working_copy(principal, resource):
        return resource_dict(db, resource)
    return projection.published(db, code)


# ---- who may do what ---------------------------------------------------------------------------

def ensure_can_edit(principal: Principal, provider_id: int) -> None:
    """The provider's own data officers and staff edit its resources; bureau admins edit any."""
    if principal.is_platform_admin:
        return
    require_role(principal, "dept_admin", "dept_staff")
    if principal.org_id != provider_id:
        raise Forbidden("只能登记和修改本部门的信息资源", code="other_department")


# ---- classification and codes ------------------------------------------------------------------

def resolve_classification(db: Session, value: str, provider: Organization) -> Classification:
    """A path (基础/人口) or a code (101). ``部门`` or ``部门/<provider>`` gives the provider's department
    class, created on first use."""
    found = classification_for(value, provider, lambda v: db.scalar(
        select(Classification).where((Classification.path == v) | (Classification.code == v))))
    return found if found is not None else _department_class(db, provider)


def classification_for(value: str, provider: Organization, find: Callable[[str], Classification | None]
                       ) -> Classification | None:
    """The classification a path or code names, looked up with ``find`` (by path or code); None for the
    provider's department class (which may not exist yet). Raises ``invalid_classification``."""
    value = value.strip().strip("/")
    found = find(value)
    if found is not None and found.code not in ("1", "2", DEPARTMENT_ROOT):
        return found
    if value in ("部门", f"部门/{provider.code}", f"部门/{provider.name}"):
        return None
    raise ValidationFailed(f"信息资源分类无效:{value}(应为如 基础/人口、主题/医疗健康 的分类路径或其代码)",
                           code="invalid_classification")


def department_class_code(taken: set[str]) -> str:
    """The code a new department class gets: the next ``3NN`` not in ``taken`` (the codes under 部门)."""
    n = len(taken) + 1
    while f"{DEPARTMENT_ROOT}{n:02d}" in taken:
        n += 1
    return f"{DEPARTMENT_ROOT}{n:02d}"


def _department_class(db: Session, provider: Organization, code: str | None = None) -> Classification:
    path = f"部门/{provider.code}"
    found = db.scalar(select(Classification).where(Classification.path == path))
    if found is not None:
        return found
    taken = set(db.scalars(select(Classification.code).where(Classification.parent_code == DEPARTMENT_ROOT)))
    if code is None:
        code = department_class_code(taken)
    elif code in taken:
        raise Conflict(f"分类代码 {code} 已被其他部门使用", code="import_conflict")
    cls = Classification(code=code, name=provider.name, path=path, parent_code=DEPARTMENT_ROOT, next_sequence=1)
    db.add(cls)
    db.flush()
    return cls


def _next_code(db: Session, cls: Classification) -> str:
    """分类码/顺序码. The counter lives on the classification row, so concurrent registrations serialise on it."""
    seq = cls.next_sequence
    cls.next_sequence = seq + 1
    db.flush()
    return f"{cls.code}/{seq:06d}"


# ---- writing -----------------------------------------------------------------------------------

def _provider(db: Session, code: str) -> Organization:
    org = orgs.find_by_code(db, code)
    if org is None:
        raise ValidationFailed(f"提供方机构不存在:{code}", code="unknown_provider")
    return org


_FIELDS = ("name", "summary", "format", "share_type", "share_condition", "share_method", "share_basis", "open",
           "open_condition", "update_cycle", "publish_date", "related_codes", "grade", "sensitivity",
           "responsible_person", "contact", "rules")  # what a registration sets on a resource


def _apply(resource: Resource, data: ResourceIn) -> None:
    for field in _FIELDS:
        setattr(resource, field, getattr(data, field))


def _item_fields(c: CheckedItem) -> dict[str, Any]:
    """An item's columns, keyed as ``item_dict`` returns them."""
    return {"key": c.item.key, "name": c.item.name, "data_type": c.item.data_type, "length": c.item.length,
            "required": c.item.required, "primary_key": c.item.primary_key, "data_element": c.item.data_element,
            "sensitivity": c.sensitivity, "identifies": c.identifies}


def _item_row(resource_id: int, position: int, c: CheckedItem) -> dict[str, Any]:
    return {"resource_id": resource_id, "position": position, **_item_fields(c)}


def _replace_items(db: Session, resource: Resource, items: list[CheckedItem]) -> None:
    db.execute(delete(ResourceItem).where(ResourceItem.resource_id == resource.id))
    db.add_all(ResourceItem(**_item_row(resource.id, n, c)) for n, c in enumerate(items))
    db.flush()


def _revision(db: Session, principal: Principal, resource: Resource, event: str, doc: dict[str, Any],
              comment: str = "") -> None:
    db.add(ResourceRevision(resource_id=resource.id, version=resource.version, event=event,
                            snapshot=_content(doc), actor=principal.name, comment=comment))


def create(db: Session, principal: Principal, data: ResourceIn, *, commit: bool = True) -> Resource:
    provider = _provider(db, data.provider)
    ensure_can_edit(principal, provider.id)
    cls = resolve_classification(db, data.classification, provider)
    items = check_resource(db, data, provider.id, None)
    resource = Resource(code=_next_code(db, cls), classification_code=cls.code, provider_org_id=provider.id,
                        status="draft", version=1, created_by=principal.name)
    _apply(resource, data)
    db.add(resource)
    db.flush()
    _replace_items(db, resource, items)
    doc = resource_dict(db, resource, provider)
    _revision(db, principal, resource, "create", doc)
    actionlog.record(db, principal, "resource.create", target_type="resource", target_id=resource.code,
                     summary=f"登记信息资源 {resource.name}", after=_content(doc))
    if commit:
        _commit(db)
    return resource


def _commit(db: Session) -> None:
    try:
        db.commit()
    except IntegrityError as exc:  # a concurrent registration took the same name
        db.rollback()
        raise Conflict("信息资源与并发提交的登记冲突(名称重复),请刷新后重试", code="duplicate_name") from exc


def update(db: Session, principal: Principal, code: str, data: ResourceIn) -> Resource:
    resource = get_resource(db, code)
    ensure_can_edit(principal, resource.provider_org_id)
    provider = orgs.get_by_id(db, resource.provider_org_id)
    if data.provider != provider.code:
        raise ValidationFailed("信息资源的提供方不能更改;请由新提供方重新登记", code="provider_change_not_allowed")
    cls = resolve_classification(db, data.classification, provider)
    if cls.code != resource.classification_code:
        raise ValidationFailed("信息资源分类决定资源代码,登记后不能更改;请重新登记",
                               code="classification_change_not_allowed")
    items = check_resource(db, data, provider.id, resource.id)
    before = _content(resource_dict(db, resource, provider))
    _apply(resource, data)
    _replace_items(db, resource, items)
    after = _content(resource_dict(db, resource, provider))
    if after == before:
        db.rollback()
        return resource
    resource.version += 1
    resource.status = "draft"
    resource.review_comment = ""
    _revision(db, principal, resource, "update", after)
    changed = [k for k in after if after[k] != before.get(k)]
    actionlog.record(db, principal, "resource.update", target_type="resource", target_id=code,
                     summary=f"修改信息资源 {resource.name}(第 {resource.version} 版)",
                     before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed})
    _commit(db)
    return resource


def submit(db: Session, principal: Principal, code: str) -> Resource:
    resource = get_resource(db, code)
    ensure_can_edit(principal, resource.provider_org_id)
    if resource.status not in ("draft", "rejected"):
        raise Conflict(f"当前状态({STATUS_LABELS[resource.status]})不能提交审核", code="invalid_status")
    resource.status = "submitted"
    actionlog.record(db, principal, "resource.submit", target_type="resource", target_id=code,
                     summary=f"提交审核 {resource.name}(第 {resource.version} 版)")
    db.commit()
    return resource


def review(db: Session, principal: Principal, code: str, data: ReviewIn) -> Resource:
    require_role(principal)
    resource = get_resource(db, code)
    if resource.status != "submitted":
        raise Conflict(f"当前状态({STATUS_LABELS[resource.status]})不能审核,只能审核待审核的资源",
                       code="invalid_status")
    if data.decision not in ("approve", "reject"):
        raise ValidationFailed(f"审核结论无效:{data.decision}(应为 approve 或 reject)", code="invalid_decision")
    if data.decision == "reject" and not data.comment.strip():
        raise ValidationFailed("退回时必须写明理由", code="comment_required")
    resource.review_comment = data.comment.strip()  # before publishing: the published document carries it
    if data.decision == "approve":
        _publish(db, resource)
    else:
        resource.status = "rejected"
    actionlog.record(db, principal, f"resource.{data.decision}", target_type="resource", target_id=code,
                     summary=f"{'审核通过' if data.decision == 'approve' else '退回'} {resource.name}"
                             f"(第 {resource.version} 版){':' + data.comment if data.comment else ''}")
    db.commit()
    return resource


def _publish(db: Session, resource: Resource) -> None:
    resource.status = "published"
    resource.published_version = resource.version
    if resource.publish_date is None:
        resource.publish_date = utcnow().date()
    db.flush()
    projection.publish(db, resource_dict(db, resource), resource.id)


def publish_directly(db: Session, principal: Principal, resource: Resource) -> None:
    """Bulk import by the bureau: the catalog it compiles is published without a second review."""
    require_role(principal)
    _publish(db, resource)


# ---- bulk registration (catalog workbooks) -------------------------------------------------------

CODE_SEQUENCE_DIGITS = 6


@dataclass
class NewResource:
    """One resource of a bulk registration. The caller has put it through catalog.validation already."""

    data: ResourceIn
    provider: Organization
    classification: Classification | None  # None: the provider's department class, created when missing
    items: list[CheckedItem]
    code: str | None = None  # keep this code (a catalog moved from another installation); None: the next one
    department_code: str | None = None  # the code of the department class when it is created here (3NN)


def split_code(code: str) -> tuple[str, int] | None:
    """``105/000007`` → ("105", 7); None when it is not a resource code."""
    cls, _, seq = code.partition("/")
    if not cls.isdigit() or not seq.isdigit() or len(seq) < CODE_SEQUENCE_DIGITS or not seq.isascii():
        return None
    return cls, int(seq)


def create_many(db: Session, principal: Principal, batch: Sequence[NewResource], *, publish: bool = False,
                source: str | None = None, timings: dict[str, float] | None = None) -> list[str]:
    """The bulk path of ``create`` (and, with ``publish``, of ``publish_directly``) for catalog imports: the same
    permissions and codes, and a revision 1 for every resource, in one transaction written with a few multi-row
    statements; one action-log entry ``catalog.import`` for the whole batch. Returns the codes, in order.

    ``timings`` (when given) receives the seconds spent writing and publishing (for the benchmark)."""
    started = time.perf_counter()
    if publish:
        require_role(principal)
    for provider_id in sorted({n.provider.id for n in batch}):
        ensure_can_edit(principal, provider_id)
    try:
        created = _insert_many(db, principal, batch)
        written = time.perf_counter()
        if publish:
            _publish_many(db, created)
        published = time.perf_counter()
        providers: dict[str, int] = {}
        for n in batch:
            providers[n.provider.code] = providers.get(n.provider.code, 0) + 1
        items = sum(len(n.items) for n in batch)
        actionlog.record(db, principal, "catalog.import", target_type="catalog", target_id=source,
                         summary=f"批量导入信息资源 {len(batch)} 个、信息项 {items} 个"
                                 f"{',已直接发布' if publish else ',均为草稿'}",
                         after={"resources": len(batch), "items": items, "published": publish,
                                "providers": providers, "file": source})
        db.commit()
    except IntegrityError as exc:  # a concurrent registration took a name or a code meanwhile
        db.rollback()
        raise Conflict("导入期间有其他登记与之冲突(名称或代码重复),未导入任何内容,请重试",
                       code="import_conflict") from exc
    if timings is not None:
        end = time.perf_counter()
        timings["write"] = timings.get("write", 0.0) + (written - started) + (end - published)
        timings["publish"] = timings.get("publish", 0.0) + (published - written)
    return [doc["code"] for _, doc in created]


def _classes_for(db: Session, batch: Sequence[NewResource]) -> list[Classification]:
    """Each new resource's classification, locked (codes are counted on it); missing department classes are
    created, with the code the imported resource codes carry when there is one."""
    wanted = {n.classification.code for n in batch if n.classification is not None}
    departments: dict[int, Classification] = {}
    for n in batch:
        if n.classification is None and n.provider.id not in departments:
            departments[n.provider.id] = _department_class(db, n.provider, n.department_code)
    wanted |= {c.code for c in departments.values()}
    locked = {c.code: c for c in db.scalars(select(Classification).where(Classification.code.in_(wanted))
                                             .with_for_update().execution_options(populate_existing=True))}
    department = {c.path: c for c in locked.values() if c.parent_code == DEPARTMENT_ROOT}
    return [locked[n.classification.code] if n.classification is not None else department[f"部门/{n.provider.code}"]
            for n in batch]


def _codes_for(batch: Sequence[NewResource], classes: list[Classification]) -> list[str]:
    """Kept codes stay; the others take the next sequence numbers of their classification, after any kept one."""
    codes: list[str | None] = [n.code for n in batch]
    by_class: dict[str, list[int]] = {}
    for i, cls in enumerate(classes):
        by_class.setdefault(cls.code, []).append(i)
    for cls_code, indexes in by_class.items():
        cls = classes[indexes[0]]
        kept = [split_code(codes[i]) for i in indexes if codes[i]]
        for parts in kept:
            if parts is None or parts[0] != cls_code:
                raise ValidationFailed("资源代码与分类不符", code="invalid_resource_code")
            if parts[1] < cls.next_sequence:
                raise Conflict(f"资源代码 {cls_code}/{parts[1]:06d} 已在本目录中分配过", code="import_conflict")
        following = max([cls.next_sequence, *(seq + 1 for _, seq in kept)])
        for i in indexes:
            if not codes[i]:
                codes[i] = f"{cls_code}/{following:06d}"
                following += 1
        cls.next_sequence = following
    return [c for c in codes if c]


def _insert_many(db: Session, principal: Principal, batch: Sequence[NewResource]) -> list[tuple[int, dict[str, Any]]]:
    classes = _classes_for(db, batch)
    codes = _codes_for(batch, classes)
    now = utcnow()
    rows = []
    for n, cls, code in zip(batch, classes, codes, strict=True):
        row = {field: getattr(n.data, field) for field in _FIELDS}
        row.update(code=code, classification_code=cls.code, provider_org_id=n.provider.id, status="draft", version=1,
                   published_version=None, review_comment="", created_by=principal.name, created_at=now,
                   updated_at=now)
        rows.append(row)
    db.flush()  # the classification counters
    # Core INSERTs on the tables: every value is given here, so the ORM bulk path (which runs each row through
    # the mapper) would only add time.
    resources, items_table = Resource.__table__, ResourceItem.__table__
    ids = list(db.scalars(insert(resources).returning(resources.c.id, sort_by_parameter_order=True), rows))
    items = [[_item_fields(c) for c in n.items] for n in batch]
    item_rows = [{"resource_id": rid, "position": pos, **item}
                 for rid, resource_items in zip(ids, items, strict=True) for pos, item in enumerate(resource_items)]
    if item_rows:
        db.execute(insert(items_table), item_rows)
    created, revisions = [], []
    for rid, n, cls, row, resource_items in zip(ids, batch, classes, rows, items, strict=True):
        doc = resource_doc(SimpleNamespace(**row), n.provider, cls.path, resource_items)
        created.append((rid, doc))
        revisions.append({"resource_id": rid, "version": 1, "event": "create", "snapshot": _content(doc),
                          "actor": principal.name, "comment": "", "at": now})
    db.execute(insert(ResourceRevision.__table__), revisions)
    return created


def _publish_many(db: Session, created: list[tuple[int, dict[str, Any]]]) -> None:
    """``_publish`` for many new resources at once: one UPDATE per thousand, one bulk projection."""
    now = utcnow()
    today = now.date()
    ids = [rid for rid, _ in created]
    for start in range(0, len(ids), 1000):
        db.execute(sql_update(Resource).where(Resource.id.in_(ids[start:start + 1000]))
                   .values(status="published", published_version=Resource.version,
                           publish_date=func.coalesce(Resource.publish_date, today), updated_at=now)
                   .execution_options(synchronize_session=False))
    for _, doc in created:
        doc.update(status="published", published_version=doc["version"],
                   publish_date=doc["publish_date"] or today.isoformat(), updated_at=now.isoformat())
    projection.publish_many(db, [(doc, rid) for rid, doc in created])


def delete_resource(db: Session, principal: Principal, code: str) -> None:
    resource = get_resource(db, code)
    ensure_can_edit(principal, resource.provider_org_id)
    if resource.published_version is not None:
        raise Conflict("已发布的信息资源不能删除", code="cannot_delete_published")
    before = _content(resource_dict(db, resource))
    db.delete(resource)
    actionlog.record(db, principal, "resource.delete", target_type="resource", target_id=code,
                     summary=f"删除草稿 {before['name']}", before=before)
    db.commit()


# ---- working copies ----------------------------------------------------------------------------

def list_working(db: Session, principal: Principal, *, status: str | None = None, org: str | None = None,
                 q: str | None = None, page: int = 1, page_size: int = 50) -> tuple[int, list[Resource]]:
    """Working copies: a department sees its own, bureau admins and auditors see all."""
    stmt = select(Resource)
    if not principal.has_role("auditor"):
        stmt = stmt.where(Resource.provider_org_id == principal.org_id)
    if status:
        stmt = stmt.where(Resource.status == status)
    if org:
        stmt = stmt.where(Resource.provider_org_id == orgs.get_by_code(db, org).id)
    if q:
        stmt = stmt.where(Resource.name.contains(q, autoescape=True))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Resource.updated_at.desc()).offset((page - 1) * page_size).limit(page_size))
    return total, list(rows)


def revisions(db: Session, code: str) -> list[ResourceRevision]:
    resource = get_resource(db, code)
    return list(db.scalars(select(ResourceRevision).where(ResourceRevision.resource_id == resource.id)
                           .order_by(ResourceRevision.version)))


def revision(db: Session, code: str, version: int) -> ResourceRevision:
    for rev in revisions(db, code):
        if rev.version == version:
            return rev
    raise NotFound(f"信息资源 {code} 没有第 {version} 版", code="revision_not_found")


def dashboard_figures(db: Session, principal: Principal) -> dict[str, Any]:
    """Catalog figures for the home page: published resources by share type, how many are open, and the work
    waiting for this person (the review queue for the bureau, the department's drafts and returns otherwise)."""
    by_share: dict[str, int] = {share: n for share, n in db.execute(
        select(CatalogEntry.share_type, func.count()).group_by(CatalogEntry.share_type))}
    figures: dict[str, Any] = {
        "published": sum(by_share.values()),
        "open": db.scalar(select(func.count()).where(CatalogEntry.open.is_(True))) or 0,
        "by_share_type": [(key, by_share.get(key, 0)) for key in enums.SHARE_TYPES],
        "awaiting_review": None, "to_do": None,
    }
    if principal.is_platform_admin:
        figures["awaiting_review"] = list_working(db, principal, status="submitted", page_size=1)[0]
    elif principal.role in ("dept_admin", "dept_staff"):
        figures["to_do"] = sum(list_working(db, principal, status=s, page_size=1)[0]
                               for s in ("draft", "rejected"))
    return figures


def _org_guard(db: Session, org: Organization) -> str | None:
    count = db.scalar(select(func.count()).where(Resource.provider_org_id == org.id)) or 0
    return f"机构 {org.name} 还登记有 {count} 个信息资源,不能删除" if count else None


orgs.register_delete_guard(_org_guard)
