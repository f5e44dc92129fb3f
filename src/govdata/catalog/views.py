"""Catalog pages: the published catalog with search and facets, a department's working copies, the review
queue, the registration form with its items table, a resource's detail (metadata, items, revisions, diff and
the actions the person may take), and the four lists with their downloads.

Resource codes contain "/" (``105/000001``): routes take them with the ``path`` converter, and the routes with
a suffix (``/edit``) are declared before the bare one. Everything here goes through the catalog services; the
few reads they lack (names for facet values, dashboard counts) are small queries at the end of this module.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from govdata.catalog import projection, search, service
from govdata.catalog.classifications import DEPARTMENT_ROOT
from govdata.catalog.diff import diff
from govdata.catalog.labels import (
    ENUM_LABELS,
    FACETS,
    FIELD_LABELS,
    ITEM_LABELS,
    NOTICES,
    OPEN_LABELS,
    SORTS,
    render_page,
)
from govdata.catalog.models import CatalogEntry, Classification, Resource
from govdata.catalog.schemas import ResourceIn, ReviewIn
from govdata.db import get_db
from govdata.errors import AppError, Forbidden, ValidationFailed
from govdata.i18n import N_
from govdata.orgs import service as orgs
from govdata.principal import Principal, require_role
from govdata.standards import service as standards
from govdata.web.deps import csrf_protect, page_principal, wants_partial
from govdata.web.forms import parse
from govdata.web.text import excerpt, marked

router = APIRouter(prefix="/catalog", include_in_schema=False)
PAGE_SIZE = 20
MINE_PAGE_SIZE = 50

# ---- the published catalog ---------------------------------------------------------------------------------

def _open_value(value: Any) -> str:
    """A facet or query value of ``open`` as ``true`` / ``false``."""
    if isinstance(value, str):
        return "true" if value.strip().lower() in ("1", "true", "yes", "on") else "false"
    return "true" if value else "false"


def _catalog_url(filters: dict[str, str], **changes: Any) -> str:
    params = {**filters, **changes}
    query = {k: v for k, v in params.items() if v not in ("", None) and not (k == "page" and v == 1)}
    return "/catalog" + (f"?{urlencode(query)}" if query else "")


@router.get("")
def catalog_index(request: Request, q: str | None = Query(None, max_length=200), provider: str | None = None,
                  classification: str | None = None, share_type: str | None = None, format: str | None = None,
                  open: str | None = None, update_cycle: str | None = None, sort: str | None = None,
                  page: int = Query(1, ge=1, le=100000), db: Session = Depends(get_db),
                  principal: Principal = Depends(page_principal)) -> Response:
    filters = {"q": (q or "").strip(), "provider": provider or "", "classification": classification or "",
               "share_type": share_type or "", "format": format or "",
               "open": _open_value(open) if open else "", "update_cycle": update_cycle or "",
               "sort": sort if sort in SORTS else ""}
    result = search.search(db, q=filters["q"] or None, provider=filters["provider"] or None,
                           classification=filters["classification"] or None,
                           share_type=filters["share_type"] or None, format=filters["format"] or None,
                           open=(filters["open"] == "true") if filters["open"] else None,
                           update_cycle=filters["update_cycle"] or None, page=page, page_size=PAGE_SIZE,
                           sort=filters["sort"] or "relevance")
    names = _Names(db)
    context = {
        "filters": filters, "total": result.total, "page": page, "pages": max((result.total + PAGE_SIZE - 1)
                                                                                // PAGE_SIZE, 1),
        "entries": [_entry_view(e, filters["q"], names) for e in result.entries],
        "facets": _facet_groups(result.facets, filters, names), "sorts": SORTS,
        "url": lambda **changes: _catalog_url(filters, **changes),
        "active": [{"key": key, "title": title, "label": _facet_label(key, filters[key], names),
                    "clear": _catalog_url(filters, **{key: "", "page": 1})} for key, title in FACETS if filters[key]],
        "clear_all": _catalog_url({"q": filters["q"], "sort": filters["sort"]}),
        "can_register": _may_register(principal),
    }
    template = "catalog/_results.html" if wants_partial(request) else "catalog/index.html"
    response = render_page(request, template, context, principal=principal)
    response.headers["Vary"] = "HX-Request"
    return response


def _facet_groups(facets: dict[str, list[tuple[Any, int]]], filters: dict[str, str],
                  names: _Names) -> list[dict[str, Any]]:
    groups = []
    for key, title in FACETS:
        values = facets.get(key) or []
        options, seen = [], set()
        for value, count in values:
            value = _open_value(value) if key == "open" else ("" if value is None else str(value))
            if value == "" or value in seen:
                continue
            seen.add(value)
            options.append(_facet_option(key, value, count, filters, names))
        if filters[key] and filters[key] not in seen:  # keep a chosen value visible, so it can be cleared
            options.insert(0, _facet_option(key, filters[key], 0, filters, names))
        if options:
            groups.append({"key": key, "title": title, "options": options})
    return groups


def _facet_option(key: str, value: str, count: int, filters: dict[str, str], names: _Names) -> dict[str, Any]:
    selected = filters[key] == value
    return {"value": value, "count": count, "selected": selected, "label": _facet_label(key, value, names),
            "url": _catalog_url(filters, **{key: "" if selected else value, "page": 1})}


def _facet_label(key: str, value: str, names: _Names) -> str:
    """The untranslated (Chinese) label of a facet value; enumeration labels are msgids the template translates."""
    if key == "provider":
        return names.org(value)
    if key == "classification":
        return names.classification(value)
    if key == "open":
        return OPEN_LABELS.get(value, value)
    table = ENUM_LABELS.get(key)
    return table.get(value, value) if table else value


def _entry_view(entry: CatalogEntry, q: str, names: _Names) -> dict[str, Any]:
    doc = entry.document or {}
    terms = q.split()
    return {"code": entry.code, "name": entry.name, "name_marked": marked(entry.name, terms),
            "provider": entry.provider, "provider_name": entry.provider_name,
            "classification": names.classification(entry.classification_path), "share_type": entry.share_type,
            "open": entry.open, "update_cycle": entry.update_cycle, "format": entry.format,
            "summary": excerpt(doc.get("summary"), terms), "published_at": entry.published_at,
            "items": len(doc.get("items") or [])}


# ---- working copies and the review queue ---------------------------------------------------------------------

MINE_TABS = (("draft", N_("草稿")), ("submitted", N_("待审核")), ("published", N_("已发布")),
             ("rejected", N_("已退回")), ("all", N_("全部")))


@router.get("/mine")
def catalog_mine(request: Request, status: str = "all", q: str | None = Query(None, max_length=200),
                 page: int = Query(1, ge=1, le=100000), notice: str | None = None, db: Session = Depends(get_db),
                 principal: Principal = Depends(page_principal)) -> Response:
    status = status if status in dict(MINE_TABS) else "all"
    counts = {key: service.list_working(db, principal, status=None if key == "all" else key, q=q or None,
                                        page_size=1)[0] for key, _ in MINE_TABS}
    total, rows = service.list_working(db, principal, status=None if status == "all" else status, q=q or None,
                                       page=page, page_size=MINE_PAGE_SIZE)
    return render_page(request, "catalog/mine.html", {
        "tabs": MINE_TABS, "status": status, "counts": counts, "q": q or "", "total": total, "page": page,
        "page_size": MINE_PAGE_SIZE, "rows": _working_rows(db, rows), "notice": NOTICES.get(notice or ""),
        "can_register": _may_register(principal), "sees_all": principal.has_role("auditor")},
        principal=principal)


@router.get("/review")
def catalog_review(request: Request, notice: str | None = None, db: Session = Depends(get_db),
                   principal: Principal = Depends(page_principal)) -> Response:
    require_role(principal)
    total, rows = service.list_working(db, principal, status="submitted", page_size=200)
    return render_page(request, "catalog/review.html", {
        "total": total, "rows": _working_rows(db, sorted(rows, key=lambda r: r.updated_at)),
        "notice": NOTICES.get(notice or "")}, principal=principal)


def _working_rows(db: Session, rows: list[Resource]) -> list[dict[str, Any]]:
    providers = orgs.by_ids(db, {r.provider_org_id for r in rows})
    classes = {c.code: c for c in db.scalars(select(Classification).where(
        Classification.code.in_({r.classification_code for r in rows})))} if rows else {}
    names = _Names(db)
    out = []
    for r in rows:
        org = providers.get(r.provider_org_id)
        cls = classes.get(r.classification_code)
        out.append({"code": r.code, "name": r.name, "status": r.status, "version": r.version,
                    "published_version": r.published_version, "updated_at": r.updated_at,
                    "provider": org.code if org else "", "provider_name": org.name if org else "",
                    "classification": names.classification(cls.path) if cls else r.classification_code,
                    "share_type": r.share_type, "review_comment": r.review_comment, "created_by": r.created_by})
    return out


def _may_register(principal: Principal) -> bool:
    return principal.is_platform_admin or (principal.role in ("dept_admin", "dept_staff")
                                           and principal.org_id is not None)


# ---- the registration form -----------------------------------------------------------------------------------

_ITEM_FIELD = re.compile(r"^items-(\d+)-([a-z_]+)$")
_ITEM_TEXT = ("key", "name", "length", "data_element", "sensitivity")
_TOP_FIELDS = ("name", "provider", "summary", "classification", "format", "share_type", "share_condition",
               "share_method", "share_basis", "open_condition", "update_cycle", "publish_date", "related_codes",
               "grade", "sensitivity", "responsible_person", "contact")
_PROBLEMS = {"missing": "必填", "string_too_short": "不能为空", "string_too_long": "过长", "int_parsing": "应为整数",
             "int_from_float": "应为整数", "greater_than_equal": "数值过小", "less_than_equal": "数值过大",
             "date_from_datetime_parsing": "应为日期(YYYY-MM-DD)", "date_parsing": "应为日期(YYYY-MM-DD)"}


def _form_values(form: FormData) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The posted resource fields (as typed, for re-display) and the non-blank item rows, in row order."""
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in _TOP_FIELDS}
    values["open"] = form.get("open") == "on"
    rows: dict[int, dict[str, str]] = {}
    for name, value in form.multi_items():
        m = _ITEM_FIELD.match(name)
        if m and isinstance(value, str):
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = value
    items = [rows[n] for n in sorted(rows) if any(rows[n].get(f, "").strip() for f in _ITEM_TEXT)]
    return values, items


