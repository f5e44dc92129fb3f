"""Opening a resource on the portal (开放), keeping it current, and taking it off (撤回).

A resource is on the portal only while (1) its published catalog entry says it is open to society, (2) a
published data version exists, and (3) that version passed the pre-open check (``precheck``) under the
department's settings. Opening writes a *snapshot* — the version with the check's treatments applied
(columns removed or generalised) — to the dataset store; the portal serves only snapshots, never versions.

Keeping it so: a catalog republication that makes the entry not open withdraws the dataset in the same
transaction (``projection`` listener); a newer published version is checked and, if it passes, becomes the
new snapshot — a schedule enqueues one ``opendata.refresh`` job per dataset whose version is behind. A newer
version that fails the check leaves the last good snapshot on the portal and the report on the
department's page.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.catalog import projection
from govdata.catalog import search as catalog_search
from govdata.config import get_settings, local_tz
from govdata.db import utcnow
from govdata.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govdata.ingest import service as ingest
from govdata.ingest.storage import get_store
from govdata.jobs import service as jobs
from govdata.opendata import datafiles, precheck
from govdata.opendata.models import OpenCheck, OpenDataset, OpenSetting
from govdata.principal import CLI, Principal

PACKAGE_NAMESPACE = uuid.UUID("6f1d3a52-4b8e-5c7a-9d21-0e4f8a7b3c19")


# ---- who may ------------------------------------------------------------------------------------

def can_open(principal: Principal, doc: dict[str, Any]) -> bool:
    """The provider's data officers (数据管理员) and bureau admins open and withdraw; staff may only look."""
    return principal.is_platform_admin or (principal.org_code == doc["provider"] and principal.role == "dept_admin")


def can_see(principal: Principal, doc: dict[str, Any]) -> bool:
    return can_open(principal, doc) or principal.has_role("auditor") or principal.org_code == doc["provider"]


def _openable_doc(db: Session, principal: Principal, code: str) -> dict[str, Any]:
    doc = projection.published(db, code)
    if not can_open(principal, doc):
        raise Forbidden("只有提供部门的数据管理员或大数据局管理员可以开放或撤回该资源", code="forbidden")
    return doc


# ---- settings -----------------------------------------------------------------------------------

def settings_of(db: Session, code: str) -> dict[str, Any]:
    row = db.get(OpenSetting, code)
    floor = get_settings().open_k_threshold
    if row is None:
        return {"treatments": {}, "quasi_identifiers": [], "k": floor}
    return {"treatments": dict(row.treatments), "quasi_identifiers": list(row.quasi_identifiers),
            "k": max(row.k_threshold, floor)}


