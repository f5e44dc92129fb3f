from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow


class DataElement(Base):
    """数据元: a named, defined item with a type, a format, allowed values and a validation rule."""

    __tablename__ = "data_elements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # DE0001
    name: Mapped[str] = mapped_column(String(100))
    definition: Mapped[str | None] = mapped_column(Text)
    data_type: Mapped[str] = mapped_column(String(1))  # a letter of enums.DATA_TYPES
    length: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(40))  # e.g. YYYY-MM-DD
    codeset: Mapped[str | None] = mapped_column(String(64))  # CodeSet.name
    rule: Mapped[str | None] = mapped_column(String(300))  # a validators.RULES name or "regex:<pattern>"
    default_sensitivity: Mapped[str] = mapped_column(String(2), default="L1")
    is_identifier: Mapped[bool] = mapped_column(Boolean, default=False)  # identifies a person or an entity
    # Maintained by the platform: `govdata standards load` refreshes it until an administrator changes it.
    shipped: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CodeSet(Base):
    """代码集: the allowed values of a data element, e.g. GB/T 2261.1 sex."""

    __tablename__ = "code_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # snake_case, e.g. gb2261_1_sex
    title: Mapped[str] = mapped_column(String(200))
    standard: Mapped[str | None] = mapped_column(String(100))  # e.g. GB/T 2261.1-2003
    version: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    shipped: Mapped[bool] = mapped_column(Boolean, default=False)  # as DataElement.shipped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CodeValue(Base):
    __tablename__ = "code_values"
    __table_args__ = (UniqueConstraint("codeset_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    codeset_id: Mapped[int] = mapped_column(ForeignKey("code_sets.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(String(64))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
