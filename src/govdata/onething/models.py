"""One-thing tables: package versions, cases (办件), their matters' tasks, events, and citizens' demo sessions.

A case pins the package version it was started with; editing a package makes a new version and never changes a
running case. Evidence fetched through the gateway is kept on the case (the departments work from it); every
fetch is in the audit trail with the case number as its purpose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow

# 待授权 / 已授权(证明已调取) / 已提交(办理中) / 已办结 / 部分办结(有事项未通过) / 已撤回
CASE_STATUSES = ("draft", "consented", "in_progress", "completed", "closed", "withdrawn")
# 待前置事项 / 待办 / 待补正(等申请人) / 已通过 / 未通过 / 已取消(前置事项未通过)
TASK_STATUSES = ("waiting", "open", "needs_info", "accepted", "rejected", "cancelled")
OPEN_TASK_STATUSES = ("open", "needs_info")


class PackageVersion(Base):
    __tablename__ = "onething_packages"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_onething_package_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)  # the package file as loaded
    bpmn: Mapped[str] = mapped_column(Text)  # its flow (shipped or generated from ``after``)
    digest: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # retired packages start no new case
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Case(Base):
    __tablename__ = "onething_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 办件编号, the purpose of every fetch
    package_key: Mapped[str] = mapped_column(String(40), index=True)
    package_version: Mapped[int] = mapped_column(Integer)
    applicant_id_number: Mapped[str] = mapped_column(String(18), index=True)
    applicant_name: Mapped[str] = mapped_column(String(50))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    acting_for: Mapped[str | None] = mapped_column(String(100))  # 窗口代办: the staff member who acts
    status: Mapped[str] = mapped_column(String(16), index=True)
    plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the evidence plan shown before consent
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # key → {status, records, message}
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the applicant filled in
    workflow: Mapped[str | None] = mapped_column(Text)  # SpiffWorkflow state (JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseTask(Base):
    """One matter of a case in its department's work queue."""

    __tablename__ = "onething_tasks"
    __table_args__ = (Index("ix_onething_tasks_queue", "org_code", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, index=True)
    matter: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    org_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field → {value, source}
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    proposals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # computed outputs offered to the officer
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    paper: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # materials still needed on paper
    comment: Mapped[str | None] = mapped_column(Text)
    info_request: Mapped[str | None] = mapped_column(Text)  # what the department asks the applicant for
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    waiting_seconds: Mapped[int] = mapped_column(Integer, default=0)  # time spent waiting for the applicant


class CaseEvent(Base):
    __tablename__ = "onething_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))  # created, consent, evidence, submitted, task.*, completed …
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CitizenSession(Base):
    """The demo's stand-in for real-name verification: a bearer token for a person (never a platform user)."""

    __tablename__ = "onething_citizen_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
