"""The register of government service matters (政务服务事项清单): one row per matter a body implements, with the
dates it became applicable online (网上可办) and handled fully online (全程网办, GB/T 37277-2018 §3.3)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from govdata.db import Base, UTCDateTime, utcnow


class ServiceMatter(Base):
    __tablename__ = "matters_service_matters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)  # 事项(实施)编码, stable
    name: Mapped[str] = mapped_column(String(200))
    org_code: Mapped[str] = mapped_column(String(32), index=True)  # the implementing body (organizations.code)
    level: Mapped[str] = mapped_column(String(16), index=True)  # city | county | township
    region_code: Mapped[str] = mapped_column(String(6), index=True)  # GB/T 2260
    category: Mapped[str] = mapped_column(String(24))  # a key of service.CATEGORIES
    online_since: Mapped[date | None] = mapped_column(Date)  # 网上可办 since
    fully_online_since: Mapped[date | None] = mapped_column(Date)  # 全程网办 since (≥ online_since)
    exempt: Mapped[bool] = mapped_column(Boolean, default=False)  # 国家另有规定: outside the full-online target
    trips_required: Mapped[int] = mapped_column(Integer, default=1)  # 跑动次数 at the counter
    promised_days: Mapped[int] = mapped_column(Integer, default=0)  # 承诺时限 (working days; 0 = 即办)
    package_key: Mapped[str | None] = mapped_column(String(40), index=True)  # a one-thing package, e.g. newborn
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