def save_settings(db: Session, principal: Principal, code: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Check and keep a resource's opening settings (without running the check). Commits."""
    doc = _openable_doc(db, principal, code)
    clean = _checked_settings(doc, settings)
    _save_settings_row(db, principal, doc, clean)
    db.commit()
    return clean


def _save_settings_row(db: Session, principal: Principal, doc: dict[str, Any], clean: dict[str, Any]) -> None:
    row = db.get(OpenSetting, doc["code"])
    if row is None:
        row = OpenSetting(code=doc["code"], updated_by=principal.name)
        db.add(row)
    row.treatments, row.quasi_identifiers, row.k_threshold = clean["treatments"], clean["quasi_identifiers"], clean["k"]
    row.updated_by, row.updated_at = principal.name, utcnow()
    actionlog.record(db, principal, "opendata.settings", target_type="resource", target_id=doc["code"],
                     summary=f"开放设置 {doc['name']}", after=clean)


def _checked_settings(doc: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    keys = {item["key"] for item in doc["items"]}
    treatments = {str(k): str(v) for k, v in (settings.get("treatments") or {}).items() if v}
    unknown = sorted(set(treatments) - keys)
    if unknown:
        raise ValidationFailed(f"开放设置中的信息项不存在:{'、'.join(unknown)}", code="unknown_item")
    bad = sorted({v for v in treatments.values() if v not in precheck.TREATMENTS})
    if bad:
        raise ValidationFailed(f"处理方式无效:{'、'.join(bad)}(可用:{'、'.join(precheck.TREATMENTS)})",
                               code="unknown_treatment")
    quasi = [str(k) for k in settings.get("quasi_identifiers") or []]
    missing = [k for k in quasi if k not in keys]
    if missing:
        raise ValidationFailed(f"准标识符不是该资源的信息项:{'、'.join(missing)}", code="unknown_quasi_identifier")
    floor = get_settings().open_k_threshold
    try:
        k = int(settings.get("k") or floor)
    except (TypeError, ValueError):
        raise ValidationFailed("k 值须为整数", code="invalid_k") from None
    if k < floor:
        raise ValidationFailed(f"k 值不能低于平台要求的 {floor}", code="k_below_platform_minimum")
    return {"treatments": treatments, "quasi_identifiers": list(dict.fromkeys(quasi)), "k": min(k, 1000)}


# ---- checking and opening -----------------------------------------------------------------------

def _salt(code: str) -> str:
    """Per-dataset salt of the "hash" treatment: stable for the dataset, unknown outside the platform."""
    secret = get_settings().resolved_secret_key()
    return hashlib.sha256(f"opendata-hash:{secret}:{code}".encode()).hexdigest()


def _today() -> Any:
    return utcnow().astimezone(local_tz()).date()


def check(db: Session, principal: Principal, code: str, *, open_it: bool = False,
          settings: dict[str, Any] | None = None) -> OpenCheck:
    """Run the pre-open check on the latest published version (under ``settings``, saved with the check, or the
    saved ones); when it passes and ``open_it``, open the dataset (or replace its snapshot). Commits."""
    doc = _openable_doc(db, principal, code)
    if not doc["open"]:
        raise Conflict(f"“{doc['name']}”在资源目录中未设为向社会开放,不能开放", code="not_open_in_catalog")
    version = ingest.latest_published(db, code)
    if version is None:
        raise Conflict(f"“{doc['name']}”还没有已发布的数据版本,不能开放", code="no_published_version")
    chosen = _checked_settings(doc, settings) if settings is not None else None
    return _check_version(db, principal, doc, version, open_it=open_it, new_settings=chosen)


def _check_version(db: Session, principal: Principal, doc: dict[str, Any], version: Any, *, open_it: bool,
                   new_settings: dict[str, Any] | None = None) -> OpenCheck:
    """The slow part — reading the version, checking it, writing the snapshot — runs before any write to the
    database, so no write lock is held meanwhile (SQLite has one writer); then one short transaction records it."""
    settings = new_settings or settings_of(db, doc["code"])
    frame = ingest.read_rows(version)
    report = precheck.run(doc["items"], frame, settings, salt=_salt(doc["code"]), today=_today())
    outcome = "refused" if not report["passed"] else ("opened" if open_it else "checked")
    snapshot = None
    if outcome == "opened":
        lazy = precheck.apply(frame, settings["treatments"], salt=_salt(doc["code"]), today=_today())
        key = f"open/{_safe(doc['code'])}/v{version.number}-{uuid.uuid4().hex[:12]}.parquet"
        snapshot = (key, *datafiles.write_snapshot(lazy, key))
    try:
        row, old_key = _record_check(db, principal, doc, version, settings, report, outcome, snapshot,
                                     save=new_settings is not None)
    except Exception:
        if snapshot:
            _delete_quietly(snapshot[0])
        raise
    if old_key:
        _delete_quietly(old_key)
    return row


def _record_check(db: Session, principal: Principal, doc: dict[str, Any], version: Any, settings: dict[str, Any],
                  report: dict[str, Any], outcome: str, snapshot: tuple[str, str, int, int] | None, *,
                  save: bool) -> tuple[OpenCheck, str | None]:
    if save:
        _save_settings_row(db, principal, doc, settings)
    row = OpenCheck(code=doc["code"], provider=doc["provider"], version_number=version.number,
                    passed=report["passed"], k_threshold=settings["k"], k_found=report["k"]["found"],
                    settings=settings, report=report, outcome=outcome, requested_by=principal.name)
    db.add(row)
    db.flush()
    old_key = _open(db, principal, doc, version, snapshot, report) if snapshot else None
    verb = {"opened": "开放", "refused": "开放前检查未通过", "checked": "开放前检查通过"}[outcome]
    actionlog.record(db, principal, f"opendata.{outcome}", target_type="resource", target_id=doc["code"],
                     summary=f"{verb}:{doc['name']} 第 {version.number} 版",
                     after={"check": row.id, "passed": row.passed, "k": row.k_found,
                            "problems": [p["code"] for p in report["problems"]]})
    db.commit()
    return row, old_key


def _open(db: Session, principal: Principal, doc: dict[str, Any], version: Any,
          snapshot: tuple[str, str, int, int], report: dict[str, Any]) -> str | None:
    """List (or update) the dataset on its new snapshot; returns the key of a replaced snapshot."""
    key, sha256, size, rows = snapshot
    dataset = db.get(OpenDataset, doc["code"])
    old_key = dataset.data_key if dataset is not None and dataset.data_key != key else None
    if dataset is None:
        dataset = OpenDataset(code=doc["code"], slug=slug_of(doc["code"]), package_id=package_id_of(doc["code"]),
                              opened_by=principal.name, opened_at=utcnow())
        db.add(dataset)
    dataset.items = _opened_items(doc, report)
    describe(dataset, doc)
    dataset.status, dataset.withdrawn_reason = "open", ""
    dataset.version_number, dataset.data_key, dataset.data_sha256 = version.number, key, sha256
    dataset.data_bytes, dataset.row_count, dataset.quality_score = size, rows, float(version.score or 0.0)
    dataset.data_updated_at = version.published_at or version.created_at
    dataset.modified_at = utcnow()
    db.flush()
    return old_key


def _opened_items(doc: dict[str, Any], report: dict[str, Any]) -> list[dict[str, Any]]:
    by_key = {c["key"]: c for c in report["columns"]}
    items = []
    for item in doc["items"]:
        column = by_key.get(item["key"], {})
        if column.get("opened", True):
            items.append({"key": item["key"], "name": item["name"], "data_type": item.get("data_type"),
                          "length": item.get("length"), "data_element": item.get("data_element"),
                          "treatment": column.get("treatment", "keep"),
                          "treatment_label": column.get("treatment_label", "")})
    return items


def describe(dataset: OpenDataset, doc: dict[str, Any]) -> None:
    """Copy the catalog entry's metadata onto the listing (and its search text)."""
    path = doc.get("classification") or ""
    parts = path.split("/")
    dataset.name, dataset.summary = doc["name"], doc.get("summary") or ""
    dataset.name_pinyin = pinyin_key(doc["name"])
    dataset.provider, dataset.provider_name = doc["provider"], doc["provider_name"]
    dataset.theme_code = (doc.get("classification_code") or "")[:3]
    # a department's own class (部门/<code>) is no theme a reader knows: it shows as the department's name
    dataset.theme_name = doc["provider_name"] if parts[0] == "部门" else (parts[1] if len(parts) > 1 else path)
    dataset.classification_path, dataset.format = path, doc["format"]
    # 开放方式: the department offers the data through the API (共享方式 接口) or as files only (文件下载)
    dataset.update_cycle, dataset.has_api = doc["update_cycle"], doc.get("share_method") != "file"
    dataset.keywords = keywords_of(doc)
    dataset.open_condition, dataset.contact = doc.get("open_condition") or "", doc.get("contact") or ""
    dataset.catalog_version = int(doc.get("version") or 1)
    opened = {item["key"] for item in dataset.items or []}  # a removed column's name must not find the dataset
    names = " ".join(item["name"] for item in doc["items"] if item["key"] in opened)
    text = " ".join([doc["name"], dataset.summary, names, doc["provider_name"], path, " ".join(dataset.keywords)])
    dataset.search_text = catalog_search.normalize(text).lower()


def keywords_of(doc: dict[str, Any]) -> list[str]:
    words = [p for p in (doc.get("classification") or "").split("/")[1:] if p]
    return list(dict.fromkeys([*words, doc["provider_name"]]))


def pinyin_key(text: str) -> str:
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(text))[:600]


def slug_of(code: str) -> str:
    """CKAN's package name: lower-case letters, digits, - and _ (450200-GA/0001 → 450200-ga-0001)."""
    return "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in code.lower()).strip("-")


def package_id_of(code: str) -> str:
    """CKAN's package id: a UUID (uuid5 of the code) ending in 00, its resources in 01–04 (``service``)."""
    return str(uuid.uuid5(PACKAGE_NAMESPACE, code))[:-2] + "00"


def _safe(code: str) -> str:
    return slug_of(code) or "dataset"


def _delete_quietly(key: str) -> None:
    """Remove a replaced snapshot; a download still reading it keeps its open file (POSIX) or fails alone."""
    with contextlib.suppress(OSError):
        get_store().delete(key)


def withdraw(db: Session, principal: Principal, code: str, reason: str) -> OpenDataset:
    doc = _openable_doc(db, principal, code)
    dataset = db.get(OpenDataset, code)
    if dataset is None or dataset.status != "open":
        raise NotFound(f"该资源未在开放平台上:{code}", code="dataset_not_found")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("撤回须说明原因", code="reason_required")
    dataset.status, dataset.withdrawn_reason, dataset.modified_at = "withdrawn", reason[:500], utcnow()
    actionlog.record(db, principal, "opendata.withdraw", target_type="resource", target_id=code,
                     summary=f"撤回开放:{doc['name']}", after={"reason": reason})
    db.commit()
    return dataset


# ---- staying in step with the catalog and new versions ------------------------------------------

def on_catalog_publish(db: Session, doc: dict[str, Any]) -> None:
    """A republished catalog entry: withdraw it if no longer open, else refresh the listing's metadata."""
    dataset = db.get(OpenDataset, doc["code"])
    if dataset is None or dataset.status != "open":
        return
    if not doc["open"]:
        dataset.status, dataset.withdrawn_reason = "withdrawn", "资源目录已将其改为不向社会开放"
    else:
        describe(dataset, doc)  # the snapshot's columns change only with the next check
    dataset.modified_at = utcnow()


projection.register_publish_listener(on_catalog_publish)


def behind(db: Session) -> list[tuple[str, int]]:
    """Open datasets whose latest published version is newer than their snapshot's, with that number."""
    listed = dict(db.execute(select(OpenDataset.code, OpenDataset.version_number)
                             .where(OpenDataset.status == "open")).all())
    latest = ingest.latest_numbers(db, list(listed))
    # a version refused or opened is not checked again; a "check only" run does not count (it opened nothing)
    checked = {(c, n) for c, n in db.execute(select(OpenCheck.code, OpenCheck.version_number)
                                              .where(OpenCheck.code.in_(list(listed)),
                                                     OpenCheck.outcome != "checked"))}
    return [(code, latest[code]) for code, number in listed.items()
            if latest.get(code, 0) > number and (code, latest[code]) not in checked]


def refresh_due(db: Session) -> int:
    """Schedule: one refresh job per open dataset with an unchecked newer version."""
    count = 0
    for code, number in behind(db):
        if jobs.enqueue(db, CLI, "opendata.refresh", {"code": code, "version": number}, target=code,
                                dedupe_key=f"opendata.refresh:{code}:{number}") is not None:
            count += 1
    db.commit()
    return count


def refresh(db: Session, code: str, principal: Principal = CLI) -> OpenCheck | None:
    """Check the newest published version of an open dataset and, if it passes, serve it."""
    dataset = db.get(OpenDataset, code)
    doc = projection.find_published(db, code)
    version = ingest.latest_published(db, code)
    if dataset is None or dataset.status != "open" or doc is None or version is None:
        return None
    if version.number <= dataset.version_number:
        return None
    return _check_version(db, principal, doc, version, open_it=True)


def _run_refresh(ctx: jobs.JobContext) -> dict[str, Any]:
    from govdata.db import new_session

    with new_session() as db:
        row = refresh(db, ctx.payload["code"])
        return {"code": ctx.payload["code"], "outcome": row.outcome if row else "unchanged"}


jobs.register("opendata.refresh", _run_refresh)
jobs.register_schedule(refresh_due)


# ---- what the departments and the bureau see ------------------------------------------------------

def last_checks(db: Session, codes: list[str]) -> dict[str, OpenCheck]:
    latest: dict[str, OpenCheck] = {}
    for row in db.scalars(select(OpenCheck).where(OpenCheck.code.in_(codes)).order_by(OpenCheck.id)):
        latest[row.code] = row
    return latest


def checks_of(db: Session, code: str, limit: int = 20) -> list[OpenCheck]:
    return list(db.scalars(select(OpenCheck).where(OpenCheck.code == code).order_by(OpenCheck.id.desc())
                           .limit(limit)))


def get_check(db: Session, principal: Principal, check_id: int) -> OpenCheck:
    row = db.get(OpenCheck, check_id)
    if row is None:
        raise NotFound(f"开放前检查记录不存在:{check_id}", code="check_not_found")
    doc = projection.find_published(db, row.code) or {"provider": row.provider}
    if not can_see(principal, doc):
        raise NotFound(f"开放前检查记录不存在:{check_id}", code="check_not_found")
    return row


def candidates(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """The open catalog entries the principal's department (every department, for the bureau) may open,
    with their state on the portal: 可开放 / 无已发布版本 / 检查未通过 / 已开放 / 已撤回."""
    provider = None if principal.is_platform_admin or principal.has_role("auditor") else principal.org_code
    if provider is None and not (principal.is_platform_admin or principal.has_role("auditor")):
        return []
    entries = projection.published_entries(db, provider=provider, open_only=True)
    codes = [e.code for e in entries]
    latest = ingest.latest_numbers(db, codes)
    listed = {d.code: d for d in db.scalars(select(OpenDataset).where(OpenDataset.code.in_(codes)))}
    checks = last_checks(db, codes)
    return [_candidate(e.document, latest.get(e.code), listed.get(e.code), checks.get(e.code)) for e in entries]


def _candidate(doc: dict[str, Any], latest: int | None, dataset: OpenDataset | None,
               last: OpenCheck | None) -> dict[str, Any]:
    if dataset is not None and dataset.status == "open":
        state = "open"
    elif latest is None:
        state = "no_version"
    elif dataset is not None:
        state = "withdrawn"
    elif last is not None and not last.passed and last.version_number == latest:
        state = "refused"
    else:
        state = "ready"
    return {"code": doc["code"], "name": doc["name"], "provider": doc["provider"],
            "provider_name": doc["provider_name"], "latest_version": latest, "state": state,
            "dataset": dataset, "check": last,
            "behind": bool(dataset and latest and dataset.status == "open" and latest > dataset.version_number)}
