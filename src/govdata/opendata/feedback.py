"""反馈: ratings, error reports (纠错) and questions on open datasets.

Anyone rates an open dataset 1–5, once per rater: a signed-in developer is the rater by account, anyone else by a
keyed hash of the client address and user agent (so the same browser replaces its rating rather than adding one;
not an identity). A new rating replaces the old one and adjusts the dataset's ``rating_sum``/``rating_count`` by
the difference in one UPDATE. Error reports and questions go to the provider department (``provider`` is the
dataset's) with a due date ``DUE_WORKING_DAYS`` working days ahead; its data officers or staff (or the bureau)
answer, and the answer is public on the dataset page. The contact given is never shown publicly.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govdata.actionlog import service as actionlog
from govdata.config import get_settings, local_tz
from govdata.db import utcnow
from govdata.errors import Forbidden, NotFound, ValidationFailed
from govdata.i18n import N_
from govdata.opendata import service
from govdata.opendata.models import Feedback, OpenDataset
from govdata.principal import Principal, require_role
from govdata.sharing.workdays import add_working_days

KINDS = {"error": N_("纠错"), "question": N_("咨询")}
STATUSES = {"pending": N_("待答复"), "answered": N_("已答复")}
DUE_WORKING_DAYS = 10
MAX_CONTENT = 2000


def rater_of(developer_id: int | None, ip: str | None, user_agent: str | None) -> str:
    """Who rates: ``dev:<id>`` for a signed-in developer, else a keyed SHA-256 of address and user agent."""
    if developer_id is not None:
        return f"dev:{developer_id}"
    secret = get_settings().resolved_secret_key()
    return hashlib.sha256(f"opendata-rater:{secret}:{ip or '-'}:{(user_agent or '')[:300]}".encode()).hexdigest()


def rate(db: Session, code: str, stars: int, *, developer_id: int | None, ip: str | None,
         user_agent: str | None) -> OpenDataset:
    """Rate an open dataset; a rater's new rating replaces their earlier one. Commits."""
    dataset = service.get_open(db, code)
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ValidationFailed("评分须为 1 到 5 之间的整数", code="invalid_rating")
    # lock the dataset row (PostgreSQL) so one rater's two concurrent ratings cannot both insert
    db.execute(select(OpenDataset.code).where(OpenDataset.code == dataset.code).with_for_update())
    rater = rater_of(developer_id, ip, user_agent)
    old = db.scalar(select(Feedback).where(Feedback.code == dataset.code, Feedback.kind == "rating",
                                           Feedback.rater == rater))
    if old is None:
        db.add(Feedback(code=dataset.code, provider=dataset.provider, kind="rating", rating=stars, rater=rater,
                        developer_id=developer_id, status="answered"))
        delta_sum, delta_count = stars, 1
    else:
        delta_sum, delta_count = stars - (old.rating or 0), 0
        old.rating, old.created_at = stars, utcnow()
    db.execute(update(OpenDataset).where(OpenDataset.code == dataset.code)
               .values(rating_sum=OpenDataset.rating_sum + delta_sum,
                       rating_count=OpenDataset.rating_count + delta_count)
               .execution_options(synchronize_session=False))
    db.commit()
    db.refresh(dataset)
    return dataset


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
    """The reports shown on a dataset's page: answered reports and questions, and error reports still pending."""
    rows = db.scalars(select(Feedback).where(Feedback.code == code, Feedback.kind.in_(tuple(KINDS)))
                      .order_by(Feedback.created_at.desc()).limit(200))
    today = _today()
    return [public_dict(r, today) for r in rows if r.status == "answered" or r.kind == "error"]


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
