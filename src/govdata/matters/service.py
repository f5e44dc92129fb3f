"""The register of government service matters (政务服务事项清单) and its online-service rates.

Each matter is implemented by one organisation (``org_code``) and carries that organisation's level and region, copied
when it is saved, so that the rates group by level and region without reading ``organizations`` (domains talk
through ``orgs.service``, never each other's tables). A matter is *网上可办* at a date d when ``online_since <= d`` and
*全程网办* (GB/T 37277-2018 §3.3: applied for, handled and delivered online, no trip) when ``fully_online_since <= d``.

Rates at a date, per level::

    网上可办率 = 100 × online / total
    全程网办率 = 100 × fully online (not exempt) / (total − exempt)

``exempt`` marks matters the state rules otherwise on (国家另有规定): the seed's 2022 target excludes them, so they
leave the full-online denominator (and numerator) but still count for 网上可办率. The denominator is today's register:
the register keeps no history of matters added or withdrawn, so a rate at an earlier date reads "of the matters
listed now, how many were online by then".

Cost: ``rates``, ``rates_by_region`` and ``trend`` are each one aggregate query (``GROUP BY level`` or
``region_code`` with one ``SUM(CASE …)`` pair per date), O(matters × dates) inside the database and one round trip
whatever the register's size; nothing is read per matter in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.config import local_tz
from govdata.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govdata.i18n import N_
from govdata.matters.models import ServiceMatter
from govdata.matters.schemas import MatterCreate, MatterUpdate
from govdata.orgs import service as orgs
from govdata.principal import Principal, require_role
from govdata.standards import regions

LEVELS = ("city", "county", "township")
LEVEL_LABELS = {"city": N_("市级"), "county": N_("县级"), "township": N_("乡级")}
CATEGORIES = {  # 事项类型 (权力事项 and 公共服务事项)
    "permit": N_("行政许可"),
    "payment": N_("行政给付"),
    "confirmation": N_("行政确认"),
    "levy": N_("行政征收"),
    "ruling": N_("行政裁决"),
    "reward": N_("行政奖励"),
    "other_power": N_("其他行政权力"),
    "public_service": N_("公共服务"),
}
STATUSES = {  # the list filter, at today's date
    "offline": N_("未网上可办"),
    "online": N_("网上可办(非全程网办)"),
    "full": N_("全程网办"),
}
MEASURES = {"online": N_("网上可办率"), "full": N_("全程网办率")}
FIRST_TREND_YEAR = 2019
SEED_ONLINE_BASE = "在目前市县两级政务服务事项网上可办理率 90%的基础上,力争在全区率先实现全程网办。"
SEED_TOWNSHIP_2020 = "2020年底前,乡级政务服务事项网上办理率达 30%"
SEED_TOWNSHIP_2021 = "2021年底前达 50%"
SEED_FULL_2022 = "2022年底前,除国家另有规定外,各级政务服务事项实现全程网办。"


@dataclass(frozen=True)
class Target:
    """A target of the seed: at ``due`` (a year end) the ``measure`` rate of ``level`` is at least ``percent``."""

    level: str
    measure: str  # online | full
    due: date
    percent: float
    basis: str  # the seed's words

    def as_dict(self, rate: float | None = None) -> dict[str, Any]:
        met = None if rate is None else rate >= self.percent
        return {"level": self.level, "measure": self.measure, "due": self.due.isoformat(),
                "percent": self.percent, "basis": self.basis, "met": met}


TARGETS: tuple[Target, ...] = (
    Target("city", "online", date(2020, 12, 31), 90, SEED_ONLINE_BASE),
    Target("county", "online", date(2020, 12, 31), 90, SEED_ONLINE_BASE),
    Target("township", "online", date(2020, 12, 31), 30, SEED_TOWNSHIP_2020),
    Target("township", "online", date(2021, 12, 31), 50, SEED_TOWNSHIP_2021),
    *(Target(level, "full", date(2022, 12, 31), 100, SEED_FULL_2022) for level in LEVELS),
)


def target_at(level: str, measure: str, at: date) -> Target | None:
    """The target in force at ``at``: the latest one due on or before it (a target once due keeps standing)."""
    due = [t for t in TARGETS if t.level == level and t.measure == measure and t.due <= at]
    return max(due, key=lambda t: t.due) if due else None


def next_target(level: str, measure: str, at: date) -> Target | None:
    """The next target still to come after ``at``, if any."""
    ahead = [t for t in TARGETS if t.level == level and t.measure == measure and t.due > at]
    return min(ahead, key=lambda t: t.due) if ahead else None


def today() -> date:
    return datetime.now(local_tz()).date()


# ---- lookups --------------------------------------------------------------------------------------------------

def find(db: Session, code: str) -> ServiceMatter | None:
    return db.scalar(select(ServiceMatter).where(ServiceMatter.code == code))


def get(db: Session, code: str) -> ServiceMatter:
    matter = find(db, code)
    if matter is None:
        raise NotFound(f"政务服务事项不存在:{code}", code="matter_not_found")
    return matter


def status_of(matter: ServiceMatter, at: date | None = None) -> str:
    at = at or today()
    if matter.fully_online_since is not None and matter.fully_online_since <= at:
        return "full"
    if matter.online_since is not None and matter.online_since <= at:
        return "online"
    return "offline"


def as_dict(matter: ServiceMatter, org_names: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "code": matter.code, "name": matter.name, "org_code": matter.org_code,
        "org_name": (org_names or {}).get(matter.org_code), "level": matter.level,
        "region_code": matter.region_code, "category": matter.category,
        "online_since": matter.online_since.isoformat() if matter.online_since else None,
        "fully_online_since": matter.fully_online_since.isoformat() if matter.fully_online_since else None,
        "exempt": matter.exempt, "trips_required": matter.trips_required, "promised_days": matter.promised_days,
        "package_key": matter.package_key, "status": status_of(matter),
        "created_at": matter.created_at.isoformat(), "updated_at": matter.updated_at.isoformat(),
    }


def as_dicts(db: Session, rows: list[ServiceMatter]) -> list[dict[str, Any]]:
    names = orgs.names_by_code(db) if rows else {}
    return [as_dict(m, names) for m in rows]


def find_by_package(db: Session, package_key: str) -> list[dict[str, Any]]:
    """The matters a one-thing package (一件事) bundles, for the one-thing domain: code, name, org_code, level,
    trips_required, promised_days and the online dates, in register order."""
    rows = db.scalars(select(ServiceMatter).where(ServiceMatter.package_key == package_key)
                      .order_by(ServiceMatter.region_code, ServiceMatter.org_code, ServiceMatter.code))
    return [{"code": m.code, "name": m.name, "org_code": m.org_code, "level": m.level,
             "trips_required": m.trips_required, "promised_days": m.promised_days,
             "online_since": m.online_since.isoformat() if m.online_since else None,
             "fully_online_since": m.fully_online_since.isoformat() if m.fully_online_since else None}
            for m in rows]


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ServiceMatter)) or 0


# ---- filters --------------------------------------------------------------------------------------------------

def check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValidationFailed(f"事项层级无效:{level}(应为 city、county 或 township)", code="invalid_level")
    return level


def _region_prefix(region: str) -> str:
    """450200 → 4502 (the city and everything in it); 450202 → 450202; 450000 → 45."""
    if len(region) != 6 or not region.isdigit():
        raise ValidationFailed(f"行政区划代码无效:{region}", code="invalid_region_code")
    stripped = region.rstrip("0")
    return stripped + "0" if len(stripped) % 2 else stripped


def _filtered(stmt: Select, *, level: str | None = None, region: str | None = None) -> Select:
    if level:
        stmt = stmt.where(ServiceMatter.level == check_level(level))
    if region:
        stmt = stmt.where(ServiceMatter.region_code.startswith(_region_prefix(region), autoescape=True))
    return stmt


def list_matters(db: Session, *, level: str | None = None, region: str | None = None, org: str | None = None,
                 status: str | None = None, q: str | None = None, package: str | None = None,
                 category: str | None = None, page: int = 1, page_size: int = 50,
                 ) -> tuple[list[ServiceMatter], int]:
    """A page of the register and the number of matches. ``region`` includes what lies within it (450200 is the
    whole city); ``status`` is the state today: offline, online (but not fully), full."""
    stmt = _filtered(select(ServiceMatter), level=level, region=region)
    if org:
        stmt = stmt.where(ServiceMatter.org_code == org)
    if category:
        stmt = stmt.where(ServiceMatter.category == category)
    if package:
        stmt = stmt.where(ServiceMatter.package_key == package)
    if q:
        stmt = stmt.where(or_(ServiceMatter.name.contains(q, autoescape=True),
                              ServiceMatter.code.contains(q, autoescape=True)))
    if status:
        now = today()
        online = ServiceMatter.online_since.is_not(None) & (ServiceMatter.online_since <= now)
        full = ServiceMatter.fully_online_since.is_not(None) & (ServiceMatter.fully_online_since <= now)
        conditions = {"offline": ~online, "online": online & ~full, "full": full}
        if status not in conditions:
            raise ValidationFailed(f"办理状态无效:{status}(应为 offline、online 或 full)", code="invalid_status")
        stmt = stmt.where(conditions[status])
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(ServiceMatter.region_code, ServiceMatter.org_code, ServiceMatter.code)
                      .offset((page - 1) * page_size).limit(page_size))
    return list(rows), total


# ---- create and update ----------------------------------------------------------------------------------------

def ensure_can_edit(principal: Principal, org_code: str) -> None:
    """Bureau admins edit any matter; a department's data admin only its own organisation's."""
    require_role(principal, "dept_admin")
    if not principal.is_platform_admin and principal.org_code != org_code:
        raise Forbidden("只能登记和修改本机构实施的政务服务事项", code="other_department")


def _check(db: Session, values: dict[str, Any], known: dict[str, Any] | None = None) -> dict[str, Any]:
    """Complete and check a matter's fields; returns them with level and region filled in from the org.
    ``known`` caches organisations by code across the rows of a bulk load."""
    org = known.get(values["org_code"]) if known is not None else None
    if org is None:
        org = orgs.find_by_code(db, values["org_code"])
        if known is not None and org is not None:
            known[org.code] = org
    if org is None:
        raise ValidationFailed(f"实施机构不存在:{values['org_code']}", code="unknown_org")
    level = check_level(values.get("level") or org.level)
    if level != org.level:
        raise ValidationFailed(
            f"事项层级({LEVEL_LABELS[level]})应与实施机构 {org.name} 的层级({LEVEL_LABELS[org.level]})一致",
            code="level_mismatch")
    region = values.get("region_code") or org.region_code
    if not regions.is_current(region):
        raise ValidationFailed(f"行政区划代码无效或已撤销:{region}", code="invalid_region_code")
    if not region.startswith(_region_prefix(org.region_code)):
        raise ValidationFailed(f"行政区划 {region} 不在实施机构 {org.name} 的区划 {org.region_code} 范围内",
                               code="region_outside_org")
    if values["category"] not in CATEGORIES:
        raise ValidationFailed(f"事项类型无效:{values['category']}(应为 {'、'.join(CATEGORIES)})",
                               code="invalid_category")
    online, full = values.get("online_since"), values.get("fully_online_since")
    if full is not None and online is None:
        raise ValidationFailed("全程网办的事项必须先网上可办:请填写网上可办日期", code="fully_online_without_online")
    if full is not None and online is not None and full < online:
        raise ValidationFailed(f"全程网办日期 {full} 不能早于网上可办日期 {online}",
                               code="fully_online_before_online")
    return {**values, "level": level, "region_code": region}


FIELDS = ("name", "org_code", "level", "region_code", "category", "online_since", "fully_online_since", "exempt",
          "trips_required", "promised_days", "package_key")
CLEARABLE = ("online_since", "fully_online_since", "package_key")


def create(db: Session, principal: Principal, data: MatterCreate) -> ServiceMatter:
    ensure_can_edit(principal, data.org_code)
    if find(db, data.code) is not None:
        raise Conflict(f"事项编码已存在:{data.code}", code="matter_code_exists")
    values = _check(db, data.model_dump(include=set(FIELDS)))
    matter = ServiceMatter(code=data.code, **values)
    db.add(matter)
    db.flush()
    actionlog.record(db, principal, "matter.create", target_type="matter", target_id=matter.code,
                     summary=f"登记政务服务事项 {matter.name}", after=_logged(matter))
    db.commit()
    return matter


def create_many(db: Session, principal: Principal, items: list[MatterCreate]) -> int:
    """Register many matters in one transaction (all or nothing) with one action-log entry, e.g. a register
    loaded from a department's list. Each is checked as ``create`` checks it; codes must be new and distinct."""
    known: dict[str, Any] = {}
    codes = [data.code for data in items]
    seen: set[str] = set()
    for start in range(0, len(codes), 1000):
        seen.update(db.scalars(select(ServiceMatter.code).where(ServiceMatter.code.in_(codes[start:start + 1000]))))
    rows = []
    for data in items:
        ensure_can_edit(principal, data.org_code)
        if data.code in seen:
            raise Conflict(f"事项编码已存在:{data.code}", code="matter_code_exists")
        seen.add(data.code)
        rows.append(ServiceMatter(code=data.code, **_check(db, data.model_dump(include=set(FIELDS)), known)))
    db.add_all(rows)
    db.flush()
    actionlog.record(db, principal, "matter.import", target_type="matter",
                     summary=f"批量登记政务服务事项 {len(rows)} 项", after={"count": len(rows)})
    db.commit()
    return len(rows)


