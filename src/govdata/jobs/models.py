"""The job queue. A job is claimed by a worker for a lease that its heartbeat renews; a job whose lease ran out
(its process died) is claimed again. Handlers are idempotent, so a job run twice has one effect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow

STATUSES = ("queued", "running", "succeeded", "failed")  # 排队中 / 运行中 / 已完成 / 失败


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    kind: Mapped[str] = mapped_column(String(40), index=True)  # e.g. ingest.upload
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    target: Mapped[str | None] = mapped_column(String(100), index=True)  # e.g. a resource code
    org_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the organisation the job works for
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(String(40), default="")
    done: Mapped[int] = mapped_column(BigInteger, default=0)  # progress, in the phase's unit (bytes or rows)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # one job per scheduled slot
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
