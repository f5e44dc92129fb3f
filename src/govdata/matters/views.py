"""Pages of the register of government service matters (政务服务事项清单): the register with its filters, a matter
with its edit form, the form to register one, and the dashboard of 网上可办率 / 全程网办率 per level against the seed's
targets, per year and per district or county. Charts are drawn by app.js from data-* attributes (the CSP forbids
inline script); every change goes through ``matters.service``, which checks who may make it."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from govdata import i18n
from govdata.db import get_db
from govdata.errors import AppError, Forbidden, ValidationFailed
from govdata.i18n import N_
from govdata.matters import service
from govdata.matters.models import ServiceMatter
from govdata.matters.schemas import MatterCreate, MatterUpdate
from govdata.orgs import service as orgs
from govdata.principal import Principal
from govdata.standards import regions
from govdata.web.deps import csrf_protect, page_principal, wants_partial
from govdata.web.forms import parse
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
NOTICES = {"created": N_("事项已登记"), "updated": N_("事项已保存")}
PACKAGES = {"newborn": N_("出生一件事"), "school_enrolment": N_("入学一件事"),
            "company_startup": N_("企业开办一件事"), "retirement": N_("退休一件事")}
FILTERS = ("q", "level", "region", "org", "status", "category", "package")
FORM_FIELDS = ("code", "name", "org_code", "category", "online_since", "fully_online_since", "trips_required",
               "promised_days", "package_key")


def _labels() -> dict[str, Any]:
    return {"level_labels": service.LEVEL_LABELS, "categories": service.CATEGORIES, "statuses": service.STATUSES,
            "packages": PACKAGES}


def _region_options(db: Session) -> list[tuple[str, str]]:
    """The city and its districts and counties, from the top of the organisation tree."""
    top = orgs.root(db)
    if top is None:
        return []
    city = regions.lookup(top.region_code)
    out = [(top.region_code, city.name if city else top.region_code)]
    return out + [(d.code, d.name) for d in regions.children(top.region_code)]


def may_create(principal: Principal) -> bool:
    return principal.has_role("dept_admin") and principal.kind == "user"


def may_edit(principal: Principal, matter: ServiceMatter) -> bool:
    return may_create(principal) and (principal.is_platform_admin or principal.org_code == matter.org_code)


# ---- /matters: the register -----------------------------------------------------------------------------------

@router.get("/matters")
def matter_index(request: Request, q: str | None = Query(None, max_length=100), level: str | None = None,
                 region: str | None = None, org: str | None = None, status: str | None = None,
                 category: str | None = None, package: str | None = None, notice: str | None = None,
                 page: int = Query(1, ge=1, le=100000), db: Session = Depends(get_db),
                 principal: Principal = Depends(page_principal)) -> Response:
    filters = {"q": q or "", "level": level or "", "region": region or "", "org": org or "",
               "status": status or "", "category": category or "", "package": package or ""}
    rows, total = service.list_matters(db, page=page, page_size=PAGE_SIZE,
                                       **{k: v or None for k, v in filters.items()})
    context = {**_labels(), "matters": service.as_dicts(db, rows), "total": total, "page": page,
               "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE), "filters": filters,
               "query": urlencode({k: v for k, v in filters.items() if v}),
               "notice": NOTICES.get(notice or ""), "may_create": may_create(principal)}
    if wants_partial(request):
        response = render(request, "matters/_rows.html", context, principal=principal)
    else:
        context.update(region_options=_region_options(db), org_options=orgs.options(db))
        response = render(request, "matters/index.html", context, principal=principal)
    response.headers["Vary"] = "HX-Request"
    return response


def _form_values(form: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {k: form.get(k, "") for k in FORM_FIELDS}
    values["exempt"] = form.get("exempt") == "on"
    return values


def _form_page(request: Request, db: Session, principal: Principal, *, values: dict[str, Any],
               error: AppError | None = None, status: int = 200) -> Response:
    return render(request, "matters/form.html", {
        **_labels(), "values": values, "error": error, "org_options": _editable_orgs(db, principal),
    }, status=status, principal=principal)


def _editable_orgs(db: Session, principal: Principal) -> list[tuple[str, str]]:
    options = orgs.options(db)
    return options if principal.is_platform_admin else [o for o in options if o[0] == principal.org_code]


def _refuse_unless(allowed: bool) -> None:
    if not allowed:
        raise Forbidden(i18n.gettext("当前账号无权登记或修改该事项"), code="forbidden")


@router.get("/matters/new")
def matter_new(request: Request, db: Session = Depends(get_db),
               principal: Principal = Depends(page_principal)) -> Response:
    _refuse_unless(may_create(principal))
    values = {k: "" for k in FORM_FIELDS} | {"org_code": principal.org_code or "", "trips_required": "1",
                                            "promised_days": "0", "exempt": False}
    return _form_page(request, db, principal, values=values)


@router.post("/matters/new", dependencies=[Depends(csrf_protect)])
async def matter_create(request: Request, db: Session = Depends(get_db),
                        principal: Principal = Depends(page_principal)) -> Response:
    _refuse_unless(may_create(principal))
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    values = _form_values(form)
    try:
        matter = service.create(db, principal, parse(MatterCreate, values))
    except AppError as exc:
        db.rollback()
        if exc.status == 403:
            raise
        return _form_page(request, db, principal, values=values, error=exc,
                          status=exc.status if exc.status < 500 else 422)
    return RedirectResponse(f"/matters/{matter.code}?notice=created", status_code=303)


# ---- /matters/dashboard ---------------------------------------------------------------------------------------

def _target_series(points: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Target lines for the trend chart: one per distinct line, levels with the same targets merged
    (e.g. 市级、县级目标 90%)."""
    by_line: dict[tuple[Any, ...], list[str]] = {}
    for i, level in enumerate(service.LEVELS):
        line = tuple((p["levels"][i][key] or {}).get("percent") for p in points)
        if any(v is not None for v in line):
            by_line.setdefault(line, []).append(level)
    gettext = i18n.gettext
    return [{"name": gettext("%(levels)s目标") % {"levels": "、".join(gettext(service.LEVEL_LABELS[lv])
                                                                      for lv in levels)},
             "data": list(line)} for line, levels in by_line.items()]