def update(db: Session, principal: Principal, code: str, data: MatterUpdate) -> ServiceMatter:
    matter = get(db, code)
    ensure_can_edit(principal, matter.org_code)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None or k in CLEARABLE}
    if "org_code" in changes and changes["org_code"] != matter.org_code:
        ensure_can_edit(principal, changes["org_code"])  # a department cannot hand a matter to another
        for derived in ("level", "region_code"):  # taken from the new organisation unless given
            changes.setdefault(derived, None)
    before = _logged(matter)
    current = {key: getattr(matter, key) for key in FIELDS}
    values = _check(db, {**current, **changes})
    changed = {k: v for k, v in values.items() if getattr(matter, k) != v}
    if not changed:
        return matter
    for key, value in changed.items():
        setattr(matter, key, value)
    db.flush()
    after = _logged(matter)
    actionlog.record(db, principal, "matter.update", target_type="matter", target_id=matter.code,
                     summary=f"修改政务服务事项 {matter.name}",
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    db.commit()
    return matter


def _logged(matter: ServiceMatter) -> dict[str, Any]:
    d = as_dict(matter)
    return {k: d[k] for k in ("code", *FIELDS)}


# ---- rates ----------------------------------------------------------------------------------------------------

def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _aggregate(db: Session, group: Any, dates: list[date], *, level: str | None = None,
               region: str | None = None, levels: tuple[str, ...] | None = None,
               ) -> dict[Any, dict[str, Any]]:
    """One query: per ``group`` value, the totals and, for each date, the online and fully-online counts."""
    def counted(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    m = ServiceMatter
    columns = [group, func.count(), counted(m.exempt.is_(True))]
    for d in dates:
        columns.append(counted(m.online_since.is_not(None) & (m.online_since <= d)))
        columns.append(counted(m.fully_online_since.is_not(None) & (m.fully_online_since <= d) & m.exempt.is_(False)))
    stmt = _filtered(select(*columns), level=level, region=region)
    if levels:
        stmt = stmt.where(m.level.in_(levels))
    out: dict[Any, dict[str, Any]] = {}
    for row in db.execute(stmt.group_by(group)):
        key, total, exempt = row[0], int(row[1]), int(row[2])
        per_date = [(int(row[3 + 2 * i]), int(row[4 + 2 * i])) for i in range(len(dates))]
        out[key] = {"total": total, "exempt": exempt, "per_date": per_date}
    return out


def _rate(total: int, exempt: int, online: int, full: int) -> dict[str, Any]:
    return {"total": total, "online": online, "fully_online": full, "exempt": exempt,
            "online_rate": _pct(online, total), "full_online_rate": _pct(full, total - exempt),
            "_online_exact": online / total if total else None,
            "_full_exact": full / (total - exempt) if total - exempt else None}


def _with_targets(level: str, at: date, rate: dict[str, Any]) -> dict[str, Any]:
    """The level's rate dict with the targets in force at ``at`` (met or not) and the next ones to come."""
    online_exact, full_exact = rate.pop("_online_exact"), rate.pop("_full_exact")
    out: dict[str, Any] = {"level": level, "label": LEVEL_LABELS[level], **rate}
    for measure, exact in (("online", online_exact), ("full", full_exact)):
        key = "online_target" if measure == "online" else "full_online_target"
        target = target_at(level, measure, at)
        out[key] = target.as_dict(None if exact is None else 100 * exact) if target else None
        upcoming = next_target(level, measure, at)
        out[f"next_{key}"] = upcoming.as_dict() if upcoming else None
    return out


def _levels_at(found: dict[Any, dict[str, Any]], at: date, index: int, wanted: tuple[str, ...]
               ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    levels, sums = [], [0, 0, 0, 0]
    for lv in wanted:
        agg = found.get(lv, {"total": 0, "exempt": 0, "per_date": [(0, 0)] * (index + 1)})
        online, full = agg["per_date"][index]
        levels.append(_with_targets(lv, at, _rate(agg["total"], agg["exempt"], online, full)))
        for i, v in enumerate((agg["total"], agg["exempt"], online, full)):
            sums[i] += v
    overall = _rate(*sums)
    overall.pop("_online_exact"), overall.pop("_full_exact")
    return levels, overall


def rates(db: Session, *, at: date | None = None, level: str | None = None, region: str | None = None
          ) -> dict[str, Any]:
    """网上可办率 and 全程网办率 per level at ``at`` (default today), each with the seed's target in force at that date
    and whether it is met (``met`` is None without a target or without matters), and the whole register's."""
    at = at or today()
    wanted = (check_level(level),) if level else LEVELS
    found = _aggregate(db, ServiceMatter.level, [at], level=level, region=region)
    levels, overall = _levels_at(found, at, 0, wanted)
    return {"at": at.isoformat(), "region": region, "levels": levels, "all": overall}


def rates_by_region(db: Session, *, at: date | None = None, levels: tuple[str, ...] = ("county", "township"),
                    region: str | None = None) -> list[dict[str, Any]]:
    """Per region code (e.g. each district and county), the rates of the matters at ``levels`` in it."""
    at = at or today()
    for lv in levels:
        check_level(lv)
    found = _aggregate(db, ServiceMatter.region_code, [at], levels=levels, region=region)
    out = []
    for code in sorted(found):
        agg = found[code]
        rate = _rate(agg["total"], agg["exempt"], *agg["per_date"][0])
        rate.pop("_online_exact"), rate.pop("_full_exact")
        division = regions.lookup(code)
        out.append({"region_code": code, "region_name": division.name if division else code, **rate})
    return out


def trend(db: Session, years: list[int] | None = None, *, level: str | None = None,
          region: str | None = None) -> dict[str, Any]:
    """The rates per level at each year's end (the current year: today), with the targets in force then."""
    now = today()
    years = sorted(set(years or range(FIRST_TREND_YEAR, now.year + 1)))
    if not years or years[0] < 1990 or years[-1] > now.year + 10 or len(years) > 50:
        raise ValidationFailed("年份无效", code="invalid_years")
    dates = [min(date(y, 12, 31), now) if y == now.year else date(y, 12, 31) for y in years]
    wanted = (check_level(level),) if level else LEVELS
    found = _aggregate(db, ServiceMatter.level, dates, level=level, region=region)
    points = []
    for i, (year, at) in enumerate(zip(years, dates, strict=True)):
        levels, overall = _levels_at(found, at, i, wanted)
        points.append({"year": year, "at": at.isoformat(), "levels": levels, "all": overall})
    return {"years": years, "region": region, "points": points}