def _resource_in(values: dict[str, Any], items: list[dict[str, str]], rules: list[dict[str, Any]]) -> ResourceIn:
    data: dict[str, Any] = {k: v for k, v in values.items() if k not in ("related_codes", "publish_date")}
    data["related_codes"] = [c for c in re.split(r"[\s,,;;、]+", values.get("related_codes", "")) if c]
    data["publish_date"] = values.get("publish_date", "").strip() or None
    data["rules"] = rules
    data["items"] = [{"key": row.get("key", ""), "name": row.get("name", ""),
                      "data_type": row.get("data_type") or "C", "length": row.get("length", "").strip() or None,
                      "required": row.get("required") == "on", "primary_key": row.get("primary_key") == "on",
                      "data_element": row.get("data_element") or None, "sensitivity": row.get("sensitivity") or None}
                     for row in items]
    try:
        return ResourceIn.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationFailed("表单填写有误 —— " + ";".join(_problem(e) for e in exc.errors()),
                               code="validation_error") from exc


def _problem(error: dict[str, Any]) -> str:
    loc = list(error["loc"])
    if loc[:1] == ["items"] and len(loc) >= 3 and isinstance(loc[1], int):
        where = f"第 {loc[1] + 1} 个信息项的{ITEM_LABELS.get(str(loc[2]), str(loc[2]))}"
    else:
        where = FIELD_LABELS.get(str(loc[0]), str(loc[0])) if loc else ""
    return f"{where}:{_PROBLEMS.get(error['type'], error['msg'])}"


