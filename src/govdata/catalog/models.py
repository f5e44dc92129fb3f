"""Catalog tables.

``resources`` and ``resource_items`` hold each resource's *working copy*, which its department edits.
``catalog_entries`` is the *published catalog*: one row per published resource, replaced atomically when a
bureau admin approves a change. Lists, search, DCAT and other domains read only the published catalog,
so an edit under review never changes what others see.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow

STATUSES = ("draft", "submitted", "published", "rejected")  # 草稿 / 待审核 / 已发布 / 已退回


class Classification(Base):
    """信息资源分类: 类 (1 char) / 项 (2) / 目 (3) / 细目; the code is the concatenation down the tree."""

    __tablename__ = "catalog_classifications"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(300), unique=True)  # e.g. 基础/人口
    parent_code: Mapped[str | None] = mapped_column(String(16))
    next_sequence: Mapped[int] = mapped_column(Integer, default=1)


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("provider_org_id", "name", name="uq_resources_provider_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # 信息资源代码: classification/sequence
    classification_code: Mapped[str] = mapped_column(ForeignKey("catalog_classifications.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # 提供方
    summary: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(24))  # 信息资源格式
    share_type: Mapped[str] = mapped_column(String(16))  # 共享类型
    share_condition: Mapped[str] = mapped_column(Text, default="")
    share_method: Mapped[str] = mapped_column(String(16))  # 共享方式
    share_basis: Mapped[str] = mapped_column(Text, default="")  # 不予共享的法律法规或政策依据
    open: Mapped[bool] = mapped_column(Boolean, default=False)  # 是否向社会开放
    open_condition: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[str] = mapped_column(String(16))  # 更新周期
    publish_date: Mapped[date | None] = mapped_column(Date)
    related_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # 关联资源代码
    grade: Mapped[str] = mapped_column(String(16), default="general")  # 一般 / 重要 / 核心
    sensitivity: Mapped[str] = mapped_column(String(2), default="L1")  # L1–L4 for 一般 data
    responsible_person: Mapped[str] = mapped_column(String(50), default="")
    contact: Mapped[str] = mapped_column(String(50), default="")
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # cross-field rules (issue 4)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)  # revision number of the working copy
    published_version: Mapped[int | None] = mapped_column(Integer)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ResourceItem(Base):
    """信息项: a column of the resource's data."""

    __tablename__ = "resource_items"
    __table_args__ = (UniqueConstraint("resource_id", "key", name="uq_resource_items_resource_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))  # machine key, ascii snake_case
    name: Mapped[str] = mapped_column(String(100))
    data_type: Mapped[str] = mapped_column(String(1))
    length: Mapped[int | None] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_key: Mapped[bool] = mapped_column(Boolean, default=False)
    data_element: Mapped[str | None] = mapped_column(String(16))  # a standards data element code
    sensitivity: Mapped[str] = mapped_column(String(2), default="L1")
    identifies: Mapped[bool] = mapped_column(Boolean, default=False)  # identifies a person or entity


class ResourceRevision(Base):
    """Every saved change of a working copy, as a full snapshot, so any two can be diffed."""

    __tablename__ = "resource_revisions"
    __table_args__ = (UniqueConstraint("resource_id", "version", name="uq_resource_revisions_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(16))  # create | update (review events go to the action log)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CatalogEntry(Base):
    """The published catalog: what everyone else sees of a resource."""

    __tablename__ = "catalog_entries"
    __table_args__ = (
        Index("ix_catalog_entries_provider", "provider"),
        Index("ix_catalog_entries_share_type", "share_type"),
        Index("ix_catalog_entries_classification", "classification_code"),
    )

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(32))  # organisation code, copied: codes are stable
    provider_name: Mapped[str] = mapped_column(String(200))
    classification_code: Mapped[str] = mapped_column(String(16))
    classification_path: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(24))
    share_type: Mapped[str] = mapped_column(String(16))
    share_method: Mapped[str] = mapped_column(String(16))
    open: Mapped[bool] = mapped_column(Boolean)
    update_cycle: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # the full resource JSON as approved


class OpenDemand(Base):
    """开放需求: a request from the public (or the bureau on its behalf) to open data."""

    __tablename__ = "open_demands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    requester: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(100), default="")
    target_org: Mapped[str | None] = mapped_column(String(32), index=True)  # organisation code
    resource_code: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | accepted | rejected | opened
    reply: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
