from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow


class ActionLogEntry(Base):
    """One administrative action. Actor and target are copied as text so deletions keep their history."""

    __tablename__ = "action_log"
    __table_args__ = (
        Index("ix_action_log_at", "at"),
        Index("ix_action_log_actor_at", "actor_name", "at"),
        Index("ix_action_log_action_at", "action", "at"),
        Index("ix_action_log_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))  # user | system | cli | anonymous
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_org: Mapped[str | None] = mapped_column(String(32), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(64))  # e.g. org.create, auth.login_failed
    outcome: Mapped[str] = mapped_column(String(16), default="success")  # success | failure
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