def _provider_choices(db: Session, principal: Principal) -> list[tuple[str, str]]:
    options = orgs.options(db)
    return options if principal.is_platform_admin else [o for o in options if o[0] == principal.org_code]


def _form_context(db: Session, principal: Principal) -> dict[str, Any]:
    classes = db.scalars(select(Classification).where(Classification.parent_code.in_(("1", "2")))
                         .order_by(Classification.code))
    return {"provider_options": _provider_choices(db, principal),
            "classification_options": [(c.path, c.path) for c in classes],
            "elements": standards.list_elements(db)}


def _form(request: Request, db: Session, principal: Principal, *, values: dict[str, Any],
          items: list[dict[str, Any]], resource: dict[str, Any] | None = None, error: AppError | None = None,
          status: int = 200) -> Response:
    return render_page(request, "catalog/form.html", {
        **_form_context(db, principal), "values": values, "items": items or [{}], "resource": resource,
        "error": error}, status=status, principal=principal)


def _blank_values(principal: Principal) -> dict[str, Any]:
    return {"provider": principal.org_code or "", "classification": "", "format": "database",
            "share_type": "unconditional", "share_method": "api", "update_cycle": "daily", "grade": "general",
            "sensitivity": "L1", "open": False}


def _item_form_row(item: dict[str, Any]) -> dict[str, str]:
    return {"key": item["key"], "name": item["name"], "data_type": item["data_type"],
            "length": "" if item.get("length") is None else str(item["length"]),
            "required": "on" if item.get("required") else "", "primary_key": "on" if item.get("primary_key") else "",
            "data_element": item.get("data_element") or "", "sensitivity": item.get("sensitivity") or ""}