def _trend_charts(trend: dict[str, Any]) -> dict[str, Any]:
    points = trend["points"]
    gettext = i18n.gettext
    charts = {}
    for measure, rate_key, target_key in (("online", "online_rate", "online_target"),
                                          ("full", "full_online_rate", "full_online_target")):
        series = [{"name": gettext(service.LEVEL_LABELS[lv]),
                   "data": [p["levels"][i][rate_key] for p in points]} for i, lv in enumerate(service.LEVELS)]
        charts[measure] = series + _target_series(points, target_key)
    return {"trend_x": [str(p["year"]) for p in points], "online_series": charts["online"],
            "full_series": charts["full"]}


@router.get("/matters/dashboard")
def dashboard(request: Request, at: str | None = Query(None, max_length=10), db: Session = Depends(get_db),
              principal: Principal = Depends(page_principal)) -> Response:
    try:
        when = date.fromisoformat(at) if at else service.today()
    except ValueError as exc:
        raise ValidationFailed(f"日期格式无效:{at}(应为 YYYY-MM-DD)", code="invalid_date") from exc
    rates = service.rates(db, at=when)
    trend = service.trend(db)
    by_region = service.rates_by_region(db, at=when)
    context = {
        **_labels(), "at": when.isoformat(), "today": service.today().isoformat(), "rates": rates,
        "trend": trend, "by_region": by_region, "targets": service.TARGETS, "measures": service.MEASURES,
        "year_ends": [f"{y}-12-31" for y in trend["years"] if date(y, 12, 31) < service.today()],
        "level_online_series": [{"name": _label(r), "value": r["online_rate"] or 0} for r in rates["levels"]],
        "level_full_series": [{"name": _label(r), "value": r["full_online_rate"] or 0} for r in rates["levels"]],
        "region_online_series": [{"name": r["region_name"], "value": r["online_rate"] or 0} for r in by_region],
        "region_full_series": [{"name": r["region_name"], "value": r["full_online_rate"] or 0} for r in by_region],
        "upcoming": [(r, t) for r in rates["levels"] for t in (r["next_online_target"], r["next_full_online_target"])
                     if t],
        **_trend_charts(trend),
        "seed": [service.SEED_ONLINE_BASE, service.SEED_TOWNSHIP_2020 + "," + service.SEED_TOWNSHIP_2021 + "。",
                 service.SEED_FULL_2022],
    }
    return render(request, "matters/dashboard.html", context, principal=principal)


# ---- /matters/{code} ------------------------------------------------------------------------------------------

@router.get("/matters/{code}")
def matter_detail(code: str, request: Request, notice: str | None = None, db: Session = Depends(get_db),
                  principal: Principal = Depends(page_principal)) -> Response:
    matter = service.get(db, code)
    return _detail_page(request, db, principal, matter, values=_values_of(matter), notice=NOTICES.get(notice or ""))


def _detail_page(request: Request, db: Session, principal: Principal, matter: ServiceMatter, *,
                 values: dict[str, Any], error: AppError | None = None, notice: str | None = None,
                 status: int = 200) -> Response:
    return render(request, "matters/detail.html", {
        **_labels(), "m": service.as_dicts(db, [matter])[0], "matter": matter, "values": values, "error": error,
        "may_edit": may_edit(principal, matter), "notice": notice, "org_options": _editable_orgs(db, principal),
    }, status=status, principal=principal)


def _values_of(matter: ServiceMatter) -> dict[str, Any]:
    d = service.as_dict(matter)
    values: dict[str, Any] = {k: "" if d.get(k) is None else str(d[k]) for k in FORM_FIELDS}
    values["exempt"] = matter.exempt
    return values


@router.post("/matters/{code}", dependencies=[Depends(csrf_protect)])
async def matter_update(code: str, request: Request, db: Session = Depends(get_db),
                        principal: Principal = Depends(page_principal)) -> Response:
    matter = service.get(db, code)
    _refuse_unless(may_edit(principal, matter))
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    values = {**_form_values(form), "code": code}
    fields: dict[str, Any] = {k: v for k, v in values.items() if k != "code"}
    for clearable in service.CLEARABLE:  # a field emptied in the form is cleared (parse drops blank strings)
        if not str(fields.get(clearable) or "").strip():
            fields[clearable] = None
    try:
        service.update(db, principal, code, parse(MatterUpdate, fields))
    except AppError as exc:
        db.rollback()
        if exc.status == 403:
            raise
        return _detail_page(request, db, principal, service.get(db, code), values=values, error=exc,
                            status=exc.status if exc.status < 500 else 422)
    return RedirectResponse(f"/matters/{code}?notice=updated", status_code=303)


def _label(rate: dict) -> str:
    """A level's translated label (its msgid comes from service.LEVEL_LABELS, marked there)."""
    label = rate["label"]
    return i18n.gettext(label)
