"""利用成果: apps, analyses, visualisations and research built on open data.

Anyone submits one (a signed-in developer, or anyone leaving a contact): title, kind, description, an optional
http(s) address and the open datasets it uses (at least one, by code or CKAN name). It is public only once a bureau
administrator approves it; a rejected or pending one is not found on the portal.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.db import utcnow
from govdata.errors import AppError, NotFound, ValidationFailed
from govdata.i18n import N_
from govdata.opendata import service
from govdata.opendata.models import OpenDataset, Showcase
from govdata.opendata.schemas import ShowcaseIn, ShowcaseReview
from govdata.principal import Principal, require_role

KINDS = {"app": N_("应用"), "analysis": N_("分析报告"), "visualisation": N_("可视化"), "research": N_("研究成果"),
         "other": N_("其他")}
STATUSES = {"pending": N_("待审核"), "approved": N_("已通过"), "rejected": N_("未通过")}
_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]+$")


def check_url(url: str) -> str:
    """An absolute http(s) address without spaces or control characters ('' when none is given)."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    bad_char = any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)
    if (parts.scheme.lower() not in ("http", "https") or not parts.hostname or not _HOST.match(parts.netloc)
            or bad_char or parts.username or parts.password):
        raise ValidationFailed("成果地址须为 http:// 或 https:// 开头的网址", code="invalid_url")
    return url


def _dataset_codes(db: Session, idents: list[str]) -> list[str]:
    idents = [i.strip() for i in idents if i and i.strip()]
    if not idents:
        raise ValidationFailed("请至少填写一个所用的开放数据集(代码或名称标识)", code="datasets_required")
    codes, missing = [], []
    for ident in dict.fromkeys(idents):
        try:
            codes.append(service.get_open(db, ident).code)
        except AppError:
            missing.append(ident)
    if missing:
        raise ValidationFailed(f"以下数据集不存在或未开放:{'、'.join(missing[:10])}", code="dataset_not_open")
    return list(dict.fromkeys(codes))


def submit(db: Session, data: ShowcaseIn, *, developer_id: int | None, attempt: Principal) -> Showcase:
    """A new showcase, pending the bureau's review. Commits."""
    if data.kind not in KINDS:
        raise ValidationFailed(f"成果类型无效:{data.kind}(应为 {'、'.join(KINDS)})", code="invalid_kind")
    url = check_url(data.url)
    if developer_id is None and not data.contact:
        raise ValidationFailed("未登录提交须留下联系方式,以便审核时联系", code="contact_required")
    codes = _dataset_codes(db, data.datasets)
    item = Showcase(title=data.title, kind=data.kind, description=data.description, url=url, datasets=codes,
                    submitter=data.submitter, contact=data.contact, developer_id=developer_id, status="pending")
    db.add(item)
    db.flush()
    actionlog.record(db, attempt, "opendata.showcase.submit", target_type="open_showcase", target_id=str(item.id),
                     summary=f"提交利用成果 {item.title}")
    db.commit()
    return item


def review(db: Session, principal: Principal, showcase_id: int, data: ShowcaseReview) -> Showcase:
    """A bureau administrator approves or rejects (a rejection needs a comment). Commits."""
    require_role(principal)
    item = db.get(Showcase, showcase_id)
    if item is None:
        raise NotFound(f"利用成果不存在:{showcase_id}", code="showcase_not_found")
    if data.decision not in ("approve", "reject"):
        raise ValidationFailed("审核结论须为 approve 或 reject", code="invalid_decision")
    if data.decision == "reject" and not data.comment:
        raise ValidationFailed("不通过须说明原因", code="comment_required")
    before = {"status": item.status}
    item.status = "approved" if data.decision == "approve" else "rejected"
    item.review_comment, item.reviewed_by, item.reviewed_at = data.comment, principal.name, utcnow()
    actionlog.record(db, principal, "opendata.showcase.review", target_type="open_showcase", target_id=str(item.id),
                     summary=f"审核利用成果 {item.title}:{STATUSES[item.status]}", before=before,
                     after={"status": item.status, "comment": data.comment})
    db.commit()
    return item


def _names(db: Session, codes: set[str]) -> dict[str, tuple[str, str]]:
    """Open datasets' (name, slug) by code; a dataset withdrawn since is left out."""
    if not codes:
        return {}
    rows = db.execute(select(OpenDataset.code, OpenDataset.name, OpenDataset.slug)
                      .where(OpenDataset.code.in_(codes), OpenDataset.status == "open"))
    return {code: (name, slug) for code, name, slug in rows}


def public_dict(item: Showcase, names: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """What the public sees: never the contact."""
    return {"id": item.id, "title": item.title, "kind": item.kind, "kind_label": KINDS.get(item.kind, item.kind),
            "description": item.description, "url": item.url, "submitter": item.submitter,
            "datasets": [{"code": c, "name": names[c][0], "slug": names[c][1]} for c in item.datasets if c in names],
            "created_at": item.created_at, "reviewed_at": item.reviewed_at}


def staff_dict(item: Showcase, names: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {**public_dict(item, names), "contact": item.contact, "status": item.status,
            "status_label": STATUSES.get(item.status, item.status), "review_comment": item.review_comment,
            "reviewed_by": item.reviewed_by, "dataset_codes": list(item.datasets), "developer_id": item.developer_id}


def dicts(db: Session, items: list[Showcase], *, staff: bool = False) -> list[dict[str, Any]]:
    names = _names(db, {c for i in items for c in i.datasets})
    return [(staff_dict if staff else public_dict)(i, names) for i in items]


def list_public(db: Session, dataset: str | None = None) -> list[Showcase]:
    """Approved showcases, newest first; with ``dataset`` (code or name), those using it."""
    rows = list(db.scalars(select(Showcase).where(Showcase.status == "approved")
                           .order_by(Showcase.reviewed_at.desc(), Showcase.id.desc()).limit(1000)))
    if dataset:
        code = service.get_open(db, dataset).code
        rows = [r for r in rows if code in r.datasets]
    return rows


def get_public(db: Session, showcase_id: int) -> Showcase:
    item = db.get(Showcase, showcase_id)
    if item is None or item.status != "approved":
        raise NotFound(f"利用成果不存在:{showcase_id}", code="showcase_not_found")
    return item


def for_dataset(db: Session, code: str) -> list[dict[str, Any]]:
    """Approved showcases using an open dataset (its page lists them)."""
    rows = [r for r in db.scalars(select(Showcase).where(Showcase.status == "approved")
                                  .order_by(Showcase.id.desc()).limit(1000)) if code in r.datasets]
    return dicts(db, rows)


def for_review(db: Session, principal: Principal, status: str | None = None) -> list[Showcase]:
    require_role(principal)
    stmt = select(Showcase)
    if status:
        if status not in STATUSES:
            raise ValidationFailed(f"状态无效:{status}", code="invalid_status")
        stmt = stmt.where(Showcase.status == status)
    pending_first = case((Showcase.status == "pending", 0), else_=1)
    return list(db.scalars(stmt.order_by(pending_first, Showcase.id.desc()).limit(500)))
