"""Open-data portal tables (公共数据开放).

``open_datasets`` is what the portal lists: one row per opened resource, with the metadata copied from the
published catalog entry (so the portal's search never reads another domain's tables), the opened snapshot of
its latest checked version (a Parquet object in the dataset store, already generalised as the check required)
and the usage counters. ``open_checks`` keeps every pre-open check (开放前检查) and its report.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow

DATASET_STATUSES = ("open", "withdrawn")  # 已开放 / 已撤回


class OpenDataset(Base):
    __tablename__ = "open_datasets"
    __table_args__ = (
        Index("ix_open_datasets_status_opened", "status", "opened_at"),
        Index("ix_open_datasets_provider", "provider"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)  # 信息资源代码
    slug: Mapped[str] = mapped_column(String(100), unique=True)  # CKAN "name": lower-case, URL-safe
    package_id: Mapped[str] = mapped_column(String(36), unique=True)  # CKAN "id": uuid5 of the code
    status: Mapped[str] = mapped_column(String(16), default="open")
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str] = mapped_column(String(200))
    name_pinyin: Mapped[str] = mapped_column(String(600), default="")  # sort key: 出生 → chu sheng
    summary: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str] = mapped_column(String(32))  # organisation code
    provider_name: Mapped[str] = mapped_column(String(200))
    theme_code: Mapped[str] = mapped_column(String(16))  # top-level classification (主题)
    theme_name: Mapped[str] = mapped_column(String(100))
    classification_path: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(24))  # the catalog's 信息资源格式
    update_cycle: Mapped[str] = mapped_column(String(16))  # 更新周期
    has_api: Mapped[bool] = mapped_column(Boolean, default=True)  # 可通过接口调用
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    license_id: Mapped[str] = mapped_column(String(40), default="CC-BY-4.0")
    open_condition: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(100), default="")
    catalog_version: Mapped[int] = mapped_column(Integer, default=1)
    search_text: Mapped[str] = mapped_column(Text, default="")  # normalised name, summary, items, provider
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the columns as opened
    version_number: Mapped[int] = mapped_column(Integer)  # the ingest version the snapshot was made from
    data_key: Mapped[str] = mapped_column(String(300))
    data_sha256: Mapped[str] = mapped_column(String(64))
    data_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    quality_score: Mapped[float] = mapped_column(Float, default=0.0)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # first opened
    data_updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # snapshot's version
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # metadata or data changed
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    api_calls: Mapped[int] = mapped_column(BigInteger, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)


class OpenCheck(Base):
    """开放前检查: direct identifiers and k-anonymity of one version under the department's settings."""

    __tablename__ = "open_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    provider: Mapped[str] = mapped_column(String(32), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    k_threshold: Mapped[int] = mapped_column(Integer)
    k_found: Mapped[int | None] = mapped_column(Integer)  # smallest class on the quasi-identifiers
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # treatments, quasi-identifiers, k
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str] = mapped_column(String(16))  # opened | refused | checked (not asked to open)
    requested_by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class OpenSetting(Base):
    """How a department opens a resource: what happens to each column, the quasi-identifiers, k."""

    __tablename__ = "open_settings"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    treatments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # item key → treatment
    quasi_identifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    k_threshold: Mapped[int] = mapped_column(Integer, default=5)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UsageDaily(Base):
    """Views, downloads and API calls of an open dataset per day (rankings over a period)."""

    __tablename__ = "open_usage_daily"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    api_calls: Mapped[int] = mapped_column(BigInteger, default=0)


class Developer(Base):
    """开发者: a member of the public with an account (e-mail or mobile number) who uses API keys."""

    __tablename__ = "open_developers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeveloperSession(Base):
    __tablename__ = "open_developer_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("open_developers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """A developer's API key (only its hash is kept) and its rate limits."""

    __tablename__ = "open_api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("open_developers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    per_minute: Mapped[int] = mapped_column(Integer)
    per_day: Mapped[int] = mapped_column(Integer)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Feedback(Base):
    """反馈: a rating, an error report (routed to the provider, answered publicly) or a question."""

    __tablename__ = "open_feedback"
    # one rating per rater and dataset, also under concurrent requests (error reports and questions have no rater:
    # NULLs never collide, on SQLite and PostgreSQL alike)
    __table_args__ = (Index("uq_open_feedback_code_rater", "code", "rater", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    provider: Mapped[str] = mapped_column(String(32), index=True)  # the department it is routed to
    kind: Mapped[str] = mapped_column(String(16))  # rating | error | question
    rating: Mapped[int | None] = mapped_column(Integer)  # 1–5
    content: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str] = mapped_column(String(100), default="")  # never shown publicly
    rater: Mapped[str | None] = mapped_column(String(64), index=True)  # who rated (hash), one rating each
    developer_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | answered
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_by: Mapped[str | None] = mapped_column(String(100))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Showcase(Base):
    """利用成果: an app, analysis or visualisation built on open data, shown once the bureau approves it."""

    __tablename__ = "open_showcases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # app | analysis | visualisation | research | other
    description: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(500), default="")
    datasets: Mapped[list[str]] = mapped_column(JSON, default=list)  # codes of the open datasets used
    submitter: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(100), default="")
    developer_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | rejected
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