@router.get("/new")
def resource_new(request: Request, db: Session = Depends(get_db),
                 principal: Principal = Depends(page_principal)) -> Response:
    if not _may_register(principal):
        raise Forbidden("只有部门数据管理员、部门工作人员和大数据局管理员可以登记信息资源", code="forbidden")
    return _form(request, db, principal, values=_blank_values(principal), items=[{}])


@router.post("/new", dependencies=[Depends(csrf_protect)])
async def resource_create(request: Request, db: Session = Depends(get_db),
                          principal: Principal = Depends(page_principal)) -> Response:
    values, items = _form_values(await request.form())
    try:
        resource = service.create(db, principal, _resource_in(values, items, []))
    except AppError as exc:
        db.rollback()
        return _form(request, db, principal, values=values, items=items, error=exc, status=exc.status)
    return RedirectResponse(f"/catalog/r/{resource.code}?notice=resource_created", status_code=303)


def _editable(db: Session, principal: Principal, code: str) -> Resource:
    resource = service.get_resource(db, code)
    if not service.sees_working_copy(principal, resource):
        projection.published(db, code)  # 404 for a draft of another department, as if it did not exist
    service.ensure_can_edit(principal, resource.provider_org_id)
    return resource


@router.get("/r/{code:path}/edit")
def resource_edit(code: str, request: Request, db: Session = Depends(get_db),
                  principal: Principal = Depends(page_principal)) -> Response:
    resource = _editable(db, principal, code)
    doc = service.resource_dict(db, resource)
    values = {**doc, "related_codes": " ".join(doc["related_codes"]), "publish_date": doc["publish_date"] or ""}
    return _form(request, db, principal, values=values, items=[_item_form_row(i) for i in doc["items"]],
                 resource=_with_class_label(db, doc))


