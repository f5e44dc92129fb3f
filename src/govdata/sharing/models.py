"""Sharing tables: requests (共享申请) with their history, grants (授权), daily use per grant, rate limits.

A request names the resource, the items it needs, the purpose (用途), the business matter (办理事项), the legal
basis and the term. Unconditional resources (无条件共享) are granted at once; conditional ones (有条件共享) go
to the provider department, then to the bureau for verification (校核). A grant is what the exchange gateway
checks on every call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow

# 待提供部门审核 / 待大数据局校核 / 退回修改 / 已授权 / 未通过 / 已撤回
REQUEST_STATUSES = ("pending_provider", "pending_bureau", "changes_requested", "granted", "rejected", "withdrawn")
OPEN_STATUSES = ("pending_provider", "pending_bureau", "changes_requested")


class SharingRequest(Base):
    __tablename__ = "sharing_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)
    provider_org_id: Mapped[int] = mapped_column(Integer, index=True)
    consumer_org_id: Mapped[int] = mapped_column(Integer, index=True)
    share_type: Mapped[str] = mapped_column(String(16))  # as the catalog said when applied for
    items: Mapped[list[str]] = mapped_column(JSON)
    unmasked_items: Mapped[list[str]] = mapped_column(JSON, default=list)  # asks to lift masking (L3/L4)
    row_scope: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)  # item → allowed values
    purpose: Mapped[str] = mapped_column(Text)  # 用途
    matter: Mapped[str] = mapped_column(String(200))  # 办理事项
    basis: Mapped[str] = mapped_column(Text)  # 法律法规或政策依据
    days: Mapped[int] = mapped_column(Integer)  # requested term
    daily_quota: Mapped[int | None] = mapped_column(Integer)  # 预计日调用量; None = unlimited
    status: Mapped[str] = mapped_column(String(24), index=True)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # of the current step
    renews_grant_id: Mapped[int | None] = mapped_column(Integer)
    grant_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    provider_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SharingEvent(Base):
    """One step in a request's history: submit, approve, reject, request_changes, amend, withdraw, grant …"""

    __tablename__ = "sharing_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    actor_org: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(24))  # the status the request was in
    action: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Grant(Base):
    __tablename__ = "sharing_grants"
    __table_args__ = (Index("ix_sharing_grants_consumer_resource", "consumer_org_id", "resource_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(Integer, index=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)
    provider_org_id: Mapped[int] = mapped_column(Integer, index=True)
    consumer_org_id: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[str]] = mapped_column(JSON)
    unmasked_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    row_scope: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    purpose: Mapped[str] = mapped_column(Text)
    matter: Mapped[str] = mapped_column(String(200))
    daily_quota: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | revoked
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")


class GrantUsage(Base):
    """Calls answered under a grant per local day, counted in the audit writer's transaction."""

    __tablename__ = "sharing_grant_usage"

    grant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, platform time zone
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)


class RateLimit(Base):
    """Calls per minute allowed to one system credential at the gateway (no row: unlimited)."""

    __tablename__ = "sharing_rate_limits"

    credential_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    per_minute: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


LATENCY_BUCKETS = (("le_10", 10), ("le_50", 50), ("le_100", 100), ("le_500", 500), ("le_1000", 1000),
                   ("over_1000", None))  # calls per latency bucket (ms upper bound)


class CallStat(Base):
    """Gateway calls per day, resource, consumer and outcome, counted in the audit writer's transaction: what
    the evaluation (评价) reads instead of scanning the audit trail; latency is kept as counts per bucket."""

    __tablename__ = "sharing_call_stats"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    consumer_org: Mapped[str] = mapped_column(String(40), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider_org: Mapped[str] = mapped_column(String(40), default="", index=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    ms_total: Mapped[float] = mapped_column(Float, default=0.0)
    le_10: Mapped[int] = mapped_column(BigInteger, default=0)
    le_50: Mapped[int] = mapped_column(BigInteger, default=0)
    le_100: Mapped[int] = mapped_column(BigInteger, default=0)
    le_500: Mapped[int] = mapped_column(BigInteger, default=0)
    le_1000: Mapped[int] = mapped_column(BigInteger, default=0)
    over_1000: Mapped[int] = mapped_column(BigInteger, default=0)
