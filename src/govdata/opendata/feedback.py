"""反馈: ratings, error reports (纠错) and questions on open datasets.

Anyone rates an open dataset 1–5, once per rater: a signed-in developer is the rater by account, anyone else by a
keyed hash of the client address alone (another browser or user agent on the same address is the same rater, so
changing the agent does not add ratings; people behind one address share one rating). A unique index on
(code, rater) makes a rater's two concurrent first ratings one row: the loser of the race updates the winner's.
A new rating replaces the old one and adjusts the dataset's ``rating_sum``/``rating_count`` by the difference.

Error reports and questions go to the provider department (``provider`` is the dataset's) with a due date
``DUE_WORKING_DAYS`` working days ahead; its data officers or staff (or the bureau) answer. Only answered items are
public on the dataset page (with the answer); pending ones are shown as a count, so nothing anyone typed — perhaps
personal data — is published before the department has read it. The contact given is never shown publicly.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.config import get_settings, local_tz
from govdata.db import utcnow
from govdata.errors import Conflict, Forbidden, NotFound, ValidationFailed
from govdata.i18n import N_
from govdata.opendata import service
from govdata.opendata.models import Feedback, OpenDataset
from govdata.principal import Principal, require_role
from govdata.sharing.workdays import add_working_days

KINDS = {"error": N_("纠错"), "question": N_("咨询")}
STATUSES = {"pending": N_("待答复"), "answered": N_("已答复")}
DUE_WORKING_DAYS = 10
MAX_CONTENT = 2000


def rater_of(developer_id: int | None, ip: str | None) -> str:
    """Who rates: ``dev:<id>`` for a signed-in developer, else a keyed SHA-256 (HMAC) of the client address."""
    if developer_id is not None:
        return f"dev:{developer_id}"
    secret = get_settings().resolved_secret_key().encode()
    return hmac.new(secret, f"opendata-rater:{ip or '-'}".encode(), hashlib.sha256).hexdigest()


def rate(db: Session, code: str, stars: int, *, developer_id: int | None, ip: str | None) -> OpenDataset:
    """Rate an open dataset; a rater (the account, or else the client address) has one rating, a new one
    replacing the old. Commits."""
    dataset = service.get_open(db, code)
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise ValidationFailed("评分须为 1 到 5 之间的整数", code="invalid_rating")
    code_, provider, rater = dataset.code, dataset.provider, rater_of(developer_id, ip)
    # a concurrent first rating by the same rater may win the insert: the next round updates it
    if not any(_save_rating(db, code_, provider, rater, stars, developer_id) for _ in range(3)):
        raise Conflict("评分未能保存,请重试", code="rating_conflict")
    db.commit()
    db.refresh(dataset)
    return dataset


def _save_rating(db: Session, code: str, provider: str, rater: str, stars: int, developer_id: int | None) -> bool:
    """Insert the rater's rating or replace it, with the dataset's totals; False when another request inserted
    this rater's rating meanwhile (rolled back: try again, it is then an update)."""
    # FOR UPDATE (PostgreSQL) queues a rater's concurrent changes; SQLite runs one writer at a time anyway
    existing = db.scalar(select(Feedback.id).where(Feedback.code == code, Feedback.rater == rater)
                         .with_for_update())
    if existing is None:
        db.add(Feedback(code=code, provider=provider, kind="rating", rating=stars, rater=rater,
                        developer_id=developer_id, status="answered"))
        try:
            db.flush()
        except IntegrityError:
            db.rollback()
            return False
        sum_change, count_change = stars, 1
    else:
        # the difference is taken in SQL from the row as it is now, not as read earlier
        old = select(Feedback.rating).where(Feedback.id == existing).scalar_subquery()
        sum_change, count_change = stars - func.coalesce(old, 0), 0
    db.execute(update(OpenDataset).where(OpenDataset.code == code)
               .values(rating_sum=OpenDataset.rating_sum + sum_change,
                       rating_count=OpenDataset.rating_count + count_change)
               .execution_options(synchronize_session=False))
    if existing is not None:
        db.execute(update(Feedback).where(Feedback.id == existing).values(rating=stars, created_at=utcnow())
                   .execution_options(synchronize_session=False))
    return True