@router.post("/r/{code:path}/edit", dependencies=[Depends(csrf_protect)])
async def resource_update(code: str, request: Request, db: Session = Depends(get_db),
                          principal: Principal = Depends(page_principal)) -> Response:
    resource = _editable(db, principal, code)
    doc = service.resource_dict(db, resource)
    values, items = _form_values(await request.form())
    values["provider"], values["classification"] = doc["provider"], doc["classification"]  # fixed once registered
    version = resource.version
    try:
        updated = service.update(db, principal, code, _resource_in(values, items, doc["rules"]))
    except AppError as exc:
        db.rollback()
        return _form(request, db, principal, values=values, items=items, resource=_with_class_label(db, doc),
                     error=exc, status=exc.status)
    notice = "resource_updated" if updated.version != version else "resource_unchanged"
    return RedirectResponse(f"/catalog/r/{code}?notice={notice}", status_code=303)


# ---- one resource -------------------------------------------------------------------------------------------

def _may_edit(principal: Principal, resource: Resource) -> bool:
    try:
        service.ensure_can_edit(principal, resource.provider_org_id)
    except Forbidden:
        return False
    return True


def _default_diff_versions(resource: Resource) -> tuple[int, int] | None:
    """The working copy against the published version, or against the previous revision if never published."""
    to_v = resource.version
    if resource.published_version is not None:
        return (resource.published_version, to_v) if resource.published_version != to_v else None
    return (to_v - 1, to_v) if to_v > 1 else None


def _diff_versions(resource: Resource, from_version: int | None) -> tuple[int, int] | None:
    """From ``from_version`` (an earlier revision) to the working copy, else the default comparison."""
    if from_version and from_version < resource.version:
        return from_version, resource.version
    return _default_diff_versions(resource)


def _diff_view(db: Session, code: str, from_v: int, to_v: int) -> dict[str, Any]:
    old, new = service.revision(db, code, from_v), service.revision(db, code, to_v)
    d = diff(old.snapshot, new.snapshot)
    return {"from": from_v, "to": to_v, **d, "empty": not any((d["fields"], d["items_added"], d["items_removed"],
                                                               d["items_changed"]))}


def _detail(request: Request, db: Session, principal: Principal, code: str, *, notice: str | None = None,
            error: AppError | None = None, status: int = 200, diff_from: int | None = None,
            values: dict[str, str] | None = None) -> Response:
    resource = service.get_resource(db, code)
    working = service.sees_working_copy(principal, resource)
    doc = service.resource_dict(db, resource) if working else projection.published(db, code)
    context: dict[str, Any] = {"doc": _with_class_label(db, doc), "working": working, "notice": notice,
                               "error": error, "values": values or {}, "revisions": [], "diff": None}
    if working:
        versions = _diff_versions(resource, diff_from)
        context.update({
            "revisions": service.revisions(db, code), "diff": _diff_view(db, code, *versions) if versions else None,
            "can_edit": _may_edit(principal, resource),
            "can_review": principal.is_platform_admin and resource.status == "submitted",
            "can_delete": _may_edit(principal, resource) and resource.published_version is None,
            "is_published": projection.find_published(db, code) is not None})
        context["can_submit"] = context["can_edit"] and resource.status in ("draft", "rejected")
    context.update(_detail_labels(db, doc))
    return render_page(request, "catalog/detail.html", context, status=status, principal=principal)


def _detail_labels(db: Session, doc: dict[str, Any]) -> dict[str, Any]:
    codes = {i["data_element"] for i in doc.get("items") or [] if i.get("data_element")}
    elements = {e.code: e.name for e in standards.list_elements(db) if e.code in codes} if codes else {}
    return {"element_names": elements}


def _with_class_label(db: Session, doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "classification_label": _Names(db).classification(doc.get("classification") or "")}


