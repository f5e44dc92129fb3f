"""Ingest tables: dataset versions (数据版本), per-resource policies, and department source databases (数据源).

A version's rows live in the dataset store as Parquet (``data_key``); the table keeps what is needed to find,
compare, judge and trust it: counts, the SHA-256 of the stored object, its schema, its source, who and when,
the errors by rule and the quality scores.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow

VERSION_STATUSES = ("published", "held", "discarded")  # 已发布 / 暂存待确认 / 已弃用


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("resource_code", "number", name="uq_dataset_versions_resource_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)
    provider_org_id: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … per resource
    job_id: Mapped[str] = mapped_column(String(32), unique=True)  # makes a re-run job find its version
    status: Mapped[str] = mapped_column(String(16), index=True)
    source_kind: Mapped[str] = mapped_column(String(16))  # upload | database | rollback
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    mode: Mapped[str] = mapped_column(String(16), default="replace")  # replace | merge (by key)
    rows_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_stored: Mapped[int] = mapped_column(BigInteger, default=0)  # merge: accepted + kept from before
    data_key: Mapped[str] = mapped_column(String(300))
    data_sha256: Mapped[str] = mapped_column(String(64))
    data_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected_key: Mapped[str | None] = mapped_column(String(300))
    schema: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    errors_by_rule: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    quality: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # warnings, per-item fill rates, timings
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))  # who published or discarded a held version


class IngestPolicy(Base):
    """发布策略: a version is held for review when its share of rejected rows exceeds ``hold_above_percent``
    (0: any rejected row holds it; 100: always published)."""

    __tablename__ = "ingest_policies"

    resource_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    hold_above_percent: Mapped[float] = mapped_column(Float, default=5.0)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Source(Base):
    """A department's own database a resource is pulled from (共享方式: 数据库)."""

    __tablename__ = "ingest_sources"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_ingest_sources_org_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[int] = mapped_column(Integer, index=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)
    url: Mapped[str] = mapped_column(String(500))  # SQLAlchemy URL without the password
    password_encrypted: Mapped[str | None] = mapped_column(Text)  # govdata.vault
    table_name: Mapped[str | None] = mapped_column(String(200))
    query: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16), default="full")  # full | incremental
    watermark_column: Mapped[str | None] = mapped_column(String(100))
    last_watermark: Mapped[str | None] = mapped_column(String(100))
    schedule: Mapped[str] = mapped_column(String(100), default="cycle")  # cycle | manual | a cron expression
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(16))  # succeeded | failed
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