def report(db: Session, code: str, kind: str, content: str, *, author: str = "", contact: str = "",
           developer_id: int | None = None, attempt: Principal) -> Feedback:
    """An error report or a question, routed to the provider department with a due date. Commits."""
    dataset = service.get_open(db, code)
    if kind not in KINDS:
        raise ValidationFailed(f"反馈类型无效:{kind}(应为 error 或 question)", code="invalid_feedback_kind")
    content = (content or "").strip()
    if not content:
        raise ValidationFailed("请填写反馈内容", code="content_required")
    if len(content) > MAX_CONTENT:
        raise ValidationFailed(f"反馈内容最多 {MAX_CONTENT} 字", code="content_too_long")
    now = utcnow()
    item = Feedback(code=dataset.code, provider=dataset.provider, kind=kind, content=content,
                    author=(author or "").strip()[:100], contact=(contact or "").strip()[:100],
                    developer_id=developer_id, status="pending", created_at=now,
                    due_date=add_working_days(now, DUE_WORKING_DAYS).date())
    db.add(item)
    db.flush()
    actionlog.record(db, attempt, f"opendata.feedback.{kind}", target_type="open_feedback", target_id=str(item.id),
                     summary=f"{'纠错' if kind == 'error' else '咨询'}:{dataset.name}")
    db.commit()
    return item


def _today() -> date:
    return utcnow().astimezone(local_tz()).date()


def overdue(item: Feedback, today: date | None = None) -> bool:
    return item.status == "pending" and item.due_date is not None and item.due_date < (today or _today())


def public_dict(item: Feedback, today: date | None = None) -> dict[str, Any]:
    """What the public sees of a report: never the contact."""
    return {"id": item.id, "code": item.code, "kind": item.kind, "kind_label": KINDS.get(item.kind, item.kind),
            "content": item.content, "author": item.author, "status": item.status,
            "status_label": STATUSES.get(item.status, item.status), "reply": item.reply,
            "replied_at": item.replied_at, "created_at": item.created_at, "due_date": item.due_date,
            "overdue": overdue(item, today)}


def staff_dict(item: Feedback, today: date | None = None) -> dict[str, Any]:
    return {**public_dict(item, today), "contact": item.contact, "provider": item.provider,
            "replied_by": item.replied_by}


def public_for(db: Session, code: str) -> list[dict[str, Any]]:
    """The reports and questions shown on a dataset's page: answered ones only, with their answers (what is still
    pending is unread by the department and may hold personal data someone typed; ``pending_of`` counts it)."""
    rows = db.scalars(select(Feedback).where(Feedback.code == code, Feedback.kind.in_(tuple(KINDS)),
                                             Feedback.status == "answered")
                      .order_by(Feedback.replied_at.desc(), Feedback.id.desc()).limit(200))
    today = _today()
    return [public_dict(r, today) for r in rows]


def pending_of(db: Session, code: str) -> dict[str, int]:
    """How many reports and questions on a dataset await an answer, and how many of them are past due (shown
    publicly as counts only)."""
    pending = (Feedback.code == code, Feedback.kind.in_(tuple(KINDS)), Feedback.status == "pending")
    total = db.scalar(select(func.count()).select_from(Feedback).where(*pending)) or 0
    late = db.scalar(select(func.count()).select_from(Feedback).where(*pending, Feedback.due_date < _today())) or 0
    return {"pending": total, "overdue": late}


def inbox(db: Session, principal: Principal, status: str | None = None) -> list[Feedback]:
    """A department's reports and questions (the bureau: every department's), oldest due first."""
    require_role(principal, "dept_admin", "dept_staff")
    stmt = select(Feedback).where(Feedback.kind.in_(tuple(KINDS)))
    if not principal.is_platform_admin:
        stmt = stmt.where(Feedback.provider == principal.org_code)
    if status:
        if status not in STATUSES:
            raise ValidationFailed(f"状态无效:{status}(应为 pending 或 answered)", code="invalid_status")
        stmt = stmt.where(Feedback.status == status)
    return list(db.scalars(stmt.order_by(Feedback.status.desc(), Feedback.due_date, Feedback.id).limit(500)))


def answer(db: Session, principal: Principal, feedback_id: int, reply: str) -> Feedback:
    """The provider department (its data officers or staff) or the bureau answers publicly. Commits."""
    item = db.get(Feedback, feedback_id)
    if item is None or item.kind not in KINDS:
        raise NotFound(f"反馈不存在:{feedback_id}", code="feedback_not_found")
    require_role(principal, "dept_admin", "dept_staff")
    if not principal.is_platform_admin and principal.org_code != item.provider:
        raise Forbidden("只能答复本部门数据的反馈", code="other_department")
    reply = (reply or "").strip()
    if not reply:
        raise ValidationFailed("请填写答复内容", code="reply_required")
    if len(reply) > MAX_CONTENT:
        raise ValidationFailed(f"答复最多 {MAX_CONTENT} 字", code="reply_too_long")
    before = {"status": item.status, "reply": item.reply}
    item.status, item.reply, item.replied_by, item.replied_at = "answered", reply, principal.name, utcnow()
    actionlog.record(db, principal, "opendata.feedback.answer", target_type="open_feedback", target_id=str(item.id),
                     summary=f"答复反馈 #{item.id}", before=before, after={"status": "answered", "reply": reply})
    db.commit()
    return item