@router.get("/r/{code:path}/diff")
def resource_diff(code: str, request: Request, from_version: int | None = Query(None, alias="from", ge=1),
                  db: Session = Depends(get_db), principal: Principal = Depends(page_principal)) -> Response:
    """The changes from revision ``from`` to the working copy: a fragment for htmx, else the detail page."""
    resource = service.get_resource(db, code)
    if not service.sees_working_copy(principal, resource):
        projection.published(db, code)
        raise Forbidden("只有提供部门和大数据局可以查看信息资源的版本差异", code="forbidden")
    if not wants_partial(request):
        return RedirectResponse(f"/catalog/r/{code}" + (f"?from={from_version}" if from_version else "") + "#diff",
                                status_code=303)
    versions = _diff_versions(resource, from_version)
    doc = service.resource_dict(db, resource)
    response = render_page(request, "catalog/_diff.html", {
        "diff": _diff_view(db, code, *versions) if versions else None, "doc": doc, **_detail_labels(db, doc)},
        principal=principal)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/r/{code:path}/table-schema.json")
def resource_table_schema(code: str, db: Session = Depends(get_db),
                          principal: Principal = Depends(page_principal)) -> Response:
    """The items as a Frictionless Table Schema: the API's document, for a person's browser session."""
    schema = standards.resource_table_schema(db, service.read_for(db, principal, code))
    filename = f"{code.replace('/', '-')}.table-schema.json"
    return JSONResponse(schema, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/r/{code:path}/submit", dependencies=[Depends(csrf_protect)])
def resource_submit(code: str, db: Session = Depends(get_db),
                    principal: Principal = Depends(page_principal)) -> Response:
    service.submit(db, principal, code)
    return RedirectResponse(f"/catalog/r/{code}?notice=resource_submitted", status_code=303)


@router.post("/r/{code:path}/review", dependencies=[Depends(csrf_protect)])
async def resource_review(code: str, request: Request, db: Session = Depends(get_db),
                          principal: Principal = Depends(page_principal)) -> Response:
    form = await request.form()
    values = {"decision": str(form.get("decision") or ""), "comment": str(form.get("comment") or "")}
    try:
        service.review(db, principal, code, parse(ReviewIn, values))
    except AppError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _detail(request, db, principal, code, error=exc, status=exc.status, values=values)
    notice = "resource_approved" if values["decision"] == "approve" else "resource_rejected"
    return RedirectResponse(f"/catalog/r/{code}?notice={notice}", status_code=303)


@router.post("/r/{code:path}/delete", dependencies=[Depends(csrf_protect)])
def resource_delete(code: str, db: Session = Depends(get_db),
                    principal: Principal = Depends(page_principal)) -> Response:
    service.delete_resource(db, principal, code)
    return RedirectResponse("/catalog/mine?notice=resource_deleted", status_code=303)


@router.get("/r/{code:path}")
def resource_detail(code: str, request: Request, notice: str | None = None,
                    from_version: int | None = Query(None, alias="from", ge=1), db: Session = Depends(get_db),
                    principal: Principal = Depends(page_principal)) -> Response:
    return _detail(request, db, principal, code, notice=NOTICES.get(notice or ""), diff_from=from_version)


# ---- small reads the pages need --------------------------------------------------------------------------------

class _Names:
    """Display names for organisation codes and classification codes or paths, read once per request."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self._orgs: dict[str, str] | None = None
        self._classes: dict[str, Classification] | None = None

    def org(self, code: str) -> str:
        if self._orgs is None:
            self._orgs = orgs.names_by_code(self.db)
        return self._orgs.get(code, code)

    def classification(self, value: str) -> str:
        """``基础/人口`` stays; a department class ``部门/450200-WJ`` reads ``部门/柳州市卫生健康委员会``; a code
        (``101``) becomes its path."""
        if self._classes is None:
            rows = list(self.db.scalars(select(Classification)))
            self._classes = {c.code: c for c in rows} | {c.path: c for c in rows}
        cls = self._classes.get(value)
        if cls is None:
            return value
        if cls.parent_code == DEPARTMENT_ROOT:
            return f"部门/{cls.name}"
        return cls.path
